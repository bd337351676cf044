"""The recognition API, the same in both modes: one function from (method, headers, body) to
(status, JSON). The CGI script and the persistent server are thin adapters around `handle`."""

import base64
import binascii
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from .errors import ERRORS
from .preprocess import PreprocessError, decode, too_many_pixels
from .recognizer import Recognizer
from .segment import Piece, segment

MAX_BODY_BYTES = 8 * 1024 * 1024  # a canvas is ~10 KB; a phone photo as JPEG a few MB
MAX_STROKES = 1000  # pen strokes in one drawing (a dotted line is many)
MAX_STROKE_POINTS = 100_000  # the page sends some 20-200 points a stroke
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
SNIFFED_TYPES = ("", "text/plain", "application/octet-stream")  # data URL, JSON or image bytes
_DATA_URL = re.compile(rb"data:(image/[a-z0-9.+-]+)?(;[^,;]*)*;base64,", re.IGNORECASE)
_BASE64_JUNK = b" \t\n\r\x0b\x0c%"  # whitespace and stray URL-encoding are tolerated

log = logging.getLogger("mnistdraw")


@cache
def recognizer() -> Recognizer:
    """The model, loaded once per process."""
    return Recognizer()


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()

    def headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if self.status == 405:
            headers.append(("Allow", "POST"))
        return headers


def error(code: str, **fields) -> Answer:
    """The answer for an error of mnistdraw/errors.py; `fields` fill in its message."""
    kind = ERRORS[code]
    return Answer(kind.status, {"error": {"code": code, "message": kind.message.format(**fields)}})


def refusal(exc: PreprocessError) -> Answer:
    return error(exc.code, **exc.fields)


def too_large() -> Answer:
    return error("payload_too_large", mib=MAX_BODY_BYTES // (1024 * 1024))


class BadRequest(ValueError):
    """A body that cannot be read (code `bad_request`); its text says what is wrong."""


def _from_base64(text: bytes) -> bytes:
    text = text.translate(None, _BASE64_JUNK)  # ~10x faster than a regex on a canvas
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("The image is not valid base64.") from exc


def _from_data_url(text: bytes) -> bytes:
    match = _DATA_URL.match(text)
    if not match:
        raise BadRequest("Expected a data URL of an image: data:image/png;base64,...")
    return _from_base64(text[match.end() :])


def _from_json(body: bytes) -> tuple[bytes, dict]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad JSON or bad UTF-8; absurd nesting
        raise BadRequest("The body is not valid JSON.") from exc
    image = document.get("image") if isinstance(document, dict) else None
    if not isinstance(image, str):
        raise BadRequest('Expected a JSON object {"image": "<data URL or base64>"}.')
    try:
        text = image.strip().encode("ascii")
    except UnicodeEncodeError as exc:
        raise BadRequest("The image is not valid base64.") from exc
    blob = _from_data_url(text) if text[:5].lower() == b"data:" else _from_base64(text)
    return blob, {k: v for k, v in document.items() if k != "image"}


def request_parts(content_type: str, body: bytes) -> tuple[bytes, dict]:
    """The encoded image inside a request body of any accepted form, and the options that a
    JSON body carries beside it."""
    if content_type in IMAGE_TYPES:
        return body, {}
    if content_type == "application/json":
        return _from_json(body)
    head = body[:16].lstrip().lower()
    if head.startswith(b"data:"):
        return _from_data_url(body.strip()), {}
    if head.startswith(b"{"):
        return _from_json(body)
    return body, {}  # bytes of an image file, or something that the decoder will refuse


def image_bytes(content_type: str, body: bytes) -> bytes:
    """The encoded image inside a request body of any accepted form."""
    return request_parts(content_type, body)[0]


def wants_explain(query: str, options: dict) -> bool:
    """The `explain` option, from the query string (?explain=1) or a JSON body's field."""
    values = urllib.parse.parse_qs(query, keep_blank_values=True).get("explain", [])
    value = options.get("explain", values[-1] if values else False)
    if value in (True, 1, "1", "true", "yes", "on", ""):  # a bare ?explain asks for it too
        return True
    if value in (False, 0, None, "0", "false", "no", "off"):
        return False
    raise BadRequest("The explain option takes 1 or 0 (true or false in JSON).")


def strokes_of(options: dict) -> list[np.ndarray]:
    """The `strokes` option of a JSON body, where a client knows how the drawing was drawn
    (the page does): each stroke's centre line as [[x, y], ...] in the image's pixels, in
    the order drawn. Digits that touch are then told apart by the strokes that drew them."""
    strokes = options.get("strokes", [])
    wrong = BadRequest(
        f"strokes must be a list of at most {MAX_STROKES:,} strokes, each a list of [x, y] "
        f"points, at most {MAX_STROKE_POINTS:,} points in all."
    )
    if not isinstance(strokes, list) or len(strokes) > MAX_STROKES:
        raise wrong
    out, points_in_all = [], 0
    for stroke in strokes:
        try:
            points = np.asarray(stroke, dtype=np.float64)
        except (ValueError, TypeError) as exc:  # a string, an object, ragged lists
            raise wrong from exc
        if points.ndim != 2 or points.shape[1:] != (2,) or not np.isfinite(points).all():
            raise wrong
        points_in_all += len(points)
        if points_in_all > MAX_STROKE_POINTS:
            raise wrong
        out.append(points)
    return out


def png_data_url(image) -> str:
    """A grey (H, W) or RGB (H, W, 3) uint8 image (an array, or a Pillow image in mode L or
    RGB) as a PNG data URL, for an answer. OpenCV encodes a 28x28 input in half Pillow's time;
    zlib level 1 is 4x faster than 6 and the PNG only ~15 % larger."""
    image = np.asarray(image)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    _, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return "data:image/png;base64," + base64.b64encode(png).decode()


def to_png_data_url(pixels: np.ndarray) -> str:
    """A 28x28 model input (floats in [0, 1]) as a PNG data URL."""
    return png_data_url(np.round(pixels * 255).astype(np.uint8))


def _entry(piece: Piece, model: Recognizer, scale: float) -> dict:
    """One thing drawn: its digit, or null when it is not a digit (a dot never is one)."""
    scores = piece.scores.astype(float)
    digit = None if model.refuses(piece.not_a_digit) else int(scores.argmax())
    return {
        "digit": digit,
        "confidence": round(
            piece.not_a_digit if digit is None else float(scores[digit]) * (1 - piece.not_a_digit),
            4,
        ),
        "not_a_digit": round(piece.not_a_digit, 4),
        "scores": [round(float(s), 6) for s in scores],
        "box": [round(v * scale) for v in piece.box],
        "input": to_png_data_url(piece.pixels),
    }


def recognise(blob: bytes, explain: bool = False, strokes=()) -> Answer:
    """The answer for an image of one digit, a number, or something that is not a digit.
    Each entry of `digits` is one thing drawn, left to right: `scores` are its ten digit
    scores (summing to 1: "if it is a digit, which one"); `confidence` is the probability
    that its reading is right: of the digit named, or of "not a digit". With one thing, the
    top level repeats its entry, as the first version of this API answered. With `explain`,
    each entry also carries the pictures of mnistdraw.explain. `strokes`: strokes_of."""
    model = recognizer()
    pieces, scale = segment(decode(blob), model.read, strokes)
    entries = [_entry(piece, model, scale) for piece in pieces]
    if explain:
        from . import explain as explaining  # only when asked: the CGI mode starts per request

        for entry, piece in zip(entries, pieces, strict=True):
            entry["explain"] = explaining.explain(model, piece.pixels, piece.scores)
    digits = [e["digit"] for e in entries]
    number = None if None in digits else "".join(map(str, digits))
    if len(entries) == 1:
        first = entries[0]
        top = {k: first[k] for k in ("digit", "confidence", "not_a_digit", "scores", "input")}
    else:
        top = {
            "digit": None,
            "confidence": round(math.prod(e["confidence"] for e in entries), 4),
            # the probability that some piece is not a digit
            "not_a_digit": round(1 - math.prod(1 - e["not_a_digit"] for e in entries), 4),
            "scores": None,
            "input": None,
        }
    return Answer(200, {"number": number, **top, "digits": entries, "model": model.id})


def handle(method: str, headers: Mapping[str, str], body: bytes, query: str = "") -> Answer:
    """Answer one request to POST /cgi-bin/mnist.py (`query`: its query string). Never raises."""
    try:
        if method != "POST":
            return error("method_not_allowed", allow="POST")
        if len(body) > MAX_BODY_BYTES:
            return too_large()
        lowered = {k.lower(): v for k, v in headers.items()}
        content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in IMAGE_TYPES + SNIFFED_TYPES + ("application/json",):
            types = ", ".join(IMAGE_TYPES[:-1]) + " or " + IMAGE_TYPES[-1]
            return error("unsupported_media_type", content_type=content_type, image_types=types)
        if not body.strip():
            return error("empty_body")
        blob, options = request_parts(content_type, body)
        return recognise(blob, wants_explain(query, options), strokes_of(options))
    except BadRequest as exc:
        return error("bad_request", reason=str(exc))
    except PreprocessError as exc:
        return refusal(exc)
    except MemoryError:  # an image that decodes within the limits but not within memory
        return refusal(too_many_pixels())
    except Exception:  # a bug must still answer JSON, and never show a traceback to a visitor
        log.exception("unexpected error while answering a recognition request")
        return error("internal")
