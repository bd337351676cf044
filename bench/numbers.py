"""Reading numbers: rows of 2 to 6 MNIST test digits, re-drawn as canvas drawings, read by the
API in process exactly as a request is answered.

    python -m bench.numbers [--count 100] [--seed 0] [--singles 10000]

Each number's digits are drawn with one pen (3-30 px, log-uniform, at most a fifth of the
height) about 60-160 px tall, each digit's height varying by +-15 % and its baseline by +-8 %
of the height, on a white or a transparent canvas. The gap between neighbours is a share of
the mean digit width: wide (10-60 %), narrow (0-10 %), or touching (the right digit slid
left until its strokes first meet the left one's). Every length and band gets `--count`
numbers. Prints exact-match accuracy by length and by band, per-digit accuracy, pieces split
or merged wrongly, latency by length against a single digit's in the same run, and how often
a single re-drawn digit (bench.redrawn's, the same drawings) is read as more than one piece.
"""

import argparse
import io
import time

import numpy as np
from PIL import Image

from mnistdraw import api, drawings

from .canvases import mnist_test_set
from .redrawn import drawn_test_digits, random_style
from .stats import percentile

LENGTHS = range(2, 7)
BANDS = {"wide (10-60 %)": (0.10, 0.60), "narrow (0-10 %)": (0.0, 0.10), "touching": None}


def random_number(rng, length: int, band, digits=None):
    """A row of `length` random digits, of the test set unless `digits` (images, labels) are
    given: (image, label string, true boxes, the pen's strokes)."""
    images, labels = digits or mnist_test_set()
    picks = rng.integers(0, len(images), length)
    height = rng.uniform(60, 160)
    brush = min(float(np.exp(rng.uniform(np.log(3), np.log(30)))), height / 5)
    drawn = [
        drawings.drawn_ink(images[i], height * rng.uniform(0.85, 1.15), brush, with_strokes=True)
        for i in picks
    ]
    inks = [ink for ink, _ in drawn]
    drops = [round(rng.uniform(-0.08, 0.08) * height) for _ in picks]
    mean_width = np.mean([ink.shape[1] for ink in inks])
    if band is None:
        gaps = [
            drawings.touching_gap(inks[i], inks[i + 1], drops[i + 1] - drops[i])
            for i in range(length - 1)
        ]
    else:
        gaps = [round(rng.uniform(*band) * mean_width) for _ in range(length - 1)]
    image, boxes = drawings.draw_row(inks, gaps, drops, transparent=bool(rng.random() < 0.5))
    strokes = [s + box[:2] for (_, digit), box in zip(drawn, boxes, strict=True) for s in digit]
    return image, "".join(str(labels[i]) for i in picks), boxes, strokes


def score(answer: dict, label: str, boxes) -> tuple[int, int, int]:
    """(digits read right, digits split into several pieces, pieces holding several digits),
    matching pieces to digits by where their centres fall."""
    if "digits" not in answer:  # an error: nothing read
        return 0, 0, 0
    pieces = [(e["box"][0], e["box"][0] + e["box"][2], e["digit"]) for e in answer["digits"]]
    right = split = merged = 0
    for (x, _, w, _), truth in zip(boxes, label, strict=True):
        inside = [p for p in pieces if x <= (p[0] + p[1]) / 2 < x + w]
        split += len(inside) > 1
        if len(inside) == 1:
            left, right_edge, digit = inside[0]
            holds = sum(left <= bx + bw / 2 < right_edge for bx, _, bw, _ in boxes)
            right += holds == 1 and digit == int(truth)
    for left, right_edge, _ in pieces:
        merged += sum(left <= bx + bw / 2 < right_edge for bx, _, bw, _ in boxes) > 1
    return right, split, merged


def timed(body: bytes) -> tuple[dict, float]:
    started = time.perf_counter()
    answer = api.handle("POST", {}, body)
    return answer.payload, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="numbers per length and band")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--singles", type=int, default=10000)
    parser.add_argument(
        "--strokes", action="store_true", help="post the pen's strokes too, as the page does"
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)

    def body(image, strokes):  # as the page posts it, with its strokes or without
        return drawings.page_body(image, strokes if args.strokes else None)

    singles = [
        body(drawings.draw(d, s), drawings.pen_strokes(d, s))
        for s, d in _single_drawings(200, args)
    ]
    exact, digits_right, digits_total, splits, merges = {}, 0, 0, 0, 0
    latency = {1: []}
    started = time.time()
    api.recognizer()
    for band_name, band in BANDS.items():
        for length in LENGTHS:
            for i in range(args.count):
                image, label, boxes, strokes = random_number(rng, length, band)
                answer, seconds = timed(body(image, strokes))
                latency.setdefault(length, []).append(seconds)
                latency[1].append(timed(singles[i % len(singles)])[1])  # interleaved
                exact.setdefault((band_name, length), []).append(answer.get("number") == label)
                right, split, merged = score(answer, label, boxes)
                digits_right, digits_total = digits_right + right, digits_total + length
                splits, merges = splits + split, merges + merged

    print(f"model {api.recognizer().id}; seed {args.seed}; {time.time() - started:.0f} s")
    print("exact-match accuracy, by band (rows) and number length (columns):")
    print(f"{'':>18}" + "".join(f"{n:>9}" for n in LENGTHS) + f"{'all':>9}")
    for band_name in BANDS:
        row = [np.mean(exact[(band_name, n)]) for n in LENGTHS]
        print(f"{band_name:>18}" + "".join(f"{v:9.1%}" for v in row) + f"{np.mean(row):9.1%}")
    all_lengths = [np.mean([v for b in BANDS for v in exact[(b, n)]]) for n in LENGTHS]
    print(f"{'all bands':>18}" + "".join(f"{v:9.1%}" for v in all_lengths))
    print(
        f"per-digit accuracy: {digits_right / digits_total:.2%} of {digits_total} digits; "
        f"digits split into several pieces: {splits / digits_total:.2%}; "
        f"pieces holding several digits: {merges / digits_total:.2%} (per digit)"
    )
    single = percentile(latency[1], 50)
    print("in-process latency, data URL to answer (p50 / p99 ms, p50 against one digit's):")
    for n in sorted(latency):
        p50, p99 = percentile(latency[n], 50), percentile(latency[n], 99)
        name = "1 digit" if n == 1 else f"{n} digits"
        print(f"  {name:>9}: {1000 * p50:6.2f} / {1000 * p99:6.2f}   {p50 / single:4.2f}x")

    if not args.singles:  # --singles 0: the numbers only
        return
    pieces = {}
    test_digits = mnist_test_set()[0]
    for i, (style, blob, _) in enumerate(drawn_test_digits(args.singles, args.seed)):
        if args.strokes:
            blob = drawings.page_body(
                Image.open(io.BytesIO(blob)), drawings.pen_strokes(test_digits[i], style)
            )
        count = len(api.handle("POST", {}, blob).payload.get("digits", []))
        pieces[count] = pieces.get(count, 0) + 1
    several = sum(v for k, v in pieces.items() if k > 1)
    print(
        f"single re-drawn test digits read as more than one piece: {several / args.singles:.2%} "
        f"({several} of {args.singles}; pieces: {dict(sorted(pieces.items()))}, 0 = blank)"
    )


def _single_drawings(count: int, args):
    """Single test digits in bench.redrawn's styles, for the interleaved latency."""
    images = mnist_test_set()[0]
    rng = np.random.default_rng(args.seed + 1)
    for i in range(count):
        yield random_style(rng), images[-1 - i]


if __name__ == "__main__":
    main()
