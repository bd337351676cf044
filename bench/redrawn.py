"""Accuracy on drawings: MNIST test digits re-rendered as canvas drawings and sent through
the same preprocessing as the page's, against the model's accuracy on the original digits.

    python -m bench.redrawn [--count 10000] [--seed 0]

Each digit is drawn again along its stroke centre lines (mnistdraw.drawings) on a 280 px
canvas with a round brush of 3-40 px (log-uniform), at a height of 15-95 % of the canvas,
anywhere on it, on a white or a transparent background. The brush is capped at a quarter of
the digit's height: nobody writes a 40 px tall digit with a 40 px pen."""

import argparse
import time

import numpy as np

from mnistdraw import drawings
from mnistdraw.preprocess import PreprocessError, preprocess
from mnistdraw.recognizer import Recognizer

from .canvases import mnist_test_set


def random_style(rng) -> drawings.Style:
    height = rng.uniform(0.15, 0.95)
    brush = float(np.exp(rng.uniform(np.log(3), np.log(40))))
    return drawings.Style(
        canvas=280,
        height=height,
        brush=min(brush, height * 280 / 4),
        x=rng.uniform(),
        y=rng.uniform(),
        transparent=bool(rng.random() < 0.5),
    )


def drawn_test_digits(count: int, seed: int):
    """(style, PNG bytes, label) of the first `count` test digits, each drawn in a random
    style from one seeded generator: the same drawings for every benchmark that uses them."""
    rng = np.random.default_rng(seed)
    x_test, y_test = mnist_test_set()
    for digit, label in zip(x_test[:count], y_test[:count], strict=True):
        style = random_style(rng)
        yield style, drawings.encode(drawings.draw(digit, style)), label


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x_test, y_test = mnist_test_set()
    x_test, y_test = x_test[: args.count], y_test[: args.count]
    model = Recognizer()
    original = model.predict(x_test / 255.0).argmax(1) == y_test

    started = time.time()
    drawn = np.zeros(len(x_test), dtype=bool)
    by_height, by_brush = {}, {}
    for i, (style, blob, label) in enumerate(drawn_test_digits(args.count, args.seed)):
        try:
            drawn[i] = model.predict(preprocess(blob)[None]).argmax() == label
        except PreprocessError:
            drawn[i] = False  # a drawing called blank counts as an error
        by_height.setdefault(min(int(style.height * 10), 9), []).append(drawn[i])
        by_brush.setdefault(int(style.brush // 10) * 10, []).append(drawn[i])

    print(
        f"model {model.id}; {len(x_test)} test digits, seed {args.seed}, "
        f"{time.time() - started:.0f} s"
    )
    print(f"accuracy on the original digits: {original.mean():.2%}")
    print(f"accuracy on the same digits drawn on a canvas: {drawn.mean():.2%}")
    print(f"difference: {100 * (original.mean() - drawn.mean()):.2f} points (target: <= 1)")
    print(
        "by digit height (% of canvas): "
        + "  ".join(
            f"{10 * k}-{10 * k + 10}%: {np.mean(v):.2%}" for k, v in sorted(by_height.items())
        )
    )
    print(
        "by brush (px): "
        + "  ".join(f"{k}-{k + 10}: {np.mean(v):.2%}" for k, v in sorted(by_brush.items()))
    )


if __name__ == "__main__":
    main()
