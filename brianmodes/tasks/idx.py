"""Read MNIST data from IDX files, gzip-compressed or plain.

The IDX format (LeCun et al.) is a big-endian header followed by the raw
array data:

* a 4-byte magic number ``00 00 TT NN``, where ``TT`` is the data type code
  (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
  0x0D float32, 0x0E float64) and ``NN`` the number of dimensions;
* ``NN`` big-endian uint32 sizes, one per dimension;
* the data, row-major, big-endian, exactly ``prod(sizes)`` items long.

Files may be gzip-compressed; compression is detected from the content
(the gzip magic bytes ``1f 8b``), never from the file name. Nothing is ever
downloaded and pickle is never used. Every problem with a file or folder is
raised as :class:`~brianmodes.errors.BrianModesError` with a message that
names the file, says what is wrong and what to do.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import BrianModesError

__all__ = ["read_idx", "find_mnist_files", "load_mnist"]

# IDX data type code -> big-endian numpy dtype
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"

# key -> (stem, idx suffix); accepted names are "<stem>.<suffix>" and
# "<stem>-<suffix>", each optionally followed by ".gz"
_MNIST_FILES = {
    "train_images": ("train-images", "idx3-ubyte"),
    "train_labels": ("train-labels", "idx1-ubyte"),
    "test_images": ("t10k-images", "idx3-ubyte"),
    "test_labels": ("t10k-labels", "idx1-ubyte"),
}

_SPLITS = ("train", "test")


def _accepted_names(key):
    """Return the file names accepted for an MNIST file key, in order of preference."""
    stem, suffix = _MNIST_FILES[key]
    plain = [f"{stem}.{suffix}", f"{stem}-{suffix}"]
    return plain + [name + ".gz" for name in plain]


def _read_bytes(path):
    """Return the (decompressed) content of ``path`` as bytes."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise BrianModesError(
            f"IDX file {path} does not exist; check the path or re-download the file"
        ) from None
    except IsADirectoryError:
        raise BrianModesError(
            f"IDX file {path} is a directory, not a file; pass the path of the IDX file itself"
        ) from None
    except OSError as err:
        raise BrianModesError(
            f"IDX file {path} could not be read ({err.strerror or err}); "
            "check its permissions or re-download it"
        ) from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise BrianModesError(
            f"IDX file {path} is a corrupt or truncated gzip stream ({err}); "
            "re-download it"
        ) from None


def read_idx(path):
    """Read an IDX file (gzip-compressed or plain) into a numpy array.

    Parameters
    ----------
    path : str or os.PathLike
        The IDX file. Gzip compression is detected from the gzip magic bytes
        (``1f 8b``) at the start of the file, not from the file name.

    Returns
    -------
    numpy.ndarray
        A new, writable array in native byte order, with the shape given by
        the header and the dtype given by its type code (``uint8``, ``int8``,
        ``int16``, ``int32``, ``float32`` or ``float64``).

    Raises
    ------
    BrianModesError
        If the file is missing or unreadable, the gzip stream is corrupt or
        truncated, the magic number or the dimension count is invalid, or the
        data is shorter or longer than the product of the sizes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
    >>> _ = path.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(os.fspath(path))
    data = _read_bytes(path)
    if len(data) < 4:
        raise BrianModesError(
            f"IDX file {path} is only {len(data)} bytes long, too short for an IDX header; "
            "re-download it"
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
        raise BrianModesError(
            f"IDX file {path} has the invalid magic number 0x{data[:4].hex()} "
            "(expected 0x0000TTNN with type code TT in 08, 09, 0b, 0c, 0d, 0e), "
            "so it is not an IDX file or is corrupt; re-download it"
        )
    if ndim == 0:
        raise BrianModesError(
            f"IDX file {path} declares 0 dimensions in its magic number "
            f"0x{data[:4].hex()}; re-download it"
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise BrianModesError(
            f"IDX file {path} declares {ndim} dimensions but is only {len(data)} bytes long, "
            f"shorter than the {header_len}-byte header; re-download it"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    n_items = 1
    for size in shape:
        n_items *= size
    expected = n_items * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "followed by trailing garbage"
        raise BrianModesError(
            f"IDX file {path} is {what}: its header declares shape {shape} of "
            f"{dtype.name} ({expected} data bytes) but it holds {actual} data bytes; "
            "re-download it"
        )
    array = np.frombuffer(data, dtype=dtype, count=n_items, offset=header_len)
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _find(folder, keys):
    """Locate the MNIST files for ``keys`` in ``folder`` (see find_mnist_files)."""
    folder = Path(os.fspath(folder))
    if not folder.is_dir():
        state = "is not a directory" if folder.exists() else "does not exist"
        raise BrianModesError(
            f"MNIST folder {folder} {state}; put the four MNIST IDX files "
            "(train-images, train-labels, t10k-images, t10k-labels) in a folder "
            "and pass its path"
        )
    found = {}
    missing = []
    for key in keys:
        for name in _accepted_names(key):
            candidate = folder / name
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            missing.append(key)
    if missing:
        described = "; ".join(
            f"{key} (accepted names: {', '.join(_accepted_names(key))})" for key in missing
        )
        raise BrianModesError(
            f"MNIST folder {folder} lacks {len(missing)} of the required IDX files: "
            f"{described}; copy the missing files there under one of these names"
        )
    return found


def find_mnist_files(folder):
    """Locate the four MNIST IDX files in a folder.

    Both naming conventions are accepted, each optionally followed by
    ``.gz``: ``train-images.idx3-ubyte`` and ``train-images-idx3-ubyte``
    (likewise ``train-labels...idx1-ubyte``, ``t10k-images...idx3-ubyte``
    and ``t10k-labels...idx1-ubyte``). When several accepted names exist,
    the first in the order dotted, dashed, dotted ``.gz``, dashed ``.gz``
    is used.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder holding the MNIST files.

    Returns
    -------
    dict of str to pathlib.Path
        Paths under the keys ``'train_images'``, ``'train_labels'``,
        ``'test_images'`` and ``'test_labels'``.

    Raises
    ------
    BrianModesError
        If the folder does not exist or any of the four files is missing; the
        message lists the missing files and the accepted names.

    Examples
    --------
    >>> files = find_mnist_files("data/mnist")  # doctest: +SKIP
    >>> files["test_labels"].name  # doctest: +SKIP
    't10k-labels.idx1-ubyte.gz'
    """
    return _find(folder, tuple(_MNIST_FILES))


def load_mnist(folder, split="train"):
    """Load the MNIST images and labels of one split.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder holding the MNIST IDX files (see :func:`find_mnist_files`;
        only the two files of the requested split need to be present).
    split : {'train', 'test'}, default 'train'
        Which split to load.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, 28, 28)
        The images, gray values 0..255.
    labels : numpy.ndarray of uint8, shape (n,)
        The digit labels, 0..9.

    Raises
    ------
    BrianModesError
        If ``split`` is not ``'train'`` or ``'test'``, a file is missing or
        invalid, the images are not unsigned-byte 28x28 images, the labels are
        not a 1-D unsigned-byte array of values 0..9, or the numbers of images
        and labels differ.

    Examples
    --------
    >>> images, labels = load_mnist("data/mnist", split="test")  # doctest: +SKIP
    >>> images.shape, labels.shape  # doctest: +SKIP
    ((10000, 28, 28), (10000,))
    """
    if not isinstance(split, str) or split not in _SPLITS:
        raise BrianModesError(f"split must be 'train' or 'test', got {split!r}")
    files = _find(folder, (f"{split}_images", f"{split}_labels"))
    image_path, label_path = files[f"{split}_images"], files[f"{split}_labels"]

    images = read_idx(image_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise BrianModesError(
            f"MNIST image file {image_path} holds a {images.dtype.name} array of shape "
            f"{images.shape} instead of uint8 images of shape (n, 28, 28); "
            "check that it is the MNIST images file or re-download it"
        )
    labels = read_idx(label_path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise BrianModesError(
            f"MNIST label file {label_path} holds a {labels.dtype.name} array of shape "
            f"{labels.shape} instead of a 1-D uint8 array; "
            "check that it is the MNIST labels file or re-download it"
        )
    if labels.size and labels.max() > 9:
        raise BrianModesError(
            f"MNIST label file {label_path} holds the label {int(labels.max())}, "
            "outside 0..9; check that it is the MNIST labels file or re-download it"
        )
    if images.shape[0] != labels.shape[0]:
        raise BrianModesError(
            f"MNIST {split} files disagree: {image_path} holds {images.shape[0]} images "
            f"but {label_path} holds {labels.shape[0]} labels; re-download both files"
        )
    return images, labels
