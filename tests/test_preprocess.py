"""Preprocessing on drawings the tests render themselves: whatever the canvas, brush, size,
place or background, the model gets a digit boxed to 20 px and centred by mass, as in MNIST."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from bench.canvases import mnist_test_set
from mnistdraw import drawings
from mnistdraw.preprocess import MNIST_CENTRE, PreprocessError, decode, preprocess
from mnistdraw.recognizer import Recognizer

X_TEST, Y_TEST = mnist_test_set()
encode = drawings.encode


def assert_mnist_like(pixels):
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert pixels.min() >= 0 and pixels.max() == pytest.approx(1.0)
    rows, cols = np.flatnonzero(pixels.any(1)), np.flatnonzero(pixels.any(0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert max(height, width) in (19, 20), (height, width)  # boxed to 20 px
    ys, xs = np.mgrid[:28, :28]
    mass = pixels.sum()
    centre = ((ys * pixels).sum() / mass, (xs * pixels).sum() / mass)
    assert np.allclose(centre, MNIST_CENTRE, atol=0.75), centre  # centred by mass


@pytest.fixture(scope="module")
def model():
    return Recognizer()


STYLES = [
    # canvas, digit height, brush, place, transparent
    drawings.Style(280, 0.6, 16, 0.5, 0.5, True),
    drawings.Style(280, 0.15, 3, 0.05, 0.95, True),  # small and hairline, in a corner
    drawings.Style(280, 0.95, 40, 0.5, 0.5, False),  # huge and very thick
    drawings.Style(280, 0.3, 4, 0.9, 0.1, False),
    drawings.Style(280, 0.5, 30, 0.2, 0.7, True),
    drawings.Style(560, 0.7, 24, 0.4, 0.6, True),  # a high-DPI canvas
    drawings.Style(1600, 0.5, 6, 0.3, 0.3, False),  # a big canvas with a thin pen
    drawings.Style(64, 0.8, 5, 0.5, 0.5, False),  # a tiny canvas
]


@pytest.mark.parametrize("style", STYLES, ids=lambda s: f"{s.canvas}px-h{s.height}-b{s.brush}")
def test_drawings_of_any_style_become_mnist_like_and_are_read(style, model):
    for index in range(5):
        pixels = preprocess(encode(drawings.draw(X_TEST[index], style)))
        assert_mnist_like(pixels)
        assert model.predict(pixels[None]).argmax() == Y_TEST[index]


def test_dark_background_and_colour_ink(model):
    drawing = drawings.draw(X_TEST[0], drawings.Style(transparent=True))
    for background, ink in [
        ((0, 0, 0), (255, 255, 255)),
        ((20, 30, 60), (255, 200, 0)),
        ((255, 255, 255), (200, 0, 0)),
        ((250, 240, 200), (0, 0, 160)),
    ]:
        canvas = Image.new("RGB", drawing.size, background)
        canvas.paste(Image.new("RGB", drawing.size, ink), mask=drawing.getchannel("A"))
        pixels = preprocess(encode(canvas))
        assert_mnist_like(pixels)
        assert model.predict(pixels[None]).argmax() == Y_TEST[0]


def photo_of_paper(digit, rng) -> bytes:
    """A digit in grey pencil on paper lit from one side, with grain, as a JPEG."""
    ink = drawings.draw(digit, drawings.Style(640, 0.55, 14, 0.4, 0.6, True)).getchannel("A")
    ink = np.asarray(ink.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32) / 255
    light = np.linspace(0.95, 0.4, 640)[None, :] * np.linspace(1.0, 0.85, 640)[:, None]
    paper = light * (1 - 0.7 * ink) + rng.normal(0, 0.03, light.shape)
    rgb = np.clip(paper[..., None] * [1.0, 0.97, 0.9] * 255, 0, 255).astype(np.uint8)
    return encode(Image.fromarray(rgb), "JPEG", quality=80)


def test_photos_of_paper_under_uneven_light(model):
    rng = np.random.default_rng(7)
    for index in range(5):
        pixels = preprocess(photo_of_paper(X_TEST[index], rng))
        assert_mnist_like(pixels)
        assert model.predict(pixels[None]).argmax() == Y_TEST[index]


def test_formats_and_modes():
    drawing = drawings.draw(X_TEST[1], drawings.Style())
    for blob in (
        encode(drawing, "JPEG", quality=90),
        encode(drawing, "WEBP"),
        encode(drawing.convert("P"), "GIF"),
        encode(drawing.convert("L")),
        encode(drawing.convert("1")),
        encode(drawings.draw(X_TEST[1], drawings.Style(transparent=True)).convert("LA")),
    ):
        assert_mnist_like(preprocess(blob))


def blank_images():
    rng = np.random.default_rng(3)
    dot = Image.new("RGBA", (280, 280))
    ImageDraw.Draw(dot).ellipse((130, 130, 150, 150), fill=(0, 0, 0, 255))
    speck = Image.new("L", (280, 280), 255)
    speck.putpixel((100, 100), 0)
    speck.putpixel((101, 100), 0)
    faint = np.clip(0.9 + rng.normal(0, 0.03, (280, 280)), 0, 1)
    return {
        "transparent canvas": Image.new("RGBA", (280, 280)),
        "white canvas": Image.new("RGB", (280, 280), "white"),
        "black canvas": Image.new("L", (280, 280), 0),
        "lone dot": dot,
        "speck": speck,
        "faint noise": Image.fromarray((faint * 255).astype(np.uint8)),
    }


@pytest.mark.parametrize("name", list(blank_images()))
def test_blank_inputs_are_refused_not_guessed(name):
    with pytest.raises(PreprocessError) as caught:
        preprocess(encode(blank_images()[name]))
    assert caught.value.code == "blank"


@pytest.mark.parametrize(
    "blob, code",
    [
        (b"", "not_an_image"),
        (b"hello, world", "not_an_image"),
        (b"%PDF-1.4 not an image", "not_an_image"),
        (encode(Image.new("RGB", (100, 100)))[:60], "corrupt_image"),
        (encode(Image.new("RGB", (100, 100)), "JPEG")[:200], "corrupt_image"),
        (encode(Image.new("L", (5000, 4000))), "image_too_large"),
        (encode(Image.new("RGB", (20, 20)), "BMP"), "not_an_image"),  # not an accepted format
    ],
    ids=["empty", "text", "pdf", "truncated png", "truncated jpeg", "too many pixels", "bmp"],
)
def test_undecodable_inputs_have_a_clear_error(blob, code):
    with pytest.raises(PreprocessError) as caught:
        preprocess(blob)
    assert caught.value.code == code


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_canvas_png_decodes_to_the_pixels_pillow_reads(dtype):
    """RGBA PNGs, the page's canvases, are decoded by libspng: pixel for pixel what Pillow
    reads, 16-bit ones too (to their high byte)."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, np.iinfo(dtype).max, (37, 53, 4), dtype=dtype, endpoint=True)
    blob = cv2.imencode(".png", pixels)[1].tobytes()  # OpenCV writes 16-bit PNGs; Pillow not
    pillow = Image.open(io.BytesIO(blob))
    assert pillow.mode == "RGBA"
    assert np.array_equal(np.asarray(decode(blob)), np.asarray(pillow.convert("RGBA")))


def test_a_long_thin_blank_image_is_handled():
    line = Image.new("L", (100000, 1), 255)
    with pytest.raises(PreprocessError) as caught:
        preprocess(encode(line))
    assert caught.value.code == "blank"
