"""Training for real, briefly: `python cgi-bin/train.py` trains end to end, it learns digits and
"not a digit", its card is complete, and the ONNX file answers as the Keras members do."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from mnistdraw import ROOT, data, parallel
from mnistdraw.recognizer import Recognizer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """cgi-bin/train.py as a person runs it, in a subprocess: 12,000 digits and 2,160
    non-digits, 2 epochs of ~420 small batches (batch norm needs a few hundred steps before its
    moving statistics describe the weights): ~2 min on 2 cores."""
    out = tmp_path_factory.mktemp("run")
    options = "--subset 12000 --epochs 2 --batch-size 32 --members 1 --out-dir models"
    command = [sys.executable, str(ROOT / "cgi-bin/train.py"), *options.split()]
    done = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    card = json.loads((out / "models/mnist-cnn.json").read_text())
    return out, card


def test_cgi_bin_train_py_trains_and_writes_the_model_and_its_card(short_run):
    out, card = short_run
    assert (out / "models/mnist-cnn.onnx").stat().st_size > 100_000
    assert card["training"]["command"].startswith("python cgi-bin/train.py --subset 12000")
    assert card["test"]["accuracy"] > 0.95  # chance is 0.10
    assert card["test"]["refused"] < 0.05


def test_the_card_says_how_the_model_was_made(short_run):
    _, card = short_run
    from mnistdraw.train import RECIPE

    assert set(card["test"]["per_class"]) == {str(d) for d in range(10)}
    assert card["parameters"] > 100_000
    assert card["architecture"].startswith("1 x CNN (conv3 x32, conv3 x32, conv5/2 x32")
    assert card["training"]["seconds"] > 0
    assert card["training"]["recipe"] == json.loads(
        json.dumps({**RECIPE, "epochs": 2, "batch_size": 32, "members": 1})
    )
    assert card["training"]["train_non_digits"] > 1000
    assert card["calibration"]["temperature"] > 0
    assert 0 < card["calibration"]["not_a_digit_threshold"] < 1
    assert card["data"]["digits_sha256"] == data.checksums()
    assert card["data"]["font_sha256"]  # the fonts that typed non-digits came from
    assert {"tensorflow-cpu", "keras", "tf2onnx", "onnxruntime", "hershey-fonts"} <= set(
        card["versions"]
    )


def test_the_onnx_model_answers_as_keras_does(short_run):
    import keras

    from mnistdraw.model import build_ensemble

    out, card = short_run
    member = keras.models.load_model(out / "reports/members/mnist-cnn-member0.keras")
    ensemble = build_ensemble([member], card["calibration"]["temperature"])
    x_test, _ = data.load("test")
    digits = (x_test[:500] / 255.0).astype(np.float32)[..., None]
    keras_probabilities = ensemble.predict(digits, verbose=0)
    model = Recognizer(out / "models/mnist-cnn.onnx")
    onnx_probabilities = model.probabilities(digits)
    assert onnx_probabilities.shape == (500, 11)
    assert model.threshold == card["calibration"]["not_a_digit_threshold"]
    assert np.abs(onnx_probabilities - keras_probabilities).max() < 1e-4


def test_the_onnx_graph_holds_inference_operations_only(short_run):
    import onnx

    out, _ = short_run
    ops = {node.op_type for node in onnx.load(out / "models/mnist-cnn.onnx").graph.node}
    assert {"Conv", "Softmax"} <= ops
    assert not ops & {"RandomUniform", "RandomNormal", "Dropout", "GridSample", "Resize"}


def test_the_steps_after_training_can_be_redone_from_the_kept_members(short_run, tmp_path):
    out, card = short_run
    options = "--subset 12000 --epochs 2 --batch-size 32 --members 1 --out-dir again"
    command = [sys.executable, str(ROOT / "cgi-bin/train.py"), *options.split(),
               "--members-from", "reports/members"]  # fmt: skip
    done = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    again = json.loads((out / "again/mnist-cnn.json").read_text())
    # The same members give the same model: the same temperature and threshold. A member
    # loaded from its file predicts in the 5th decimal differently from the one in memory.
    for key in ("temperature", "not_a_digit_threshold"):
        assert again["calibration"][key] == card["calibration"][key]
    for key in ("accuracy", "refused", "calibration_error"):
        assert again["test"][key] == pytest.approx(card["test"][key], abs=2e-4)
    assert again["training"]["seconds"] == card["training"]["seconds"]
    assert "--members-from" in again["training"]["redone_after_training"]["command"]


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


def test_non_digits_of_every_kind_are_drawn_from_both_splits():
    from mnistdraw import negatives

    for split in ("train", "held_out"):
        images, kinds = negatives.sample(140, split, seed=3)
        assert images.shape[1:] == (28, 28, 1) and images.dtype == np.float32
        assert set(kinds) == set(negatives.KINDS)
        assert len(images) >= 120  # few are refused as blank
    again, _ = negatives.sample(140, "train", seed=3)
    assert np.array_equal(negatives.sample(140, "train", seed=3)[0], again)


@pytest.mark.parametrize("split", ["train", "held_out"])
def test_a_non_digit_depends_on_its_seed_alone(split):
    """Drawn twice in one process, every kind is the same: nothing draws from a random
    state that the worker process carries (Pillow's noise once came from C's rand(), so
    training's non-digits changed with the worker that drew them)."""
    from mnistdraw import negatives

    for kind in negatives.KINDS:
        for seed in range(20):  # enough to meet every source of each kind
            first, again = (
                np.asarray(negatives.render(kind, split, np.random.default_rng(seed)))
                for _ in range(2)
            )
            assert np.array_equal(first, again), (kind, seed)


def test_touching_pairs_of_training_digits_are_drawn_whole_or_cut():
    from mnistdraw.train import pair, pairs

    x_train, y_train = data.load("train")
    left, right = x_train[0], x_train[2]  # a 5 and a 4
    whole = pair(left, right, "none", seed=4)
    assert whole.shape == (28, 28) and whole.max() == 1
    ys, xs = np.nonzero(whole > 0.05)
    assert np.ptp(xs) > np.ptp(ys)  # two digits side by side: wider than tall
    for cut in ("left", "right"):
        piece = pair(left, right, cut, seed=4)
        assert not np.allclose(piece, whole, atol=0.1)
        assert np.array_equal(piece, pair(left, right, cut, seed=4))
    drawn = pairs(x_train[:200], y_train[:200], 12, seed=1)
    assert drawn.shape == (12, 28, 28, 1) and np.array_equal(
        drawn, pairs(x_train[:200], y_train[:200], 12, seed=1)
    )


def test_typed_non_digits_skip_the_characters_a_font_lacks():
    from mnistdraw import negatives

    bwht = [f for f in negatives.fonts("train") if "/bwht/" in f]
    assert bwht and all("<" not in negatives.typeable(f) for f in bwht)
    assert "A" in negatives.typeable(bwht[0])
    dejavu = negatives.fonts("train")[0]
    assert negatives.typeable(dejavu) == negatives.TEXT


def test_a_dead_worker_stops_training_at_once_with_a_clear_message():
    started = time.monotonic()
    with pytest.raises(parallel.WorkerFailed, match="a worker process died while testing"):
        parallel.starmap(os._exit, [(3,)] * 4, "testing", chunksize=1)
    assert time.monotonic() - started < 60
    with pytest.raises(ValueError):  # a plain error in a worker reaches the caller as it is
        parallel.starmap(int, [("not a number",)], "testing")


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


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Two runs of the same tiny two-member training, in tmp/0 and tmp/1: (members, card)."""
    from mnistdraw.train import train

    tmp_path = tmp_path_factory.mktemp("tiny")
    runs = [
        train(tmp_path / str(i), "tiny", epochs=1, batch_size=64, subset=1000, members=2)
        for i in range(2)
    ]
    return tmp_path, runs


def test_the_same_seed_gives_the_same_weights_and_ensembles_export(tiny_runs):
    tmp_path, runs = tiny_runs
    model = Recognizer(tmp_path / "0/tiny.onnx")
    assert model.probabilities(np.zeros((3, 28, 28))).shape == (3, 11)
    assert runs[0][1]["test"] == runs[1][1]["test"]
    for one, other in zip(runs[0][0], runs[1][0], strict=True):
        for a, b in zip(one.get_weights(), other.get_weights(), strict=True):
            assert np.array_equal(a, b)


def test_the_first_member_answers_alone_exactly_when_it_is_sure(tiny_runs, tmp_path):
    from mnistdraw.train import RECIPE, _softmax, export

    _, runs = tiny_runs
    members, card = runs[0]
    images = (data.load("test")[0][:64] / 255).astype(np.float32)[..., None]
    temperature = card["calibration"]["temperature"]
    first, second = (_softmax(m.predict(images, verbose=0), temperature) for m in members)
    alone_above = float(np.median(first.max(1)))  # half of them sure, half not
    path = tmp_path / "cascade.onnx"
    export(members, card["calibration"], {**RECIPE, "first_member_alone_above": alone_above}, path)
    session = Recognizer(path).session
    sure = first.max(1) > alone_above
    assert 0 < sure.sum() < len(images)
    for image, one, both, alone in zip(images, first, (first + second) / 2, sure, strict=True):
        (answer,) = session.run(None, {"image": image[None]})
        np.testing.assert_allclose(answer[0], one if alone else both, atol=1e-5)
    (batch,) = session.run(None, {"image": images})  # the same, whatever the batch holds
    expected = np.where(sure[:, None], first, (first + second) / 2)
    np.testing.assert_allclose(batch, expected, atol=1e-5)
