// The result view: the one place that shows an answer (the digit, its confidence, the bar of
// each score, the 28x28 image the model saw, the sentence for screen readers), "not a digit"
// with the closest guess, an error, or nothing yet.

const EMPTY = "Draw a digit to start";

function formatPercent(confidence) {
  const pct = confidence * 100;
  return pct >= 99.5 && pct < 100 ? pct.toFixed(1) : String(Math.round(pct));
}

// Draw a data URL onto a canvas without an <img>: `default-src 'self'` forbids data: images,
// but decoding the bytes ourselves with createImageBitmap is not a fetch.
// `current()` says whether the answer is still the one on show once the image is decoded.
async function drawDataUrl(target, dataUrl, current) {
  const ctx = target.getContext("2d");
  ctx.clearRect(0, 0, target.width, target.height);
  const match =
    typeof dataUrl === "string" && /^data:([^;,]*)(?:;[^,]*)?;base64,(.*)$/s.exec(dataUrl);
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

// createResultView(section) -> {reset, showAnswer, showError, showAlert, hideAlert, setBusy},
// for the #result section of index.html.
export function createResultView(section) {
  const find = (id) => section.querySelector(`#${id}`);
  const alertBox = find("alert");
  const alertText = find("alert-text");
  const digitEl = find("digit");
  const confidenceEl = find("confidence");
  const guessEl = find("guess");
  const seenCanvas = find("seen");
  const announceEl = find("announce");
  const modelEl = find("model");
  const barItems = Array.from(find("bars").children);
  let shown = 0; // counts what was put on show, so a late image never lands on a newer state

  function setState(state) {
    shown += 1;
    section.dataset.state = state;
  }

  function setBusy(busy) {
    if (busy) section.setAttribute("aria-busy", "true");
    else section.removeAttribute("aria-busy");
  }

  function showAlert(message) {
    alertText.textContent = message;
    alertBox.hidden = false;
  }

  function hideAlert() {
    alertBox.hidden = true;
    alertText.textContent = "";
  }

  function reset() {
    setState("empty");
    digitEl.textContent = "–";
    confidenceEl.textContent = EMPTY;
    guessEl.textContent = "";
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
    reset();
    setState("error");
    confidenceEl.textContent = "No result";
    showAlert(message);
  }

  // `source` is {kind: "drawing"} or {kind: "upload"}, and `live` when the answer came by
  // itself at the end of a stroke: the wording is gentler, since the drawing may not be done.
  function showAnswer(answer, source) {
    hideAlert();
    const { scores } = answer;
    const notDigit = answer.digit === null;
    setState(notDigit ? "notdigit" : "done");
    const guess = scores.indexOf(Math.max(...scores)); // what it would read, if it were a digit
    const from = source.kind === "upload" ? " in the uploaded image" : "";
    if (notDigit) {
      // Never a big confident digit: a question mark, the closest guess and grey bars.
      digitEl.textContent = "?";
      confidenceEl.textContent = source.live
        ? "Doesn\u2019t look like a digit yet"
        : "That doesn\u2019t look like a digit";
      guessEl.textContent = `Closest guess: ${guess}`;
      announceEl.textContent = source.live
        ? `Not a digit yet. Closest guess ${guess}.`
        : `That doesn\u2019t look like a digit${from}. The closest guess is ${guess}.`;
    } else {
      const pct = formatPercent(answer.confidence);
      digitEl.textContent = String(answer.digit);
      confidenceEl.textContent = `${pct}\u00a0% confidence`;
      guessEl.textContent = "";
      announceEl.textContent = `Recognised ${answer.digit}${from} with ${pct}\u00a0% confidence`;
    }
    scores.forEach((score, label) => {
      const item = barItems[label];
      const clamped = Math.min(1, Math.max(0, score));
      item.style.setProperty("--score", String(clamped));
      item.querySelector(".bar-value").textContent = clamped.toFixed(2);
      item.classList.toggle("top", label === guess);
    });
    modelEl.textContent = answer.model ? `Model: ${answer.model}` : "";
    const id = shown;
    drawDataUrl(seenCanvas, answer.input, () => id === shown);
  }

  return { reset, showAnswer, showError, showAlert, hideAlert, setBusy };
}
