// The page: open an image, paint the hole (canvas.js), pick a method whose options are
// rendered from its schema, run it with live progress (server-sent events), cancel, and
// collect the results in a gallery with before/after sliders, downloads and a side-by-side row.
"use strict";

const $ = (sel) => document.querySelector(sel);
const API = "/api/v1";
const TERMINAL = ["done", "failed", "cancelled"];

const state = {
  methods: {},        // name -> entry of GET /methods
  imageFile: null,    // the File as opened: uploaded as is, so known pixels stay exact
  imageName: "image",
  active: new Map(),  // job id -> {source, el}
  runs: 0,
};

const editor = new MaskEditor($("#image-canvas"), $("#mask-canvas"), $("#cursor"));
window.inpaintkit = { editor, state };

function message(text, kind = "") {
  const el = $("#message");
  el.textContent = text;
  el.className = kind;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.detail || JSON.stringify(body);
  } catch (e) {
    return `${response.status} ${response.statusText}`;
  }
}

// -- editor ------------------------------------------------------------------------------------

function updateEditorButtons() {
  $("#undo").disabled = !editor.undoStack.length;
  $("#redo").disabled = !editor.redoStack.length;
  const holes = editor.holePixels();
  const total = editor.width * editor.height;
  $("#mask-stats").textContent = editor.loaded
    ? `${editor.width}x${editor.height}, hole ${holes} px (${((100 * holes) / total).toFixed(1)}%)`
    : "";
  $("#run").disabled = !editor.loaded;
}
editor.onchange = updateEditorButtons;

function setTool(tool) {
  editor.tool = tool;
  $("#tool-brush").classList.toggle("active", tool === "brush");
  $("#tool-eraser").classList.toggle("active", tool === "eraser");
}

function setSize(size) {
  editor.size = Math.max(1, Math.min(256, Math.round(size)));
  $("#brush-size").value = editor.size;
  $("#brush-size-value").textContent = editor.size;
}

// Show the image as large as the stage allows (small images scaled up, pixelated).
function fit() {
  if (!editor.loaded) return;
  const stageEl = $("#stage");
  const room = Math.max(64, stageEl.clientWidth - 16);
  const scale = Math.min(room / editor.width, (window.innerHeight * 0.55) / editor.height, 12);
  $("#image-canvas").style.width = `${Math.round(editor.width * scale)}px`;
}
window.addEventListener("resize", fit);

async function openImage(file) {
  if (!file) return;
  try {
    const bitmap = await createImageBitmap(file);
    editor.setImage(bitmap);
    state.imageFile = file;
    state.imageName = (file.name || "image").replace(/\.[^.]*$/, "");
    $("#stage").classList.remove("empty");
    fit();
    message(`${file.name || "image"}: ${bitmap.width}x${bitmap.height}. Paint the hole.`);
  } catch (e) {
    message(`cannot open ${file.name}: not an image the browser can read`, "error");
  }
}

async function openMask(file) {
  if (!file) return;
  if (!editor.loaded) return message("open an image first, then its mask", "error");
  try {
    editor.setMaskFrom(await createImageBitmap(file));
    message(`mask ${file.name}: ${editor.holePixels()} hole pixels`);
  } catch (e) {
    message(`mask ${file.name}: ${e.message}`, "error");
  }
}

$("#image-file").addEventListener("change", (e) => openImage(e.target.files[0]));
$("#mask-file").addEventListener("change", (e) => openMask(e.target.files[0]));
$("#tool-brush").addEventListener("click", () => setTool("brush"));
$("#tool-eraser").addEventListener("click", () => setTool("eraser"));
$("#brush-size").addEventListener("input", (e) => setSize(Number(e.target.value)));
$("#undo").addEventListener("click", () => editor.undo());
$("#redo").addEventListener("click", () => editor.redo());
$("#clear").addEventListener("click", () => editor.clear());
$("#save-mask").addEventListener("click", async () => {
  if (!editor.loaded) return;
  const blob = await editor.maskBlob();
  download(URL.createObjectURL(blob), `${state.imageName}-mask.png`);
});

const stage = $("#stage");
stage.addEventListener("dragover", (e) => { e.preventDefault(); stage.classList.add("drop"); });
stage.addEventListener("dragleave", () => stage.classList.remove("drop"));
stage.addEventListener("drop", (e) => {
  e.preventDefault();
  stage.classList.remove("drop");
  const file = e.dataTransfer.files[0];
  if (file) openImage(file);
});

document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea")) return;
  const ctrl = e.ctrlKey || e.metaKey;
  if (e.key === "[") setSize(editor.size > 10 ? editor.size * 0.8 : editor.size - 1);
  else if (e.key === "]") setSize(editor.size >= 10 ? editor.size * 1.25 : editor.size + 1);
  else if (ctrl && (e.key === "y" || (e.key.toLowerCase() === "z" && e.shiftKey))) editor.redo();
  else if (ctrl && e.key.toLowerCase() === "z") editor.undo();
  else if (!ctrl && e.key.toLowerCase() === "b") setTool("brush");
  else if (!ctrl && e.key.toLowerCase() === "e") setTool("eraser");
  else return;
  e.preventDefault();
});

function download(url, name) {
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// -- methods and their options -----------------------------------------------------------------

function optionInput(opt) {
  const nullable = opt.type.includes("none");
  let input;
  if (opt.choices) {
    input = document.createElement("select");
    const values = nullable ? [null, ...opt.choices] : opt.choices;
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v === null ? "" : String(v);
      o.textContent = v === null ? "none (default)" : String(v);
      input.appendChild(o);
    }
    input.value = opt.default === null ? "" : String(opt.default);
  } else if (opt.type.startsWith("boolean")) {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = Boolean(opt.default);
  } else {
    input = document.createElement("input");
    const numeric = opt.type.startsWith("integer") || opt.type.startsWith("number");
    input.type = numeric ? "number" : "text";
    if (numeric) {
      input.step = opt.type.startsWith("integer") ? "1" : "any";
      if (opt.min !== null) input.min = opt.min;
      if (opt.max !== null) input.max = opt.max;
    }
    input.value = opt.default === null ? "" : String(opt.default);
    if (nullable) input.placeholder = "none";
  }
  input.name = opt.name;
  input.dataset.type = opt.type;
  input.dataset.default = JSON.stringify(opt.default);
  return input;
}

function renderOptions(name) {
  const method = state.methods[name];
  const form = $("#options");
  form.replaceChildren();
  $("#method-summary").textContent = method ? method.summary : "";
  if (!method) return;
  for (const opt of method.options) {
    const label = document.createElement("label");
    label.className = "option";
    label.title = `${opt.help} (valid: ${opt.valid})`;
    const span = document.createElement("span");
    span.textContent = opt.name;
    const help = document.createElement("small");
    help.textContent = `${opt.help}; ${opt.valid}`;
    label.append(span, optionInput(opt), help);
    form.appendChild(label);
  }
}

// The options that differ from their defaults, typed as the schema says.
function optionValues() {
  const values = {};
  for (const input of $("#options").elements) {
    const type = input.dataset.type;
    let value;
    if (input.type === "checkbox") value = input.checked;
    else if (input.value === "" && type.includes("none")) value = null;
    else if (input.tagName === "SELECT") value = input.value;
    else if (type.startsWith("integer") || type.startsWith("number")) {
      value = input.value === "" ? input.value : Number(input.value);
      if (Number.isNaN(value)) value = input.value;
    } else value = input.value;
    if (JSON.stringify(value) !== input.dataset.default) values[input.name] = value;
  }
  return values;
}

async function loadMethods() {
  const response = await fetch(`${API}/methods`);
  const body = await response.json();
  const select = $("#method");
  const compare = $("#compare-methods");
  for (const m of body.methods) {
    state.methods[m.name] = m;
    const o = document.createElement("option");
    o.value = m.name;
    o.textContent = m.model_kind ? `${m.name} (${m.model_kind} model)` : m.name;
    o.disabled = !m.available;
    if (!m.available) o.title = m.why;
    select.appendChild(o);
    if (m.available && m.name !== "auto") {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = m.name;
      label.append(box, ` ${m.name}`);
      compare.appendChild(label);
    }
  }
  for (const s of body.strategies) {
    const o = document.createElement("option");
    o.value = o.textContent = s;
    $("#strategy").appendChild(o);
  }
  $("#samples").max = body.max_samples;
  // "auto" (the server picks by the picture's size, as the command line does) when listed
  const first = body.methods.find((m) => m.available && m.name === "auto") ||
    body.methods.find((m) => m.available);
  select.value = first ? first.name : "";
  renderOptions(select.value);
  select.addEventListener("change", () => renderOptions(select.value));
  const info = await (await fetch(`${API}/info`)).json();
  $("#server-info").textContent = `${info.limits.workers} worker(s) · ` +
    `${info.threads.threads} thread(s) · up to ${info.limits.max_megapixels} MP`;
}

// -- running -------------------------------------------------------------------------------------

function jobRow(id, method) {
  const el = document.createElement("div");
  el.className = "job";
  el.dataset.id = id;
  el.innerHTML = `<div class="job-head"><strong></strong> <span class="status">queued</span>
    <button type="button" class="small">Cancel</button></div>
    <progress max="1" value="0"></progress><div class="job-text muted"></div>
    <img class="preview" alt="predicted x0" hidden>`;
  el.querySelector("strong").textContent = method;
  el.querySelector("button").addEventListener("click", () => cancelJob(id));
  $("#jobs").prepend(el);
  return el;
}

function seconds(s) {
  if (s === null || s === undefined) return "?";
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function showProgress(el, job) {
  el.querySelector(".status").textContent = job.status + (job.cancel_requested && !TERMINAL.includes(job.status) ? " (cancelling)" : "");
  const p = job.progress || {};
  const bar = el.querySelector("progress");
  if (p.total_nfe) {
    bar.value = p.nfe / p.total_nfe;
    el.querySelector(".job-text").textContent =
      `step ${p.step} · NFE ${p.nfe} / ${p.total_nfe} · ${seconds(p.elapsed_s)} elapsed · ETA ${seconds(p.eta_s)}`;
  } else if (job.status === "running") {
    bar.removeAttribute("value");
    el.querySelector(".job-text").textContent = "running (no network steps to count)";
  }
  const text = el.querySelector(".job-text");
  if (job.status === "done") {
    bar.value = 1;
    const took = job.finished && job.started ? ` in ${seconds(job.finished - job.started)}` : "";
    text.textContent = `${job.result_urls.length} result(s)${took}`;
  } else if (job.status === "failed") text.textContent = job.error;
  else if (job.status === "cancelled") text.textContent = "cancelled";
}

function follow(id, el, group) {
  return new Promise((resolve) => {
    const source = new EventSource(`${API}/jobs/${id}`);
    state.active.set(id, { source, el });
    const finish = (job) => {
      source.close();
      state.active.delete(id);
      el.querySelector("button").disabled = true;
      $("#cancel").disabled = state.active.size === 0;
      resolve(job);
    };
    source.addEventListener("job", (e) => {
      const job = JSON.parse(e.data);
      showProgress(el, job);
      if (TERMINAL.includes(job.status)) finish(job);
    });
    source.addEventListener("preview", (e) => {
      const img = el.querySelector(".preview");
      img.src = JSON.parse(e.data).image;
      img.hidden = false;
    });
    source.onerror = async () => {  // the stream broke: ask once, then follow by polling
      source.close();
      const poll = async () => {
        const r = await fetch(`${API}/jobs/${id}`);
        if (!r.ok) return finish({ id, status: "failed", error: await errorText(r) });
        const job = await r.json();
        showProgress(el, job);
        if (TERMINAL.includes(job.status)) finish(job);
        else setTimeout(poll, 500);
      };
      poll();
    };
  });
}

async function submit(method, options, group) {
  const form = new FormData();
  form.append("image", state.imageFile, state.imageFile.name || "image.png");
  form.append("mask", await editor.maskBlob(), "mask.png");
  form.append("method", method);
  form.append("options", JSON.stringify(options));
  form.append("samples", $("#samples").value || "1");
  form.append("seed", $("#seed").value || "0");
  form.append("strategy", $("#strategy").value);
  const response = await fetch(`${API}/inpaint`, { method: "POST", body: form });
  if (!response.ok) {
    let text = await errorText(response);
    if (response.status === 429) text += ` (Retry-After ${response.headers.get("Retry-After")} s)`;
    throw new Error(`${method}: ${text}`);
  }
  const { id, method: ran, chosen } = await response.json();
  if (chosen) message(chosen);
  const job = await follow(id, jobRow(id, ran || method), group);
  if (job.status === "done") addToGallery(job, group);
  else if (job.status === "failed") message(`${method} failed: ${job.error}`, "error");
  return job;
}

async function run() {
  if (!editor.loaded) return;
  if (editor.holePixels() === 0) message("the hole is empty: the result will be the input");
  for (const el of $("#options").elements) el.classList.remove("invalid");
  const main = $("#method").value;
  const others = [...$("#compare-methods").querySelectorAll("input:checked")]
    .map((b) => b.value).filter((m) => m !== main);
  const group = { id: ++state.runs, methods: [main, ...others], jobs: [] };
  $("#cancel").disabled = false;
  const runs = [submit(main, optionValues(), group), ...others.map((m) => submit(m, {}, group))];
  const outcomes = await Promise.allSettled(runs);
  const failed = outcomes.filter((o) => o.status === "rejected");
  if (failed.length) {
    const text = failed.map((o) => o.reason.message).join("; ");
    message(text, "error");
    const named = /option (\w+)/.exec(text);
    if (named && $("#options").elements[named[1]]) $("#options").elements[named[1]].classList.add("invalid");
  } else if (!outcomes.some((o) => o.value.status === "failed")) {
    message(`done: ${group.methods.join(", ")}`);
  }
  $("#cancel").disabled = state.active.size === 0;
}

async function cancelJob(id) {
  const response = await fetch(`${API}/jobs/${id}`, { method: "DELETE" });
  if (!response.ok) message(await errorText(response), "error");
}

$("#run").addEventListener("click", run);
$("#cancel").addEventListener("click", () => { for (const id of state.active.keys()) cancelJob(id); });

// -- gallery -------------------------------------------------------------------------------------

function beforeCanvas(job) {
  // the input with its hole tinted, drawn once both files are in
  const canvas = document.createElement("canvas");
  canvas.className = "before";
  const input = new Image();
  const hole = new Image();
  let loaded = 0;
  const draw = () => {
    if (++loaded < 2) return;
    canvas.width = input.naturalWidth;
    canvas.height = input.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(input, 0, 0);
    const tmp = document.createElement("canvas");
    tmp.width = canvas.width;
    tmp.height = canvas.height;
    const t = tmp.getContext("2d");
    t.drawImage(hole, 0, 0);
    const h = t.getImageData(0, 0, tmp.width, tmp.height);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < px.data.length; i += 4) {
      if (h.data[i] >= 128) {
        for (let c = 0; c < 3; c++) px.data[i + c] = (px.data[i + c] + HOLE_RGB[c]) >> 1;
        px.data[i + 3] = 255;
      }
    }
    ctx.putImageData(px, 0, 0);
  };
  input.onload = hole.onload = draw;
  input.src = job.input_url;
  hole.src = job.hole_url;
  return canvas;
}

function describe(job) {
  const opts = Object.entries(job.options).map(([k, v]) => `${k}=${v}`).join(", ");
  const took = job.finished && job.started ? ` · ${seconds(job.finished - job.started)}` : "";
  return `${job.method} · seed ${job.seed}${took}${opts ? " · " + opts : ""}`;
}

function addToGallery(job, group) {
  $("#gallery-empty").hidden = true;
  const card = document.createElement("figure");
  card.className = "card";
  card.dataset.id = job.id;
  const slider = document.createElement("div");
  slider.className = "slider";
  slider.style.setProperty("--pos", "50%");
  const after = document.createElement("img");
  after.className = "after result";
  after.alt = `${job.method} result`;
  after.src = job.result_urls[0];
  const range = document.createElement("input");
  range.type = "range";
  range.min = 0;
  range.max = 100;
  range.value = 50;
  range.setAttribute("aria-label", "before / after");
  range.addEventListener("input", () => slider.style.setProperty("--pos", `${range.value}%`));
  slider.append(beforeCanvas(job), after, range);
  const caption = document.createElement("figcaption");
  caption.textContent = describe(job);
  const samples = document.createElement("div");
  samples.className = "samples";
  const links = document.createElement("div");
  links.className = "downloads";
  job.result_urls.forEach((url, k) => {
    if (job.result_urls.length > 1) {
      const thumb = document.createElement("img");
      thumb.src = url;
      thumb.alt = `sample ${k}`;
      thumb.addEventListener("click", () => { after.src = url; });
      samples.appendChild(thumb);
    }
    const a = document.createElement("a");
    a.href = `${url}?download=true`;
    a.textContent = `result ${k}`;
    a.download = `${state.imageName}-${job.method}-${k}.png`;
    links.appendChild(a);
  });
  const mask = document.createElement("a");
  mask.href = `${job.hole_url}?download=true`;
  mask.textContent = "mask";
  mask.download = `${state.imageName}-mask.png`;
  links.appendChild(mask);
  card.append(slider, caption, samples, links);
  $("#gallery").prepend(card);
  if (group && group.methods.length > 1) addToComparison(job, group);
}

function addToComparison(job, group) {
  const section = $("#comparison");
  section.hidden = false;
  let row = section.querySelector(`[data-group="${group.id}"]`);
  if (!row) {
    row = document.createElement("div");
    row.className = "compare-row";
    row.dataset.group = group.id;
    const input = document.createElement("figure");
    input.append(beforeCanvas(job));
    const cap = document.createElement("figcaption");
    cap.textContent = "input and hole";
    input.appendChild(cap);
    row.appendChild(input);
    for (const m of group.methods) {
      const slot = document.createElement("figure");
      slot.dataset.method = m;
      const cap2 = document.createElement("figcaption");
      cap2.textContent = `${m}: running`;
      slot.appendChild(cap2);
      row.appendChild(slot);
    }
    $("#comparison-row").prepend(row);
  }
  const slot = row.querySelector(`[data-method="${job.method}"]`);
  const img = document.createElement("img");
  img.src = job.result_urls[0];
  img.alt = job.method;
  slot.replaceChildren(img);
  const cap = document.createElement("figcaption");
  cap.textContent = describe(job);
  slot.appendChild(cap);
}

loadMethods().catch((e) => message(`cannot reach the server: ${e}`, "error"));
updateEditorButtons();
