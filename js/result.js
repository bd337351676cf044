// The result view: the one place that shows an answer, or an error, or nothing yet. An answer
// is a digit or a number: the number in large type ("?" for a piece that is not a digit), a
// card for each piece of a number (its 28x28 input, its digit, its confidence), and the chosen
// piece's input and the bar of each of its ten scores; plus the sentence for screen readers.

const EMPTY = "Write a digit or a number to start";
const BARS_LABEL = "Score of each digit, from 0.0 to 1.0";
const SEEN_CAPTION = "28 × 28 px";
// The number's type size by its length: six digits fit across the smallest phone.
const sizeOf = (length) => (length > 6 ? "s" : length > 4 ? "m" : "");

function formatPercent(confidence) {
  const pct = confidence * 100;
  return pct >= 99.5 && pct < 100 ? pct.toFixed(1) : String(Math.round(pct));
}

// The label with the top score: what a piece would be read as, if it were a digit.
const topLabel = (scores) => scores.indexOf(Math.max(...scores));

// The pieces of an answer, left to right: its `digits` (one entry per thing drawn), or, from a
// server that reads single digits only, one piece made of the answer's own fields.
export function piecesOf(answer) {
  if (Array.isArray(answer.digits) && answer.digits.length > 0) return answer.digits;
  const { digit, confidence, scores, input } = answer;
  return [{ digit, confidence, scores, input, not_a_digit: answer.not_a_digit, box: null }];
}

// An image as a bitmap: a data URL (decoded by hand: `default-src 'self'` forbids data:
// images, but decoding the bytes with createImageBitmap is not a fetch) or a Blob (a file).
export async function decodeImage(image) {
  if (image instanceof Blob) return createImageBitmap(image);
  const match =
    typeof image === "string" && /^data:([^;,]*)(?:;[^,]*)?;base64,(.*)$/s.exec(image);
  if (!match) throw new TypeError("not a data URL");
  const bytes = Uint8Array.from(atob(match[2]), (c) => c.charCodeAt(0));
  return createImageBitmap(new Blob([bytes], { type: match[1] || "image/png" }));
}

// Draw a data URL onto a canvas, at its own size, without an <img>.
// `current()` says whether the answer is still the one on show once the image is decoded.
export async function drawDataUrl(target, dataUrl, current) {
  target.getContext("2d").clearRect(0, 0, target.width, target.height);
  try {
    const bitmap = await decodeImage(dataUrl);
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

// createResultView(section, {onChoose}) -> {reset, showAnswer, showError, showAlert,
// hideAlert, setBusy}, for the #result section of index.html. onChoose(piece, count, source,
// index) is told which piece's card is chosen (null when none is on show), so the drawing can
// show where it is and "How did it read this?" can follow it.
export function createResultView(section, { onChoose = () => {} } = {}) {
  const find = (id) => section.querySelector(`#${id}`);
  const alertBox = find("alert");
  const alertText = find("alert-text");
  const labelEl = find("answer-label");
  const digitEl = find("digit");
  const confidenceEl = find("confidence");
  const guessEl = find("guess");
  const piecesEl = find("pieces");
  const detailEl = find("detail");
  const seenCanvas = find("seen");
  const seenCaption = find("seen-caption");
  const barsEl = find("bars");
  const announceEl = find("announce");
  const modelEl = find("model");
  const barItems = Array.from(barsEl.children);
  let shown = 0; // counts what was put on show, so a late image never lands on a newer state
  let seenToken = 0; // the same for the chosen piece's input
  let current = null; // {pieces, source, cards} of the answer on show

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

  function showScores(scores) {
    const top = scores ? topLabel(scores) : -1;
    barItems.forEach((item, label) => {
      const score = scores ? Math.min(1, Math.max(0, scores[label])) : 0;
      item.style.setProperty("--score", String(score));
      item.querySelector(".bar-value").textContent = score.toFixed(2);
      item.classList.toggle("top", label === top);
    });
  }

  function clearSeen() {
    seenToken += 1;
    seenCanvas.getContext("2d").clearRect(0, 0, seenCanvas.width, seenCanvas.height);
  }

  function reset() {
    setState("empty");
    section.dataset.count = "none";
    current = null;
    labelEl.textContent = "Digit";
    digitEl.textContent = "–";
    delete digitEl.dataset.size;
    confidenceEl.textContent = EMPTY;
    guessEl.textContent = "";
    piecesEl.replaceChildren();
    piecesEl.hidden = true;
    detailEl.dataset.state = "empty";
    seenCaption.textContent = SEEN_CAPTION;
    barsEl.setAttribute("aria-label", BARS_LABEL);
    modelEl.textContent = "";
    announceEl.textContent = "";
    clearSeen();
    showScores(null);
    onChoose(null, 0, null);
  }

  function showError(message) {
    reset();
    setState("error");
    confidenceEl.textContent = "No result";
    showAlert(message);
  }

  // Show piece `index` of the answer on show: its input, its bars, its card pressed.
  function choose(index) {
    if (!current) return;
    const { pieces, cards, source } = current;
    const piece = pieces[index];
    const count = pieces.length;
    cards.forEach((card, i) => card.setAttribute("aria-pressed", String(i === index)));
    detailEl.dataset.state = piece.digit === null ? "notdigit" : "done";
    showScores(piece.scores);
    const which = count > 1 ? `piece ${index + 1} of ${count}` : "";
    seenCaption.textContent = which ? `${which} · ${SEEN_CAPTION}` : SEEN_CAPTION;
    barsEl.setAttribute(
      "aria-label",
      which ? `Score of each digit for ${which}, from 0.0 to 1.0` : BARS_LABEL,
    );
    seenToken += 1;
    const token = seenToken;
    drawDataUrl(seenCanvas, piece.input, () => token === seenToken);
    onChoose(piece, count, source, index);
  }

  function makeCard(piece, index, count) {
    const notDigit = piece.digit === null;
    const pct = typeof piece.confidence === "number" ? formatPercent(piece.confidence) : "";
    const card = document.createElement("button");
    card.type = "button";
    card.className = notDigit ? "piece notdigit" : "piece";
    card.setAttribute("aria-pressed", "false");
    const where = `Piece ${index + 1} of ${count}`;
    const sure = pct ? `, ${pct}\u00a0% confidence` : "";
    card.setAttribute(
      "aria-label",
      notDigit
        ? `${where}: not a digit${sure}, closest guess ${topLabel(piece.scores)}`
        : `${where}: ${piece.digit}${sure}`,
    );
    const image = document.createElement("canvas");
    image.width = 28;
    image.height = 28;
    image.setAttribute("aria-hidden", "true");
    const digit = document.createElement("span");
    digit.className = "piece-digit";
    digit.textContent = notDigit ? "?" : String(piece.digit);
    card.append(image, digit);
    const line = (text, kind) => {
      const span = document.createElement("span");
      span.className = `piece-confidence ${kind}`;
      span.textContent = text;
      card.append(span);
    };
    if (notDigit) line("not a digit", "piece-notdigit");
    if (pct) line(`${pct}%`, "piece-percent"); // no space: it fits the narrowest card
    card.addEventListener("click", () => choose(index));
    const id = shown;
    drawDataUrl(image, piece.input, () => id === shown);
    return card;
  }

  // Arrow keys, Home and End move between the cards and choose.
  piecesEl.addEventListener("keydown", (event) => {
    if (!current || event.altKey || event.ctrlKey || event.metaKey) return;
    const { cards } = current;
    const at = cards.indexOf(event.target);
    if (at < 0) return;
    const next = {
      ArrowRight: at + 1,
      ArrowDown: at + 1,
      ArrowLeft: at - 1,
      ArrowUp: at - 1,
      Home: 0,
      End: cards.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const index = Math.min(cards.length - 1, Math.max(0, next));
    cards[index].focus();
    choose(index);
  });

  // The number in large type; a piece that is not a digit is a grey "?".
  function showNumber(pieces, number) {
    digitEl.replaceChildren();
    if (typeof number === "string") {
      digitEl.textContent = number;
    } else {
      for (const piece of pieces) {
        if (piece.digit === null) {
          const unknown = document.createElement("span");
          unknown.className = "unknown";
          unknown.textContent = "?";
          digitEl.append(unknown);
        } else {
          digitEl.append(String(piece.digit));
        }
      }
    }
    const size = sizeOf(digitEl.textContent.length);
    if (size) digitEl.dataset.size = size;
    else delete digitEl.dataset.size;
  }

  // `source` is {kind: "drawing"} or {kind: "upload"}, and `live` when the answer came by
  // itself at the end of a stroke: the wording is gentler, since the drawing may not be done.
  function showAnswer(answer, source) {
    hideAlert();
    const pieces = piecesOf(answer);
    const count = pieces.length;
    const unread = pieces.filter((piece) => piece.digit === null).length;
    setState(unread ? "notdigit" : "done");
    section.dataset.count = count > 1 ? "many" : "one";
    const from = { upload: " in the uploaded image", sample: " in the example" }[source.kind] || "";
    const pct = formatPercent(answer.confidence);
    labelEl.textContent = count > 1 ? "Number" : "Digit";
    showNumber(pieces, unread ? null : answer.number);
    if (count === 1 && unread) {
      // Never a big confident digit: a question mark, the closest guess and grey bars.
      const guess = topLabel(pieces[0].scores);
      confidenceEl.textContent = source.live
        ? "Doesn\u2019t look like a digit yet"
        : "That doesn\u2019t look like a digit";
      guessEl.textContent = `Closest guess: ${guess}`;
      announceEl.textContent = source.live
        ? `Not a digit yet. Closest guess ${guess}.`
        : `That doesn\u2019t look like a digit${from}. The closest guess is ${guess}.`;
    } else if (count === 1) {
      confidenceEl.textContent = `${pct}\u00a0% confidence`;
      guessEl.textContent = "";
      announceEl.textContent = `Recognised ${pieces[0].digit}${from} with ${pct}\u00a0% confidence`;
    } else if (unread) {
      const guess = pieces.map((piece) => topLabel(piece.scores)).join("");
      const spoken = pieces.map((piece) => piece.digit ?? "not a digit").join(", ");
      const some = unread === 1 ? "One piece doesn\u2019t" : `${unread} pieces don\u2019t`;
      confidenceEl.textContent = `${some} look like a digit${source.live ? " yet" : ""}`;
      guessEl.textContent = `Closest guess: ${guess}`;
      announceEl.textContent = source.live
        ? `Not all digits yet: ${spoken}. Closest guess ${guess}.`
        : `${some} look like a digit${from}: ${spoken}. The closest guess is ${guess}.`;
    } else {
      confidenceEl.textContent = `${pct}\u00a0% confidence`;
      guessEl.textContent = "";
      announceEl.textContent = `Recognised the number ${digitEl.textContent}${from} with ${pct}\u00a0% confidence`;
    }
    modelEl.textContent = answer.model ? `Model: ${answer.model}` : "";
    // One digit looks as it always did: no card. A number gets a card for each piece.
    const cards = count > 1 ? pieces.map((piece, i) => makeCard(piece, i, count)) : [];
    piecesEl.replaceChildren(...cards);
    piecesEl.hidden = cards.length === 0;
    current = { pieces, cards, source };
    choose(0);
  }

  return { reset, showAnswer, showError, showAlert, hideAlert, setBusy };
}
