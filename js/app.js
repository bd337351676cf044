// mnist-draw page: draw a digit (or upload an image), post it, show what the network read.
// Plain ES module, no build step. CSP-friendly: no inline code, no eval, and styles are only
// set as custom properties through the CSSOM.

import SignaturePad from "./vendor/signature_pad/signature_pad.min.js";

// Relative on purpose: works at http://host/ (persistent server) and at /index.html under
// `python -m http.server --cgi`.
const ENDPOINT = "cgi-bin/mnist.py";
const UPLOAD_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);
// The server accepts any size; a drawing scaled down to about this many pixels uploads faster.
const SEND_SIZE = 280;
// Same limit as the server (MAX_BODY_BYTES in mnistdraw/api.py): refuse early, instead of
// uploading megabytes that the server will turn away.
const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
const LIVE_KEY = "mnistdraw.live";

const TEXT = {
  blank: "Nothing to read yet: draw a digit on the canvas first, then press Predict.",
  unreachable:
    "Cannot reach the server. Check your connection, or that the server is running, and try again.",
  unreadable: "The server sent an answer this page cannot read. Please try again.",
  notImage: (name) =>
    `${name ? `“${name}”` : "That file"} is not a PNG, JPEG, WebP or GIF image. Please use one of those.`,
  tooLarge: (size) =>
    `That image is ${(size / 1048576).toFixed(1)} MB; the largest accepted is ${MAX_UPLOAD_BYTES / 1048576} MB.`,
  empty: "Draw a digit to start",
};

const $ = (id) => document.getElementById(id);
const canvas = $("pad");
const padWrap = $("pad-wrap");
const result = $("result");
const alertBox = $("alert");
const alertText = $("alert-text");
const digitEl = $("digit");
const confidenceEl = $("confidence");
const seenCanvas = $("seen");
const announceEl = $("announce");
const modelEl = $("model");
const liveToggle = $("live");
const fileInput = $("file");
const previewFigure = $("upload-preview");
const previewCanvas = $("preview");
const previewCaption = $("preview-caption");
const barItems = Array.from($("bars").children);

// ---------------------------------------------------------------- drawing pad

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

// Size the bitmap to the element's CSS size times devicePixelRatio (sharp on high-DPI screens)
// and keep the strokes, scaled, when the layout changes.
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
  padWrap.classList.toggle("has-ink", !pad.isEmpty());
}

pad.addEventListener("beginStroke", () => {
  padWrap.classList.add("has-ink");
  hideAlert(); // the user is acting on it; a new answer or error will follow
});

pad.addEventListener("endStroke", () => {
  updateInkState();
  if (liveToggle.checked) predictDrawing();
});

// A PNG data URL of the drawing, scaled down to about SEND_SIZE px (alpha kept).
const sendCanvas = document.createElement("canvas");
function drawingDataUrl() {
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

// ---------------------------------------------------------------- result display

function setState(state) {
  result.dataset.state = state;
}

function setBusy(busy) {
  if (busy) result.setAttribute("aria-busy", "true");
  else result.removeAttribute("aria-busy");
}

function showAlert(message) {
  alertText.textContent = message;
  alertBox.hidden = false;
}

function hideAlert() {
  alertBox.hidden = true;
  alertText.textContent = "";
}

function resetResult() {
  setState("empty");
  digitEl.textContent = "–";
  confidenceEl.textContent = TEXT.empty;
  modelEl.textContent = "";
  announceEl.textContent = "";
  seenCanvas.getContext("2d").clearRect(0, 0, seenCanvas.width, seenCanvas.height);
  for (const item of barItems) {
    item.classList.remove("top");
    item.style.setProperty("--score", "0");
    item.querySelector(".bar-value").textContent = "0.00";
  }
}

function showError(message) {
  resetResult();
  setState("error");
  confidenceEl.textContent = "No result";
  showAlert(message);
}

function formatPercent(confidence) {
  const pct = confidence * 100;
  return pct >= 99.5 && pct < 100 ? pct.toFixed(1) : String(Math.round(pct));
}

function isAnswer(data) {
  return (
    data !== null &&
    typeof data === "object" &&
    Number.isInteger(data.digit) &&
    data.digit >= 0 &&
    data.digit <= 9 &&
    Array.isArray(data.scores) &&
    data.scores.length === 10 &&
    data.scores.every((s) => typeof s === "number" && Number.isFinite(s))
  );
}

function render(answer, source) {
  hideAlert();
  setState("done");
  const { digit, scores } = answer;
  const confidence = typeof answer.confidence === "number" ? answer.confidence : scores[digit];
  const pct = formatPercent(confidence);
  digitEl.textContent = String(digit);
  confidenceEl.textContent = `${pct}\u00a0% confidence`;
  scores.forEach((score, label) => {
    const item = barItems[label];
    const clamped = Math.min(1, Math.max(0, score));
    item.style.setProperty("--score", String(clamped));
    item.querySelector(".bar-value").textContent = clamped.toFixed(2);
    item.classList.toggle("top", label === digit);
  });
  modelEl.textContent = answer.model ? `Model: ${answer.model}` : "";
  const from = source.kind === "upload" ? " in the uploaded image" : "";
  announceEl.textContent = `Recognised ${digit}${from} with ${pct}\u00a0% confidence`;
  const id = sequence;
  drawDataUrl(seenCanvas, answer.input, () => id === sequence);
}

// Draw a data URL onto a canvas without an <img>: `default-src 'self'` forbids data: images,
// but decoding the bytes ourselves with createImageBitmap is not a fetch.
// `current()` says whether the answer is still the one on show once the image is decoded.
async function drawDataUrl(target, dataUrl, current) {
  const ctx = target.getContext("2d");
  ctx.clearRect(0, 0, target.width, target.height);
  const match = typeof dataUrl === "string" && /^data:([^;,]*)(?:;[^,]*)?;base64,(.*)$/s.exec(dataUrl);
  if (!match) return;
  try {
    const bytes = Uint8Array.from(atob(match[2]), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: match[1] || "image/png" }));
    if (!current()) {
      bitmap.close();
      return;
    }
    target.width = bitmap.width;
    target.height = bitmap.height;
    target.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
  } catch {
    // The picture is a bonus; the scores are already shown.
  }
}

// ---------------------------------------------------------------- talking to the server

let sequence = 0; // only the answer to the latest request may be shown
let controller = null;

function cancelPending() {
  sequence += 1;
  if (controller) controller.abort();
  controller = null;
  setBusy(false);
}

// `python -m http.server --cgi` always answers "200 Script output follows" and passes the
// script's own status on as a `Status:` header; that header, when present, is the status.
function statusOf(response) {
  const match = /^\s*(\d{3})\s*(.*)$/.exec(response.headers.get("Status") || "");
  if (match) return { code: Number(match[1]), reason: match[2].trim() };
  return { code: response.status, reason: response.statusText };
}

function describeError(status, payload) {
  const error = payload && typeof payload === "object" ? payload.error : null;
  if (error && error.code === "blank") return TEXT.blank;
  let message = error && typeof error.message === "string" ? error.message.trim() : "";
  if (message) {
    message = message[0].toUpperCase() + message.slice(1);
    if (!/[.!?]$/.test(message)) message += ".";
    return message;
  }
  const http = `HTTP ${status.code}${status.reason ? ` ${status.reason}` : ""}`;
  if (status.code === 413) return `That image is too large for the server (${http}).`;
  if (status.code >= 500) {
    return `The server ran into a problem (${http}). Please try again in a moment.`;
  }
  return `The server could not handle the request (${http}).`;
}

async function send(body, contentType, source) {
  cancelPending();
  const id = sequence;
  controller = new AbortController();
  const { signal } = controller;
  setBusy(true);
  let response;
  let payload = null;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": contentType, Accept: "application/json" },
      body,
      signal,
      cache: "no-store",
    });
    const text = await response.text();
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  } catch (error) {
    if (id !== sequence || error.name === "AbortError") return;
    controller = null;
    setBusy(false);
    showError(TEXT.unreachable);
    return;
  }
  if (id !== sequence) return; // a newer request, a clear or an undo came after this one
  controller = null;
  setBusy(false);
  const status = statusOf(response);
  const failed = status.code < 200 || status.code > 299;
  if (failed || (payload && typeof payload === "object" && "error" in payload)) {
    showError(describeError(status, payload));
  } else if (!isAnswer(payload)) {
    showError(TEXT.unreadable);
  } else {
    render(payload, source);
  }
}

function predictDrawing() {
  hidePreview();
  if (pad.isEmpty()) {
    cancelPending();
    resetResult();
    showAlert(TEXT.blank);
    return;
  }
  send(drawingDataUrl(), "text/plain;charset=UTF-8", { kind: "drawing" });
}

// ---------------------------------------------------------------- actions

function clearAll() {
  cancelPending();
  pad.clear();
  updateInkState();
  hidePreview();
  hideAlert();
  resetResult();
}

function undo() {
  const data = pad.toData();
  if (data.length === 0) return;
  data.pop();
  pad.fromData(data);
  updateInkState();
  if (pad.isEmpty()) {
    cancelPending();
    hideAlert();
    resetResult();
  } else if (liveToggle.checked) {
    predictDrawing();
  }
}

$("predict").addEventListener("click", predictDrawing);
$("clear").addEventListener("click", clearAll);
$("undo").addEventListener("click", undo);

// Live mode is on by default; the choice is remembered.
try {
  const saved = window.localStorage.getItem(LIVE_KEY);
  if (saved !== null) liveToggle.checked = saved === "on";
} catch {
  // storage unavailable (privacy mode): keep the default
}
liveToggle.addEventListener("change", () => {
  try {
    window.localStorage.setItem(LIVE_KEY, liveToggle.checked ? "on" : "off");
  } catch {
    // not remembered, still works
  }
  if (liveToggle.checked && !pad.isEmpty()) predictDrawing();
});

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing) return;
  const target = event.target instanceof Element ? event.target : null;
  const onControl = target && target.closest("button, a[href], select, textarea, input");
  const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
  if (event.key === "Enter" && plain && !event.shiftKey) {
    // Enter on a button activates that button; elsewhere (the switch included) it predicts.
    if (onControl && !(target.matches("input[type=checkbox]"))) return;
    event.preventDefault();
    predictDrawing();
  } else if (event.key === "Escape" && plain) {
    event.preventDefault();
    clearAll();
  } else if (
    (event.ctrlKey || event.metaKey) &&
    !event.altKey &&
    !event.shiftKey &&
    (event.key === "z" || event.key === "Z" || event.code === "KeyZ")
  ) {
    if (target && target.closest("textarea, input:not([type=checkbox]):not([type=file])")) return;
    event.preventDefault();
    undo();
  }
});

// ---------------------------------------------------------------- uploads

function hidePreview() {
  previewToken += 1;
  previewFigure.hidden = true;
}

let previewToken = 0;

async function showPreview(file, label) {
  const token = ++previewToken;
  previewCaption.textContent = label;
  previewFigure.hidden = false;
  const ctx = previewCanvas.getContext("2d");
  ctx.clearRect(0, 0, previewCanvas.width, previewCanvas.height);
  try {
    const bitmap = await createImageBitmap(file);
    if (token !== previewToken) {
      bitmap.close(); // another image came meanwhile
      return;
    }
    const box = Math.round(96 * Math.max(window.devicePixelRatio || 1, 1));
    const scale = Math.min(box / bitmap.width, box / bitmap.height);
    previewCanvas.width = box;
    previewCanvas.height = box;
    const w = bitmap.width * scale;
    const h = bitmap.height * scale;
    const c = previewCanvas.getContext("2d");
    c.imageSmoothingQuality = "high";
    c.drawImage(bitmap, (box - w) / 2, (box - h) / 2, w, h);
    previewCaption.textContent = `${label} · ${bitmap.width} × ${bitmap.height} px`;
    bitmap.close();
  } catch {
    if (token === previewToken) {
      previewCaption.textContent = `${label} · no preview (the server will still try to read it)`;
    }
  }
}

// The type the file's first bytes show, for files that the system labels oddly or not at all.
async function sniffType(file) {
  const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const ascii = (from, to) => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (ascii(0, 4) === "GIF8") return "image/gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return "";
}

async function predictFile(file, origin) {
  if (!file) return;
  let type = file.type;
  if (!UPLOAD_TYPES.has(type)) {
    try {
      type = await sniffType(file);
    } catch {
      type = "";
    }
  }
  if (!UPLOAD_TYPES.has(type)) {
    cancelPending();
    hidePreview();
    showError(TEXT.notImage(file.name));
    return;
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    cancelPending();
    hidePreview();
    showError(TEXT.tooLarge(file.size));
    return;
  }
  const label = origin === "paste" ? "Pasted image" : file.name;
  showPreview(file, label);
  send(file, type, { kind: "upload", name: label });
}

$("choose").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  predictFile(fileInput.files && fileInput.files[0], "file");
  fileInput.value = ""; // choosing the same file again still triggers a prediction
});

// Drop anywhere on the page (so a missed drop never navigates away to the file).
let dragDepth = 0;
const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
document.addEventListener("dragenter", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  document.body.classList.add("dragging");
});
document.addEventListener("dragover", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove("dragging");
});
document.addEventListener("drop", (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  predictFile(event.dataTransfer.files[0], "drop");
});

document.addEventListener("paste", (event) => {
  const items = event.clipboardData ? Array.from(event.clipboardData.items) : [];
  const item = items.find((i) => i.kind === "file" && i.type.startsWith("image/"));
  if (!item) return;
  event.preventDefault();
  predictFile(item.getAsFile(), "paste");
});

resetResult();
document.documentElement.classList.add("ready");
