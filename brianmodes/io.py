"""Saving and loading networks: one ``.npz`` file of arrays plus a JSON header.

Files are data, never code: arrays are read with ``allow_pickle=False`` and
the header is JSON stored as a text array inside the same ``.npz``. The
header carries a schema version, the configuration, free metadata and a
SHA-256 digest of every array, so that a truncated or edited file is refused
with a clear message instead of silently giving a different network.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import BrianModesError
from .network import ModeNetwork
from .zoo import available_models, zoo_path

SCHEMA = "brianmodes.model"
SCHEMA_VERSION = 1
HEADER_KEY = "__header__"


def array_digest(array):
    """SHA-256 of an array's dtype, shape and bytes (hex string)."""
    array = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def write_npz_atomic(path, arrays, header):
    """Write arrays and a JSON header to ``path`` atomically.

    The file is written under a temporary name in the same folder and moved
    into place, so a crash never leaves a half-written file at ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = dict(header, digests={k: array_digest(v) for k, v in arrays.items()})
    payload = dict(arrays)
    payload[HEADER_KEY] = np.array(json.dumps(header, sort_keys=True))
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a saved model is an ordinary file
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_npz_checked(path, schema=SCHEMA):
    """Read a file written by :func:`write_npz_atomic`; verify schema and digests.

    Returns
    -------
    header : dict
    arrays : dict of numpy arrays
    """
    path = Path(path)
    if not path.is_file():
        raise BrianModesError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if HEADER_KEY not in data.files:
                raise BrianModesError(f"{path} is not a brianmodes file (no header); "
                                      "use `brianmodes import` to turn plain arrays into a model")
            header = json.loads(str(data[HEADER_KEY]))
            arrays = {k: data[k] for k in data.files if k != HEADER_KEY}
    except BrianModesError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, json.JSONDecodeError) as err:
        raise BrianModesError(f"{path} is damaged or not a brianmodes file ({type(err).__name__}: {err}); "
                              "re-save or re-download it") from None
    if not isinstance(header, dict) or header.get("schema") != schema:
        raise BrianModesError(f"{path} is not a {schema} file (schema {header.get('schema')!r})")
    version = header.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BrianModesError(f"{path} has schema version {version!r}; this brianmodes reads up to "
                              f"{SCHEMA_VERSION}: upgrade brianmodes")
    digests = header.get("digests", {})
    if set(digests) != set(arrays):
        raise BrianModesError(f"{path}: the arrays in the file do not match its header; the file was edited or damaged")
    for name, array in arrays.items():
        if array_digest(array) != digests[name]:
            raise BrianModesError(f"{path}: array {name!r} does not match its checksum; "
                                  "the file was edited or damaged")
    return header, arrays


def save(network, path):
    """Save a network to ``path`` (``.npz``; the suffix is added if missing).

    Examples
    --------
    >>> import tempfile, os
    >>> from brianmodes import ModeNetwork, save, load
    >>> net = ModeNetwork(N=20, P=2, N_in=3, N_out=1, seed=0)
    >>> path = save(net, os.path.join(tempfile.mkdtemp(), "net"))
    >>> load(path).P
    2
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    header = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
              "config": network.config(), "metadata": network.metadata}
    try:
        json.dumps(header)
    except TypeError as err:
        raise BrianModesError(f"network.metadata must be JSON-serializable: {err}") from None
    write_npz_atomic(path, network.params, header)
    return path


def load(path):
    """Load a network saved by :func:`save`, or a shipped model by name.

    Parameters
    ----------
    path : str or Path
        A model file, or the name of a shipped model (``"context-N100-P3"``;
        see :func:`available_models`).

    Raises
    ------
    BrianModesError
        If the file is missing, truncated, edited or of a newer schema.

    Examples
    --------
    >>> load("context-N100-P3").metadata["task"]["name"]
    'context'
    """
    candidate = Path(path)
    if not candidate.exists() and candidate.suffix == "":
        with_suffix = candidate.with_name(candidate.name + ".npz")  # what save() wrote for this name
        zoo_file = zoo_path(candidate.name) if len(candidate.parts) == 1 else None
        if with_suffix.exists():
            path = with_suffix
        elif zoo_file is not None:
            path = zoo_file
        else:
            names = ", ".join(available_models()) or "none"
            raise BrianModesError(f"no model file or shipped model named {str(path)!r}; shipped models: {names}")
    header, arrays = read_npz_checked(path)
    try:
        return ModeNetwork(**header["config"], params=arrays, metadata=header.get("metadata", {}))
    except (KeyError, TypeError) as err:
        raise BrianModesError(f"{path}: invalid model header ({err})") from None
