"""Not a digit: how often the model refuses what is not a digit, and how rarely it refuses
what is one; how well its confidence means what it says.

    python -m bench.notdigit [--non-digits 5000] [--digits 10000] [--seed 0] [--card]

- Non-digits come from the held-out sources of mnistdraw.negatives (other fonts, other hands,
  other shapes and styles than training's), drawn as the page draws and preprocessed as
  served; those that preprocessing itself refuses as blank are counted apart.
- Digits are the 10,000 MNIST test digits as scanned, and the same digits re-drawn on a
  canvas (bench.redrawn's drawings, same seed).
- Accuracy counts a refused digit as an error; a drawing that preprocessing calls blank too.
- The calibration error is the expected calibration error of the answers' confidence (the
  probability of the digit named) over 15 bins; reports/reliability-*.png show it.
- `--card` records the figures in the model card (models/<name>.json, "benchmarks").
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mnistdraw import negatives
from mnistdraw.evaluate import digit_figures, reliability_diagram
from mnistdraw.preprocess import PreprocessError, preprocess, to_mnist
from mnistdraw.recognizer import DEFAULT_MODEL_PATH, Recognizer
from mnistdraw.segment import segment

from .canvases import mnist_test_set
from .redrawn import drawn_test_digits

TARGETS = {
    "non-digits refused": ">= 95 %",
    "MNIST test digits refused": "<= 0.3 %",
    "re-drawn test digits refused": "<= 0.5 %",
    "MNIST accuracy, refusals as errors": ">= 99.5 %",
    "re-drawn accuracy, refusals as errors": ">= 99.0 %",
    "calibration error": "<= 2 %",
}


def held_out_non_digits(count: int, seed: int, model: Recognizer | None = None):
    """(images, kinds) of held-out non-digits that pass preprocessing, the share of all drawn
    that preprocessing refused as blank, by kind, and, given a model, whether each kept one
    is refused as served: segmented (mnistdraw.segment), so that "not a digit" is the answer
    only when no piece of it reads as a digit."""
    rng = np.random.default_rng(seed)
    kinds = list(negatives.KINDS)
    picked = [kinds[k] for k in rng.integers(len(kinds), size=count)]  # every kind alike
    images, kept, served = [], [], []
    blank = {kind: [] for kind in kinds}
    for i, kind in enumerate(picked):
        drawing = negatives.render(kind, "held_out", np.random.default_rng(seed * 1_000_003 + i))
        try:
            image = to_mnist(drawing)
        except PreprocessError:
            image = None
        blank[kind].append(image is None)
        if image is not None:
            images.append(image)
            kept.append(kind)
            if model is not None:
                pieces, _ = segment(drawing, model.read)
                served.append(any(model.refuses(p.not_a_digit) for p in pieces))
    blank_share = {k: float(np.mean(v)) for k, v in blank.items()}
    return np.stack(images), np.array(kept), blank_share, np.array(served)


def redrawn_digits(count: int, seed: int):
    """Preprocessed re-drawn test digits; a drawing called blank becomes an empty image that
    counts as refused."""
    images, labels, blank = [], [], []
    for _, blob, label in drawn_test_digits(count, seed):
        try:
            images.append(preprocess(blob))
            blank.append(False)
        except PreprocessError:
            images.append(np.zeros((28, 28), np.float32))
            blank.append(True)
        labels.append(label)
    return np.stack(images), np.array(labels), np.array(blank)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--non-digits", type=int, default=5000)
    parser.add_argument("--digits", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--report-dir", type=Path, default=Path("reports"))
    parser.add_argument("--card", action="store_true", help="record the figures in the card")
    args = parser.parse_args(argv)

    started = time.time()
    model = Recognizer(args.model)
    threshold = model.threshold
    x_test, y_test = mnist_test_set()
    x_test, y_test = x_test[: args.digits], y_test[: args.digits]
    scanned = model.probabilities(x_test / 255.0)
    drawn_images, drawn_labels, drawn_blank = redrawn_digits(args.digits, args.seed)
    drawn = model.probabilities(drawn_images)
    drawn[drawn_blank] = np.eye(11)[10]  # blank: refused, like a non-digit
    others, kinds, blank_share, served = held_out_non_digits(args.non_digits, args.seed, model)
    other = model.probabilities(others)

    def figures(t):
        mnist = digit_figures(scanned, y_test, t)
        redrawn = digit_figures(drawn, drawn_labels, t)
        return {
            "non-digits refused": float((other[:, 10] > t).mean()),
            "MNIST test digits refused": mnist["refused"],
            "re-drawn test digits refused": redrawn["refused"],
            "MNIST accuracy, refusals aside": mnist["accuracy"],
            "re-drawn accuracy, refusals aside": redrawn["accuracy"],
            "MNIST accuracy, refusals as errors": mnist["accuracy_refusals_as_errors"],
            "re-drawn accuracy, refusals as errors": redrawn["accuracy_refusals_as_errors"],
            "MNIST calibration error": mnist["calibration_error"],
            "re-drawn calibration error": redrawn["calibration_error"],
        }

    shipped = figures(threshold)
    print(
        f"model {model.id}, threshold {threshold}; {len(y_test)} MNIST test digits, the same "
        f"re-drawn (seed {args.seed}), {len(kinds)} held-out non-digits; "
        f"{time.time() - started:.0f} s"
    )
    print(
        "\nheld-out non-digits refused, by kind: read as one drawing, and as served, where the"
        "\ndrawing is segmented and a piece that reads as a digit makes it a number (blank:"
        "\nrefused by preprocessing already)"
    )
    by_kind = {}
    for kind in negatives.KINDS:
        inside = kinds == kind
        by_kind[kind] = float((other[inside, 10] > threshold).mean())
        print(
            f"  {kind:<14} {by_kind[kind]:7.2%} of {inside.sum():5d}   as served "
            f"{served[inside].mean():7.2%}   (blank: {blank_share[kind]:.1%} of those drawn)"
        )
    refused = (other[:, 10] > threshold).mean()
    print(f"  {'all':<14} {refused:7.2%}{'':13}as served {served.mean():7.2%}")
    print("\nat the shipped threshold")
    for name, value in shipped.items():
        target = TARGETS.get(name) or ("<= 2 %" if "calibration" in name else "")
        print(f"  {name:<40} {value:8.2%}   {'target ' + target if target else ''}")

    print("\ntrade-off (threshold on the probability of 'not a digit')")
    header = ["threshold", "non-digits", "MNIST ref.", "drawn ref.", "MNIST acc.", "drawn acc."]
    print("  " + "".join(f"{h:>12}" for h in header))
    around = np.round(threshold * np.array([0.25, 0.5, 1, 2, 4]), 4)
    for t in sorted(t for t in {*around, 0.5, 0.9} if t < 1):
        f = figures(t)
        row = [f"{t:.4f}"] + [f"{f[k]:.2%}" for k in list(TARGETS)[:5]]
        print("  " + "".join(f"{c:>12}" for c in row) + ("   <- shipped" if t == threshold else ""))

    # The alternative that needs no training: refuse when the ten digit scores are unsure.
    share = max(shipped["MNIST test digits refused"], 0.003)
    top = scanned[:, :10].max(1) / scanned[:, :10].sum(1)
    cut = float(np.quantile(top, share))
    alone = float((other[:, :10].max(1) / other[:, :10].sum(1) < cut).mean())
    print(
        f"\nfor comparison, refusing by the digit scores alone (top score < {cut:.3f}, which "
        f"refuses {share:.2%} of MNIST test digits): {alone:.2%} of held-out non-digits refused"
    )

    args.report_dir.mkdir(parents=True, exist_ok=True)
    for name, title, probabilities, labels in (
        ("mnist", "MNIST test digits", scanned, y_test),
        ("redrawn", "re-drawn test digits", drawn, drawn_labels),
    ):
        digit = probabilities[:, :10].argmax(1)
        confidence = probabilities[np.arange(len(digit)), digit]
        reliability_diagram(
            args.report_dir / f"reliability-{name}.png", confidence, digit == labels, title
        )
    print(f"\nwrote {args.report_dir}/reliability-mnist.png and reliability-redrawn.png")

    if args.card:
        card_path = Path(args.model).with_suffix(".json")
        card = json.loads(card_path.read_text())
        card.setdefault("benchmarks", {})["not_a_digit"] = {
            "command": "python -m bench.notdigit --card",
            "held_out_non_digits": len(kinds),
            "held_out_refused_by_kind": {k: round(v, 4) for k, v in by_kind.items()},
            "held_out_refused_as_served": round(float(served.mean()), 4),
            "refused_by_top_digit_score_alone": round(alone, 4),
            **{k: round(v, 5) for k, v in shipped.items()},
        }
        card_path.write_text(json.dumps(card, indent=2) + "\n")
        print(f"recorded in {card_path}")


if __name__ == "__main__":
    main()
