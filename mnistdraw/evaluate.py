"""Score an ONNX model with onnxruntime on the 10,000 MNIST test digits."""

import os
from pathlib import Path

import numpy as np

from . import data
from .recognizer import DEFAULT_MODEL_PATH, Recognizer


def evaluate(
    model_path: Path = DEFAULT_MODEL_PATH, report_dir: Path | None = None, quiet: bool = False
) -> dict:
    x_test, y_test = data.load("test")
    recognizer = Recognizer(model_path, threads=os.cpu_count() or 1)
    scores = np.concatenate(
        [recognizer.predict(x_test[i : i + 1000] / 255.0) for i in range(0, len(x_test), 1000)]
    )
    predicted = scores.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    per_class = (confusion.diagonal() / confusion.sum(axis=1)).round(6)
    wrong = np.flatnonzero(predicted != y_test)
    result = {
        "accuracy": round(float((predicted == y_test).mean()), 6),
        "per_class": {str(d): float(per_class[d]) for d in range(10)},
        "errors": int(len(wrong)),
        "confusion": confusion.tolist(),
    }
    if not quiet:
        print(f"model {recognizer.id}")
        print(f"test accuracy: {result['accuracy']:.2%} ({len(wrong)} errors in {len(y_test)})")
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
            scores[wrong].max(axis=1),
        )
        if not quiet:
            print(f"wrote {report_dir}/confusion.png and {report_dir}/misclassified.png")
    return result


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
