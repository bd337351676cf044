// Talking to the recognition API: what it accepts, one request at a time, and its answer or
// a sentence that explains why there is none.

// Relative on purpose: works at http://host/ (persistent server) and at /index.html under
// `python -m http.server --cgi`.
const ENDPOINT = "cgi-bin/mnist.py";

// The image types the API accepts as raw bytes, with the name a person knows them by.
export const IMAGE_TYPES = {
  "image/png": "PNG",
  "image/jpeg": "JPEG",
  "image/webp": "WebP",
  "image/gif": "GIF",
};

// Same limit as the server (MAX_BODY_BYTES in mnistdraw/api.py): refuse early, instead of
// uploading megabytes that the server will turn away.
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

export const BLANK_HINT =
  "Nothing to read yet: draw a digit on the canvas first, then press Predict.";
const UNREACHABLE =
  "Cannot reach the server. Check your connection, or that the server is running, and try again.";
const UNREADABLE = "The server sent an answer this page cannot read. Please try again.";

// `python -m http.server --cgi` always answers "200 Script output follows" and passes the
// script's own status on as a `Status:` header; that header, when present, is the status.
function statusOf(response) {
  const match = /^\s*(\d{3})\s*(.*)$/.exec(response.headers.get("Status") || "");
  if (match) return { code: Number(match[1]), reason: match[2].trim() };
  return { code: response.status, reason: response.statusText };
}

function describeError(status, payload) {
  const error = payload && typeof payload === "object" ? payload.error : null;
  if (error && error.code === "blank") return BLANK_HINT;
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

const isScores = (scores) =>
  Array.isArray(scores) &&
  scores.length === 10 &&
  scores.every((s) => typeof s === "number" && Number.isFinite(s));

// A digit read (or null when it is not a digit), its confidence and its ten scores.
const isPiece = (piece) =>
  piece !== null &&
  typeof piece === "object" &&
  (piece.digit === null ||
    (Number.isInteger(piece.digit) && piece.digit >= 0 && piece.digit <= 9)) &&
  typeof piece.confidence === "number" &&
  isScores(piece.scores);

// One digit (the answer's own fields), or a number: `digits`, one piece each, left to right.
function isAnswer(data) {
  if (data === null || typeof data !== "object" || typeof data.confidence !== "number") {
    return false;
  }
  if (Array.isArray(data.digits) && data.digits.length > 0) return data.digits.every(isPiece);
  return isPiece(data);
}

// createClient(onBusy, {explain}) -> {send, cancel}. Only the answer to the latest request
// counts: send() resolves to {answer} or {error: message}, or to null when a later send() or a
// cancel() came first. onBusy(true/false) says whether a request is on the way. A client made
// with `explain` asks for the pictures of how each piece was read (?explain=1): a second,
// slower request that the page sends only when someone wants to see them.
export function createClient(onBusy, { explain = false } = {}) {
  const endpoint = explain ? `${ENDPOINT}?explain=1` : ENDPOINT;
  let sequence = 0;
  let controller = null;

  function cancel() {
    sequence += 1;
    if (controller) controller.abort();
    controller = null;
    onBusy(false);
  }

  async function send(body, contentType) {
    cancel();
    const id = sequence;
    controller = new AbortController();
    const { signal } = controller;
    onBusy(true);
    let response;
    let payload = null;
    try {
      response = await fetch(endpoint, {
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
      if (id !== sequence || error.name === "AbortError") return null;
      controller = null;
      onBusy(false);
      return { error: UNREACHABLE };
    }
    if (id !== sequence) return null; // a newer request, a clear or an undo came after this one
    controller = null;
    onBusy(false);
    const status = statusOf(response);
    const failed = status.code < 200 || status.code > 299;
    if (failed || (payload && typeof payload === "object" && "error" in payload)) {
      return { error: describeError(status, payload) };
    }
    return isAnswer(payload) ? { answer: payload } : { error: UNREADABLE };
  }

  return { send, cancel };
}
