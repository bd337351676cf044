"""The recognition API in process (`api.handle`, what both servers call): every body form,
the answer, every error."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from bench.canvases import canvas_data_url, canvas_png, mnist_test_set
from mnistdraw import api, drawings
from mnistdraw.openapi import OPENAPI

X_TEST, Y_TEST = mnist_test_set()
png = drawings.encode


def encoded(content_type: str) -> bytes:
    """Test digit 1 drawn black on white, as a file of an accepted image type."""
    fmt = content_type.removeprefix("image/").upper()  # Pillow's name: PNG, JPEG, WEBP, GIF
    image = drawings.draw(X_TEST[1], drawings.Style())
    return drawings.encode(image.convert("P") if fmt == "GIF" else image, fmt)


CANVAS = canvas_png(1)  # what the page draws, as PNG bytes
DATA_URL = canvas_data_url(1).decode()


def post(body, content_type="text/plain;charset=UTF-8"):
    if isinstance(body, str):
        body = body.encode()
    answer = api.handle("POST", {"Content-Type": content_type}, body)
    json.loads(answer.body())  # always JSON
    return answer


def assert_recognised(answer, digit):
    assert answer.status == 200, answer.payload
    payload = answer.payload
    # exactly the fields that the OpenAPI document promises
    assert set(payload) == set(OPENAPI["components"]["schemas"]["Recognition"]["required"])
    assert payload["digit"] == digit and payload["number"] == str(digit)
    assert len(payload["scores"]) == 10 and sum(payload["scores"]) == pytest.approx(1, abs=1e-4)
    assert all(0.0 <= s <= 1.0 for s in payload["scores"])
    assert payload["scores"][digit] == max(payload["scores"])
    assert 0.0 <= payload["not_a_digit"] <= api.recognizer().threshold  # else no digit
    # the probability that the answer is right: a digit, and this one
    expected = payload["scores"][digit] * (1 - payload["not_a_digit"])
    assert payload["confidence"] == pytest.approx(expected, abs=2e-4)
    assert payload["model"] == api.recognizer().id
    prefix = "data:image/png;base64,"
    assert payload["input"].startswith(prefix)
    seen = Image.open(io.BytesIO(base64.b64decode(payload["input"][len(prefix) :])))
    assert seen.size == (28, 28) and seen.mode == "L"
    assert np.asarray(seen).max() == 255


@pytest.mark.parametrize(
    "body, content_type",
    [
        (DATA_URL, "text/plain;charset=UTF-8"),  # what the page sends
        (DATA_URL, ""),  # curl --data-binary without a type
        (DATA_URL + "\n", "application/octet-stream"),
        (json.dumps({"image": DATA_URL}), "application/json"),
        (json.dumps({"image": base64.b64encode(CANVAS).decode()}), "application/json"),
        (json.dumps({"image": DATA_URL}), "text/plain"),
        (CANVAS, "image/png"),
        *[(encoded(content_type), content_type) for content_type in api.IMAGE_TYPES],
        (encoded("image/jpeg"), "application/octet-stream"),
    ],
    ids=[
        "page",
        "untyped",
        "octet-data-url",
        "json-data-url",
        "json-base64",
        "json-as-text",
        "canvas-png",
        *api.IMAGE_TYPES,
        "octet-jpeg",
    ],
)
def test_every_body_form_is_read(body, content_type):
    assert_recognised(post(body, content_type), Y_TEST[1])


def test_base64_with_line_breaks_and_without_padding():
    wrapped = base64.encodebytes(CANVAS).decode().rstrip("=\n")
    assert_recognised(post(json.dumps({"image": wrapped}), "application/json"), Y_TEST[1])


def error_of(answer):
    assert set(answer.payload) == {"error"}
    assert set(answer.payload["error"]) == {"code", "message"}
    assert answer.payload["error"]["message"]
    return answer.status, answer.payload["error"]["code"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
def test_only_post_is_allowed(method):
    answer = api.handle(method, {}, b"")
    assert error_of(answer) == (405, "method_not_allowed")
    assert ("Allow", "POST") in answer.headers()


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        (b"", "text/plain", (400, "empty_body")),
        (b"   \n", "text/plain", (400, "empty_body")),
        (b"data:image/png;base64,@@@@not base64@@@@", "text/plain", (400, "bad_request")),
        (b"data:text/html,<script>alert(1)</script>", "text/plain", (400, "bad_request")),
        (b"data:image/png;base64,aGVsbG8=", "text/plain", (400, "not_an_image")),
        (b'{"image": 42}', "application/json", (400, "bad_request")),
        (b'{"picture": "x"}', "application/json", (400, "bad_request")),
        (b"[1, 2", "application/json", (400, "bad_request")),
        (b"[" * 100000, "application/json", (400, "bad_request")),
        (b'{"image": "\xff\xfe"}', "application/json", (400, "bad_request")),
        (b"\xff\xfe\x00garbage", "text/plain", (400, "not_an_image")),
        (CANVAS[:100], "image/png", (400, "corrupt_image")),
        (CANVAS, "application/xml", (415, "unsupported_media_type")),
        (CANVAS, "multipart/form-data; boundary=x", (415, "unsupported_media_type")),
        (  # what the page sends for an empty canvas
            b"data:image/png;base64," + base64.b64encode(png(Image.new("RGBA", (280, 280)))),
            "text/plain;charset=UTF-8",
            (422, "blank"),
        ),
        (png(Image.new("L", (5000, 4000), 255)), "image/png", (413, "image_too_large")),
        (b"x" * (api.MAX_BODY_BYTES + 1), "text/plain", (413, "payload_too_large")),
    ],
    ids=[
        "empty",
        "whitespace",
        "bad-base64",
        "html-data-url",
        "base64-not-image",
        "json-number",
        "json-no-image",
        "json-broken",
        "json-nested",
        "json-non-utf8",
        "non-utf8-text",
        "truncated-png",
        "xml",
        "multipart",
        "blank",
        "pixel-bomb",
        "too-large",
    ],
)
def test_every_error_is_json_with_a_fitting_status(body, content_type, expected):
    assert error_of(post(body, content_type)) == expected


STROKE = [[100, 60], [110, 140], [120, 220]]


@pytest.mark.parametrize(
    "strokes",
    [
        [STROKE],
        [],
        [[[140, 140]]],  # a tap
        [[[-1e9, 5], [1e9, 7.5]]],  # far outside the image: harmless
        [[[100.25, 60.5], [120, 220]], STROKE],
    ],
)
def test_strokes_are_an_option_of_a_json_body(strokes):
    answer = post(json.dumps({"image": DATA_URL, "strokes": strokes}), "application/json")
    assert answer.status == 200, answer.payload
    assert answer.payload == post(DATA_URL).payload, "a single digit reads as without them"


@pytest.mark.parametrize(
    "strokes",
    [
        "100,60 110,140",
        {"x": 1},
        [STROKE, "no"],
        [[[100, 60, 3]]],
        [[[100, None]]],
        [[100, 60]],  # points, not a list of strokes
        [[]],  # a stroke of no points
        [[["1e400", 5]]],
        [[[True, {}]]],
        [[[0, 0]]] * (api.MAX_STROKES + 1),
        [[[0, 0]] * (api.MAX_STROKE_POINTS // 2 + 1)] * 2,
    ],
    ids=lambda s: json.dumps(s)[:40],
)
def test_bad_strokes_are_a_clear_error(strokes):
    answer = post(json.dumps({"image": DATA_URL, "strokes": strokes}), "application/json")
    assert answer.status == 400, answer.payload
    assert answer.payload["error"]["code"] == "bad_request"
    assert "strokes" in answer.payload["error"]["message"]
