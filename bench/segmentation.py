"""Tuning segmentation without touching the test set: numbers and single digits re-drawn from
the 5,000 MNIST training digits that training holds out for calibration (the model never
learnt them), and held-out non-digits of mnistdraw.negatives, all posted to the API whole.

    python -m bench.segmentation [--count 100] [--singles 1000] [--non-digits 400]
    python -m bench.segmentation --set SHORT_SPLIT=-0.69 --set CUTS_PER_LINE=8

Prints, for the constants of mnistdraw/segment.py as they are or as --set changes them:
four-digit numbers read exactly with gaps of 10-60 % and 0-10 % of a digit's width (and of
those read wrong, how many were split wrongly and how many digits were misread, cropped
alone too), two and four touching digits, each with the model reads it took on average;
the share of single digits read as more than one piece and their model reads; and, by kind,
the share of non-digits whose answer holds no number. docs/benchmarks.md's tables of what
was tried come from this. `bench.numbers` then measures the chosen constants on the test set.
"""

import argparse

import numpy as np

from mnistdraw import api, data, drawings, negatives, segment
from mnistdraw.train import RECIPE

from .numbers import BANDS, random_number
from .redrawn import random_style

VALIDATION = RECIPE["validation_digits"]  # the last training digits, held out by training


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="numbers a set")
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--non-digits", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--strokes", action="store_true", help="post the pen's strokes too, as the page does"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    for assignment in args.set:
        name, value = assignment.split("=")
        if not hasattr(segment, name):
            parser.error(f"mnistdraw/segment.py has no constant {name}")
        setattr(segment, name, type(getattr(segment, name))(float(value)))

    images, labels = data.load("train")
    held_out = images[-VALIDATION:], labels[-VALIDATION:]
    rng = np.random.default_rng(args.seed)
    numbers = {
        "4 digits, gaps 10-60 %": (4, BANDS["wide (10-60 %)"]),
        "4 digits, gaps 0-10 %": (4, BANDS["narrow (0-10 %)"]),
        "2 digits touching": (2, None),
        "4 digits touching": (4, None),
    }
    reads = [0]
    read_all = segment.read_all

    def counted(pieces, read):  # the model reads a request takes
        reads[0] += len(pieces)
        return read_all(pieces, read)

    segment.read_all = counted

    def post(image, strokes=None):
        return api.handle("POST", {}, drawings.page_body(image, strokes)).payload

    print(f"segment.py with {args.set or 'its constants'}; held-out training digits")
    for name, (length, band) in numbers.items():
        reads[0], right = 0, 0
        wrong = {"pieces": 0, "digits": 0, "alone": 0}
        for _ in range(args.count):
            image, label, boxes, strokes = random_number(rng, length, band, held_out)
            answer = post(image, strokes if args.strokes else None)
            if answer.get("number") == label:
                right += 1
            elif band is not None:  # digits apart: segmentation's fault, or the reading's?
                counted_reads = reads[0]
                why_wrong(answer, image, label, boxes, post, wrong)
                reads[0] = counted_reads
        print(
            f"  {name:<24} {right / args.count:7.1%} read exactly, "
            f"{reads[0] / args.count:5.1f} model reads a number"
        )
        if band is not None:
            print(
                f"    of the {args.count - right} read wrong, {wrong['pieces']} in the wrong "
                f"number of pieces; {wrong['digits']} digits misread, {wrong['alone']} of them "
                "misread cropped alone too"
            )
    reads[0], several = 0, 0
    for i in rng.integers(0, VALIDATION, args.singles):
        style = random_style(rng)
        image = drawings.draw(held_out[0][i], style)
        strokes = drawings.pen_strokes(held_out[0][i], style) if args.strokes else None
        several += len(post(image, strokes).get("digits", [])) > 1
    if args.singles:  # --singles 0: the numbers and non-digits only
        print(
            f"  single digits read as several pieces: {several / args.singles:.2%}, "
            f"{reads[0] / args.singles:.2f} model reads a digit"
        )
    refused = {}
    kinds = [k for k in negatives.KINDS if k not in ("blobs", "images")]  # no strokes to cut
    for i in range(args.non_digits):
        kind = kinds[i % len(kinds)]
        image, strokes = negatives.drawn(kind, "held_out", np.random.default_rng(1000 + i))
        answer = post(image, strokes if args.strokes else None)
        refused.setdefault(kind, []).append(answer.get("number") is None)
    print(
        "  non-digits with no number in the answer: "
        + ", ".join(f"{k} {np.mean(v):.0%}" for k, v in refused.items())
    )


def why_wrong(answer, image, label, boxes, post, wrong: dict) -> None:
    """Count a number read wrong: in the wrong number of pieces (segmentation), or with
    digits misread; a misread digit is then posted cropped alone, to see whether it is read
    the same wrong way without its neighbours."""
    pieces = answer.get("digits", [])
    if len(pieces) != len(label):
        wrong["pieces"] += 1
        return
    for piece, (x, y, w, h), truth in zip(pieces, boxes, label, strict=True):
        if piece["digit"] != int(truth):
            wrong["digits"] += 1
            alone = post(image.crop((x - 10, y - 10, x + w + 10, y + h + 10)))
            wrong["alone"] += alone.get("number") != truth


if __name__ == "__main__":
    main()
