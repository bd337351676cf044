"""Score an ONNX model with onnxruntime on the 10,000 MNIST test digits: accuracy, refusals
("not a digit"), calibration; and, when asked, refusals of held-out non-digits."""

import os
from pathlib import Path

import numpy as np

from . import data
from .recognizer import DEFAULT_MODEL_PATH, Recognizer

CALIBRATION_BINS = 15


def calibration_error(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Expected calibration error: the mean gap between confidence and accuracy over
    CALIBRATION_BINS equal-width bins of confidence, weighted by how many answers fall in each."""
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    gap = 0.0
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            gap += inside.sum() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(gap / len(confidence))


def digit_figures(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """How a model reads real digits, from its [N, 11] probabilities. An answer's confidence is
    the probability of the digit it names; an answer refused as "not a digit" is an error."""
    digit = probabilities[:, :10].argmax(1)
    confidence = probabilities[np.arange(len(digit)), digit]
    right = digit == labels
    refused = probabilities[:, 10] > threshold
    return {
        "count": len(labels),
        "accuracy": round(float(right.mean()), 6),
        "refused": round(float(refused.mean()), 6),
        "accuracy_refusals_as_errors": round(float((right & ~refused).mean()), 6),
        "calibration_error": round(calibration_error(confidence, right), 6),
        "predicted": digit,
        "confidence": confidence,
    }


def non_digit_figures(model: Recognizer, count: int, split: str = "held_out", seed: int = 1):
    """Share of `count` non-digits from the split's sources that the model refuses, by kind,
    every kind drawn alike (as bench.notdigit does). Those that preprocessing already refuses
    as blank are not counted."""
    from . import negatives

    images, kinds = negatives.sample(count, split, seed, kinds=dict.fromkeys(negatives.KINDS, 1))
    refused = model.probabilities(images)[:, 10] > model.threshold
    kinds = np.array(kinds)
    return {
        "count": int(len(kinds)),
        "refused": round(float(refused.mean()), 6),
        "by_kind": {k: round(float(refused[kinds == k].mean()), 6) for k in sorted(set(kinds))},
    }


def evaluate(
    model_path: Path = DEFAULT_MODEL_PATH,
    report_dir: Path | None = None,
    quiet: bool = False,
    non_digits: int = 0,
) -> dict:
    x_test, y_test = data.load("test")
    recognizer = Recognizer(model_path, threads=os.cpu_count() or 1)
    probabilities = recognizer.probabilities(x_test / 255.0)
    figures = digit_figures(probabilities, y_test, recognizer.threshold)
    predicted, confidence = figures.pop("predicted"), figures.pop("confidence")
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    per_class = (confusion.diagonal() / confusion.sum(axis=1)).round(6)
    wrong = np.flatnonzero(predicted != y_test)
    result = {
        **figures,
        "not_a_digit_threshold": recognizer.threshold,
        "per_class": {str(d): float(per_class[d]) for d in range(10)},
        "errors": int(len(wrong)),
        "confusion": confusion.tolist(),
    }
    if non_digits:
        result["held_out_non_digits"] = non_digit_figures(recognizer, non_digits)
    if not quiet:
        print(f"model {recognizer.id}, not-a-digit threshold {recognizer.threshold}")
        print(f"test accuracy: {result['accuracy']:.2%} ({len(wrong)} errors in {len(y_test)})")
        print(
            f"refused as not a digit: {result['refused']:.2%}; accuracy counting refusals as "
            f"errors: {result['accuracy_refusals_as_errors']:.2%}; expected calibration error: "
            f"{result['calibration_error']:.2%}"
        )
        if non_digits:
            held = result["held_out_non_digits"]
            print(
                f"held-out non-digits refused: {held['refused']:.2%} of {held['count']} ("
                + ", ".join(f"{k} {v:.1%}" for k, v in held["by_kind"].items())
                + ")"
            )
        print("per class:   " + "  ".join(f"{d}: {per_class[d]:.2%}" for d in range(10)))
        print("confusion matrix (rows: true label, columns: predicted):")
        print("      " + "".join(f"{d:>6}" for d in range(10)))
        for d in range(10):
            print(f"{d:>6}" + "".join(f"{n:>6}" for n in confusion[d]))
    if report_dir is not None:
        _write_figures(
            Path(report_dir),
            confusion,
            x_test[wrong],
            y_test[wrong],
            predicted[wrong],
            confidence[wrong],
        )
        reliability_diagram(Path(report_dir) / "reliability.png", confidence, predicted == y_test)
        if not quiet:
            print(
                f"wrote {report_dir}/confusion.png, {report_dir}/misclassified.png and "
                f"{report_dir}/reliability.png"
            )
    return result


def reliability_diagram(path: Path, confidence: np.ndarray, correct: np.ndarray, title=None):
    """Accuracy against confidence in CALIBRATION_BINS bins: on the diagonal when calibrated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    centres = (np.arange(CALIBRATION_BINS) + 0.5) / CALIBRATION_BINS
    counts = np.bincount(bins, minlength=CALIBRATION_BINS)
    accuracy = np.bincount(bins, correct, CALIBRATION_BINS) / np.maximum(counts, 1)
    fig, (ax, hist) = plt.subplots(
        2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    shown = counts > 0
    width = 1 / CALIBRATION_BINS
    ax.bar(centres[shown], accuracy[shown], width, edgecolor="black", alpha=0.7, label="accuracy")
    error = calibration_error(confidence, correct)
    title = f"{title or 'MNIST test digits'}: calibration error {error:.2%}"
    ax.set(ylabel="accuracy", ylim=(0, 1), title=title)
    ax.legend(loc="upper left")
    hist.bar(centres, counts, width=1 / CALIBRATION_BINS, edgecolor="black")
    hist.set(xlabel="confidence", ylabel="answers", yscale="log", xlim=(0, 1))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write_figures(report_dir, confusion, images, labels, predicted, confidence):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 6))
    shown = np.log1p(confusion)  # log scale so that the few errors are visible
    ax.imshow(shown, cmap="Blues")
    for (t, p), n in np.ndenumerate(confusion):
        ax.text(
            p,
            t,
            str(n),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if shown[t, p] > shown.max() / 2 else "black",
        )
    ax.set(
        xticks=range(10),
        yticks=range(10),
        xlabel="predicted",
        ylabel="true label",
        title="MNIST test set: confusion matrix",
    )
    fig.tight_layout()
    fig.savefig(report_dir / "confusion.png", dpi=120)
    plt.close(fig)

    cols = 10
    rows = max(1, int(np.ceil(len(images) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.45), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, t, p, c in zip(axes.flat, images, labels, predicted, confidence, strict=False):
        ax.imshow(img, cmap="gray")
        ax.set_title(f"{t}→{p} {c:.0%}", fontsize=8)
    fig.suptitle(f"{len(images)} misclassified test digits (true→predicted, confidence)")
    fig.tight_layout()
    fig.savefig(report_dir / "misclassified.png", dpi=100)
    plt.close(fig)
