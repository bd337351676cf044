"""Property-based: whatever arrives, the API answers JSON and never a 5xx."""

import base64
import io
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mnistdraw import api

CONTENT_TYPES = st.sampled_from(
    [
        "",
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/json",
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "application/octet-stream",
        "text/html",
        "application/x-www-form-urlencoded",
    ]
)
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(body: bytes, content_type: str, method: str = "POST") -> api.Answer:
    answer = api.handle(method, {"Content-Type": content_type}, body)
    assert 200 <= answer.status < 500, answer.payload
    document = json.loads(answer.body())
    assert ("error" in document) != (answer.status == 200)
    return answer


@SETTINGS
@given(st.binary(max_size=4096), CONTENT_TYPES, st.sampled_from(["POST", "GET", "PUT"]))
def test_arbitrary_bytes(body, content_type, method):
    check(body, content_type, method)


data_urls = st.builds(
    lambda media, encoding, payload: f"data:{media}{encoding},".encode() + payload,
    st.sampled_from(["image/png", "image/jpeg", "image/gif", "text/plain", "", "image/svg+xml"]),
    st.sampled_from([";base64", "", ";charset=utf-8;base64"]),
    st.one_of(st.binary(max_size=512).map(base64.b64encode), st.binary(max_size=512)),
)


@SETTINGS
@given(data_urls, CONTENT_TYPES)
def test_arbitrary_data_urls(body, content_type):
    check(body, content_type)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@SETTINGS
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries({"image": json_values}),
        st.fixed_dictionaries({"image": data_urls.map(lambda b: b.decode("latin-1"))}),
    )
)
def test_arbitrary_json(document):
    check(json.dumps(document).encode(), "application/json")


@SETTINGS
@given(
    st.integers(1, 300),
    st.integers(1, 300),
    st.sampled_from(["L", "RGB", "RGBA", "LA", "1"]),
    st.sampled_from(["PNG", "GIF", "WEBP", "JPEG"]),
    st.integers(0, 2**32 - 1),
)
def test_any_valid_image_is_read_or_called_blank(width, height, mode, fmt, seed):
    rng = np.random.default_rng(seed)
    channels = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2, "1": 1}[mode]
    pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    if rng.random() < 0.5:  # sparse ink on a plain background, more like a drawing
        pixels = np.where(rng.random((height, width, 1)) < 0.05, pixels, 255).astype(np.uint8)
    image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels)
    image = image.convert(mode)
    if fmt == "JPEG" and mode in ("RGBA", "LA"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    answer = check(out.getvalue(), f"image/{fmt.lower()}")
    assert answer.status in (200, 422), answer.payload
