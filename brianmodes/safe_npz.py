"""Reading an ``.npz`` archive without trusting it.

:func:`numpy.load` trusts the sizes a file declares: an ``.npy`` header that
declares 10**12 elements makes it allocate terabytes, a damaged header raises
whatever the tokenizer raises, and a ``.npy`` renamed ``.npz`` is returned as
an array. This reader checks the zip directory and every member's ``.npy``
header itself and allocates nothing before the declared sizes agree with what
the archive really holds:

* members are ``.npy`` files, stored or deflated, not encrypted, not repeated;
* a member's declared uncompressed size is possible for its compressed size
  and the archive's size, and all members together stay under
  :data:`MAX_BYTES`;
* every dtype is a plain number or bool (unicode text only where allowed),
  never an object: no pickle is ever read, let alone run;
* shape x itemsize equals the bytes the member holds after its header.

Every failure is a :class:`~brianmodes.errors.BrianModesError` naming the file.
"""

from __future__ import annotations

import math
import os
import struct
import tokenize
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from .errors import BrianModesError

#: The most uncompressed bytes an archive may declare in all (16 GiB).
MAX_BYTES = 16 * 2**30
#: DEFLATE expands at most about 1032-fold; a larger declared ratio is a lie.
_MAX_DEFLATE_RATIO = 1032
#: dtype kinds of numeric arrays: bool, signed, unsigned, float, complex.
NUMERIC_KINDS = "biufc"
_NPY_MAGIC = b"\x93NUMPY"
_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}

# What the zip, zlib and npy-header parsers raise on damaged input. None of
# this code runs anything of the user's, so these are all "the file is bad".
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, TypeError,
           KeyError, IndexError, OverflowError, SyntaxError, tokenize.TokenError, RecursionError,
           MemoryError, UnicodeDecodeError, zlib.error, struct.error, NotImplementedError)


def read_arrays(path, text_keys=()):
    """Read every array of the ``.npz`` archive at ``path``, refusing anything but plain data.

    Parameters
    ----------
    path : Path
        The archive.
    text_keys : collection of str
        Members that may (and must) hold unicode text instead of numbers.

    Returns
    -------
    dict
        Member name (without ``.npy``) to array, in archive order.

    Raises
    ------
    BrianModesError
        If the file is not a zip archive, is truncated or damaged, or holds
        anything but plain numeric arrays (objects, pickles, impossible sizes).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> np.savez(path, x=np.arange(3))
    >>> read_arrays(path)["x"]
    array([0, 1, 2])
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            start = f.read(len(_NPY_MAGIC))
    except OSError as err:
        raise BrianModesError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        with zipfile.ZipFile(path) as zf:
            infos = _check_directory(zf, path, size)
            return {name: _read_member(zf, info, path, name, name in text_keys)
                    for name, info in infos.items()}
    except BrianModesError:
        raise
    except zipfile.BadZipFile as err:
        if start == _NPY_MAGIC:
            raise BrianModesError(f"{path} is a single .npy array, not an .npz archive (was it renamed?); "
                                  "a model file is written by brianmodes.save") from None
        raise BrianModesError(f"{path} is damaged or not an .npz archive ({err}); "
                              "re-download or re-save it") from None
    except _DAMAGE as err:
        raise BrianModesError(f"{path} is damaged ({_describe(err)}); re-download or re-save it") from None


def _describe(err):
    lines = str(err).strip().splitlines()
    detail = " ".join(lines[0].split())[:160] if lines else "no details"
    return f"{type(err).__name__}: {detail}"


def _check_directory(zf, path, archive_size):
    """Member name to ZipInfo, after checking the directory entries against the file."""
    infos, total = {}, 0
    for info in zf.infolist():
        name = info.filename
        if info.is_dir() or not name.endswith(".npy"):
            raise BrianModesError(f"{path} holds {name!r}, which is not an .npy array; "
                                  "an .npz model file holds only .npy arrays")
        if name[:-4] in infos:
            raise BrianModesError(f"{path} holds {name!r} twice; the file was edited or damaged")
        if info.flag_bits & 0x1:
            raise BrianModesError(f"{path}: member {name!r} is encrypted; brianmodes reads plain archives")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BrianModesError(f"{path}: member {name!r} uses zip compression method {info.compress_type}; "
                                  "brianmodes reads stored or deflated members (np.savez, np.savez_compressed)")
        limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED \
            else info.compress_size * _MAX_DEFLATE_RATIO + 1024
        if info.compress_size > archive_size or info.file_size > limit:
            raise BrianModesError(f"{path}: member {name!r} declares {info.file_size:,} bytes, impossible for "
                                  f"{info.compress_size:,} compressed bytes in a {archive_size:,}-byte file; "
                                  "the file is damaged")
        total += info.file_size
        infos[name[:-4]] = info
    if total > MAX_BYTES:
        raise BrianModesError(f"{path} declares {total / 2**30:.1f} GiB of arrays, more than brianmodes "
                              f"reads ({MAX_BYTES / 2**30:.0f} GiB); the file is damaged")
    return infos


def _read_member(zf, info, path, name, text):
    try:
        return _read_npy(zf, info, path, name, text)
    except BrianModesError:
        raise
    except _DAMAGE as err:
        raise BrianModesError(f"{path}: array {name!r} is damaged ({_describe(err)}); "
                              "re-download or re-save it") from None


def _read_npy(zf, info, path, name, text):
    with zf.open(info) as f:
        version = npy_format.read_magic(f)
        if version not in _READERS:
            raise BrianModesError(f"{path}: array {name!r} is in .npy format version {version}; "
                                  "brianmodes reads versions 1.0 and 2.0 (what numpy.save writes)")
        shape, fortran_order, dtype = _READERS[version](f)
        _check_dtype(dtype, path, name, text)
        if any(n < 0 for n in shape):
            raise BrianModesError(f"{path}: array {name!r} declares a negative shape {shape}; the file is damaged")
        count = math.prod(shape)
        held = info.file_size - f.tell()
        if count * dtype.itemsize != held:
            raise BrianModesError(
                f"{path}: array {name!r} declares shape {shape} of {dtype} ({count * dtype.itemsize:,} bytes) "
                f"but holds {held:,} bytes; the file is damaged")
        array = np.empty(count, dtype=dtype)
        got = f.readinto(array.view(np.uint8)) if held else 0
        if got != held or f.read(1):  # reading to the end also checks the member's CRC
            raise BrianModesError(f"{path}: array {name!r} is truncated; the file is damaged")
    return array.reshape(shape, order="F" if fortran_order else "C")


def _check_dtype(dtype, path, name, text):
    plain = dtype.names is None and dtype.subdtype is None and not dtype.hasobject
    wanted = "U" if text else NUMERIC_KINDS
    if not plain or dtype.kind not in wanted:
        what = "unicode text" if text else "plain numbers or bools"
        raise BrianModesError(f"{path}: array {name!r} has dtype {dtype}; it must hold {what} "
                              "(brianmodes never reads objects or pickles)")
