// The hole editor: an image canvas under a mask canvas. The mask canvas holds the hole as
// opaque pixels (alpha >= 128 = hole) at the image's own resolution; it is shown half
// transparent. Brush and eraser strokes, undo/redo of whole strokes, mask files in and out.
"use strict";

const HOLE_RGB = [48, 112, 255];  // how the hole is painted (shown half transparent)

class MaskEditor {
  constructor(imageCanvas, maskCanvas, cursor) {
    this.imageCanvas = imageCanvas;
    this.maskCanvas = maskCanvas;
    this.cursor = cursor;
    this.image = this.imageCanvas.getContext("2d");
    this.mask = this.maskCanvas.getContext("2d", { willReadFrequently: true });
    this.tool = "brush";
    this.size = 24;
    this.undoStack = [];
    this.redoStack = [];
    this.maxUndo = 30;
    this.drawing = false;
    this.last = null;
    this.onchange = () => {};
    this.maskCanvas.addEventListener("pointerdown", (e) => this.down(e));
    this.maskCanvas.addEventListener("pointermove", (e) => this.move(e));
    this.maskCanvas.addEventListener("pointerup", (e) => this.up(e));
    this.maskCanvas.addEventListener("pointercancel", (e) => this.up(e));
    this.maskCanvas.addEventListener("pointerleave", () => { this.cursor.hidden = true; });
  }

  get width() { return this.maskCanvas.width; }
  get height() { return this.maskCanvas.height; }
  get loaded() { return this.width > 0 && this.height > 0 && this.hasImage === true; }

  setImage(bitmap) {
    for (const c of [this.imageCanvas, this.maskCanvas]) {
      c.width = bitmap.width;
      c.height = bitmap.height;
    }
    this.image.drawImage(bitmap, 0, 0);
    this.hasImage = true;
    this.undoStack = [];
    this.redoStack = [];
    this.onchange();
  }

  // image pixels per CSS pixel of the displayed canvas
  scale() {
    const rect = this.maskCanvas.getBoundingClientRect();
    return rect.width ? this.width / rect.width : 1;
  }

  point(e) {
    const rect = this.maskCanvas.getBoundingClientRect();
    const s = this.scale();
    return { x: (e.clientX - rect.left) * s, y: (e.clientY - rect.top) * s };
  }

  snapshot() {
    this.undoStack.push(this.mask.getImageData(0, 0, this.width, this.height));
    if (this.undoStack.length > this.maxUndo) this.undoStack.shift();
    this.redoStack = [];
  }

  stroke(from, to) {
    const ctx = this.mask;
    ctx.save();
    ctx.globalCompositeOperation = this.tool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = `rgb(${HOLE_RGB.join(", ")})`;
    ctx.lineWidth = this.size;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (from.x === to.x && from.y === to.y) {
      ctx.arc(to.x, to.y, this.size / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }
    ctx.restore();
  }

  down(e) {
    if (!this.loaded || e.button !== 0) return;
    e.preventDefault();
    this.maskCanvas.setPointerCapture(e.pointerId);
    this.snapshot();
    this.drawing = true;
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  move(e) {
    this.showCursor(e);
    if (!this.drawing) return;
    const p = this.point(e);
    this.stroke(this.last, p);
    this.last = p;
  }

  up() {
    if (!this.drawing) return;
    this.drawing = false;
    this.onchange();
  }

  showCursor(e) {
    if (!this.loaded) return;
    const rect = this.maskCanvas.getBoundingClientRect();
    const d = this.size / this.scale();
    Object.assign(this.cursor.style, {
      width: `${d}px`, height: `${d}px`,
      left: `${e.clientX - rect.left - d / 2}px`, top: `${e.clientY - rect.top - d / 2}px`,
    });
    this.cursor.classList.toggle("eraser", this.tool === "eraser");
    this.cursor.hidden = false;
  }

  undo() {
    if (!this.undoStack.length) return;
    this.redoStack.push(this.mask.getImageData(0, 0, this.width, this.height));
    this.mask.putImageData(this.undoStack.pop(), 0, 0);
    this.onchange();
  }

  redo() {
    if (!this.redoStack.length) return;
    this.undoStack.push(this.mask.getImageData(0, 0, this.width, this.height));
    this.mask.putImageData(this.redoStack.pop(), 0, 0);
    this.onchange();
  }

  clear() {
    if (!this.loaded || this.holePixels() === 0) return;
    this.snapshot();
    this.mask.clearRect(0, 0, this.width, this.height);
    this.onchange();
  }

  holePixels() {
    if (!this.loaded) return 0;
    const data = this.mask.getImageData(0, 0, this.width, this.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] >= 128) n++;
    return n;
  }

  // A mask picture (white = hole; a varying alpha channel is the mask) as the hole, undoably.
  setMaskFrom(bitmap) {
    if (bitmap.width !== this.width || bitmap.height !== this.height) {
      throw new Error(`the mask is ${bitmap.width}x${bitmap.height} but the image is ` +
        `${this.width}x${this.height}; masks are not resized`);
    }
    const tmp = document.createElement("canvas");
    tmp.width = this.width;
    tmp.height = this.height;
    const t = tmp.getContext("2d", { willReadFrequently: true });
    t.drawImage(bitmap, 0, 0);
    const src = t.getImageData(0, 0, this.width, this.height).data;
    let alphaMin = 255, alphaMax = 0;
    for (let i = 3; i < src.length; i += 4) {
      alphaMin = Math.min(alphaMin, src[i]);
      alphaMax = Math.max(alphaMax, src[i]);
    }
    const byAlpha = alphaMin !== alphaMax;
    this.snapshot();
    const out = this.mask.createImageData(this.width, this.height);
    for (let i = 0; i < src.length; i += 4) {
      const luma = 0.299 * src[i] + 0.587 * src[i + 1] + 0.114 * src[i + 2];
      const hole = byAlpha ? src[i + 3] >= 128 : luma >= 128;
      if (hole) {
        out.data.set([...HOLE_RGB, 255], i);
      }
    }
    this.mask.putImageData(out, 0, 0);
    this.onchange();
  }

  // The hole as a binary PNG blob: white = hole, black = keep, the image's size.
  maskBlob() {
    const tmp = document.createElement("canvas");
    tmp.width = this.width;
    tmp.height = this.height;
    const t = tmp.getContext("2d");
    const src = this.mask.getImageData(0, 0, this.width, this.height).data;
    const out = t.createImageData(this.width, this.height);
    for (let i = 0; i < src.length; i += 4) {
      const v = src[i + 3] >= 128 ? 255 : 0;
      out.data[i] = out.data[i + 1] = out.data[i + 2] = v;
      out.data[i + 3] = 255;
    }
    t.putImageData(out, 0, 0);
    return new Promise((resolve) => tmp.toBlob(resolve, "image/png"));
  }
}

window.MaskEditor = MaskEditor;
window.HOLE_RGB = HOLE_RGB;
