"""The recognition API, the same in both modes: one function from (method, headers, body) to
(status, JSON). The CGI script and the persistent server are thin adapters around `handle`."""

import base64
import binascii
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from .errors import ERRORS
from .preprocess import PreprocessError, preprocess, too_many_pixels
from .recognizer import Recognizer

MAX_BODY_BYTES = 8 * 1024 * 1024  # a canvas is ~10 KB; a phone photo as JPEG a few MB
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


def _from_json(body: bytes) -> bytes:
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
    return _from_data_url(text) if text[:5].lower() == b"data:" else _from_base64(text)


def image_bytes(content_type: str, body: bytes) -> bytes:
    """The encoded image inside a request body of any accepted form."""
    if content_type in IMAGE_TYPES:
        return body
    if content_type == "application/json":
        return _from_json(body)
    head = body[:16].lstrip().lower()
    if head.startswith(b"data:"):
        return _from_data_url(body.strip())
    if head.startswith(b"{"):
        return _from_json(body)
    return body  # bytes of an image file, or something that the decoder will refuse


def to_png_data_url(pixels: np.ndarray) -> str:
    out = io.BytesIO()
    Image.fromarray(np.round(pixels * 255).astype(np.uint8), "L").save(out, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def recognise(blob: bytes) -> Answer:
    """The answer for an image: the digit, or null when it is not a digit. `scores` are the
    ten digit scores (summing to 1: "if it is a digit, which one"); `confidence` is the
    probability that the answer is right: of the digit named, or of "not a digit"."""
    pixels = preprocess(blob)
    model = recognizer()
    scores, not_a_digit = model.read(pixels[None])
    scores, not_a_digit = scores[0].astype(float), float(not_a_digit[0])
    digit = None if not_a_digit > model.threshold else int(scores.argmax())
    return Answer(
        200,
        {
            "digit": digit,
            "number": None if digit is None else str(digit),
            "confidence": round(
                not_a_digit if digit is None else scores[digit] * (1 - not_a_digit), 4
            ),
            "not_a_digit": round(not_a_digit, 4),
            "scores": [round(float(s), 6) for s in scores],
            "input": to_png_data_url(pixels),
            "model": model.id,
        },
    )


def handle(method: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Answer one request to POST /cgi-bin/mnist.py. Never raises."""
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
        return recognise(image_bytes(content_type, body))
    except BadRequest as exc:
        return error("bad_request", reason=str(exc))
    except PreprocessError as exc:
        return refusal(exc)
    except MemoryError:  # an image that decodes within the limits but not within memory
        return refusal(too_many_pixels())
    except Exception:  # a bug must still answer JSON, and never show a traceback to a visitor
        log.exception("unexpected error while answering a recognition request")
        return error("internal")
