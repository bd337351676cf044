"""Not a digit, through the API with the shipped model: letters, shapes, scribbles, dots and
blobs drawn here (with Pillow, not with mnistdraw.negatives, whose sources training used) are
never read as digits; real digits, scanned or re-drawn, are."""

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.canvases import canvas_png, mnist_test_set
from mnistdraw import api, drawings
from tests.helpers import page_canvas

SIDE = 280  # the page's canvas
FONTS = "/usr/share/fonts/truetype"


def post(png: bytes):
    return api.handle("POST", {"Content-Type": "image/png"}, png)


def typed(char: str, font: str, size=180) -> bytes:
    ink = Image.new("L", (SIDE, SIDE), 0)
    ImageDraw.Draw(ink).text((SIDE / 2, SIDE / 2), char, 255, ImageFont.truetype(font, size), "mm")
    return drawings.encode(drawings.as_canvas(ink, transparent=False))


def circle(cx, cy, r, start=0, end=360, n=48):
    return [
        (cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
        for a in np.linspace(start, end, n)
    ]


STAR = [
    (140 + r * math.cos(math.radians(-90 + 36 * i)), 140 + r * math.sin(math.radians(-90 + 36 * i)))
    for i, r in enumerate([100, 40] * 5 + [100])
]
DRAWN = {
    "capital A": [[(60, 240), (140, 40), (220, 240)], [(95, 160), (185, 160)]],
    "smiley": [circle(140, 140, 100), circle(105, 110, 8), circle(175, 110, 8),
               circle(140, 140, 60, 30, 150)],
    "star": [STAR],
    "house": [[(50, 130), (140, 40), (230, 130), (230, 240), (50, 240), (50, 130), (230, 130)]],
    "heart": [[(140, 230), (50, 130), (60, 70), (100, 55), (140, 90), (180, 55), (220, 70),
               (230, 130), (140, 230)]],
    "hash": [[(100, 40), (80, 240)], [(180, 40), (160, 240)], [(40, 100), (240, 100)],
             [(30, 180), (230, 180)]],
    "capital K": [[(80, 40), (80, 240)], [(210, 40), (80, 150), (210, 240)]],
    "capital W": [[(30, 50), (80, 230), (140, 90), (200, 230), (250, 50)]],
}  # fmt: skip


def scribble(seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [[tuple(p) for p in rng.uniform(30, 250, (14, 2))]]


@pytest.mark.parametrize("name", DRAWN)
def test_drawn_letters_and_shapes_are_not_digits(name):
    answer = post(page_canvas(DRAWN[name]))
    assert answer.status == 200
    assert answer.payload["digit"] is None, (name, answer.payload["scores"])
    assert answer.payload["number"] is None
    assert answer.payload["not_a_digit"] > 0.5
    # what the model would have guessed is still there, for the page's grey bars
    assert len(answer.payload["scores"]) == 10
    assert sum(answer.payload["scores"]) == pytest.approx(1, abs=1e-4)


def test_scribbles_are_not_digits():
    answers = [post(page_canvas(scribble(seed), width=10)).payload for seed in range(10)]
    assert sum(a["digit"] is None for a in answers) >= 9, [a["digit"] for a in answers]


@pytest.mark.parametrize(
    "font",
    ["freefont/FreeSans.ttf", "freefont/FreeSerifItalic.ttf", "liberation/LiberationMono-Bold.ttf"],
)
def test_typed_letters_are_not_digits(font):
    letters = "AEFHKMNRWXaehkmnrwx#@"
    read = {c: post(typed(c, f"{FONTS}/{font}")).payload["digit"] for c in letters}
    digits = {c: d for c, d in read.items() if d is not None}
    assert len(digits) <= 1, digits  # at least 20 of 21 refused


@pytest.mark.parametrize("transparent", [True, False])
def test_dots_and_blobs_of_every_size_are_never_digits(transparent):
    for size in [1, 2, 3, 5, 6, 7, 8, 10, 14, 20, 30, 45, 60, 90, 120, 160, 200, 240]:
        for shape in ("ellipse", "rectangle", "blob"):
            ink = Image.new("L", (SIDE, SIDE), 0)
            box = (140 - size / 2, 140 - size / 3, 140 + size / 2, 140 + size / 3)
            if shape == "ellipse":
                ImageDraw.Draw(ink).ellipse(box, fill=255)
            elif shape == "rectangle":
                ImageDraw.Draw(ink).rectangle(box, fill=255)
            else:
                t = np.linspace(0, 2 * math.pi, 9)[:-1]
                r = size / 2 * np.array([1, 0.7, 0.9, 0.6, 1, 0.8, 0.7, 0.9])
                ImageDraw.Draw(ink).polygon(
                    list(zip(140 + r * np.cos(t), 140 + r * np.sin(t), strict=True)), 255
                )
            answer = post(drawings.encode(drawings.as_canvas(ink, transparent)))
            assert answer.status in (200, 422), (size, shape)
            if answer.status == 200:
                assert answer.payload["digit"] is None, (size, shape, answer.payload["scores"])
            else:
                assert answer.payload["error"]["code"] == "blank"


def test_mnist_test_digits_are_read_not_refused():
    images, labels = mnist_test_set()
    model = api.recognizer()
    probabilities = model.probabilities(images[:2000] / 255.0)
    refused = probabilities[:, 10] > model.threshold
    assert refused.mean() <= 0.005, refused.sum()
    assert (probabilities[~refused, :10].argmax(1) == labels[:2000][~refused]).mean() >= 0.99


def test_redrawn_digits_are_read_not_refused():
    _, labels = mnist_test_set()
    answers = [post(canvas_png(i, brush=14)).payload for i in range(150)]
    assert sum(a["digit"] is None for a in answers) <= 1
    assert sum(a["digit"] == labels[i] for i, a in enumerate(answers)) >= 146


def test_a_digit_answer_says_how_likely_it_is_not_one():
    answer = post(canvas_png(0)).payload
    assert answer["digit"] is not None and answer["number"] == str(answer["digit"])
    assert 0 <= answer["not_a_digit"] < api.recognizer().threshold
    # the confidence is the probability of the digit named, so with not_a_digit it is <= 1
    assert answer["confidence"] + answer["not_a_digit"] <= 1 + 1e-4
    assert answer["confidence"] <= max(answer["scores"]) + 1e-4
