// The two-alternative study (RePaint 5.2): the masked input and two anonymous fills; the
// participant picks the more realistic one. Each question comes twice. The participant id is
// random and kept in this browser only, so a reload resumes where it stopped.
"use strict";

const studyId = decodeURIComponent(location.pathname.split("/")[2]);
const api = `/api/v1/studies/${encodeURIComponent(studyId)}`;
const key = `inpaintkit-study-${studyId}`;
const s = { participant: null, showings: [], answered: new Set(), current: null, shownAt: 0, busy: false };
window.study = s;

const el = (id) => document.getElementById(id);

async function start() {
  let body = null;
  const saved = localStorage.getItem(key);
  if (saved) {
    const r = await fetch(`${api}/participants/${saved}`);
    if (r.ok) body = await r.json();
  }
  if (!body) {
    const r = await fetch(`${api}/participants`, { method: "POST" });
    if (!r.ok) throw new Error((await r.json()).detail);
    body = await r.json();
    localStorage.setItem(key, body.participant);
  }
  s.participant = body.participant;
  s.showings = body.showings;
  s.answered = new Set(body.answered || []);
  el("question").textContent = body.question;
  next();
}

function next() {
  const show = s.showings.find((x) => !s.answered.has(x.index));
  if (!show) return finish();
  s.current = show;
  el("progress").textContent = `question ${s.answered.size + 1} of ${s.showings.length}`;
  const imgs = [el("input"), el("left").querySelector("img"), el("right").querySelector("img")];
  let loaded = 0;
  for (const img of imgs) img.onload = () => { if (++loaded === 3) s.shownAt = performance.now(); };
  el("input").src = show.input;
  imgs[1].src = show.left;
  imgs[2].src = show.right;
  el("showing").hidden = false;
  s.busy = false;
}

async function answer(choice) {
  if (s.busy || !s.current) return;
  s.busy = true;
  const ms = s.shownAt ? Math.round(performance.now() - s.shownAt) : null;
  const r = await fetch(`${api}/votes`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ participant: s.participant, index: s.current.index, choice, response_ms: ms }),
  });
  const body = await r.json();
  if (!r.ok && r.status !== 409) {
    el("message").textContent = body.detail;
    s.busy = false;
    return;
  }
  s.answered.add(s.current.index);
  s.last = body;
  next();
}

function finish() {
  el("showing").hidden = true;
  el("progress").textContent = `${s.showings.length} of ${s.showings.length} answered`;
  const c = s.last && s.last.consistency;
  el("done-text").textContent = c
    ? `Your two answers to the same question agreed ${c.consistent} of ${c.repeated} times; ` +
      (c.counted ? "your votes count." : "answers count when at least 75% agree, so yours do not.")
    : "All questions are answered.";
  el("done").hidden = false;
}

for (const side of ["left", "right"]) el(side).addEventListener("click", () => answer(side));
document.addEventListener("keydown", (e) => {
  if (e.key === "ArrowLeft" || e.key === "1") answer("left");
  else if (e.key === "ArrowRight" || e.key === "2") answer("right");
});
start().catch((e) => { el("message").textContent = `cannot start the study: ${e.message}`; });
