// The drawing pad: strokes on a wide canvas (a digit, or a number written left to right) that
// keeps its strokes through resizes and colour scheme changes, hands the drawing out as a PNG
// data URL, and can mark where a piece of it is.

import SignaturePad from "./vendor/signature_pad/signature_pad.min.js";

// The server accepts any size; a drawing scaled down to at most this many pixels uploads
// faster (a 3:1 canvas goes as about 686 x 229, a square one as 396 x 396).
const SEND_PIXELS = 280 * 280 * 2;

// createPad({canvas, wrap, mark, onStrokeStart, onStrokeEnd}) -> {isEmpty, clear, undo,
// snapshot, mark}. `wrap` gets the class `has-ink` while there is a drawing (it hides the
// hint); `mark` is the element that outlines a piece of the drawing.
export function createPad({ canvas, wrap, mark: markEl, onStrokeStart, onStrokeEnd }) {
  const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
  const inkColour = () => getComputedStyle(canvas).getPropertyValue("--ink").trim() || "#000";

  // The canvas bitmap stays transparent: the server reads the ink from the alpha channel.
  const pad = new SignaturePad(canvas, {
    penColor: inkColour(),
    throttle: 0, // keep every pointer sample; browsers already coalesce moves per frame
    velocityFilterWeight: 0.6,
  });

  let sent = null; // the size of the last snapshot, which the boxes of its answer refer to
  let cssWidth = 0;
  let cssHeight = 0;
  let pixelRatio = 0;

  // Brush proportional to the canvas's height (its shorter side), which is what one digit is
  // drawn against: a digit looks the same on a phone and on a desktop, and a number's digits,
  // drawn smaller, get a pen that is a little bolder for their size, as on paper.
  function setBrush(side) {
    // a nearly even width: pen-like, and what MNIST's strokes look like
    pad.maxWidth = side * 0.045;
    pad.minWidth = side * 0.038;
    pad.dotSize = side * 0.042;
    pad.minDistance = Math.max(1, side / 110);
  }

  // Size the bitmap to the element's CSS size times devicePixelRatio (sharp on high-DPI
  // screens) and keep the strokes when the layout changes: scaled alike in both directions
  // (a phone turned sideways changes the canvas's proportions) and centred.
  function fitCanvas() {
    const rect = canvas.getBoundingClientRect();
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const { width, height } = rect;
    if (width < 1 || height < 1) return;
    const same = Math.abs(width - cssWidth) < 0.5 && Math.abs(height - cssHeight) < 0.5;
    if (same && ratio === pixelRatio) return;
    const scale = cssWidth ? Math.min(width / cssWidth, height / cssHeight) : 1;
    const dx = cssWidth ? (width - cssWidth * scale) / 2 : 0;
    const dy = cssHeight ? (height - cssHeight * scale) / 2 : 0;
    const data = pad.toData();
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.getContext("2d").scale(ratio, ratio);
    cssWidth = width;
    cssHeight = height;
    pixelRatio = ratio;
    setBrush(Math.min(width, height));
    if (scale !== 1 || dx || dy) {
      mark(null); // the drawing moved under it
      for (const group of data) {
        group.minWidth *= scale;
        group.maxWidth *= scale;
        group.dotSize *= scale;
        for (const point of group.points) {
          point.x = point.x * scale + dx;
          point.y = point.y * scale + dy;
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

  // Outline a box of the last snapshot ([x, y, w, h] in its pixels); null hides the outline.
  function mark(box, size = sent) {
    const valid =
      Array.isArray(box) &&
      box.length === 4 &&
      box.every((v) => typeof v === "number" && Number.isFinite(v)) &&
      size &&
      size.width > 0 &&
      size.height > 0;
    markEl.hidden = !valid;
    if (!valid) return;
    const [x, y, w, h] = box;
    markEl.style.setProperty("--x", String(x / size.width));
    markEl.style.setProperty("--y", String(y / size.height));
    markEl.style.setProperty("--w", String(w / size.width));
    markEl.style.setProperty("--h", String(h / size.height));
  }

  pad.addEventListener("beginStroke", () => {
    mark(null);
    wrap.classList.add("has-ink");
    onStrokeStart();
  });

  pad.addEventListener("endStroke", () => {
    updateInkState();
    onStrokeEnd();
  });

  function clear() {
    mark(null);
    pad.clear();
    updateInkState();
  }

  // Removes the last stroke; false when there was none.
  function undo() {
    const data = pad.toData();
    if (data.length === 0) return false;
    data.pop();
    mark(null);
    pad.fromData(data);
    updateInkState();
    return true;
  }

  // Each stroke's centre line as [[x, y], ...] in the pixels of an image `scale` times the
  // bitmap's size: the server tells digits that touch apart by the strokes that drew them.
  // Whole pixels are precise enough and parse three times as fast; a point that repeats the
  // one before is left out.
  function strokes(scale) {
    const factor = pixelRatio * scale;
    return pad.toData().map((group) => {
      const line = [];
      for (const p of group.points) {
        const x = Math.round(p.x * factor);
        const y = Math.round(p.y * factor);
        const last = line[line.length - 1];
        if (!last || last[0] !== x || last[1] !== y) line.push([x, y]);
      }
      return line;
    });
  }

  // The drawing as {dataUrl, strokes, width, height}: a PNG of the whole canvas, transparent
  // where nothing is drawn, scaled down to at most SEND_PIXELS pixels (the server segments
  // it), and the strokes in its pixels.
  const sendCanvas = document.createElement("canvas");
  function snapshot() {
    const scale = Math.min(1, Math.sqrt(SEND_PIXELS / (canvas.width * canvas.height)));
    if (scale === 1) {
      sent = { width: canvas.width, height: canvas.height };
      return { dataUrl: canvas.toDataURL("image/png"), strokes: strokes(1), ...sent };
    }
    sendCanvas.width = Math.max(1, Math.round(canvas.width * scale));
    sendCanvas.height = Math.max(1, Math.round(canvas.height * scale));
    const ctx = sendCanvas.getContext("2d");
    ctx.clearRect(0, 0, sendCanvas.width, sendCanvas.height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(canvas, 0, 0, sendCanvas.width, sendCanvas.height);
    sent = { width: sendCanvas.width, height: sendCanvas.height };
    return {
      dataUrl: sendCanvas.toDataURL("image/png"),
      strokes: strokes(sendCanvas.width / canvas.width),
      ...sent,
    };
  }

  return { isEmpty: () => pad.isEmpty(), clear, undo, snapshot, mark };
}
