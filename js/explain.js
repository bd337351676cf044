// "How did it read this?": the chosen piece's own path through the network, step by step, in
// a section that is closed by default. The plain answer comes first, as always; only while
// the section is open does the page ask the server again, with ?explain=1, for the pictures
// (the feature maps of the convolutions and the heat maps), once per answer.

import { createClient } from "./api.js";
import { decodeImage, drawDataUrl } from "./result.js";

const MAX_DRAWING_SIDE = 720; // px of the bitmap that shows the drawing (an upload may be huge)
const HEAT_SCALE = 5; // the 28x28 pictures are shown 5 times as big, pixel by pixel
// How many times as big each layer's sprite is shown (at most; a phone shrinks it to fit).
const LAYER_SCALE = [2, 3, 4];

const percent = (p) => (p < 0.005 ? "under 1\u00a0%" : `${Math.round(p * 100)}\u00a0%`);
const topLabel = (scores) => scores.indexOf(Math.max(...scores));

// "32 maps of 26 × 26 px"
function sizeWords(shape, spoken) {
  const [h, w, c] = shape;
  return spoken
    ? `${c} feature maps, ${h} by ${w} pixels each`
    : `${c} maps of ${h}\u00a0×\u00a0${w}\u00a0px`;
}

// Is this the explain object of an entry, as README's API section describes it?
const isExplain = (e) =>
  e !== null &&
  typeof e === "object" &&
  Number.isInteger(e.digit) &&
  typeof e.saliency === "string" &&
  e.runner_up &&
  Number.isInteger(e.runner_up.digit) &&
  typeof e.runner_up.saliency === "string" &&
  Array.isArray(e.layers) &&
  e.layers.every(
    (l) =>
      l &&
      typeof l.name === "string" &&
      typeof l.maps === "string" &&
      Array.isArray(l.shape) &&
      l.shape.length === 3,
  );

// createExplainView(root) -> {show, choose, reset}, for the #explain <details> of index.html.
// show(answer, source) is told of each new answer before its first piece is chosen (source:
// {kind, image, request: {body, contentType}} as main.js sent it, `image` the data URL of a
// drawing); choose(index) follows the chosen
// card; reset() when no answer is on show.
export function createExplainView(root) {
  const find = (id) => root.querySelector(`#${id}`);
  const statusEl = find("explain-status");
  const stepsEl = find("explain-steps");
  const drawingCanvas = find("explain-drawing");
  const drawingText = find("explain-drawing-text");
  const inputCanvas = find("explain-input");
  const firstEl = find("explain-first");
  const laterEl = find("explain-later");
  const laterText = find("explain-later-text");
  const heatEl = find("explain-heat");
  const scoresEl = find("explain-scores");
  const scoresText = find("explain-scores-text");
  const waitEls = Array.from(root.querySelectorAll(".explain-wait"));

  // Its own client, asking for ?explain=1, busy on this section only: the plain answer's
  // requests and their busy state are left alone.
  const explainer = createClient(
    (busy) => (busy ? root.setAttribute("aria-busy", "true") : root.removeAttribute("aria-busy")),
    { explain: true },
  );

  let answer = null; // the plain answer on show
  let source = null;
  let drawing = null; // a promise of the drawing's bitmap, decoded once per answer
  let explained = null; // {answer} or {error} for the answer on show, once it came back
  let asked = false; // the explanation of the answer on show was asked for
  let index = 0; // the chosen piece
  let token = 0; // counts what was put on show, so a late picture never lands on a newer one

  function setStatus(text) {
    statusEl.textContent = text;
    statusEl.hidden = !text;
  }

  function reset() {
    token += 1;
    explainer.cancel();
    answer = null;
    source = null;
    if (drawing) drawing.then((b) => b && b.close());
    drawing = null;
    explained = null;
    asked = false;
    stepsEl.hidden = true;
    setStatus(
      "Write a digit or a number, or try an example: this shows, step by step, how the network reads it.",
    );
  }

  function show(newAnswer, newSource) {
    reset();
    answer = newAnswer;
    source = newSource;
    // a drawing's request is JSON with its strokes; an upload's, the file itself
    const image = source ? source.image || (source.request && source.request.body) : null;
    drawing = image ? decodeImage(image).catch(() => null) : Promise.resolve(null);
    setStatus("");
    if (root.open) ask();
  }

  // Ask the server for the pictures of the answer on show, once (again after a failure).
  async function ask() {
    if (!answer || !source || !source.request) return;
    if (asked && !(explained && explained.error)) return;
    asked = true;
    const mine = answer;
    const outcome = await explainer.send(source.request.body, source.request.contentType);
    if (!outcome || mine !== answer) return;
    explained = outcome;
    render();
  }

  function choose(i) {
    index = i;
    render();
  }

  const pieces = () =>
    Array.isArray(answer.digits) && answer.digits.length > 0 ? answer.digits : [answer];

  function render() {
    if (!answer) return;
    token += 1;
    const mine = token;
    const current = () => mine === token;
    const all = pieces();
    const piece = all[index] || all[0];
    const count = all.length;
    stepsEl.hidden = false;
    renderDrawing(piece, count, current);
    drawDataUrl(inputCanvas, piece.input, current);
    renderScores(piece);

    // The pictures of the network's inside, when they have come.
    let explain = null;
    let waiting = "Working it out\u2026";
    if (explained && explained.error) {
      waiting = `No pictures this time: ${explained.error} Close and open this section to try again.`;
    }
    else if (explained) {
      const entries = piecesOf(explained.answer);
      explain = entries.length === count ? entries[index].explain : null;
      if (!isExplain(explain)) {
        explain = null;
        waiting = "This server does not send the pictures of how it read a drawing.";
      }
    }
    for (const el of waitEls) {
      el.textContent = explain ? "" : waiting;
      el.hidden = Boolean(explain);
    }
    if (!explain) {
      firstEl.replaceChildren();
      laterEl.replaceChildren();
      heatEl.replaceChildren();
      return;
    }
    renderLayers(explain.layers, current);
    renderHeat(explain, piece, current);
  }

  const piecesOf = (a) => (Array.isArray(a.digits) && a.digits.length > 0 ? a.digits : [a]);

  // Step 1: the drawing, or the image, with the chosen piece in a dashed box.
  async function renderDrawing(piece, count, current) {
    const where = count > 1 ? `piece ${index + 1} of ${count}` : "the ink that was found";
    const what = source.kind === "drawing" ? "Your drawing" : "The image";
    drawingCanvas.setAttribute("aria-label", `${what}, with ${where} in a dashed box`);
    drawingCanvas.dataset.kind = source.kind;
    drawingText.textContent =
      count > 1
        ? `${what} holds ${count} things side by side. The network reads one digit at a time, so it is cut into pieces first; this is piece ${index + 1} (the dashed box). Choose another card above to follow it instead.`
        : `${what}, just as the page sent it. First the server looks for the ink (the dashed box): everything else is empty paper.`;
    const bitmap = await drawing;
    if (!current() || !bitmap) return;
    const scale = Math.min(1, MAX_DRAWING_SIDE / Math.max(bitmap.width, bitmap.height));
    drawingCanvas.width = Math.round(bitmap.width * scale);
    drawingCanvas.height = Math.round(bitmap.height * scale);
    const ctx = drawingCanvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, drawingCanvas.width, drawingCanvas.height);
    if (Array.isArray(piece.box) && piece.box.length === 4) {
      const [x, y, w, h] = piece.box.map((v) => v * scale);
      const line = Math.max(2, Math.round(drawingCanvas.height / 90));
      const pad = line * 2;
      ctx.strokeStyle = getComputedStyle(drawingCanvas).getPropertyValue("--mark").trim();
      ctx.lineWidth = line;
      ctx.setLineDash([line * 3, line * 2]);
      ctx.strokeRect(x - pad, y - pad, w + 2 * pad, h + 2 * pad);
    }
  }

  // A picture the server sent, scaled up pixel by pixel.
  function picture(dataUrl, label, scale, current) {
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    canvas.className = "pixels";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label);
    drawDataUrl(canvas, dataUrl, current).then(() => {
      const fig = canvas.parentElement; // its figure, by the time it is decoded
      if (current() && fig) fig.style.setProperty("--px", String(canvas.width * scale));
    });
    return canvas;
  }

  function figure(canvas, title, caption) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    const strong = document.createElement("strong");
    strong.textContent = title;
    cap.append(strong);
    if (caption) cap.append(` · ${caption}`);
    fig.append(canvas, cap);
    return fig;
  }

  // Steps 3 and 4: what the first convolution saw, then the later stages.
  function renderLayers(layers, current) {
    const figures = layers.map((layer, i) => {
      const spoken =
        i === 0
          ? `${sizeWords(layer.shape, true)}: what the first convolution (${layer.name}) saw, white where it found its pattern`
          : `${sizeWords(layer.shape, true)}: what stage ${i} (${layer.name}) saw`;
      const scale = LAYER_SCALE[Math.min(i, LAYER_SCALE.length - 1)];
      return figure(picture(layer.maps, spoken, scale, current), layer.name, sizeWords(layer.shape));
    });
    firstEl.replaceChildren(...figures.slice(0, 1));
    laterEl.replaceChildren(...figures.slice(1));
    const last = layers.at(-1);
    laterText.textContent =
      layers.length > 1
        ? `The next layers combine those patterns into bigger ones (curves, corners, loops) and shrink the picture each time. The last one, ${sizeWords(last.shape)}, no longer looks like a digit: each map says whether its shape is there, and where.`
        : "";
  }

  // Step 5: which ink spoke for the digit, and for the runner-up.
  function renderHeat(explain, piece, current) {
    const d = explain.digit;
    const r = explain.runner_up.digit;
    const notDigit = piece.digit === null;
    const why = figure(
      picture(
        explain.saliency,
        `Heat map for ${d}: red on the ink that made the network choose ${d}, blue on ink that spoke against it`,
        HEAT_SCALE,
        current,
      ),
      notDigit ? `Why ${d}, its closest guess?` : `Why ${d}?`,
      "red: for it, blue: against",
    );
    const whyNot = figure(
      picture(
        explain.runner_up.saliency,
        `Heat map for ${r}, the runner-up: red where the ink looks like a ${r}, blue where it does not`,
        HEAT_SCALE,
        current,
      ),
      `Why not ${r}?`,
      "the second guess",
    );
    whyNot.classList.add("runner-up");
    heatEl.replaceChildren(why, whyNot);
  }

  // Step 6: the ten scores, and "not a digit".
  function renderScores(piece) {
    const scores = piece.scores;
    const top = topLabel(scores);
    const items = scores.map((score, label) => {
      const li = document.createElement("li");
      li.style.setProperty("--score", String(Math.min(1, Math.max(0, score))));
      if (label === top) li.className = "top";
      const bar = document.createElement("span");
      bar.className = "mini-bar";
      bar.setAttribute("aria-hidden", "true");
      const name = document.createElement("span");
      name.className = "mini-label";
      name.textContent = String(label);
      const value = document.createElement("span");
      value.className = "visually-hidden";
      value.textContent = `: ${score.toFixed(2)}`;
      li.append(bar, name, value);
      return li;
    });
    scoresEl.replaceChildren(...items);
    const nad = typeof piece.not_a_digit === "number" ? piece.not_a_digit : null;
    if (piece.digit === null) {
      scoresText.textContent = `Last, the network gives each digit a score; the ten add up to 1. The highest is ${top} (${scores[top].toFixed(2)}), but it also thinks this is not a digit at all (${percent(nad ?? 1)} likely), so the page says so instead of guessing.`;
    } else {
      scoresText.textContent = `Last, the network gives each digit a score; the ten add up to 1 and the highest one wins: ${top}, with ${scores[top].toFixed(2)}.${nad === null ? "" : ` How likely it is that this is not a digit at all: ${percent(nad)}.`}`;
    }
  }

  root.addEventListener("toggle", () => {
    if (root.open) ask();
  });

  reset();
  return { show, choose, reset };
}
