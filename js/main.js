// mnist-draw page: draw a digit or a number (or upload an image), post it, show what the
// network read.
// Plain ES modules, no build step. CSP-friendly: no inline code, no eval, and styles are only
// set as custom properties through the CSSOM. This module wires the parts together:
//   pad.js      the drawing pad
//   api.js      the requests to the recognition API
//   result.js   the answer, or an error, on the page
//   uploads.js  images chosen, dropped or pasted
//   samples.js  the examples to try, read as uploaded images are
//   explain.js  "How did it read this?", step by step, for the chosen piece

import { BLANK_HINT, createClient } from "./api.js";
import { createExplainView } from "./explain.js";
import { createPad } from "./pad.js";
import { createResultView } from "./result.js";
import { setupSamples } from "./samples.js";
import { setupUploads } from "./uploads.js";

const LIVE_KEY = "mnistdraw.live";

const $ = (id) => document.getElementById(id);
const liveToggle = $("live");

// Filled in below, once the pad exists: the chosen piece of a drawn number is outlined on it.
let markPiece = () => {};
const explainView = createExplainView($("explain"));
const view = createResultView($("result"), {
  onChoose: (piece, count, source, index) => {
    markPiece(piece, count, source);
    if (piece) explainView.choose(index);
    else explainView.reset();
  },
});
const client = createClient(view.setBusy);

// Send an image; show its answer unless something newer came meanwhile. The section "How did
// it read this?" is told first, so that it follows the answer's first piece, and may ask for
// the pictures with the same body.
async function predict(body, contentType, source) {
  const outcome = await client.send(body, contentType);
  if (!outcome) return;
  if (outcome.error) {
    view.showError(outcome.error);
    return;
  }
  explainView.show(outcome.answer, { ...source, request: { body, contentType } });
  view.showAnswer(outcome.answer, source);
}

const uploads = setupUploads({
  chooseButton: $("choose"),
  fileInput: $("file"),
  help: $("upload-help"),
  preview: { figure: $("upload-preview"), canvas: $("preview"), caption: $("preview-caption") },
  onImage: (file, type, origin) =>
    predict(file, type, { kind: origin === "sample" ? "sample" : "upload" }),
  onRefused: (message) => {
    client.cancel();
    view.showError(message);
  },
});

setupSamples({
  row: $("sample-row"),
  section: $("samples"),
  onPick: (file, sample) => uploads.read(file, "sample", `Example: ${sample.caption}`),
  onFailed: (message) => {
    client.cancel();
    view.showError(message);
  },
});

const pad = createPad({
  canvas: $("pad"),
  wrap: $("pad-wrap"),
  mark: $("pad-mark"),
  onStrokeStart: view.hideAlert, // the user is acting on it; a new answer or error will follow
  onStrokeEnd: () => {
    if (liveToggle.checked) predictDrawing({ live: true });
  },
});

// `live`: sent by itself at the end of a stroke, while the drawing may not be finished.
function predictDrawing({ live = false } = {}) {
  uploads.hidePreview();
  if (pad.isEmpty()) {
    client.cancel();
    view.reset();
    view.showAlert(BLANK_HINT);
    return;
  }
  const { dataUrl, strokes, width, height } = pad.snapshot();
  predict(JSON.stringify({ image: dataUrl, strokes }), "application/json", {
    kind: "drawing",
    image: dataUrl,
    live,
    size: { width, height },
  });
}

// A number's chosen piece is outlined on the drawing it came from (its box is in the pixels of
// the image that was sent); one digit, an upload or no answer outlines nothing.
markPiece = (piece, count, source) => {
  const drawn = piece && count > 1 && source && source.kind === "drawing";
  pad.mark(drawn ? piece.box : null, drawn ? source.size : undefined);
};

function clearAll() {
  client.cancel();
  pad.clear();
  uploads.hidePreview();
  view.hideAlert();
  view.reset();
}

function undo() {
  if (!pad.undo()) return;
  if (pad.isEmpty()) {
    client.cancel();
    view.hideAlert();
    view.reset();
  } else if (liveToggle.checked) {
    predictDrawing({ live: true });
  }
}

$("predict").addEventListener("click", () => predictDrawing());
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
  const onControl = target && target.closest("button, a[href], summary, select, textarea, input");
  const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
  if (event.key === "Enter" && plain && !event.shiftKey) {
    // Enter on a button activates that button; elsewhere (the switch included) it predicts.
    if (onControl && !target.matches("input[type=checkbox]")) return;
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

view.reset();
document.documentElement.classList.add("ready"); // everything is wired up (tests wait for it)
