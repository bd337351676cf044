"""Split a drawing into the things drawn, left to right: one digit, or the digits of a number.

A digit is often drawn in strokes that do not touch (the hat of a 5, the bar of a 7, a 4
drawn as ⌐ and |, a dotted line), and the digits of a number sit side by side, sometimes
touching. So:

1. the ink's connected pieces (OpenCV), specks dropped;
2. pieces that overlap horizontally, by half the narrower one's width or more, are one group;
   a group much wider than it is tall (touching digits) is cut at its thinnest columns;
3. groups and cut parts are the *atoms*; a gap wider than SURE_GAP of the line's height
   certainly separates two things, while atoms closer than that may be one digit (a broken
   stroke) or two (a number written tightly);
4. every run of close atoms that could be one digit goes through the same single-digit
   preprocessing, all of them through the model in one batch, and the split whose pieces the
   model reads best wins (dynamic programming).

A drawing read as one thing is cropped exactly as a single digit always was."""

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .preprocess import (
    MIN_EXTENT,
    PreprocessError,
    core_ink,
    measured_ink,
    stroke_width,
    to_mnist_box,
    whole_box,
)

MAX_PIECES = 12  # more things than any number written on a canvas: `too_many_pieces`
MAX_COMPONENTS = 400  # connected pieces of ink worth looking at; beyond: `too_many_pieces`
OVERLAP = 0.5  # pieces overlapping by this share of the narrower one's width are one group
SURE_GAP = 0.2  # a gap of this share of the line height always separates two things
WIDE = 1.05  # a group wider than this x its height may be touching digits: cut candidates
JOIN = 2.5  # a cut crosses at most this many stroke widths of ink
MAX_WIDTH = 1.6  # a piece wider than this x the line height is never one digit
TALL = 0.5  # pieces at least this share of the line's height may be digits of their own
NOT_DIGITS_SPLIT = np.log(0.1)  # a split that leaves a piece that is not a digit: unlikely
FULL = 0.7  # touching or overlapping pieces must both be this share of the line's height
CLEAR_SPLIT = np.log(4)  # log prior odds of two things, for pieces apart and both tall
UNSURE_SPLIT = np.log(0.25)  # and for pieces that touch or overlap, or are small


@dataclass(frozen=True)
class Piece:
    """One thing drawn: its box (x, y, w, h) in the ink map's pixels and the model input."""

    box: tuple[int, int, int, int]
    pixels: np.ndarray  # float32 [28, 28]
    dot: bool  # a dot or a blob: never a digit


@dataclass(frozen=True)
class Atom:
    """Ink of some connected components within columns [left, right)."""

    labels: tuple[int, ...]
    left: int
    right: int
    top: int
    bottom: int


def components(core: np.ndarray, min_extent: float) -> tuple[np.ndarray, list[Atom]]:
    """The connected pieces of core ink, specks dropped, as a label image and atoms."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(core.view(np.uint8), connectivity=8)
    atoms = [
        Atom((i,), x, x + w, y, y + h)
        for i, (x, y, w, h, _) in enumerate(stats[1:].tolist(), start=1)
        if max(w, h) >= min_extent
    ]
    if len(atoms) > MAX_COMPONENTS:
        raise PreprocessError("too_many_pieces", limit=MAX_PIECES)
    return labels, sorted(atoms, key=lambda a: a.left)


def merged(a: Atom, b: Atom) -> Atom:
    return Atom(
        a.labels + b.labels,
        min(a.left, b.left),
        max(a.right, b.right),
        min(a.top, b.top),
        max(a.bottom, b.bottom),
    )


def groups(atoms: list[Atom]) -> list[Atom]:
    """Pieces overlapping horizontally by OVERLAP of the narrower one are one group."""
    out: list[Atom] = []
    for atom in atoms:  # sorted by left edge
        for i, group in enumerate(out):
            overlap = min(group.right, atom.right) - max(group.left, atom.left)
            if overlap >= OVERLAP * min(group.right - group.left, atom.right - atom.left):
                out[i] = merged(group, atom)
                break
        else:
            out.append(atom)
    # a merge can widen a group until it overlaps the next: repeat until nothing changes
    return out if len(out) == len(atoms) else groups(sorted(out, key=lambda a: a.left))


def cut_candidates(group: Atom, labels: np.ndarray) -> list[Atom]:
    """A group too wide to be one digit, cut into slices at its thinnest columns."""
    height = group.bottom - group.top
    width = group.right - group.left
    if width <= WIDE * height:
        return [group]
    window = np.isin(labels[group.top : group.bottom, group.left : group.right], group.labels)
    column_ink = window.sum(axis=0)
    # Where two digits touch, a column crosses little ink: a stroke or two at the join. A
    # column through the middle of a star or a scribble crosses more, and is no cut.
    thin = column_ink <= JOIN * stroke_width(window)
    # thin columns at least a sixth of the height apart, none in the outer 15 % of the box
    spacing = max(1, height // 6)
    cuts = []
    for x in np.argsort(column_ink, kind="stable"):
        if not thin[x]:
            break
        if 0.15 * width <= x <= 0.85 * width and all(abs(x - c) >= spacing for c in cuts):
            cuts.append(int(x))
        if len(cuts) >= 2 * round(width / (0.6 * height)):  # two per digit that may be there
            break
    edges = [0, *sorted(cuts), width]
    return [
        Atom(group.labels, group.left + a, group.left + b, group.top, group.bottom)
        for a, b in zip(edges, edges[1:], strict=False)
    ]


def runs(atoms: list[Atom], line_height: int) -> list[list[Atom]]:
    """Atoms split where a gap certainly separates two things."""
    out = [[atoms[0]]]
    for atom in atoms[1:]:
        if atom.left - max(a.right for a in out[-1]) > SURE_GAP * line_height:
            out.append([atom])
        else:
            out[-1].append(atom)
    return out


def piece_mask(atoms: list[Atom], labels: np.ndarray) -> np.ndarray:
    mask = np.zeros(labels.shape, bool)
    for atom in atoms:
        window = (slice(atom.top, atom.bottom), slice(atom.left, atom.right))
        mask[window] |= np.isin(labels[window], atom.labels)
    return mask


def read_pieces(ink, strongest, labels, atoms: list[Atom]) -> Piece:
    """The model input of the ink of `atoms`, other ink masked out."""
    mask = piece_mask(atoms, labels)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    # keep the anti-aliased fringe around this piece's strokes, not its neighbours' ink
    margin = 2 * (max(2, round(0.02 * max(box[1] - box[0], box[3] - box[2])))) + 1
    near = cv2.dilate(mask.view(np.uint8), np.ones((margin, margin), np.uint8)).view(bool)
    pixels, dot = to_mnist_box(np.where(near, ink, 0), strongest, box, dots_allowed=True)
    top, bottom, left, right = (int(v) for v in box)
    return Piece((left, top, right - left, bottom - top), pixels, dot)


def segment(image: Image.Image, read) -> tuple[list[Piece], float]:
    """The things drawn in a decoded image, left to right, and the scale of the ink map
    (image pixels per ink-map pixel). `read(pixels [N, 28, 28]) -> probabilities [N, 11]`
    is the model, used to choose between splits. Raises PreprocessError: `blank` when
    nothing is drawn, `too_many_pieces` beyond MAX_PIECES."""
    ink, strongest = measured_ink(image)
    scale = max(image.size) / max(ink.shape)
    box = whole_box(ink, strongest)
    labels, atoms = components(core_ink(ink, strongest), MIN_EXTENT * max(ink.shape))
    grouped = groups(atoms) if atoms else []
    if len(grouped) <= 1 and not (grouped and _wide(grouped[0])):
        return [_whole(ink, strongest, box)], scale
    line_height = max(a.bottom - a.top for a in atoms)
    atoms = [part for group in grouped for part in cut_candidates(group, labels)]
    separated = runs(atoms, line_height)
    if len(separated) > MAX_PIECES:
        raise PreprocessError("too_many_pieces", limit=MAX_PIECES)
    # every run of atoms that could be one digit: (run, first, last + 1)
    spans = [
        (r, i, j)
        for r, run in enumerate(separated)
        for i in range(len(run))
        for j in range(i + 1, len(run) + 1)
        if j == i + 1 or max(a.right for a in run[i:j]) - run[i].left <= MAX_WIDTH * line_height
    ]
    candidates = [read_pieces(ink, strongest, labels, separated[r][i:j]) for r, i, j in spans]
    probabilities = read(np.stack([c.pixels for c in candidates]))
    # how well a piece reads: the probability of its best reading, a digit or "not a digit"
    fit = np.log(np.maximum(probabilities.max(axis=1), 1e-9))
    digit_like = (probabilities[:, 10] < 0.5) & ~np.array([c.dot for c in candidates])
    chosen: list[Piece] = []
    for r, run in enumerate(separated):
        options = [(i, j, k) for k, (rr, i, j) in enumerate(spans) if rr == r]
        # best[(j, k)]: the best reading of the run's first j atoms, ending with candidate k
        best = {(j, k): (fit[k], [k]) for i, j, k in options if i == 0}
        for i, j, k in sorted(options):
            if i == 0:
                continue
            best[(j, k)] = max(
                (
                    score
                    + split_prior(candidates[last], candidates[k], line_height)
                    + (0 if digit_like[last] and digit_like[k] else NOT_DIGITS_SPLIT)
                    + fit[k],
                    path + [k],
                )
                for (end, last), (score, path) in best.items()
                if end == i
            )
        chosen += [candidates[k] for k in max(v for (j, _), v in best.items() if j == len(run))[1]]
    if len(chosen) == 1:
        return [_whole(ink, strongest, box)], scale
    if len(chosen) > MAX_PIECES:
        raise PreprocessError("too_many_pieces", limit=MAX_PIECES)
    return chosen, scale


def split_prior(left: Piece, right: Piece, line_height: int) -> float:
    """How much more likely two neighbouring pieces are two things than one, before the
    model reads them: digits of a number stand apart and each spans most of the line, and
    digits that touch are both of the line's height; the strokes of one digit that do not
    touch overlap, or are smaller parts of it, and a cut through a shape that leaves a small
    part is no join of two digits."""
    gap = right.box[0] - (left.box[0] + left.box[2])
    shorter = min(left.box[3], right.box[3]) / line_height
    if gap > 0:
        return CLEAR_SPLIT if shorter >= TALL else UNSURE_SPLIT
    return UNSURE_SPLIT if shorter >= FULL else -np.inf


def _wide(group: Atom) -> bool:
    return group.right - group.left > WIDE * (group.bottom - group.top)


def _whole(ink, strongest, box) -> Piece:
    """All the ink as one digit, exactly as a single digit has always been read."""
    pixels, _ = to_mnist_box(ink, strongest, box)
    top, bottom, left, right = (int(v) for v in box)
    return Piece((left, top, right - left, bottom - top), pixels, False)
