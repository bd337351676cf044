"""The model in models/: its accuracy on the full MNIST test set, and its card."""

import hashlib
import json

import pytest

from mnistdraw import DEFAULT_MODEL_NAME, MODELS_DIR
from mnistdraw.evaluate import evaluate
from mnistdraw.recognizer import Recognizer

SHIPPED = MODELS_DIR / f"{DEFAULT_MODEL_NAME}.onnx"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module")
def result(report_dir):
    return evaluate(SHIPPED, report_dir=report_dir, quiet=True)


def test_at_least_99_60_percent_on_the_10000_test_digits(result):
    assert result["accuracy"] >= 0.9960
    assert sum(map(sum, result["confusion"])) == 10000


def test_the_card_matches_the_file_and_its_accuracy(result):
    card = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert card["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    # int8 kernels differ between CPUs (VNNI, AVX-512, AVX2, NEON): a digit on the edge may
    # flip on another machine, so the card's figures must hold within 3 digits of 10,000.
    assert abs(card["test_accuracy"] - result["accuracy"]) <= 0.0003
    for digit, accuracy in result["per_class"].items():
        assert abs(card["test_accuracy_per_class"][digit] - accuracy) <= 0.003
    assert card["training"]["command"] == "python -m mnistdraw train"


def test_the_model_takes_28x28x1_images_and_gives_ten_scores():
    session = Recognizer(SHIPPED).session
    (image,) = session.get_inputs()
    (scores,) = session.get_outputs()
    assert image.type == "tensor(float)" and image.shape[1:] == [28, 28, 1]
    assert scores.shape[1:] == [10]


def test_evaluate_writes_the_figures(result, report_dir):
    for name in ("confusion.png", "misclassified.png"):
        assert (report_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
