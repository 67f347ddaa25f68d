"""Tests for the MNIST IDX reader in brianmodes.tasks.idx."""

import struct
from pathlib import Path

import numpy as np
import pytest

from brianmodes.errors import BrianModesError
from brianmodes.tasks.idx import find_mnist_files, load_mnist, read_idx
from helpers import _CODES, idx_bytes, make_mnist, write_idx

MNIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"







@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", list(_CODES))
def test_round_trip(tmp_path, gz, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    # the suffix deliberately does not say whether the file is compressed
    path = write_idx(tmp_path / "data.idx", array, gz)
    out = read_idx(path)
    assert out.dtype == array.dtype
    assert out.dtype.isnative
    assert out.shape == array.shape
    np.testing.assert_array_equal(out, array)
    out[0, 0, 0] = 1  # writable
    assert read_idx(str(path)).shape == array.shape  # str paths work too


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dashed", [False, True])
def test_load_mnist_both_conventions(tmp_path, gz, dashed):
    arrays = make_mnist(tmp_path / "mnist", dashed=dashed, gz=gz)
    files = find_mnist_files(tmp_path / "mnist")
    assert set(files) == {"train_images", "train_labels", "test_images", "test_labels"}
    assert all(path.is_file() for path in files.values())
    for split, stem in (("train", "train"), ("test", "t10k")):
        images, labels = load_mnist(tmp_path / "mnist", split=split)
        assert images.dtype == np.uint8 and labels.dtype == np.uint8
        np.testing.assert_array_equal(images, arrays[stem][0])
        np.testing.assert_array_equal(labels, arrays[stem][1])


def test_missing_folder(tmp_path):
    with pytest.raises(BrianModesError, match="does not exist"):
        find_mnist_files(tmp_path / "nowhere")
    with pytest.raises(BrianModesError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_missing_file(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels.idx1-ubyte.gz").unlink()
    with pytest.raises(BrianModesError) as info:
        find_mnist_files(tmp_path)
    message = str(info.value)
    assert "test_labels" in message
    assert "t10k-labels-idx1-ubyte.gz" in message and "t10k-labels.idx1-ubyte" in message
    assert "train_images" not in message
    # the train split does not need the test files
    images, labels = load_mnist(tmp_path, split="train")
    assert images.shape == (5, 28, 28)
    with pytest.raises(BrianModesError, match="test_labels"):
        load_mnist(tmp_path, split="test")


def test_missing_idx_file(tmp_path):
    with pytest.raises(BrianModesError, match="does not exist"):
        read_idx(tmp_path / "absent-idx1-ubyte")


def test_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.arange(1000, dtype=np.uint8) % 10, gz=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(BrianModesError, match=r"labels\.gz.*gzip.*re-download"):
        read_idx(path)


@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_length(tmp_path, delta):
    path = tmp_path / "images"
    data = idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8))
    path.write_bytes(data[:-1] if delta < 0 else data + b"\0")
    pattern = "truncated" if delta < 0 else "trailing garbage"
    with pytest.raises(BrianModesError, match=pattern) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_short_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))
    with pytest.raises(BrianModesError, match="header"):
        read_idx(path)
    path.write_bytes(b"\0\0")
    with pytest.raises(BrianModesError, match="too short"):
        read_idx(path)


@pytest.mark.parametrize(
    "magic", [b"\x00\x01\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"PK\x03\x04"]
)
def test_bad_magic(tmp_path, magic):
    path = tmp_path / "bad"
    path.write_bytes(magic + struct.pack(">I", 1) + b"\x05")
    with pytest.raises(BrianModesError, match="magic number") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_mismatched_counts(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels.idx1-ubyte.gz", np.zeros(4, dtype=np.uint8), gz=True)
    with pytest.raises(BrianModesError, match="5 images.*4 labels"):
        load_mnist(tmp_path)


def test_bad_image_shape_and_labels(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-images.idx3-ubyte.gz", np.zeros((5, 28, 27), np.uint8), gz=True)
    with pytest.raises(BrianModesError, match=r"\(n, 28, 28\)"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels.idx1-ubyte.gz", np.array([0, 10, 1], np.uint8), gz=True)
    with pytest.raises(BrianModesError, match="outside 0..9"):
        load_mnist(tmp_path, split="test")


@pytest.mark.parametrize("split", ["val", "Train", None])
def test_bad_split(tmp_path, split):
    make_mnist(tmp_path)
    with pytest.raises(BrianModesError, match="split"):
        load_mnist(tmp_path, split=split)


def test_error_is_value_error(tmp_path):
    with pytest.raises(ValueError):
        read_idx(tmp_path / "absent")


@pytest.mark.mnist
def test_real_mnist():
    if not MNIST_DIR.is_dir():
        pytest.skip(f"MNIST data not found in {MNIST_DIR}")
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = load_mnist(MNIST_DIR, split=split)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.uint8
        assert labels.min() >= 0 and labels.max() <= 9
        assert set(np.unique(labels)) == set(range(10))
