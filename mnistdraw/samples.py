"""Sample drawings to try, made from the data in the repository:

    python -m mnistdraw samples [--out-dir samples]

writes canvas-sized PNGs (ink on a transparent canvas, as the page's pad holds it) and
`index.json`, which lists for each its file, its label, its kind and a one-line caption that
says honestly what it is and how the shipped model reads it:

- a few MNIST test digits that the model reads with ease;
- hard ones: test digits that the model reads right but with the least confidence;
- one that it gets wrong, said so;
- a number: four test digits drawn side by side, with gaps, on a wide canvas;
- a letter: an A in a Hershey stroke font drawn with the page's brush.

Every digit is an MNIST test digit re-drawn as strokes (mnistdraw.drawings), and each is read
as the API reads it (preprocessing, then the model), so the captions are the model's answers
when the samples were made. Needs the training extras for the letter (hershey-fonts).
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import api, data, drawings

EASY = (7, 3, 4)  # the labels of the easy ones: the first test digit of each read surely
NUMBER = "2026"
LETTER, LETTER_FONT = "A", "futural"
CANVAS = 280  # the page's canvas, px
GAP = 36  # px between the digits of the number
CANDIDATES = 80  # the test digits read least surely as scanned, drawn to find hard ones


def _png(image: Image.Image) -> bytes:
    return drawings.encode(image, optimize=True)


def _drawn(digit: np.ndarray) -> Image.Image:
    return drawings.draw(digit, drawings.Style(canvas=CANVAS, transparent=True))


def _read(image: Image.Image) -> dict | None:
    """As the API answers one thing drawn: the digit (None when not a digit), its
    confidence and the closest guess; None when the API finds nothing or several things."""
    answer = api.handle("POST", {"Content-Type": "image/png"}, _png(image))
    if answer.status != 200 or len(answer.payload["digits"]) != 1:
        return None
    guess = int(np.argmax(answer.payload["scores"]))
    return {
        "digit": answer.payload["digit"],
        "confidence": answer.payload["confidence"],
        "guess": guess,
    }


def _said(reading: dict) -> str:
    if reading["digit"] is None:
        return f"not a digit ({reading['confidence']:.1%}; closest guess {reading['guess']})"
    return f"{reading['digit']} ({reading['confidence']:.1%} sure)"


def _number(digits: list[np.ndarray]) -> Image.Image:
    """Drawn digits side by side on one wide transparent canvas, GAP px apart."""
    style = drawings.Style()
    inks = [drawings.drawn_ink(d, style.height * CANVAS, style.brush) for d in digits]
    image, _ = drawings.draw_row(inks, [GAP] * (len(inks) - 1), [0] * len(inks), True, GAP)
    return image


def _letter(char: str) -> Image.Image:
    """A character of a Hershey stroke font drawn with the page's round 16 px brush."""
    from .negatives import hershey_strokes

    strokes = hershey_strokes(LETTER_FONT, char)
    points = np.concatenate(strokes)
    low, extent = points.min(0), np.ptp(points, axis=0)
    ss, brush, height = 4, 16, 0.6 * CANVAS
    scale = (height - brush) / extent.max()
    origin = (CANVAS - extent * scale) / 2
    ink = Image.new("L", (CANVAS * ss,) * 2, 0)
    pen = ImageDraw.Draw(ink)
    r = brush * ss / 2
    for stroke in strokes:
        xy = [tuple(p) for p in ((stroke - low) * scale + origin) * ss]
        pen.line(xy, fill=255, width=round(2 * r), joint="curve")
        for x, y in (xy[0], xy[-1]):
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return drawings.as_canvas(ink.reduce(ss), transparent=True)


def make_samples(out_dir: Path = Path("samples")) -> list[dict]:
    """Write the samples and index.json in out_dir; return the index's entries."""
    model = api.recognizer()
    images, labels = data.load("test")
    chosen: list[tuple[str, Image.Image, dict]] = []

    for label in EASY:  # the first test digit of the label that the model reads surely
        for index in np.flatnonzero(labels == label):
            image = _drawn(images[index])
            reading = _read(image)
            if reading and reading["digit"] == label and reading["confidence"] > 0.99:
                caption = f"a {label} from the MNIST test set (#{index}); read as {_said(reading)}"
                chosen.append((f"digit-{label}.png", image, _entry(label, "digit", caption)))
                break

    # hard ones: the test digits least surely read as scanned, drawn as strokes, read again
    sure = model.probabilities(images[:, :, :, None] / 255.0).max(axis=1)
    hard, wrong = [], None
    for index in np.argsort(sure)[:CANDIDATES]:
        image = _drawn(images[index])
        reading = _read(image)
        label = int(labels[index])
        if reading is None:
            continue
        if reading["digit"] == label and reading["confidence"] < 0.9:
            hard.append((reading["confidence"], index, image, reading))
        elif wrong is None and reading["digit"] is not None and reading["digit"] != label:
            wrong = (index, image, reading)
    for _, index, image, reading in sorted(hard, key=lambda h: h[0])[:2]:
        label = int(labels[index])
        caption = (
            f"a hard one: a {label} from the MNIST test set (#{index}) that the model reads "
            f"right but unsurely, as {_said(reading)}"
        )
        chosen.append((f"hard-{label}-{index}.png", image, _entry(label, "hard", caption)))
    if wrong is not None:
        index, image, reading = wrong
        label = int(labels[index])
        caption = (
            f"one it gets wrong: the model reads it as {_said(reading)}, but it is a {label} "
            f"(MNIST test set #{index})"
        )
        chosen.append((f"wrong-{label}-{index}.png", image, _entry(label, "wrong", caption)))

    picks = []  # the first test digit of each figure of NUMBER that is read surely
    for figure in NUMBER:
        for index in np.flatnonzero(labels == int(figure)):
            if index in picks:
                continue
            reading = _read(_drawn(images[index]))
            if reading and reading["digit"] == int(figure) and reading["confidence"] > 0.99:
                picks.append(int(index))
                break
    caption = (
        f"a number: {NUMBER}, four MNIST test digits (#{', #'.join(map(str, picks))}) "
        "drawn side by side"
    )
    chosen.append(
        (
            f"number-{NUMBER}.png",
            _number([images[i] for i in picks]),
            _entry(NUMBER, "number", caption),
        )
    )

    letter = _letter(LETTER)
    reading = _read(letter)
    said = _said(reading) if reading else "blank"
    caption = f"a letter: {LETTER}, drawn in strokes; the model reads it as {said}"
    chosen.append((f"letter-{LETTER}.png", letter, _entry(LETTER, "letter", caption)))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = out_dir / "index.json"
    if earlier.exists():  # the samples an earlier model was shown with, this one is not
        listed = {sample["file"] for sample in json.loads(earlier.read_text())["samples"]}
        for name in listed - {name for name, _, _ in chosen}:
            (out_dir / name).unlink(missing_ok=True)
    entries = []
    for name, image, entry in chosen:
        (out_dir / name).write_bytes(_png(image))
        entries.append({"file": name, **entry})
        print(f"wrote {out_dir / name}: {entry['caption']}")
    index = {
        "command": "python -m mnistdraw samples",
        "model": model.id,
        "samples": entries,
    }
    (out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    print(f"wrote {out_dir / 'index.json'}")
    return entries


def _entry(label, kind: str, caption: str) -> dict:
    return {"label": str(label), "kind": kind, "caption": caption}
