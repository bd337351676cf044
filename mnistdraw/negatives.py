"""Things people draw that are not digits: letters in many hands and fonts, symbols, shapes and
doodles, scribbles, blobs and other images, drawn on a canvas the way the page holds one and
preprocessed as the server does. Training shows them to the model as an eleventh class.

Every kind has sources for training and sources held out for measuring (other fonts, other
hands, other shapes, other styles), so refusal is measured on what training never saw:

    kind            trained on                              held out
    letters drawn   Hershey roman, futura, times, gothic    Hershey script, cursive, italic
                    hands                                   times, german and italic gothic
    letters typed   DejaVu (22 faces); handwriting faces:   Liberation, FreeFont, Comic Neue,
                    DKG, Breip, BWHT, Dancing Script,       URW base35
                    Femke Klaver, Humor Sans, Ecolier
    symbols         Hershey markers and japanese            Hershey symbolic
    shapes          star, triangle, rectangle, arrow,       house, sun, hexagon, lightning,
                    smiley, heart, spiral, tick, pentagon,  cloud, flower
                    diamond, fish, tree, cup, envelope,
                    car, stick figure, boat, eye; doodles
                    of 4-6 random lines, arcs, polygons
                    and dots
    scribbles       smooth random curves                    zigzags, loops, hatching
    blobs           filled ellipses, dots, filled stars,    filled random polygons
                    hearts, triangles, rectangles,
                    pentagons and diamonds
    images          noise, fractals, gradients (Pillow)     photos (matplotlib's samples)

Sources: Hershey stroke fonts from PyPI's hershey-fonts (MIT); fonts from Debian's packages
fonts-dejavu-core and seven handwriting faces (fonts-dkg-handwriting, fonts-breip, fonts-bwht,
fonts-dancingscript, fonts-femkeklaver, fonts-humor-sans, fonts-ecolier-court), held out
fonts-liberation, fonts-freefont-ttf, fonts-comic-neue, fonts-urw-base35;
photos from matplotlib's sample data. data/negatives/README.md gives versions and licences;
data/negatives/SHA256SUMS the checksum of every file used, verified before it is used."""

import hashlib
import math
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import ROOT, parallel
from .drawings import as_canvas
from .preprocess import PreprocessError, to_mnist

CANVAS = 140  # px, as mnistdraw.train.redraw: preprocessing removes the size
SS = 4  # strokes are drawn 4x larger, then reduced: anti-aliased as a canvas draws them

# Letters and signs that no one would take for a digit. Left out, because drawn by hand they
# can be one: O o Q D (0), I l i j J ! | / \ ( ) [ ] (1), Z z ? (2), S s $ (5), G b (6), B & (8),
# g q (9), t (4 or 7).
# An L and a dash are also what a 4 or a 7 is after its first stroke: not a digit yet.
LETTERS = "ACEFHKLMNPRTUVWXYacdefhkmnpruvwxy"
SIGNS = "#%@*+=<>~^-"
TEXT = LETTERS + SIGNS

HERSHEY_HANDS = {
    "train": ["futural", "futuram", "rowmans", "rowmand", "rowmant", "timesr", "timesrb",
              "gothiceng", "gothgbt"],
    "held_out": ["scripts", "scriptc", "cursive", "timesi", "timesib", "gothicger", "gothgrt",
                 "gothicita", "gothitt"],
}  # fmt: skip
# (Hershey's greek and cyrillic hands are not used: at the ASCII codes of safe letters they
# hold glyphs such as δ, σ, б and З, which are drawn like 6, 0 and 3.)
# Glyphs of Hershey's symbol fonts, by the ASCII code they sit at; circles, lone lines and
# arcs, and kana or kanji that look like digits (ら ろ る そ ち つ う の い 七 五) are left out.
HERSHEY_SYMBOLS = {
    "train": {
        "markers": "BCDEFGHIKLMNOP",
        "japanese": "\"#$%&'()*+,-./01234579ABDEFGHIKLMNPSTUVWXZ[\\]^_`abcdfghlno",
    },
    "held_out": {"symbolic": "ADEFGIJKLMNOPQRSTUVWXYZ[]^_`abcdefghmnopxyz{|~"},
}

FONT_DIRS = {
    "train": [
        "/usr/share/fonts/truetype/dejavu",
        # handwriting: letters as people write them, in other hands than the held-out ones
        "/usr/share/fonts/truetype/fifthhorseman",
        "/usr/share/fonts/truetype/breip",
        "/usr/share/fonts/opentype/bwht",
        "/usr/share/fonts/opentype/dancingscript",
        "/usr/share/fonts/truetype/femkeklaver",
        "/usr/share/fonts/truetype/humor-sans",
        "/usr/share/fonts/truetype/ecolier-court",
    ],
    "held_out": [
        "/usr/share/fonts/truetype/liberation",
        "/usr/share/fonts/truetype/freefont",
        "/usr/share/fonts/opentype/comic-neue",
        "/usr/share/fonts/opentype/urw-base35",
    ],
}
SHAPES = {
    "train": [
        "star",
        "triangle",
        "rectangle",
        "arrow",
        "smiley",
        "heart",
        "spiral",
        "tick",
        "doodle",
        # things children draw: corners, bodies and limbs that no digit has
        "pentagon",
        "diamond",
        "fish",
        "tree",
        "cup",
        "envelope",
        "car",
        "stick figure",
        "boat",
        "eye",
    ],
    "held_out": ["house", "sun", "hexagon", "lightning", "cloud", "flower"],
}
SCRIBBLES = {"train": ["curve"], "held_out": ["zigzag", "loops", "hatching"]}
BLOBS = {
    "train": ["ellipse", "star", "heart", "triangle", "rectangle", "pentagon", "diamond"],
    "held_out": ["polygon"],
}
IMAGES = {"train": ["noise", "fractal", "gradient"], "held_out": ["photo"]}

# kind -> share of the non-digits shown in training
KINDS = {
    "letters drawn": 0.25,
    "letters typed": 0.15,
    "symbols": 0.15,
    "shapes": 0.3,
    "scribbles": 0.05,
    "blobs": 0.05,
    "images": 0.05,
}


class MissingSource(RuntimeError):
    """A font package or library that a kind of non-digit is drawn from is not installed."""


# ---- strokes: lists of (x, y) polylines, y downwards --------------------------------------


@cache
def _hershey(font: str):
    from HersheyFonts import HersheyFonts

    hershey = HersheyFonts()
    hershey.load_default_font(font)
    return hershey


def hershey_strokes(font: str, char: str) -> list[np.ndarray]:
    return [np.array(s, float) for s in _hershey(font).strokes_for_text(char) if len(s)]


def _circle(cx, cy, r, start=0.0, end=2 * math.pi, n=40):
    t = np.linspace(start, end, n)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _polygon(points):
    points = np.asarray(points, float)
    return np.concatenate([points, points[:1]])


def shape_strokes(name: str, rng) -> list[np.ndarray]:
    """A shape or doodle as a person draws it, in a unit-ish box."""
    j = lambda: rng.uniform(-0.06, 0.06)  # noqa: E731 - a hand is never exact
    if name == "star":
        n = int(rng.choice([5, 5, 6, 7]))
        inner = rng.uniform(0.35, 0.5)
        t = np.arange(2 * n) * math.pi / n - math.pi / 2
        r = np.where(np.arange(2 * n) % 2, inner, 1.0)
        return [_polygon(np.stack([r * np.cos(t) + j(), r * np.sin(t) + j()], 1))]
    if name == "triangle":
        return [_polygon([(0 + j(), 1), (0.5 + j(), 0 + j()), (1 + j(), 1 + j())])]
    if name == "rectangle":
        w = rng.uniform(0.5, 1.5)
        return [_polygon([(0, 0), (w + j(), j()), (w + j(), 1 + j()), (j(), 1 + j())])]
    if name == "arrow":
        return [np.array([(0, 0.5), (1, 0.5 + j())]), np.array([(0.7, 0.2), (1, 0.5), (0.7, 0.8)])]
    if name == "smiley":
        face = _circle(0, 0, 1, n=60)
        eyes = [_circle(x, -0.35, rng.uniform(0.04, 0.12), n=12) for x in (-0.35, 0.35)]
        smile = _circle(0, 0, rng.uniform(0.45, 0.65), 0.2 * math.pi, 0.8 * math.pi)
        return [face, *eyes, smile]
    if name == "heart":
        t = np.linspace(0, 2 * math.pi, 60)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [np.stack([x, y], 1)]
    if name == "spiral":
        turns = rng.uniform(2, 4)
        t = np.linspace(0, turns * 2 * math.pi, 150)
        return [np.stack([t * np.cos(t), t * np.sin(t)], 1)]
    if name == "tick":
        return [np.array([(0, 0.6), (0.35 + j(), 1), (1, 0 + j())])]
    if name == "doodle":  # what a child draws when asked for anything: parts strewn about
        return [_doodle_part(rng) for _ in range(int(rng.integers(4, 7)))]
    if name == "pentagon":
        t = np.arange(5) * 2 * math.pi / 5 - math.pi / 2
        return [_polygon(np.stack([np.cos(t) + j(), np.sin(t) + j()], 1))]
    if name == "diamond":
        w = rng.uniform(0.55, 1.0)
        return [_polygon([(0, 1 + j()), (w + j(), 0), (2 * w, 1 + j()), (w + j(), 2)])]
    if name == "fish":
        t = np.linspace(0.15 * math.pi, 1.85 * math.pi, 40)
        body = np.stack([np.cos(t), 0.5 * np.sin(t)], 1)
        tail = np.array([(0.95, 0.1), (1.6, -0.45 + j()), (1.6, 0.45 + j()), (0.95, -0.1)])
        return [body, tail, _circle(-0.5, -0.1, 0.06, n=8)]
    if name == "tree":
        crown = _polygon([(0, 0.75), (0.5 + j(), 0), (1, 0.75 + j())])
        return [crown, np.array([(0.42, 0.75), (0.42, 1.1)]), np.array([(0.58, 0.75), (0.58, 1.1)])]
    if name == "cup":
        body = np.array([(0, 0), (0.1, 1), (0.7, 1 + j()), (0.8, 0)])
        return [body, _circle(0.85, 0.45, 0.2 + j(), -0.5 * math.pi, 0.5 * math.pi, 16)]
    if name == "envelope":
        w = rng.uniform(1.2, 1.8)
        flap = np.array([(0, 0), (w / 2 + j(), 0.55 + j()), (w, 0)])
        return [_polygon([(0, 0), (w, 0), (w + j(), 1), (j(), 1)]), flap]
    if name == "car":
        body = _polygon([(0, 0.5), (0.3, 0.5), (0.45, 0.1), (1.1, 0.1 + j()), (1.3, 0.5),
                         (1.6, 0.5), (1.6, 0.85), (0, 0.85)])  # fmt: skip
        return [body, _circle(0.35, 0.9, 0.15, n=16), _circle(1.25, 0.9, 0.15, n=16)]
    if name == "stick figure":
        arms, legs = rng.uniform(0.1, 0.4), rng.uniform(0.15, 0.35)
        return [_circle(0, -0.75, 0.25, n=24), np.array([(0, -0.5), (0, 0.4)]),
                np.array([(-0.5, -0.1 - arms), (0, -0.2), (0.5, -0.1 - arms)]),
                np.array([(-legs, 1), (0, 0.4), (legs, 1)])]  # fmt: skip
    if name == "boat":
        hull = _polygon([(0, 0.7), (1.4, 0.7 + j()), (1.15, 1), (0.25, 1)])
        return [
            hull,
            np.array([(0.7, 0.7), (0.7, 0)]),
            _polygon([(0.75, 0.05), (1.2, 0.6), (0.75, 0.6)]),
        ]
    if name == "eye":
        lid = rng.uniform(0.35, 0.5)
        t = np.linspace(-1, 1, 30)
        upper = np.stack([t, -lid * (1 - t**2)], 1)
        lower = np.stack([t, lid * (1 - t**2)], 1)
        return [upper, lower, _circle(j(), j(), lid * 0.55, n=20)]
    if name == "house":
        return [_polygon([(0, 0.4), (0.5, 0), (1, 0.4), (1, 1), (0, 1)]),
                np.array([(0.4, 1), (0.4, 0.7), (0.6, 0.7), (0.6, 1)])]  # fmt: skip
    if name == "sun":
        rays = [np.array([(0.6 * math.cos(a), 0.6 * math.sin(a)), (math.cos(a), math.sin(a))])
                for a in np.arange(0, 2 * math.pi, 2 * math.pi / rng.integers(6, 11))]  # fmt: skip
        return [_circle(0, 0, 0.45), *rays]
    if name == "hexagon":
        n = int(rng.integers(6, 9))
        t = np.arange(n) * 2 * math.pi / n
        return [_polygon(np.stack([np.cos(t) + j(), np.sin(t) + j()], 1))]
    if name == "lightning":
        return [_polygon([(0.5, 0), (0.1, 0.55), (0.45, 0.55), (0.25, 1), (0.9, 0.4),
                          (0.55, 0.4), (0.8, 0)])]  # fmt: skip
    if name == "cloud":
        bumps = [_circle(x, y, r, math.pi, 2 * math.pi, 20)
                 for x, y, r in ((0.3, 0.5, 0.3), (0.7, 0.4, 0.35), (1.1, 0.5, 0.3))]  # fmt: skip
        return [*bumps, np.array([(0, 0.5), (0, 0.8), (1.4, 0.8), (1.4, 0.5)])]
    if name == "flower":
        petals = [_circle(0.55 * math.cos(a), 0.55 * math.sin(a), 0.3)
                  for a in np.arange(0, 2 * math.pi, 2 * math.pi / rng.integers(5, 8))]  # fmt: skip
        return [_circle(0, 0, 0.25), *petals, np.array([(0, 0.85), (0.1, 2.0)])]
    raise ValueError(name)


def _doodle_part(rng) -> np.ndarray:
    """A line, an arc, a small polygon or a dot, somewhere in the unit square. (No rings:
    a ring beside a line or a ring is a 6, a 9, a 10 or an 8.)"""
    cx, cy = rng.uniform(0, 1, 2)
    size = rng.uniform(0.15, 0.5)
    part = rng.integers(4)
    if part == 0:
        a = rng.uniform(0, math.pi)
        d = size * np.array([math.cos(a), math.sin(a)])
        return np.array([(cx, cy) - d, (cx, cy) + d])
    if part == 1:
        start = rng.uniform(0, 2 * math.pi)
        return _circle(cx, cy, size / 2, start, start + rng.uniform(0.5, 1.5) * math.pi)
    if part == 2:
        n = int(rng.integers(3, 6))
        t = np.sort(rng.uniform(0, 2 * math.pi, n))
        return _polygon(np.stack([cx + size / 2 * np.cos(t), cy + size / 2 * np.sin(t)], 1))
    return _circle(cx, cy, 0.05, n=8)


def scribble_strokes(name: str, rng) -> list[np.ndarray]:
    if name == "curve":  # a smooth random path through 8-16 points (Catmull-Rom)
        points = rng.uniform(0, 1, (int(rng.integers(8, 17)), 2))
        return [_smooth(points)]
    if name == "zigzag":
        n = int(rng.integers(5, 12))
        x = np.linspace(0, 1, n) + rng.uniform(-0.03, 0.03, n)
        y = np.where(np.arange(n) % 2, 0, 1) + rng.uniform(-0.1, 0.1, n)
        return [np.stack([x, y], 1)]
    if name == "loops":  # a coil: cursive l's
        t = np.linspace(0, rng.integers(3, 7) * 2 * math.pi, 300)
        return [np.stack([t / 6 + 0.5 * np.sin(t), np.cos(t)], 1)]
    if name == "hatching":
        n = int(rng.integers(4, 9))
        slant = rng.uniform(-0.5, 0.5)
        return [np.array([(i / n, 0), (i / n + slant, 1)]) for i in range(n)]
    raise ValueError(name)


def _smooth(points: np.ndarray, per_segment: int = 12) -> np.ndarray:
    p = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    return np.concatenate([*out, points[-1:]])


# ---- drawing on a canvas -------------------------------------------------------------------


def _hand(strokes: list[np.ndarray], rng) -> list[np.ndarray]:
    """Strokes as a hand draws them: slanted, squashed or stretched, rotated, and wobbly."""
    angle = math.radians(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    aspect = math.exp(rng.uniform(-0.3, 0.3))
    m = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    m = m @ np.array([[aspect, shear], [0, 1 / aspect]])
    points = np.concatenate(strokes)
    size = max(np.ptp(points, axis=0).max(), 1e-6)
    phase = rng.uniform(0, 2 * math.pi, 2)
    wobble = rng.uniform(0, 0.03) * size
    out = []
    for s in strokes:
        s = s @ m.T
        k = np.linspace(0, 1, len(s))[:, None] * rng.uniform(2, 6)
        out.append(s + wobble * np.sin(k + phase))
    return out


def paint(strokes: list[np.ndarray], rng, filled: bool = False):
    """Strokes drawn with a round brush on a CANVAS px canvas, at a random size, place and
    brush (1-25 % of the drawing's size), white or transparent, as the page's canvas holds it:
    (the canvas, the strokes in its pixels, as the page records them)."""
    points = np.concatenate(strokes)
    low, extent = points.min(0), np.ptp(points, axis=0)
    size = rng.uniform(0.3, 0.95) * CANVAS
    brush = math.exp(rng.uniform(math.log(0.01), math.log(0.25))) * size
    scale = max(size - brush, 1.0) / max(extent.max(), 1e-6)
    room = np.maximum(CANVAS - extent * scale - brush, 0)
    origin = brush / 2 + rng.uniform(0, 1, 2) * room
    placed = [(s - low) * scale + origin for s in strokes]
    ink = Image.new("L", (CANVAS * SS, CANVAS * SS), 0)
    pen = ImageDraw.Draw(ink)
    r = brush * SS / 2
    for s in placed:
        xy = [tuple(p) for p in s * SS]
        if filled and len(xy) > 2:
            pen.polygon(xy, fill=255)
        if len(xy) > 1:
            pen.line(xy, fill=255, width=max(1, round(2 * r)), joint="curve")
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:  # round caps
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return as_canvas(ink.reduce(SS), bool(rng.random() < 0.5)), placed


SOURCES = ROOT / "data" / "negatives" / "SHA256SUMS"  # every font and photo file used


@cache
def _checksums() -> dict[str, str]:
    return {
        name: digest for digest, name in (line.split() for line in SOURCES.read_text().splitlines())
    }


def _verified(name: str, path: Path) -> Path:
    """path, after checking that its content is what SHA256SUMS says: the same sources, the
    same non-digits, the same model."""
    if not path.is_file():
        raise MissingSource(
            f"{path} is missing: install Debian's fonts-dejavu-core, fonts-liberation, "
            "fonts-freefont-ttf, fonts-comic-neue and fonts-urw-base35 (`make fonts`), and "
            "the pinned requirements-dev.txt"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != _checksums()[name]:
        raise MissingSource(f"{path} has SHA-256 {digest}, but {SOURCES} says {_checksums()[name]}")
    return path


@cache
def fonts(split: str) -> list[str]:
    """The font files of a split, as listed and checked in SHA256SUMS."""
    return [
        str(_verified(name, Path(name)))
        for name in _checksums()
        if name.startswith(tuple(FONT_DIRS[split]))
    ]


@cache
def typeable(font: str) -> str:
    """The characters of TEXT that a font has (a missing one would be typed as a box)."""
    import logging

    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # Ecolier's harmless table quirk
    cmap = TTFont(font, fontNumber=0, lazy=True).getBestCmap()
    return "".join(c for c in TEXT if ord(c) in cmap)


def typed(font: str, char: str, rng) -> Image.Image:
    """A character typed in a font, at a random size and place, slightly rotated."""
    size = int(rng.uniform(0.3, 0.95) * CANVAS)
    face = ImageFont.truetype(font, size)
    ink = Image.new("L", (CANVAS, CANVAS), 0)
    left, top, right, bottom = face.getbbox(char)
    room = (max(CANVAS - (right - left), 0), max(CANVAS - (bottom - top), 0))
    at = (rng.uniform(0, 1) * room[0] - left, rng.uniform(0, 1) * room[1] - top)
    ImageDraw.Draw(ink).text(at, char, fill=255, font=face)
    ink = ink.rotate(rng.uniform(-12, 12), Image.Resampling.BILINEAR)
    return as_canvas(ink, bool(rng.random() < 0.5))


@cache
def _photos() -> list[np.ndarray]:
    import matplotlib.cbook

    photos = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        path = _verified(
            f"matplotlib:{name}", Path(matplotlib.cbook.get_sample_data(name, asfileobj=False))
        )
        photos.append(np.asarray(Image.open(path).convert("L")))
    return photos


def picture(name: str, rng) -> Image.Image:
    """A grey image that is not a drawing at all."""
    if name == "noise":  # Gaussian around mid-grey, as Image.effect_noise makes it, but drawn
        # from `rng`: Pillow draws from C's rand(), whose state depends on what the worker
        # process drew before, so training's non-digits changed from run to run
        noise = rng.normal(128, rng.uniform(20, 120), (CANVAS, CANVAS))
        grey = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))
    elif name == "fractal":
        x, y = rng.uniform(-2, 0.5), rng.uniform(-1.2, 1.2)
        w = rng.uniform(0.05, 1.5)
        grey = Image.effect_mandelbrot((CANVAS, CANVAS), (x, y, x + w, y + w), 100)
    elif name == "gradient":
        grey = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize((CANVAS,) * 2)
    elif name == "photo":
        photo = _photos()[rng.integers(len(_photos()))]
        side = int(rng.uniform(0.2, 1) * min(photo.shape))
        top = rng.integers(photo.shape[0] - side + 1)
        left = rng.integers(photo.shape[1] - side + 1)
        grey = Image.fromarray(photo[top : top + side, left : left + side]).resize((CANVAS,) * 2)
    else:
        raise ValueError(name)
    return grey.convert("RGB")


def render(kind: str, split: str, rng) -> Image.Image:
    """One non-digit of a kind, from the sources of a split ("train" or "held_out")."""
    return drawn(kind, split, rng)[0]


def drawn(kind: str, split: str, rng) -> tuple[Image.Image, list[np.ndarray] | None]:
    """One non-digit of a kind and the pen strokes that drew it, as the page sends them (None
    for what is not drawn by a pen: typed letters, filled blobs, images)."""
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    if kind == "letters drawn":
        font = pick(HERSHEY_HANDS[split])
        strokes = hershey_strokes(font, pick(TEXT))
        return paint(_hand(strokes, rng), rng)
    if kind == "letters typed":
        font = pick(fonts(split))
        return typed(font, pick(typeable(font)), rng), None
    if kind == "symbols":
        font = pick(sorted(HERSHEY_SYMBOLS[split]))
        return paint(_hand(hershey_strokes(font, pick(HERSHEY_SYMBOLS[split][font])), rng), rng)
    if kind == "shapes":
        return paint(_hand(shape_strokes(pick(SHAPES[split]), rng), rng), rng)
    if kind == "scribbles":
        return paint(_hand(scribble_strokes(pick(SCRIBBLES[split]), rng), rng), rng)
    if kind == "blobs":
        name = pick(BLOBS[split])
        if name == "ellipse":
            blob = [_circle(0, 0, 1) * (1, math.exp(rng.uniform(-0.7, 0.7)))]
        elif name in SHAPES["train"]:  # a shape filled in
            blob = _hand(shape_strokes(name, rng), rng)
        else:
            t = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(3, 9))))
            r = rng.uniform(0.5, 1, len(t))
            blob = [_polygon(np.stack([r * np.cos(t), r * np.sin(t)], 1))]
        return paint(blob, rng, filled=True)[0], None
    if kind == "images":
        return picture(pick(IMAGES[split]), rng), None
    raise ValueError(kind)


def one(kind: str, split: str, seed: int) -> np.ndarray | None:
    """A non-digit preprocessed as the server does (float32 28x28), or None when
    preprocessing already refuses it as blank (a dot, a speck)."""
    try:
        return to_mnist(render(kind, split, np.random.default_rng(seed)))
    except PreprocessError:
        return None


def sample(count: int, split: str, seed: int, kinds: dict = KINDS) -> tuple[np.ndarray, list]:
    """`count` non-digits of the split, kinds in the given shares, preprocessed as served,
    made on all cores: (float32 [n, 28, 28, 1], the kind of each). Those that preprocessing
    refuses as blank are dropped, so n <= count."""
    rng = np.random.default_rng(seed)
    names = list(kinds)
    picked = rng.choice(len(names), count, p=np.array(list(kinds.values())) / sum(kinds.values()))
    seeds = np.random.SeedSequence(seed).generate_state(count).tolist()
    jobs = [(names[k], split, s) for k, s in zip(picked, seeds, strict=True)]
    images = parallel.starmap(one, jobs, f"drawing {count} non-digits", chunksize=64)
    kept = [(img, job[0]) for img, job in zip(images, jobs, strict=True) if img is not None]
    return np.stack([img for img, _ in kept])[..., None], [kind for _, kind in kept]


def source_checksums(split: str) -> dict[str, str]:
    """SHA-256 of every font file a split draws from (for the model card)."""
    return {Path(f).name: _checksums()[f] for f in fonts(split)}
