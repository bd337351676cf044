"""Re-render MNIST digits as canvas drawings: the stroke centre lines of a digit drawn again
with a round brush of any width, at any size and place on a canvas of any size, on a white
or transparent background. Training re-draws its digits with it, and tests and benchmarks use
it to measure what the page will see."""

import base64
import io
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SKELETON_SCALE = 4
_NEIGHBOURS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]  # P2..P9


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to one-pixel-wide centre lines."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [np.roll(img, (-dy, -dx), axis=(0, 1)) for dy, dx in _NEIGHBOURS]
            count = sum(p)
            transitions = sum((p[i] == 0) & (p[(i + 1) % 8] == 1) for i in range(8))
            if step == 0:
                cond = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                cond = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (img == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & cond
            if remove.any():
                img[remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


@dataclass
class Style:
    canvas: int = 280  # canvas side in px
    height: float = 0.6  # digit height as a fraction of the canvas
    brush: float = 16.0  # brush diameter in canvas px
    x: float = 0.5  # centre of the digit, as fractions of the free room (0 = left edge)
    y: float = 0.5
    transparent: bool = False  # a never-filled canvas (alpha) or a white one


def centre_lines(digit: np.ndarray, style: Style):
    """Where the pen goes for an MNIST digit (uint8 28x28) drawn in `style`: the set of its
    centre lines' (row, column) cells, neighbours joined, and the canvas position (x, y) of a
    cell's centre."""
    # centre lines found at 4x the resolution: smooth, not the staircase of a 28 px skeleton
    grid = Image.fromarray(digit).resize((28 * SKELETON_SCALE,) * 2, Image.Resampling.BILINEAR)
    ys, xs = np.nonzero(skeleton(np.asarray(grid) > 127))
    # the inked height (centre lines plus the brush) is style.height of the canvas
    lines_height = max(style.height * style.canvas - style.brush, 1.0)
    scale = lines_height / ((np.ptp(ys) + 1) or 1)  # canvas px per grid cell
    width = (np.ptp(xs) + 1) * scale
    room_x = max(style.canvas - width - style.brush, 0)
    room_y = max(style.canvas - lines_height - style.brush, 0)
    origin_x = style.brush / 2 + style.x * room_x - xs.min() * scale
    origin_y = style.brush / 2 + style.y * room_y - ys.min() * scale

    def point(y, x):
        return origin_x + (x + 0.5) * scale, origin_y + (y + 0.5) * scale

    return set(zip(ys.tolist(), xs.tolist(), strict=True)), point


def draw(digit: np.ndarray, style: Style) -> Image.Image:
    """An MNIST digit (uint8 28x28) drawn as a person would on a canvas."""
    on, point = centre_lines(digit, style)
    ss = 4  # draw 4x larger, then reduce: anti-aliased strokes as a canvas draws them
    size = style.canvas * ss
    ink = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(ink)
    r = style.brush * ss / 2

    def at(y, x):
        cx, cy = point(y, x)
        return cx * ss, cy * ss

    for y, x in on:
        cx, cy = at(y, x)
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)  # round caps and joins
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each 8-neighbour pair once
            if (y + dy, x + dx) in on:
                pen.line((at(y, x), at(y + dy, x + dx)), fill=255, width=round(2 * r))
    return as_canvas(ink.reduce(ss), style.transparent)


def pen_strokes(digit: np.ndarray, style: Style) -> list[np.ndarray]:
    """The strokes a pen draws `draw`'s drawing with, as the page records them: one for each
    connected part of the centre lines, which goes along every line and back along it where
    it branches (a 4's bar and stem), so it inks exactly what `draw` inks. Each is float
    [n, 2], (x, y) in canvas pixels."""
    on, point = centre_lines(digit, style)
    joined = {
        cell: [
            (cell[0] + dy, cell[1] + dx)
            for dy, dx in _NEIGHBOURS
            if (cell[0] + dy, cell[1] + dx) in on
        ]
        for cell in on
    }
    left = set(on)
    strokes = []
    while left:
        # start at an end of a line (the top-left one), or anywhere on a loop
        ends = sorted(c for c in left if len(joined[c]) == 1) or sorted(left)
        path, stack, walked, last_new = [ends[0]], [ends[0]], set(), 1
        while stack:
            here = stack[-1]
            step = next((c for c in joined[here] if frozenset((here, c)) not in walked), None)
            if step is None:  # back along the way it came
                stack.pop()
                if stack:
                    path.append(stack[-1])
                continue
            walked.add(frozenset((here, step)))
            stack.append(step)
            path.append(step)
            last_new = len(path)
        left -= set(path)
        strokes.append(np.array([point(y, x) for y, x in path[:last_new]]))
    return strokes


def as_canvas(ink: Image.Image, transparent: bool) -> Image.Image:
    """Ink coverage (L, 255 = full) as the page's canvas holds it: black ink with its
    coverage in alpha on a never-filled (transparent) canvas, or black on white."""
    if transparent:
        canvas = Image.new("RGBA", ink.size, (0, 0, 0, 0))
        canvas.putalpha(ink)
        return canvas
    return Image.merge("RGB", [ink.point(lambda v: 255 - v)] * 3)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def data_url(image: Image.Image) -> bytes:
    """The canvas as a PNG data URL: the body the page posted before it sent its strokes, and
    what the benchmarks of single digits post."""
    return b"data:image/png;base64," + base64.b64encode(encode(image))


def page_body(image: Image.Image, strokes: list[np.ndarray] | None) -> bytes:
    """The body the page posts with the strokes it drew (api.strokes_of): JSON of the canvas's
    PNG data URL and each stroke's [x, y] points, in whole pixels (which JSON parses three
    times as fast as fractions), a point that repeats the one before left out. Without
    strokes, the data URL alone."""
    if strokes is None:
        return data_url(image)
    points = [np.round(stroke).astype(int) for stroke in strokes]
    kept = [p[np.r_[True, (p[1:] != p[:-1]).any(axis=1)]] for p in points]
    body = {"image": data_url(image).decode(), "strokes": [p.tolist() for p in kept]}
    return json.dumps(body).encode()


def drawn_ink(digit: np.ndarray, height: float, brush: float, with_strokes: bool = False):
    """The ink coverage (uint8) of an MNIST digit drawn `height` px tall with a `brush` px
    pen, cropped to the ink: a piece to put in a row (draw_row). With `with_strokes`, also
    its pen_strokes, in the cropped ink's pixels."""
    side = round(height + brush) + 4
    style = Style(side, height / side, brush, transparent=True)
    alpha = np.asarray(draw(digit, style))[..., 3]
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    ink = alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if not with_strokes:
        return ink
    return ink, [stroke - (cols[0], rows[0]) for stroke in pen_strokes(digit, style)]


def touching_gap(left: np.ndarray, right: np.ndarray, drop: int) -> int:
    """The gap (px, <= 0) at which `right`, lowered by `drop` px against `left`'s top, first
    touches `left`'s ink when slid towards it: strokes that just touch."""
    for overlap in range(1, min(left.shape[1], right.shape[1])):
        a = left[:, -overlap:] > 127
        b = right[:, :overlap] > 127
        top = max(0, drop)
        bottom = min(a.shape[0], drop + b.shape[0])
        if bottom > top and (a[top:bottom] & b[top - drop : bottom - drop]).any():
            return -overlap + 1
    return -min(left.shape[1], right.shape[1]) + 1


def draw_row(
    inks: list[np.ndarray], gaps: list[int], drops: list[int], transparent: bool, margin: int = 30
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Ink pieces side by side as one canvas drawing: gaps[i] px between piece i and i + 1
    (negative: overlapping), piece i lowered by drops[i] px (a wavy baseline). Returns the
    image and each piece's box (x, y, w, h) in it."""
    lefts = [margin]
    for ink, gap in zip(inks, gaps, strict=False):
        lefts.append(lefts[-1] + ink.shape[1] + gap)
    tops = [margin + drop - min(drops) for drop in drops]
    width = max(x + ink.shape[1] for x, ink in zip(lefts, inks, strict=True)) + margin
    height = max(y + ink.shape[0] for y, ink in zip(tops, inks, strict=True)) + margin
    coverage = np.zeros((height, width), np.uint8)
    boxes = []
    for ink, x, y in zip(inks, lefts, tops, strict=True):
        window = coverage[y : y + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(window, ink, out=window)
        boxes.append((x, y, ink.shape[1], ink.shape[0]))
    return as_canvas(Image.fromarray(coverage), transparent), boxes
