"""The first member alone or all three: what the shipped model's cascade (the first member
answers alone when it is sure, mnistdraw.train.cascade) changes, at a few thresholds.

    python -m bench.cascade [--digits 10000] [--non-digits 5000] [--seed 0] [--runs 2000]

An image's answer is the first member's where it reads the image above the threshold, the
ensemble's elsewhere. This script reads both for every image (the shipped graph with its
threshold set to 2 and to -1, checked against the shipped one) and prints, for a few
thresholds, on the 10,000 MNIST test digits, the same re-drawn and held-out non-digits
(bench.notdigit's sets): the share the first member answers alone, the answers that differ
from the ensemble's, and bench.notdigit's figures. Then the time a re-drawn digit takes,
batch 1, through the ensemble and through the shipped cascade (one thread).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from mnistdraw.evaluate import digit_figures
from mnistdraw.recognizer import DEFAULT_MODEL_PATH, Recognizer

from .canvases import mnist_test_set
from .notdigit import held_out_non_digits, redrawn_digits
from .stats import percentile


def alone_above(model: onnx.ModelProto) -> onnx.TensorProto:
    """The graph's threshold above which the first member answers alone (train.cascade)."""
    (tensor,) = [t for t in model.graph.initializer if t.name == "alone_above"]
    return tensor


def with_alone_above(model: onnx.ModelProto, value: float) -> ort.InferenceSession:
    """The shipped graph with another threshold: 2 runs every member for every image (the
    ensemble), -1 the first member alone."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    threshold = helper.make_tensor("alone_above", onnx.TensorProto.FLOAT, [], [value])
    alone_above(model).CopyFrom(threshold)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])


def latency(session: ort.InferenceSession, images: np.ndarray) -> list[float]:
    for image in images[:200]:  # warm-up
        session.run(None, {"image": image[None]})
    times = []
    for image in images:
        started = time.perf_counter()
        session.run(None, {"image": image[None]})
        times.append(time.perf_counter() - started)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=10000)
    parser.add_argument("--non-digits", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args(argv)

    shipped = Recognizer(args.model)
    model = onnx.load(str(args.model))
    shipped_above = round(float(alone_above(model).float_data[0]), 6)
    ensemble_only, first_only = with_alone_above(model, 2.0), with_alone_above(model, -1.0)
    x_test, y_test = mnist_test_set()
    drawn, drawn_labels, drawn_blank = redrawn_digits(args.digits, args.seed)
    others = held_out_non_digits(args.non_digits, args.seed)[0]
    sets = {
        "MNIST": ((x_test[: args.digits] / 255).astype(np.float32), y_test[: args.digits]),
        "re-drawn": (drawn, drawn_labels),
        "non-digits": (others, None),
    }
    read = {}
    for name, (images, _) in sets.items():
        batch = {"image": images[..., None]}
        ensemble, first = (s.run(None, batch)[0] for s in (ensemble_only, first_only))
        alone = first.max(1) > shipped_above
        as_shipped = shipped.session.run(None, batch)[0]
        assert np.allclose(as_shipped, np.where(alone[:, None], first, ensemble), atol=1e-6)
        read[name] = (ensemble / ensemble.sum(1, keepdims=True), first)

    print(f"model {shipped.id}: the first member answers alone above {shipped_above}")
    header = ["alone above", "alone MNIST", "drawn", "non-digits", "answers changed",
              "MNIST acc.", "drawn acc.", "MNIST ECE", "drawn ECE", "non-digits ref."]  # fmt: skip
    print("".join(f"{h:>16}" for h in header))
    for above in sorted({0.99, 0.995, 0.998, shipped_above}) + [None]:
        row, changed, probabilities = [above or "never"], 0, {}
        for name, (ensemble, first) in read.items():
            alone = first.max(1) > above if above else np.zeros(len(first), bool)
            probabilities[name] = np.where(alone[:, None], first, ensemble)
            changed += int((probabilities[name].argmax(1) != ensemble.argmax(1)).sum())
            row.append(f"{alone.mean():.1%}")
        probabilities["re-drawn"][drawn_blank] = np.eye(11)[10]  # blank: refused
        mnist = digit_figures(probabilities["MNIST"], sets["MNIST"][1], shipped.threshold)
        redrawn = digit_figures(probabilities["re-drawn"], drawn_labels, shipped.threshold)
        refused = (probabilities["non-digits"][:, 10] > shipped.threshold).mean()
        row += [changed, f"{mnist['accuracy_refusals_as_errors']:.2%}",
                f"{redrawn['accuracy_refusals_as_errors']:.2%}",
                f"{mnist['calibration_error']:.2%}", f"{redrawn['calibration_error']:.2%}",
                f"{refused:.2%}"]  # fmt: skip
        marker = "   <- shipped" if above == shipped_above else ""
        print("".join(f"{c:>16}" for c in row) + marker)

    images = np.resize(drawn, (args.runs, 28, 28))[..., None]
    for name, session in (("ensemble", ensemble_only), ("shipped cascade", shipped.session)):
        ms = [t * 1000 for t in latency(session, images)]
        print(
            f"{name:<16} batch 1, {args.runs} re-drawn digits: mean {np.mean(ms):.3f} ms, "
            f"p50 {percentile(ms, 50):.3f} ms, p99 {percentile(ms, 99):.3f} ms"
        )


if __name__ == "__main__":
    main()
