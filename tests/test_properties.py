"""Property-based (hypothesis): whatever arrives, the API answers JSON and never a 5xx.

Structured inputs that random byte mutation (tests/test_fuzz.py) rarely reaches: any PNG,
JPEG and GIF header field, truncation and corruption at any byte of the seed images, any
valid image of any mode, any data URL, any JSON document and any request. Derandomised, so
that CI runs the same examples every time. The properties are `tests.helpers.check_bytes`
(also the fuzzer's) and `tests.helpers.assert_answered`.
"""

import base64
import io
import json
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from mnistdraw import api
from tests.helpers import assert_answered, check_bytes, png, seed, seeds

FUZZ = settings(
    max_examples=400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# what the API accepts, and some of what it refuses
CONTENT_TYPES = (
    *api.IMAGE_TYPES,
    *api.SNIFFED_TYPES,
    "application/json",
    "text/plain;charset=UTF-8",
    "text/html",
    "application/x-www-form-urlencoded",
)


# ------------------------------------------------------------------ broken images


@FUZZ
@given(
    index=st.sampled_from(range(64)),
    cut=st.integers(min_value=0),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
)
def test_truncated_and_corrupted_seeds(index, cut, flips):
    blobs = seeds()
    blob = bytearray(blobs[index % len(blobs)])
    for position, value in flips:
        blob[position % len(blob)] = value
    check_bytes(bytes(blob[: cut % (len(blob) + 1)]))


@FUZZ
@given(
    width=st.one_of(st.integers(0, 64), st.integers(0, 2**31 - 1)),
    height=st.one_of(st.integers(0, 64), st.integers(0, 2**31 - 1)),
    depth=st.sampled_from([1, 2, 4, 8, 16, 0, 3, 255]),
    colour=st.sampled_from([0, 2, 3, 4, 6, 1, 5, 255]),
    interlace=st.sampled_from([0, 1, 2]),
    pixels=st.binary(max_size=2048),
    extra=st.lists(
        st.tuples(
            st.sampled_from([b"PLTE", b"tRNS", b"zTXt", b"iCCP", b"eXIf", b"acTL", b"fcTL"]),
            st.binary(max_size=64),
        ),
        max_size=3,
    ),
    compress=st.booleans(),
)
def test_any_png_header(width, height, depth, colour, interlace, pixels, extra, compress):
    check_bytes(png(width, height, pixels, depth, colour, interlace, extra, compress))


@FUZZ
@given(
    width=st.integers(0, 65535),
    height=st.integers(0, 65535),
    components=st.sampled_from([1, 3, 4, 0, 2, 255]),
    tail=st.integers(min_value=0),
)
def test_any_jpeg_header(width, height, components, tail):
    blob = bytearray(seed("baseline.jpg"))
    sof = blob.index(b"\xff\xc0")
    blob[sof + 5 : sof + 10] = struct.pack(">HHB", height, width, components)
    check_bytes(bytes(blob[: len(blob) - tail % 64]))


@FUZZ
@given(
    screen=st.tuples(st.integers(0, 65535), st.integers(0, 65535)),
    frame=st.tuples(*[st.integers(0, 65535)] * 4),
    flags=st.integers(0, 255),
    data=st.binary(max_size=256),
)
def test_any_gif_header(screen, frame, flags, data):
    blob = b"GIF89a" + struct.pack("<HHBBB", *screen, flags, 0, 0)
    if flags & 0x80:
        blob += bytes(3 * 2 ** ((flags & 7) + 1))
    blob += b"," + struct.pack("<HHHHB", *frame, 0) + b"\x02" + bytes([len(data) % 256]) + data
    check_bytes(blob + b"\x00;")


# ------------------------------------------------------------------ valid images

# (format, mode) pairs that Pillow writes, as a visitor's upload may be (a PNG palette with
# alpha is mode P with transparency: Pillow cannot write PA as PNG)
SAVED_MODES = (
    [("PNG", m) for m in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")]
    + [("JPEG", m) for m in ("L", "RGB", "CMYK")]
    + [("GIF", m) for m in ("L", "P", "RGB")]
    + [("WEBP", m) for m in ("RGB", "RGBA")]
)


@settings(FUZZ, max_examples=300)
@given(
    format_mode=st.sampled_from(SAVED_MODES),
    size=st.one_of(
        st.tuples(st.integers(1, 300), st.integers(1, 300)),
        st.tuples(st.integers(1, 1400), st.integers(1, 1400)),
    ),
    stroke=st.one_of(st.none(), st.tuples(*[st.floats(0, 1)] * 4, st.integers(1, 60))),
    noise=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    light=st.booleans(),
    transparency=st.booleans(),
)
def test_any_valid_image_is_read_or_called_blank(
    format_mode, size, stroke, noise, light, transparency
):
    """Well-formed files of every mode that each format can hold, of any size (above 512 px
    the decoded image is reduced first): blank, a stroke, random pixels or sparse random ink.
    Sent with their own content type, each is read as a digit or called blank, never refused
    as broken."""
    fmt, mode = format_mode
    paper, ink = (255, 0) if light else (0, 255)
    image = Image.new("L", size, paper)
    if noise is not None:
        rng = np.random.default_rng(noise)
        pixels = rng.integers(0, 256, size[::-1], dtype=np.uint8)
        if rng.random() < 0.5:  # sparse ink on a plain background, more like a drawing
            pixels = np.where(rng.random(size[::-1]) < 0.05, pixels, paper).astype(np.uint8)
        image = Image.fromarray(pixels)
    if stroke:
        x0, y0, x1, y1, width = stroke
        w, h = size
        ImageDraw.Draw(image).line((x0 * w, y0 * h, x1 * w, y1 * h), fill=ink, width=width)
    if mode in ("LA", "RGBA") and transparency:
        image.putalpha(image.point(lambda v: abs(v - paper)))
    image = image.convert(mode)
    options = {"transparency": 0} if mode == "P" and transparency else {}
    out = io.BytesIO()
    image.save(out, fmt, **options)
    check_bytes(out.getvalue())
    answer = assert_answered(out.getvalue(), f"image/{fmt.lower()}")
    assert answer.status in (200, 422), answer.payload


# ------------------------------------------------------------------ requests

data_urls = st.builds(
    lambda media, encoding, payload: f"data:{media}{encoding},".encode() + payload,
    st.sampled_from(["image/png", "image/jpeg", "image/gif", "text/plain", "", "image/svg+xml"]),
    st.sampled_from([";base64", "", ";charset=utf-8;base64"]),
    st.one_of(st.binary(max_size=512).map(base64.b64encode), st.binary(max_size=512)),
)


@settings(FUZZ, max_examples=250)
@given(data_urls, st.sampled_from(CONTENT_TYPES))
def test_any_data_url(body, content_type):
    assert_answered(body, content_type)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(
    document=st.one_of(
        json_documents,
        st.fixed_dictionaries({"image": json_documents}),
        st.fixed_dictionaries({"image": data_urls.map(lambda b: b.decode("latin-1"))}),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_any_json_document_is_refused(document, content_type):
    answer = assert_answered(json.dumps(document).encode(), content_type)
    assert answer.status >= 400, answer.payload  # none of them holds an image


@settings(FUZZ, max_examples=650)
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "post", ""]),
    content_type=st.one_of(st.sampled_from(CONTENT_TYPES), st.text(max_size=40)),
    prefix=st.sampled_from([b"", b"data:", b"data:image/png;base64,", b'{"image": "', b"  "]),
    body=st.binary(max_size=4096),
)
def test_any_request(method, content_type, prefix, body):
    assert_answered(prefix + body, content_type, method)
