"""Saving and loading networks: one ``.npz`` file of arrays plus a JSON header.

Files are data, never code: the archive is read by :mod:`brianmodes.safe_npz`,
which refuses objects and pickles and checks every declared size before it
allocates anything, and the header is JSON stored as a text array inside the
same ``.npz``. The header carries a schema version, the configuration, free
metadata, a SHA-256 digest of every array and, since schema version 2, a
SHA-256 digest of the header itself (:func:`header_digest`), so that a
truncated file, an edited array or an edited header field (``tau_m``,
``v_th``, ``filter``, the task...) is refused with a clear message instead of
silently giving a different network.

Since schema version 3 the header also holds the network's neuron model
(``model``: its equations or statements, threshold, reset, refractoriness and
parameters, :meth:`~brianmodes.neurons.NeuronModel.to_dict`), and the
configuration names either a built-in model with its settings
(``neuron='lif'``, ``filter``, ``discretization``, ``refractory_timing``, the
constants) or holds the model's description (``neuron`` is then an object).

Files of schema version 1 (brianmodes 0.1) have array digests only; they
still load, with a warning that their header is not protected. Files of
versions 1 and 2 name a built-in LIF or tanh network in their configuration
and load to the same network as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .errors import BrianModesError
from .network import DEFAULT_CONSTANTS, ModeNetwork
from .safe_npz import NUMERIC_KINDS, read_arrays
from .zoo import available_models, zoo_path

SCHEMA = "brianmodes.model"
#: 1: array digests (brianmodes 0.1); 2: also a digest of the whole header;
#: 3: the neuron model in the header, refractory_timing in the configuration.
SCHEMA_VERSION = 3
HEADER_KEY = "__header__"
HEADER_DIGEST_KEY = "header_digest"
#: Deepest nesting of lists and objects a header may have.
MAX_HEADER_DEPTH = 64

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_INT_FIELDS = ("N", "P", "N_in", "N_out")
_CHOICE_FIELDS = ("parametrization", "neuron", "filter", "readout", "discretization")
_NUMBER_FIELDS = tuple(DEFAULT_CONSTANTS)
#: The configuration fields of each kind of file: versions 1 and 2; version 3, a built-in by
#: name; version 3, a neuron model (``neuron`` is its description).
_CONFIG_FIELDS = {"legacy": _INT_FIELDS + _CHOICE_FIELDS + _NUMBER_FIELDS,
                  "builtin": _INT_FIELDS + _CHOICE_FIELDS + ("refractory_timing",) + _NUMBER_FIELDS,
                  "model": _INT_FIELDS + ("parametrization", "neuron", "readout", "dt")}
_JSON_TYPE = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
              int: "an integer", float: "a number", type(None): "null"}


def array_digest(array):
    """SHA-256 of an array's dtype, shape and bytes (hex string).

    Examples
    --------
    >>> len(array_digest(np.zeros(3)))
    64
    """
    array = np.ascontiguousarray(array)
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def header_digest(header):
    """SHA-256 of a header's canonical JSON, leaving out its own digest.

    The canonical form has sorted keys, no whitespace and ASCII escapes, so
    any change of any field (a value, its JSON type, a key added or removed)
    changes the digest, while the order of keys in the file does not.

    Examples
    --------
    >>> header_digest({"a": 1, "b": [1.5]}) == header_digest({"b": [1.5], "a": 1})
    True
    >>> header_digest({"a": 1}) == header_digest({"a": 1.0})
    False
    """
    body = {k: v for k, v in header.items() if k != HEADER_DIGEST_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def write_npz_atomic(path, arrays, header):
    """Write arrays and a JSON header to ``path`` atomically.

    The header gets the digest of every array and then its own digest
    (:func:`header_digest`). The file is written under a temporary name in
    the same folder and moved into place, so a crash never leaves a
    half-written file at ``path``.

    Parameters
    ----------
    path : str or Path
    arrays : dict of str to array
        Plain numeric arrays (never objects).
    header : dict
        JSON-serializable; ``schema`` and ``schema_version`` are the caller's.

    Raises
    ------
    BrianModesError
        If an array is not plain numbers, or the header is not
        JSON-serializable or nested too deeply to read back.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
    >>> write_npz_atomic(path, {"x": np.arange(3.0)}, {"schema": "demo", "schema_version": 2, "step": 7})
    >>> header, arrays = read_npz_checked(path, schema="demo")
    >>> header["step"], arrays["x"]
    (7, array([0., 1., 2.]))
    """
    path = Path(path)
    _check_arrays(arrays)
    header = _sealed_header(header, arrays)
    payload = dict(arrays)
    payload[HEADER_KEY] = np.array(json.dumps(header, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_file(path, "wb") as f:
        np.savez(f, **payload)


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "metrics.json")
    >>> write_text_atomic(path, '{"accuracy": 0.96}')
    >>> open(path).read()
    '{"accuracy": 0.96}'
    """
    with _atomic_file(Path(path), "w") as f:
        f.write(text)


@contextlib.contextmanager
def _atomic_file(path, mode):
    """An open temporary file beside ``path`` that replaces ``path`` when the block ends without error.

    A crash or an error (a full disk) never leaves a half-written file at ``path``, and
    removes the temporary one.
    """
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file is an ordinary file
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_arrays(arrays):
    """Refuse to write what :func:`read_npz_checked` would refuse to read."""
    for name, array in arrays.items():
        if not isinstance(name, str) or name == HEADER_KEY:
            raise BrianModesError(f"array names must be strings other than {HEADER_KEY!r}, got {name!r}")
        dtype = np.asarray(array).dtype
        if dtype.kind not in NUMERIC_KINDS or dtype.names is not None or dtype.subdtype is not None:
            raise BrianModesError(f"array {name!r} has dtype {dtype}; only arrays of plain numbers or bools "
                                  "are saved (never objects)")


def _sealed_header(header, arrays):
    """The header as it will be read back, with the array digests and its own digest."""
    header = dict(header, digests={k: array_digest(v) for k, v in arrays.items()})
    header.pop(HEADER_DIGEST_KEY, None)
    try:
        header = json.loads(json.dumps(header))  # what load() will see: tuples as lists, keys as str
    except (TypeError, ValueError, RecursionError) as err:
        raise BrianModesError(f"the header must be JSON-serializable ({type(err).__name__}: {err})") from None
    depth = _depth(header)
    if depth > MAX_HEADER_DEPTH:
        raise BrianModesError(f"the header is nested {depth} levels deep; at most {MAX_HEADER_DEPTH} "
                              "can be read back: flatten the metadata")
    header[HEADER_DIGEST_KEY] = header_digest(header)
    return header


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _depth(value):
    """Nesting depth of lists and objects, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _json_type(value):
    return _JSON_TYPE.get(type(value), type(value).__name__)


def read_npz_checked(path, schema=SCHEMA):
    """Read a file written by :func:`write_npz_atomic`; verify schema and digests.

    The header digest is verified whenever the header has one, whatever its
    schema version says; a version-1 header (which has none) is accepted
    with a :class:`UserWarning`.

    Parameters
    ----------
    path : str or Path
    schema : str
        The schema the header must declare.

    Returns
    -------
    header : dict
    arrays : dict of numpy arrays

    Raises
    ------
    BrianModesError
        If the file is missing, damaged, edited, of another schema or of a
        newer schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise BrianModesError(f"no such file: {path}")
    arrays = read_arrays(path, text_keys={HEADER_KEY})
    if HEADER_KEY not in arrays:
        raise BrianModesError(f"{path} is not a brianmodes file (no header); "
                              "use `brianmodes import` to turn plain arrays into a model")
    header = _parse_header(arrays.pop(HEADER_KEY), path)
    protected = _check_version_and_digest(header, path)
    if header.get("schema") != schema:
        raise BrianModesError(f"{path} is not a {schema} file (its schema is {header.get('schema')!r})")
    _check_array_digests(header.get("digests"), arrays, path)
    if not protected:
        redo = ("brianmodes.save(brianmodes.load(path), path)" if schema == SCHEMA
                else "write it again with this version of brianmodes")
        warnings.warn(f"{path} has schema version 1 (brianmodes 0.1): its arrays are checked, but its header "
                      f"(configuration, metadata) is not protected against edits; to protect it: {redo}",
                      UserWarning, stacklevel=3)
    return header, arrays


def _parse_header(text_array, path):
    if text_array.shape != ():
        raise BrianModesError(f"{path}: the header is an array of shape {text_array.shape}, not one JSON "
                              "text; the file was edited or damaged")
    codes = np.frombuffer(text_array.tobytes(), dtype=np.dtype("u4").newbyteorder(text_array.dtype.byteorder))
    if np.any(codes > 0x10FFFF):  # numpy turns these into a broken str or raises SystemError
        raise BrianModesError(f"{path}: the header holds bytes that are no unicode characters; "
                              "the file was edited or damaged")
    try:
        header = json.loads(str(text_array[()]))
    except (ValueError, RecursionError, MemoryError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else f"{type(err).__name__}: {err}"
        raise BrianModesError(f"{path}: the header is not valid JSON ({reason}); "
                              "the file was edited or damaged") from None
    if not isinstance(header, dict):
        raise BrianModesError(f"{path}: the header is {_json_type(header)}, not a JSON object; "
                              "the file was edited or damaged")
    depth = _depth(header)
    if depth > MAX_HEADER_DEPTH:
        raise BrianModesError(f"{path}: the header is nested {depth} levels deep (at most {MAX_HEADER_DEPTH}); "
                              "the file was edited or damaged")
    return header


def _check_version_and_digest(header, path):
    """Check the schema version and the header digest; return whether the header is protected."""
    version = header.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BrianModesError(f"{path}: the header's schema_version is {version!r}, not a positive integer; "
                              "the file was edited or damaged")
    if version > SCHEMA_VERSION:
        raise BrianModesError(f"{path} has schema version {version}; this brianmodes reads up to "
                              f"{SCHEMA_VERSION}: upgrade brianmodes")
    if HEADER_DIGEST_KEY not in header:
        if version >= 2:
            raise BrianModesError(f"{path}: the header has no {HEADER_DIGEST_KEY} although its schema version "
                                  f"is {version}; the file was edited or damaged")
        return False
    stored = header[HEADER_DIGEST_KEY]
    if not isinstance(stored, str) or not _HEX_DIGEST.fullmatch(stored):
        raise BrianModesError(f"{path}: the header's {HEADER_DIGEST_KEY} is {_json_type(stored)}, not a SHA-256 "
                              "hex string; the file was edited or damaged")
    if stored != header_digest(header):
        raise BrianModesError(f"{path}: the header does not match its checksum; the file was edited or damaged "
                              "(configuration or metadata changed): re-download or re-save it")
    return True


def _check_array_digests(digests, arrays, path):
    if not isinstance(digests, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _HEX_DIGEST.fullmatch(v) for k, v in digests.items()):
        raise BrianModesError(f"{path}: the header's digests must map array names to SHA-256 hex strings; "
                              "the file was edited or damaged")
    if set(digests) != set(arrays):
        raise BrianModesError(f"{path}: the arrays in the file ({', '.join(sorted(arrays)) or 'none'}) do not "
                              f"match its header ({', '.join(sorted(digests)) or 'none'}); "
                              "the file was edited or damaged")
    for name, array in arrays.items():
        if array_digest(array) != digests[name]:
            raise BrianModesError(f"{path}: array {name!r} does not match its checksum; "
                                  "the file was edited or damaged")


def save(network, path):
    """Save a network to ``path`` (``.npz``; the suffix is added if missing).

    Parameters
    ----------
    network : ModeNetwork
    path : str or Path

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    BrianModesError
        If ``network.metadata`` is not JSON-serializable.

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
              "config": network.config(), "model": network.model.to_dict(), "metadata": network.metadata}
    try:
        json.dumps(header)
    except (TypeError, ValueError, RecursionError) as err:
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
    return _network(header, arrays, path)


def _network(header, arrays, path):
    """Build the network of a checked header, with every config field's JSON type checked first."""
    version = header["schema_version"]
    config = _checked_config(header.get("config"), path, version)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise BrianModesError(f"{path}: the header's metadata is {_json_type(metadata)}, not a JSON object; "
                              "the file was edited or damaged")
    if version >= 3 and not isinstance(header.get("model"), dict):
        raise BrianModesError(f"{path}: the header's model is {_json_type(header.get('model'))}, not a JSON "
                              "object; the file was edited or damaged")
    try:
        net = ModeNetwork(**config, params=arrays, metadata=metadata)
    except BrianModesError as err:
        raise BrianModesError(f"{path}: invalid model: {err}") from None
    if version >= 3 and _without_trained_values(header["model"]) != net.model.to_dict(values=False):
        raise BrianModesError(f"{path}: the neuron model in the header is not the one its configuration builds "
                              f"with this brianmodes (model {net.model.name!r}); the file was written by another "
                              "version, edited or damaged")
    return net


def _without_trained_values(description):
    """A model description with the values of its trainable parameters left out (they are arrays)."""
    params = description.get("parameters")
    if not isinstance(params, dict):
        return description
    return {**description, "parameters": {
        name: ({**p, "value": None} if isinstance(p, dict) and p.get("trainable") is True else p)
        for name, p in params.items()}}


def _checked_config(config, path, version=SCHEMA_VERSION):
    """The header's config with every field present and of its JSON type (values are the network's to check)."""
    if not isinstance(config, dict):
        raise BrianModesError(f"{path}: the header's config is {_json_type(config)}, not a JSON object; "
                              "the file was edited or damaged")
    kind = "legacy" if version < 3 else ("model" if isinstance(config.get("neuron"), dict) else "builtin")
    expected = _CONFIG_FIELDS[kind]
    missing = [name for name in expected if name not in config]
    unknown = sorted(set(config) - set(expected))
    if missing or unknown:
        raise BrianModesError(f"{path}: the header's config "
                              + (f"lacks {', '.join(missing)}" if missing else "")
                              + ("; it " if missing and unknown else "")
                              + (f"has unknown field(s) {', '.join(unknown)}" if unknown else "")
                              + "; the file was edited or damaged")
    checked = dict(config)
    for name in expected:
        value = config[name]
        if name in _INT_FIELDS:
            ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
        elif name == "neuron" and kind == "model":
            ok, want = True, "a JSON object"
        elif name == "neuron" and version >= 3:
            ok, want = isinstance(value, str), "a string (a built-in model's name) or a JSON object (a model)"
        elif name in _CHOICE_FIELDS or name == "refractory_timing":
            ok, want = isinstance(value, str), "a string"
        else:
            ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
            if ok:
                try:
                    checked[name] = float(value)
                except OverflowError:
                    ok, want = False, "a finite number"
        if not ok:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise BrianModesError(f"{path}: the header's config field {name} must be {want}, got {shown} "
                                  f"({_json_type(value)}); the file was edited or damaged")
    if kind == "legacy" and checked["neuron"] not in ("lif", "tanh"):
        raise BrianModesError(f"{path}: a schema-{version} file's neuron must be 'lif' or 'tanh', got "
                              f"{checked['neuron']!r}; the file was edited or damaged")
    return checked
