"""Training for real, briefly: it learns, its card is complete, and ONNX equals Keras."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mnistdraw import ROOT, data
from mnistdraw.recognizer import Recognizer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from mnistdraw.train import train

    out = tmp_path_factory.mktemp("model")
    # 12,000 digits, 2 epochs of 375 steps: ~1 min on 2 cores. Batch norm needs a few hundred
    # steps before its moving statistics describe the weights, so the batches are small.
    model, card = train(out, "short", epochs=2, batch_size=32, subset=12000, members=1)
    return model, card, out / "short.onnx"


def test_a_short_run_learns(short_run):
    _, card, _ = short_run
    assert card["test_accuracy"] > 0.95  # chance is 0.10


def test_the_card_says_how_the_model_was_made(short_run):
    _, card, onnx_path = short_run
    assert json.loads(onnx_path.with_suffix(".json").read_text()) == card
    assert set(card["test_accuracy_per_class"]) == {str(d) for d in range(10)}
    assert card["parameters"] > 100_000
    assert card["training"]["seconds"] > 0
    assert card["training"]["command"].startswith("python -m mnistdraw train")
    assert card["data"]["sha256"] == data.checksums()
    assert {"tensorflow-cpu", "keras", "tf2onnx", "onnxruntime", "numpy"} <= set(card["versions"])


def test_the_quantized_onnx_model_answers_as_keras_does(short_run):
    model, card, onnx_path = short_run
    x_test, _ = data.load("test")
    digits = (x_test[:500] / 255.0).astype(np.float32)[..., None]
    keras_scores = model.predict(digits, verbose=0)
    onnx_scores = Recognizer(onnx_path).predict(digits)
    assert onnx_scores.shape == (500, 10)
    # int8 moves scores a little, answers hardly ever
    assert (onnx_scores.argmax(1) == keras_scores.argmax(1)).mean() >= 0.99
    assert np.abs(onnx_scores - keras_scores).mean() < 0.01
    assert abs(card["test_accuracy"] - card["test_accuracy_before_quantization"]) < 0.005


def test_the_onnx_graph_holds_quantized_inference_operations_only(short_run):
    import onnx

    _, _, onnx_path = short_run
    ops = {node.op_type for node in onnx.load(onnx_path).graph.node}
    assert {"Conv", "Softmax", "QuantizeLinear", "DequantizeLinear"} <= ops
    assert not ops & {"RandomUniform", "RandomNormal", "Dropout", "GridSample", "Resize"}


def test_training_digits_are_re_drawn_as_canvas_strokes():
    from mnistdraw.train import redraw

    x_train, _ = data.load("train")
    for i, digit in enumerate(x_train[:20]):
        drawn = redraw(digit, seed=i)
        assert drawn.shape == (28, 28) and drawn.dtype == np.float32
        assert drawn.min() >= 0 and drawn.max() == 1
        assert not np.allclose(drawn, digit / 255, atol=0.1)  # really drawn again
        ys, xs = np.nonzero(drawn > 0.05)
        assert np.ptp(ys) < 21 and np.ptp(xs) < 21  # boxed as MNIST is
    assert np.array_equal(redraw(x_train[0], seed=7), redraw(x_train[0], seed=7))


def test_cgi_bin_train_refuses_a_cgi_request(tmp_path):
    for variable in ("REQUEST_METHOD", "GATEWAY_INTERFACE"):
        done = subprocess.run(
            [sys.executable, ROOT / "cgi-bin/train.py", "--out-dir", tmp_path],
            env={**os.environ, variable: "GET" if variable == "REQUEST_METHOD" else "CGI/1.1"},
            capture_output=True,
            timeout=10,
        )
        assert done.returncode == 0
        assert done.stdout.startswith(b"Status: 403 Forbidden\r\n")
        assert b'"forbidden"' in done.stdout
        assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written


def test_the_same_seed_gives_the_same_weights_and_ensembles_export(tmp_path):
    from mnistdraw.train import train

    runs = [
        train(tmp_path / str(i), "tiny", epochs=1, batch_size=64, subset=1000, members=2)
        for i in range(2)
    ]
    assert Recognizer(tmp_path / "0/tiny.onnx").predict(np.zeros((3, 28, 28))).shape == (3, 10)
    assert runs[0][1]["test_accuracy"] == runs[1][1]["test_accuracy"]
    for a, b in zip(runs[0][0].get_weights(), runs[1][0].get_weights(), strict=True):
        assert np.array_equal(a, b)
