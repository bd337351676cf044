"""Split a drawing into the things drawn, left to right: one digit, or the digits of a number.

A digit is often drawn in strokes that do not touch (the hat of a 5, the bar of a 7, a 4
drawn as ⌐ and |, a dotted line), and the digits of a number sit side by side, sometimes
touching. So:

1. the ink's connected pieces (OpenCV), specks dropped;
2. pieces that overlap horizontally, by half the narrower one's width or more, are one group,
   and so is a short piece (a hat, a bar) with anything it overlaps;
3. a gap wider than SURE_GAP of the line's height between two tall groups certainly
   separates two things; closer groups, or a short one (a stray part of a digit), may be one
   digit or two;
4. every group is read alone, all in one batch. A group that may be digits that touch
   (CUT_WIDTH of a line height wide or more, and read as one digit less surely than
   CUT_BELOW) is cut into slices by cuts that start every 1/CUTS_PER_LINE of the line height
   along its top, and along its bottom, and run across it around the ink, crossing as little
   of it as they can; or, where the pen's strokes are known (the page sends them) and it
   holds several, into their ink, stroke by stroke (stroke_slices);
5. where a group or slice is not surely a digit of its own, the runs of them around it that
   could be one digit are read too (one more batch; a piece that split_prior rules out
   whatever lies beside it is not read), and the split whose pieces read best wins (dynamic
   programming, with priors from the geometry).

A drawing read as one thing is cropped exactly as a single digit always was."""

from dataclasses import dataclass, field, replace
from functools import cache

import cv2
import numpy as np
from PIL import Image

from .preprocess import (
    MIN_EXTENT,
    PreprocessError,
    bbox,
    core_ink,
    fringe_window,
    margin_for,
    measured_ink,
    to_mnist_box,
    whole_box,
)

MAX_PIECES = 12  # more things than any number written on a canvas: `too_many_pieces`
MAX_COMPONENTS = 400  # connected pieces of ink worth looking at; beyond: `too_many_pieces`
OVERLAP = 0.5  # pieces overlapping by this share of the narrower one's width are one group
HATCHING = 0.25  # lines read as 1 that overlap by this share are hatching, not 11
SURE_GAP = 0.2  # a gap of this share of the line height always separates two things
CUTS_PER_LINE = 4  # a group that may be digits that touch is cut every 1/4 of the line height
CUT_EDGE = 0.15  # no cut starts this share of the line height from a stroke's end
MIN_SLICE = 0.01  # a slice holds this share of its group's ink, or its cut is dropped
CUT_ASIDE = 0.03  # a cut's step aside costs this share of a pixel of ink: cuts bend only for ink
CUT_WIDTH = 0.7  # a group at least this wide x the line height may be digits that touch: cut
CUT_STROKES = 3  # a group of more strokes than this is not digits that touch: not cut
CUT_BELOW = 0.5  # a group read as one digit this surely is one: not cut (a cut costs ~10 reads)
SURE = 0.9  # a tall piece read as a digit this surely is not tried with its neighbours
MAX_WIDTH = 1.6  # a piece wider than this x the line height is never one digit
TALL = 0.5  # pieces at least this share of the line's height may be digits of their own
NOT_A_DIGIT_PRIOR = 0.1  # a thing drawn here is a digit ten times as often as not
UNSURE_CUT = np.log(0.2)  # a cut that leaves a piece not surely a digit: unlikely, once a piece
FULL = 0.7  # touching or overlapping pieces must both be this share of the line's height
SPLIT = np.log(1.0)  # log prior odds of two things, for tall pieces apart or full ones touching
SHORT_SPLIT = np.log(0.25)  # and for pieces apart, one of them short: often a stray mark


@dataclass
class Piece:
    """One thing drawn: its box (x, y, w, h) in the ink map's pixels, the model input, and
    how the model reads it (filled in by `read_all`)."""

    box: tuple[int, int, int, int]
    pixels: np.ndarray  # float32 [28, 28]
    dot: bool  # a dot or a blob: never a digit
    strokes: frozenset = frozenset()  # the connected pieces of ink it holds, whole or cut
    scores: np.ndarray | None = None  # the ten digit scores, summing to 1
    not_a_digit: float = 0.0  # the probability that it is not a digit; 1 for a dot

    def fit(self) -> float:
        """How well it reads: the log-probability of its best reading, a digit or not, the
        latter weighed by how rarely people draw something else here (so that two digits
        that touch, read whole as "not a digit", are still tried apart)."""
        best = max(self.best_digit(), NOT_A_DIGIT_PRIOR * self.not_a_digit, 1e-9)
        return float(np.log(best))

    def best_digit(self) -> float:
        """The probability that it is the digit it reads best as."""
        return float(self.scores.max() * (1 - self.not_a_digit))

    def reads_surely(self) -> bool:
        return self.best_digit() >= SURE

    def sure(self, line_height: int) -> bool:
        """A digit of its own beyond doubt: no reason to try it with its neighbours."""
        return self.reads_surely() and self.box[3] >= TALL * line_height


def read_all(pieces: list[Piece], read) -> None:
    """Read the pieces with the model, in one batch."""
    if not pieces:
        return
    scores, not_a_digit = read(np.stack([p.pixels for p in pieces]))
    for piece, s, n in zip(pieces, scores, not_a_digit, strict=True):
        piece.scores, piece.not_a_digit = s, 1.0 if piece.dot else float(n)


@dataclass(frozen=True)
class Atom:
    """Ink of some connected components within columns [left, right)."""

    labels: tuple[int, ...]
    left: int
    right: int
    top: int
    bottom: int
    cut: bool = False  # a slice of a group cut apart: a guess, to be weighed
    # a slice's first and last column + 1 on each row from `top` (int [2, bottom - top]), for
    # a slice between two cuts that bend around the ink (cut_paths)
    bounds: np.ndarray | None = field(default=None, compare=False)
    pieces: tuple[int, ...] = ()  # a stroke's slice: the connected pieces its ink is part of


def components(core: np.ndarray, box, min_extent: float) -> tuple[np.ndarray, list[Atom]]:
    """The connected pieces of core ink, specks dropped, as a label image and atoms. `box`
    is the core ink's (top, bottom, left, right)."""
    # 16-bit labels make OpenCV twice as fast; there are never more pieces than inked
    # pixels, so they cannot overflow below 65,535 of them
    ltype = cv2.CV_16U if np.count_nonzero(core) < 65535 else cv2.CV_32S
    count, labels = cv2.connectedComponents(core.view(np.uint8), connectivity=8, ltype=ltype)
    if count == 2:  # one piece, as most digits are: its box is the ink's, no statistics needed
        top, bottom, left, right = box
        stats = [(left, top, right - left, bottom - top, 0)]
    else:
        _, labels, stats, _ = cv2.connectedComponentsWithStats(
            core.view(np.uint8), connectivity=8, ltype=ltype
        )
        stats = stats[1:].tolist()
    atoms = [
        Atom((i,), x, x + w, y, y + h)
        for i, (x, y, w, h, _) in enumerate(stats, start=1)
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


def shared_columns(a: tuple[int, int], b: tuple[int, int]) -> float:
    """The share of the narrower of two column spans [left, right) that both cover (negative
    when they are apart)."""
    return (min(a[1], b[1]) - max(a[0], b[0])) / max(1, min(a[1] - a[0], b[1] - b[0]))


def groups(atoms: list[Atom], line_height: int) -> list[Atom]:
    """Pieces overlapping horizontally by OVERLAP of the narrower one are one group, and so
    is a short piece (a hat, a bar) with any piece it overlaps at all."""
    out: list[Atom] = []
    for atom in atoms:  # sorted by left edge
        for i, group in enumerate(out):
            overlap = shared_columns((group.left, group.right), (atom.left, atom.right))
            short = min(group.bottom - group.top, atom.bottom - atom.top) < TALL * line_height
            if overlap >= OVERLAP or (overlap > 0 and short):
                out[i] = merged(group, atom)
                break
        else:
            out.append(atom)
    # a merge can widen a group until it overlaps the next: repeat until nothing changes
    if len(out) == len(atoms):
        return out
    return groups(sorted(out, key=lambda a: a.left), line_height)


def cut_candidates(group: Atom, labels: np.ndarray, line_height: int, paths=()) -> list[Atom]:
    """A group that may be digits that touch, cut into slices: cuts start every 1/CUTS_PER_LINE
    of the line height along its top (the best cut between two touching digits is seldom at
    the thinnest column) and run down around the ink (cut_paths): digits that touch lean into
    each other, and a straight cut leaves a piece of one with the other. As many start along
    its bottom and run up: where one digit's bar spans the top (77), the gap between two
    digits is often plain only from below."""
    slices = stroke_slices(group, labels, paths)
    if len(slices) > 1:  # drawn in several strokes, whose ink is known: no cut to guess
        return slices
    width = group.right - group.left
    step = max(1, line_height // CUTS_PER_LINE)
    edge = max(1, round(CUT_EDGE * line_height))
    starts = range(edge, width - edge + 1, step)
    window = labels[group.top : group.bottom, group.left : group.right]
    stroke = np.isin(window, group.labels)
    columns = np.arange(width)[None, :]

    least = max(1, MIN_SLICE * np.count_nonzero(stroke))

    def inked(left, right) -> bool:
        inside = stroke & (columns >= left[:, None]) & (columns < right[:, None])
        return np.count_nonzero(inside) >= least

    edges = [np.zeros(len(stroke), int)]
    paths = np.concatenate([cut_paths(stroke, starts), cut_paths(stroke[::-1], starts)[:, ::-1]])
    # left to right, and made not to cross: slices lie between neighbouring cuts
    paths = np.maximum.accumulate(paths[np.argsort(paths.mean(axis=1), kind="stable")], axis=0)
    for cut in np.unique(paths, axis=0):  # cuts that meet are one
        if inked(edges[-1], cut):
            edges.append(cut)
    if len(edges) > 1 and not inked(edges[-1], np.full(len(stroke), width)):
        edges.pop()
    edges.append(np.full(len(stroke), width))
    return [
        Atom(
            group.labels,
            group.left + int(left.min()),
            group.left + int(right.max()),
            group.top,
            group.bottom,
            True,
            np.stack([left, right]) + group.left,
        )
        for left, right in zip(edges, edges[1:], strict=False)
    ]


def stroke_slices(group: Atom, labels: np.ndarray, paths) -> list[Atom]:
    """The ink of each pen stroke in a group, an atom of its own, left to right: where digits
    that touch were drawn in strokes of their own, as people do, they come apart exactly.
    `paths` are the strokes' centre lines, int32 [n, 1, 2] (x, y) in `labels`'s pixels. Each
    pixel belongs to the stroke whose centre line is nearest; it gets a label of its own in
    `labels` (int32), which the slices hold."""
    if not paths:
        return []
    window = labels[group.top : group.bottom, group.left : group.right]
    ink = np.isin(window, group.labels)
    drawn = np.zeros(window.shape, np.uint16)
    for stroke, path in enumerate(paths, start=1):
        tap = len(path) == 1  # a dot: OpenCV draws no line of one point, but one of two
        path = (np.repeat(path, 2, axis=0) if tap else path) - (group.left, group.top)
        cv2.polylines(drawn, [path.astype(np.int32)], False, stroke)
    on = drawn > 0
    if not on.any():
        return []
    # every pixel gets the label of the centre-line pixel nearest to it
    _, nearest = cv2.distanceTransformWithLabels(
        (~on).view(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    stroke_of = np.zeros(nearest.max() + 1, np.uint16)
    stroke_of[nearest[on]] = drawn[on]
    stroke = np.where(ink, stroke_of[nearest], 0)
    slices, label = [], labels.max()
    for drawer in np.unique(stroke[ink]):
        label += 1
        mine = stroke == drawer
        pieces = tuple(np.unique(window[mine]).tolist())
        window[mine] = label
        top, bottom, left, right = bbox(mine)
        box = group.left + left, group.left + right, group.top + top, group.top + bottom
        slices.append(Atom((int(label),), *box, True, pieces=pieces))
    return sorted(slices, key=lambda a: a.left)


MOVES = np.array([0, -1, 1])  # a cut's step down: straight on, a column left, a column right


def cut_paths(stroke: np.ndarray, starts) -> np.ndarray:
    """For each start column, the cut from the top row to the bottom one that crosses the least
    ink, moving at most a column a row (a step aside costs CUT_ASIDE of a pixel of ink).
    int [len(starts), rows], the column where the right side begins on each row."""
    rows, width = stroke.shape
    cost = stroke.astype(np.float32)
    step = np.float32(CUT_ASIDE)
    # the least ink from each pixel down to the bottom row, computed once for every start;
    # a column of inf on each side keeps cuts inside
    to_go = np.full((rows, width + 2), np.inf, np.float32)
    to_go[-1, 1:-1] = cost[-1]
    for y in range(rows - 2, -1, -1):
        below = to_go[y + 1]
        to_go[y, 1:-1] = cost[y] + np.minimum(below[1:-1], np.minimum(below[:-2], below[2:]) + step)
    # from each pixel, the step down towards the least ink: straight on, a column left or right
    down = np.stack([to_go[1:, 1:-1], to_go[1:, :-2] + step, to_go[1:, 2:] + step]).argmin(axis=0)
    paths = np.empty((len(starts), rows), int)
    x = np.asarray(starts, int)
    for y in range(rows):
        paths[:, y] = x
        if y + 1 < rows:
            x = x + MOVES[down[y, x]]
    return paths


def runs(atoms: list[Atom], line_height: int) -> list[list[Atom]]:
    """Atoms split where a gap certainly separates two things: a wide gap between tall
    pieces (a short piece apart may be a stray part of the digit beside it)."""
    out = [[atoms[0]]]
    for atom in atoms[1:]:
        before = out[-1][-1]
        tall = min(atom.bottom - atom.top, before.bottom - before.top) >= TALL * line_height
        if tall and atom.left - max(a.right for a in out[-1]) > SURE_GAP * line_height:
            out.append([atom])
        else:
            out[-1].append(atom)
    return out


def piece_mask(atoms: list[Atom], labels: np.ndarray) -> np.ndarray:
    mask = np.zeros(labels.shape, bool)
    joined = [atoms[0]]  # neighbouring slices of one stroke: one window, not one each
    for atom in atoms[1:]:
        last = joined[-1]
        if atom.bounds is not None and last.bounds is not None and atom.labels == last.labels:
            bounds = np.stack([last.bounds[0], atom.bounds[1]])
            joined[-1] = replace(last, right=atom.right, bounds=bounds)
        else:
            joined.append(atom)
    for atom in joined:
        window = (slice(atom.top, atom.bottom), slice(atom.left, atom.right))
        if len(atom.labels) == 1:  # most pieces: a comparison takes 1 % of isin's time
            ink = labels[window] == atom.labels[0]
        else:
            ink = np.isin(labels[window], atom.labels)
        if atom.bounds is not None:  # only the columns between its cuts, row by row
            columns = np.arange(atom.left, atom.right)[None, :]
            ink &= (columns >= atom.bounds[0][:, None]) & (columns < atom.bounds[1][:, None])
        mask[window] |= ink
    return mask


def read_piece(ink, strongest, atoms: list[Atom], mask: np.ndarray, box) -> Piece:
    """The model input of the ink of `atoms`, under `mask` (their piece_mask) whose box is
    `box`, other ink masked out."""
    top, bottom, left, right = box
    # keep the anti-aliased fringe around this piece's strokes, not its neighbours' ink; only
    # the box and its fringe are read, so only they are masked
    window, (y, x) = fringe_window(box)
    side = 2 * margin_for(box) + 1
    near = cv2.dilate(mask[window].view(np.uint8), np.ones((side, side), np.uint8)).view(bool)
    in_window = (top - y, bottom - y, left - x, right - x)
    pixels, dot = to_mnist_box(
        np.where(near, ink[window], 0), strongest, in_window, dots_allowed=True
    )
    strokes = frozenset(label for atom in atoms for label in atom.pieces or atom.labels)
    return Piece((left, top, right - left, bottom - top), pixels, dot, strokes)


def segment(image: Image.Image, read, strokes=()) -> tuple[list[Piece], float]:
    """The things drawn in a decoded image, left to right, read by the model, and the scale
    of the ink map (image pixels per ink-map pixel). `read` is Recognizer.read. `strokes`,
    where the drawing's pen strokes are known (the page sends them), are their centre lines,
    float [n, 2] (x, y) in the image's pixels: ink is then divided between them. Raises
    PreprocessError: `blank` when nothing is drawn, `too_many_pieces` beyond MAX_PIECES."""
    ink, strongest = measured_ink(image)
    scale = max(image.size) / max(ink.shape)
    min_extent = MIN_EXTENT * max(ink.shape)
    core = core_ink(ink, strongest)
    top, bottom, left, right = whole_box(core)
    # the rest works on the ink's box and its fringe only: fewer pixels to label and mask
    window, (y, x) = fringe_window((top, bottom, left, right))

    @cache
    def paths() -> list[np.ndarray]:
        """The strokes in the window's pixels, int32 [n, 1, 2] (x, y): only where a group is
        cut (most drawings are one digit, never cut)."""
        return [
            np.round(np.clip(stroke, -1, image.size) / scale - 0.5 - (x, y))
            .astype(np.int32)
            .reshape(-1, 1, 2)
            for stroke in strokes
        ]

    chosen = split(
        ink[window],
        strongest,
        core[window],
        (top - y, bottom - y, left - x, right - x),
        min_extent,
        read,
        paths if len(strokes) > 1 else None,
    )
    for piece in chosen:
        piece.box = (piece.box[0] + x, piece.box[1] + y, *piece.box[2:])
    return chosen, scale


def split(ink, strongest, core, box, min_extent, read, paths=None) -> list[Piece]:
    """`segment` within the box of all the ink. `paths`, where two strokes or more are known:
    segment's function that gives them in the window's pixels."""
    labels, atoms = components(core, box, min_extent)
    if not atoms:  # only specks, which together are no speck: read as one digit
        return [_whole(ink, strongest, box, read)]
    line_height = max(a.bottom - a.top for a in atoms)
    separated = runs(groups(atoms, line_height), line_height)
    if len(separated) > MAX_PIECES:
        raise PreprocessError("too_many_pieces", limit=MAX_PIECES)

    @cache
    def ink_columns(r, m):
        """The first and last column + 1 of the ink of atom m of run r: a slice's ink is
        narrower than the columns between its cuts."""
        atom = separated[r][m]
        if not atom.cut:
            return atom.left, atom.right
        _, _, left, right = bbox(piece_mask([atom], labels))
        return left, right

    def never_chosen(r, i, j, box) -> bool:
        """Whether the piece of atoms i to j - 1 of run r, with this box of its ink, can never
        be chosen: shorter than FULL, it meets the ink of the atom before or after it, so
        every piece beside it meets it too and split_prior rules the split out."""
        top, bottom, left, right = box
        if bottom - top >= FULL * line_height:
            return False
        return (i > 0 and ink_columns(r, i - 1)[1] >= left) or (
            j < len(separated[r]) and ink_columns(r, j)[0] <= right
        )

    def pieces(spans, prune=False):
        found = {}
        for r, i, j in spans:
            if len(separated) == 1 and (i, j) == (0, len(separated[0])):
                # all the atoms of a drawing without a sure gap: cropped as a single digit
                # always was
                found[(r, i, j)] = _whole(ink, strongest, box)
                continue
            mask = piece_mask(separated[r][i:j], labels)
            piece_box = bbox(mask)
            if prune and never_chosen(r, i, j, piece_box):
                continue  # reading it would be wasted
            found[(r, i, j)] = read_piece(ink, strongest, separated[r][i:j], mask, piece_box)
        read_all(list(found.values()), read)
        return found

    # First each group alone; a group that may be digits that touch is then cut into
    # slices, each slice an atom, the whole group a candidate spanning its slices.
    alone = pieces([(r, i, i + 1) for r, run in enumerate(separated) for i in range(len(run))])
    candidates = {}
    for r, run in enumerate(separated):
        atoms = []
        for i, group in enumerate(run):
            piece = alone[(r, i, i + 1)]
            parts = [group]
            if may_touch(group, piece, labels, line_height):
                if paths:  # room for labels of the strokes' ink (stroke_slices)
                    labels = labels.astype(np.int32, copy=False)
                parts = cut_candidates(group, labels, line_height, paths() if paths else ())
            candidates[(r, len(atoms), len(atoms) + len(parts))] = piece
            atoms += parts
        separated[r] = atoms
    if len(separated) == 1 and len(separated[0]) == 1:  # one thing, not cut: all is read
        return list(candidates.values())

    # Where an atom is not surely a digit of its own, the runs of atoms around it that could
    # be one digit are read too.
    unsure = {
        (r, m)
        for (r, i, j), piece in candidates.items()
        for m in range(i, j)
        if separated[r][m].cut
        or not piece.sure(line_height)
        or piece.scores.argmax() == 1
        and overlaps_neighbour(separated[r], m)
    }
    candidates |= pieces(
        [
            (r, i, j)
            for r, run in enumerate(separated)
            for i in range(len(run))
            for j in range(i + 1, len(run) + 1)
            if (r, i, j) not in candidates
            and max(a.right for a in run[i:j]) - run[i].left <= MAX_WIDTH * line_height
            and any((r, m) in unsure for m in range(i, j))
        ],
        prune=True,
    )
    chosen = [
        piece for r in range(len(separated)) for piece in best_split(r, candidates, line_height)
    ]
    if len(chosen) > MAX_PIECES:
        raise PreprocessError("too_many_pieces", limit=MAX_PIECES)
    return chosen


def overlaps_neighbour(run: list[Atom], m: int) -> bool:
    """Whether atom m shares HATCHING of its columns with the atom before or after it: two
    lines that do, both read as 1, are hatching, not 11 (1s side by side stand apart)."""
    return any(
        shared_columns((run[m].left, run[m].right), (run[n].left, run[n].right)) >= HATCHING
        for n in (m - 1, m + 1)
        if 0 <= n < len(run)
    )


def best_split(run: int, candidates: dict, line_height: int) -> list[Piece]:
    """The pieces that read best, together, for the atoms of one run: dynamic programming
    over the candidates (run, first atom, last atom + 1) that were read. A path's score is
    the sum of its pieces' fits and of the priors of its splits."""
    options = sorted(
        ((i, j, piece) for (r, i, j), piece in candidates.items() if r == run),
        key=lambda option: option[:2],
    )
    paths = []  # (atoms covered, score, pieces), in the order of their first atom
    for i, j, piece in options:
        if i == 0:
            paths.append((j, piece.fit(), [piece]))
            continue
        before = [
            (score + boundary(path, piece, line_height), path)
            for end, score, path in paths
            if end == i
        ]
        if not before:  # no piece read ends where this one starts
            continue
        score, path = max(before, key=lambda b: b[0])
        paths.append((j, score + piece.fit(), path + [piece]))
    atoms = max(end for end, _, _ in paths)
    return max((p for p in paths if p[0] == atoms), key=lambda p: p[1])[2]


def boundary(path: list[Piece], right: Piece, line_height: int) -> float:
    """The log prior of a split between the last piece of `path` and the next one, `right`:
    from their geometry, and unlikely where touching or overlapping pieces would leave one
    that is not surely a digit (they are cut only to make digits: a W is not 1, 1 and 1).
    Such a piece pays once, however many of its sides were cut: the middle digit of three
    that touch, read at 80 %, is no less likely than the first. Apart, a letter among digits
    is a piece of its own."""
    left = path[-1]
    columns = [(p.box[0], p.box[0] + p.box[2]) for p in (left, right)]
    if (left.strokes & right.strokes or shared_columns(*columns) >= HATCHING) and (
        left.scores.argmax() == right.scores.argmax() == 1
    ):
        # a stroke cut into 1 and 1 is a V, a U or an N, and lines that share columns are
        # hatching: 1s side by side neither meet nor overlap
        return -np.inf
    prior = split_prior(left, right, line_height)
    if touches(left, right):
        paid = len(path) > 1 and touches(path[-2], left)  # at its cut on the left
        unsure = (not left.reads_surely() and not paid) + (not right.reads_surely())
        prior += UNSURE_CUT * unsure
    return prior


def touches(left: Piece, right: Piece) -> bool:
    """Whether two neighbouring pieces touch or overlap: a cut or a pen lift parted them."""
    return right.box[0] <= left.box[0] + left.box[2]


def split_prior(left: Piece, right: Piece, line_height: int) -> float:
    """How much more likely two neighbouring pieces are two things than one, before the
    model reads them. Tall pieces apart and full-height pieces that touch may be either: the
    model decides. A short piece apart is more often a stray mark beside a digit than a digit
    of its own (digits of a number span most of the line), and a cut through a shape that
    leaves a small part is no join of two digits."""
    gap = right.box[0] - (left.box[0] + left.box[2])
    shorter = min(left.box[3], right.box[3]) / line_height
    if gap > 0:
        return SPLIT if shorter >= TALL else SHORT_SPLIT
    return SPLIT if shorter >= FULL else -np.inf


def may_touch(group: Atom, piece: Piece, labels: np.ndarray, line_height: int) -> bool:
    """Whether a group may be digits that touch, to be cut: it spans most of the line's
    height, is wide enough for a 1 beside another digit and reads as one digit less surely
    than CUT_BELOW (a wide 0 read at 60 % is one: a cut costs some 10 model reads, and in a
    server those few requests are what its p99 and throughput pay for). A group read as "not
    a digit" is cut too: two touching digits read so whole, a letter's pieces must then read
    as sure digits (`boundary`). A group of up to CUT_STROKES strokes is cut too (a 5 whose
    hat stands apart, touching the next digit), unless a stroke lies inside another's loop:
    a face's outline cut beside its eyes reads as 1 and 3."""
    width, height = group.right - group.left, group.bottom - group.top
    return (
        height >= FULL * line_height
        and piece.best_digit() < CUT_BELOW
        and width >= CUT_WIDTH * line_height
        and len(group.labels) <= CUT_STROKES
        and (len(group.labels) == 1 or not encloses(group, labels))
    )


def encloses(group: Atom, labels: np.ndarray) -> bool:
    """Whether one stroke of a group lies inside the loop of another: eyes in a face."""
    window = labels[group.top : group.bottom, group.left : group.right]
    strokes = [np.pad(window == label, 1) for label in group.labels]  # a border of paper
    for outer in strokes:
        # the paper that cannot be reached from the border without crossing this stroke
        _, paper = cv2.connectedComponents((~outer).view(np.uint8), connectivity=4)
        holes = (paper != paper[0, 0]) & ~outer
        if any((holes & inner).any() for inner in strokes if inner is not outer):
            return True
    return False


def _whole(ink, strongest, box, read=None) -> Piece:
    """All the ink as one digit, exactly as a single digit has always been read."""
    pixels, _ = to_mnist_box(ink, strongest, box)
    top, bottom, left, right = (int(v) for v in box)
    piece = Piece((left, top, right - left, bottom - top), pixels, False)
    if read is not None:
        read_all([piece], read)
    return piece
