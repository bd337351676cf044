"""ONNX inference time of the shipped model with onnxruntime, one thread.

    python -m bench.inference [--runs 3000]

Prints the latency of one digit (batch 1), median and p99, and the time per digit in
batches of 100, on real MNIST test digits."""

import argparse
import time

import numpy as np

from mnistdraw.recognizer import Recognizer

from .canvases import mnist_test_set
from .stats import percentile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    args = parser.parse_args(argv)
    model = Recognizer(threads=1)
    x_test, _ = mnist_test_set()
    digits = (x_test / 255.0).astype(np.float32)

    for i in range(200):  # warm up
        model.predict(digits[i : i + 1])
    times = []
    for i in range(args.runs):
        started = time.perf_counter()
        model.predict(digits[i % 10000 : i % 10000 + 1])
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, 5000, 100):
        model.predict(digits[i : i + 100])
    batched = (time.perf_counter() - started) / 5000 * 1000

    print(f"model {model.id}, onnxruntime, 1 thread, {args.runs} runs")
    print(
        f"batch 1:   median {percentile(times, 50) * 1000:.3f} ms  "
        f"p99 {percentile(times, 99) * 1000:.3f} ms "
        "per digit (target: <= 1 ms)"
    )
    print(f"batch 100: {batched:.3f} ms per digit")


if __name__ == "__main__":
    main()
