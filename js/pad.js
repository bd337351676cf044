// The drawing pad: strokes on a canvas that keeps its strokes through resizes and colour
// scheme changes, and hands the drawing out as a PNG data URL.

import SignaturePad from "./vendor/signature_pad/signature_pad.min.js";

// The server accepts any size; a drawing scaled down to about this many pixels uploads faster.
const SEND_SIZE = 280;

// createPad({canvas, wrap, onStrokeStart, onStrokeEnd}) -> {isEmpty, clear, undo, dataUrl}.
// `wrap` gets the class `has-ink` while there is a drawing (it hides the hint).
export function createPad({ canvas, wrap, onStrokeStart, onStrokeEnd }) {
  const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
  const inkColour = () => getComputedStyle(canvas).getPropertyValue("--ink").trim() || "#000";

  // The canvas bitmap stays transparent: the server reads the ink from the alpha channel.
  const pad = new SignaturePad(canvas, {
    penColor: inkColour(),
    throttle: 0, // keep every pointer sample; browsers already coalesce moves per frame
    velocityFilterWeight: 0.6,
  });

  let cssWidth = 0;
  let pixelRatio = 0;

  // Brush proportional to the canvas, so a digit looks the same on a phone and on a desktop.
  function setBrush(width) {
    // a nearly even width: pen-like, and what MNIST's strokes look like
    pad.maxWidth = width * 0.04;
    pad.minWidth = width * 0.034;
    pad.dotSize = width * 0.037;
    pad.minDistance = Math.max(1, width / 160);
  }

  // Size the bitmap to the element's CSS size times devicePixelRatio (sharp on high-DPI
  // screens) and keep the strokes, scaled, when the layout changes.
  function fitCanvas() {
    const rect = canvas.getBoundingClientRect();
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const width = rect.width;
    if (width < 1 || (Math.abs(width - cssWidth) < 0.5 && ratio === pixelRatio)) return;
    const scale = cssWidth ? width / cssWidth : 1;
    const data = pad.toData();
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    canvas.getContext("2d").scale(ratio, ratio);
    cssWidth = width;
    pixelRatio = ratio;
    setBrush(width);
    if (scale !== 1) {
      for (const group of data) {
        group.minWidth *= scale;
        group.maxWidth *= scale;
        group.dotSize *= scale;
        for (const point of group.points) {
          point.x *= scale;
          point.y *= scale;
        }
      }
    }
    pad.fromData(data);
  }

  fitCanvas();
  new ResizeObserver(fitCanvas).observe(canvas);
  window.addEventListener("resize", fitCanvas); // page zoom changes devicePixelRatio

  // The ink follows the colour scheme, old strokes included.
  darkScheme.addEventListener("change", () => {
    pad.penColor = inkColour();
    const data = pad.toData();
    for (const group of data) group.penColor = pad.penColor;
    pad.fromData(data);
  });

  function updateInkState() {
    wrap.classList.toggle("has-ink", !pad.isEmpty());
  }

  pad.addEventListener("beginStroke", () => {
    wrap.classList.add("has-ink");
    onStrokeStart();
  });

  pad.addEventListener("endStroke", () => {
    updateInkState();
    onStrokeEnd();
  });

  function clear() {
    pad.clear();
    updateInkState();
  }

  // Removes the last stroke; false when there was none.
  function undo() {
    const data = pad.toData();
    if (data.length === 0) return false;
    data.pop();
    pad.fromData(data);
    updateInkState();
    return true;
  }

  // A PNG data URL of the drawing, scaled down to about SEND_SIZE px (alpha kept).
  const sendCanvas = document.createElement("canvas");
  function dataUrl() {
    const scale = Math.min(1, SEND_SIZE / Math.max(canvas.width, canvas.height));
    if (scale === 1) return canvas.toDataURL("image/png");
    sendCanvas.width = Math.max(1, Math.round(canvas.width * scale));
    sendCanvas.height = Math.max(1, Math.round(canvas.height * scale));
    const ctx = sendCanvas.getContext("2d");
    ctx.clearRect(0, 0, sendCanvas.width, sendCanvas.height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(canvas, 0, 0, sendCanvas.width, sendCanvas.height);
    return sendCanvas.toDataURL("image/png");
  }

  return { isEmpty: () => pad.isEmpty(), clear, undo, dataUrl };
}
