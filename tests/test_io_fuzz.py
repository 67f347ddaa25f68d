"""Fuzzing the model file reader with seeded mutants of a shipped model.

Every mutant must either be refused with :class:`BrianModesError` or load to a
network identical to the original (configuration, metadata, every array and
its dtype); no other exception, no different network, no pickle ever run.
Mutants whose content certainly differs from the original (an edited header
field, an array of other values) must be refused; a few that only re-encode
the same content (members reordered, deflated, the header re-indented) must
load identical, so that the test also fails on a reader that refuses
everything.
"""

import collections
import io as bytes_io
import json
import pathlib
import pickle
import warnings
import zipfile

import numpy as np
import pytest

from brianmodes import BrianModesError, load
from brianmodes.io import HEADER_DIGEST_KEY, HEADER_KEY
from brianmodes.zoo import zoo_path

MODEL = "digits-N100-P3"
SEED = 20261201
HEADER_MEMBER = HEADER_KEY + ".npy"
REFUSE, IDENTICAL, EITHER = "refused", "identical", "either"

Mutant = collections.namedtuple("Mutant", "kind what data expect")


class _Touch:
    """Unpickled, creates the file at ``path``: the payload a malicious model would carry."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def shipped_file(name):
    """The file that load(name) reads (the zoo's own name resolution)."""
    return zoo_path(name)


@pytest.fixture(scope="module")
def original():
    path = shipped_file(MODEL)
    with zipfile.ZipFile(path) as zf:
        header = json.loads(str(np.load(bytes_io.BytesIO(zf.read(HEADER_MEMBER)), allow_pickle=False)))
    assert HEADER_DIGEST_KEY in header, f"{path} has no header digest: re-save it with save(load(path), path)"
    return path.read_bytes(), load(path)


# -- building archives ----------------------------------------------------------

def _members(data):
    with zipfile.ZipFile(bytes_io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _zip(items, compression=zipfile.ZIP_STORED):
    """An archive of (name, bytes) pairs, in order, with correct CRCs."""
    buffer = bytes_io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in items:
            zf.writestr(name, data)
    return buffer.getvalue()


def _npy(array):
    buffer = bytes_io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _npy_with_header(shape, descr="<f8", data=b"\0" * 64):
    buffer = bytes_io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def _with(members, **replaced):
    return _zip({**members, **replaced}.items())


def _header_of(members):
    return json.loads(str(np.load(bytes_io.BytesIO(members[HEADER_MEMBER]), allow_pickle=False)))


def _header_member(text):
    return _npy(np.array(text))


# -- mutation classes -----------------------------------------------------------------

def byte_flips(data, members, rng, n=300):
    for i in range(n):
        mutant = bytearray(data)
        for offset in rng.choice(len(data), size=int(rng.integers(1, 5)), replace=False):
            mutant[offset] ^= int(rng.integers(1, 256))
        yield Mutant("byte flip", f"#{i}", bytes(mutant), EITHER)


def truncations(data, members, rng, n=100):
    for length in sorted(rng.choice(len(data), size=n, replace=False)):
        yield Mutant("truncation", f"to {length} bytes", data[:length], EITHER)


def member_swaps(data, members, rng, n_orders=10):
    names = list(members)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            swapped = {**members, a: members[b], b: members[a]}
            yield Mutant("zip members", f"contents of {a} and {b} swapped", _zip(swapped.items()), REFUSE)
    for name in names:
        yield Mutant("zip members", f"{name} dropped", _zip((k, v) for k, v in members.items() if k != name), REFUSE)
        yield Mutant("zip members", f"{name} copied as extra.npy", _zip([*members.items(), ("extra.npy", members[name])]),
                     REFUSE)
        renamed = [(k[:-4] if k == name else k, v) for k, v in members.items()]
        yield Mutant("zip members", f"{name} renamed without .npy", _zip(renamed), REFUSE)
    for i in range(n_orders):
        order = [names[j] for j in rng.permutation(len(names))]
        yield Mutant("zip members", f"reordered {order}", _zip((k, members[k]) for k in order), IDENTICAL)
    yield Mutant("zip members", "deflated", _zip(members.items(), zipfile.ZIP_DEFLATED), IDENTICAL)


def _field_paths(value, prefix=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _field_paths(child, prefix + (key,))


def _other_values(value):
    """Values of other JSON types, and other values of the same type."""
    others = [None, True, False, 0, -1, 7, 0.5, -2.5, 1e300, "", "abc", "2 ms", [], [value], {}, {"value": value}]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        others += [value * 2, -value, float(np.nextafter(float(value), np.inf)), str(value),
                   float(value) if isinstance(value, int) else int(value)]
    if isinstance(value, str):
        others += [value.upper(), value + " ", value[:-1]]
    same = json.dumps(value, sort_keys=True)
    return [v for v in others if json.dumps(v, sort_keys=True) != same]


def _edited(header, path, value, delete=False):
    header = json.loads(json.dumps(header))
    parent = header
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return header


def header_edits(data, members, rng):
    header = _header_of(members)
    for path in _field_paths(header):
        name = ".".join(path)
        parent_value = header
        for key in path:
            parent_value = parent_value[key]
        edits = [(f"{name} = {v!r}"[:80], _edited(header, path, v)) for v in _other_values(parent_value)]
        edits.append((f"{name} deleted", _edited(header, path, None, delete=True)))
        for what, edited in edits:
            text = json.dumps(edited, sort_keys=True)
            yield Mutant("header edit", what, _with(members, **{HEADER_MEMBER: _header_member(text)}), REFUSE)
        if isinstance(parent_value, dict):
            added = _edited(header, path + ("added",), 1)
            yield Mutant("header edit", f"{name}.added = 1",
                         _with(members, **{HEADER_MEMBER: _header_member(json.dumps(added))}), REFUSE)
    for indent in (None, 2):  # the same header, written differently
        text = json.dumps(header, indent=indent, sort_keys=False)
        yield Mutant("header edit", f"re-serialized (indent={indent})",
                     _with(members, **{HEADER_MEMBER: _header_member(text)}), IDENTICAL)


def array_edits(data, members, rng, marker):
    for member in (k for k in members if k != HEADER_MEMBER):
        array = np.load(bytes_io.BytesIO(members[member]), allow_pickle=False)
        nan, inf, ulp = array.copy(), array.copy(), array.copy()
        nan.flat[int(rng.integers(array.size))] = np.nan
        inf.flat[int(rng.integers(array.size))] = np.inf
        ulp.flat[0] = np.nextafter(ulp.flat[0], np.inf)
        refused = {
            "float32": array.astype(np.float32), "int64": np.round(array).astype(np.int64),
            "complex": array.astype(complex), "bool": array > 0,
            "extra axis": array[None], "first element only": array.flat[0], "empty": array[:0],
            "one NaN": nan, "one inf": inf, "one ulp up": ulp, "doubled": array * 2,
            "object array": array.astype(object), "pickle payload": np.array([_Touch(marker)], dtype=object),
            "structured": np.zeros(array.shape, dtype=[("a", "<f8")]), "text": array.astype(str),
            "bytes": array.astype("S8"),
        }
        if array.ndim == 2:
            refused.update(transposed=array.T.copy(), flattened=array.ravel())
        for what, value in refused.items():
            yield Mutant("array edit", f"{member}: {what}", _with(members, **{member: _npy(value)}), REFUSE)
        # The same values, stored differently: either answer is right.
        for what, value in {"big-endian": array.astype(">f8"), "Fortran order": np.asfortranarray(array)}.items():
            yield Mutant("array edit", f"{member}: {what}", _with(members, **{member: _npy(value)}), EITHER)


def huge_shapes(data, members, rng):
    shapes = [(10 ** 9,), (10 ** 12,), (10 ** 6, 10 ** 6), (2 ** 40, 2 ** 40), (2 ** 62, 4), (-1,), (0,), (8,),
              (1,) * 32]
    for member in members:
        descr = "<U100000000" if member == HEADER_MEMBER else "<f8"
        for shape in shapes:
            yield Mutant("huge shape", f"{member}: {shape}",
                         _with(members, **{member: _npy_with_header(shape, descr)}), REFUSE)


def deep_nesting(data, members, rng):
    header = _header_of(members)
    for depth in (10, 63, 65, 100, 1000, 10 ** 4, 10 ** 5):
        for what, text in [("lists", "[" * depth + "]" * depth),
                           ("objects", '{"a":' * depth + "1" + "}" * depth),
                           ("in metadata", json.dumps({**header, "metadata": "@"}).replace(
                               '"@"', "[" * depth + "]" * depth))]:
            yield Mutant("deep nesting", f"{what}, depth {depth}",
                         _with(members, **{HEADER_MEMBER: _header_member(text)}), REFUSE)


def header_members(data, members, rng, marker):
    text = str(np.load(bytes_io.BytesIO(members[HEADER_MEMBER]), allow_pickle=False))
    invalid = np.frombuffer(np.array([ord("{"), 0x110000, ord("}")], dtype="<u4").tobytes(), dtype="<U3").reshape(())
    refused = {
        "numbers": _npy(np.arange(3.0)), "two texts": _npy(np.array([text, text])),
        "a list": _header_member("[1, 2]"), "a number": _header_member("3.5"), "a string": _header_member('"x"'),
        "null": _header_member("null"), "true": _header_member("true"), "not JSON": _header_member(text[:-1]),
        "empty": _header_member(""), "bytes": _npy(np.array(text.encode())), "invalid characters": _npy(invalid),
        "pickle payload": _npy(np.array([_Touch(marker)], dtype=object)),
        "raw pickle": pickle.dumps(_Touch(marker)), "zero-length member": b"",
    }
    for what, member in refused.items():
        yield Mutant("header member", what, _with(members, **{HEADER_MEMBER: member}), REFUSE)
    yield Mutant("header member", "big-endian text", _with(members, **{HEADER_MEMBER: _npy(
        np.array(text).astype(np.dtype(f">U{len(text)}")))}), IDENTICAL)


def npy_header_flips(data, members, rng, n=150):
    names = list(members)
    for i in range(n):
        member = names[int(rng.integers(len(names)))]
        raw = bytearray(members[member])
        offset = int(rng.integers(128))  # the magic, the version, the header length and the header text
        raw[offset] ^= int(rng.integers(1, 256))
        yield Mutant("npy header flip", f"{member} byte {offset} (#{i})", _with(members, **{member: bytes(raw)}),
                     EITHER)


# -- the test ----------------------------------------------------------------------

def _outcome(path, reference):
    """'refused', 'identical', or a description of what went wrong."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net = load(path)
    except BrianModesError:
        return REFUSE
    except Exception as err:  # noqa: BLE001 -- any other exception is the failure being looked for
        return f"{type(err).__name__}: {err}"
    if caught:  # e.g. a header passed off as an unprotected schema-1 one
        return f"loaded with a warning: {caught[0].message}"
    same = (net.config() == reference.config() and net.metadata == reference.metadata
            and set(net.params) == set(reference.params)
            and all(net.params[k].dtype == reference.params[k].dtype
                    and np.array_equal(net.params[k], reference.params[k]) for k in reference.params))
    return IDENTICAL if same else "loaded a different network"


def _mutants(data, marker):
    rng = np.random.default_rng(SEED)
    members = _members(data)
    yield Mutant("control", "the file itself", data, IDENTICAL)
    for make in (byte_flips, truncations, member_swaps, header_edits, huge_shapes, deep_nesting, npy_header_flips):
        yield from make(data, members, rng)
    yield from array_edits(data, members, rng, marker)
    yield from header_members(data, members, rng, marker)


def test_fuzzed_model_files_are_refused_or_identical(original, tmp_path, capsys):
    data, reference = original
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "mutant.npz"
    counts = collections.defaultdict(collections.Counter)
    failures = []
    for mutant in _mutants(data, marker):
        path.write_bytes(mutant.data)
        outcome = _outcome(path, reference)
        counts[mutant.kind][outcome if outcome in (REFUSE, IDENTICAL) else "WRONG"] += 1
        if outcome not in (REFUSE, IDENTICAL) or mutant.expect not in (EITHER, outcome):
            failures.append(f"{mutant.kind}: {mutant.what}: expected {mutant.expect}, got {outcome}")
    with capsys.disabled():
        print(f"\nfuzzed {MODEL}: mutant class, refused, loaded identical")
        for kind, counter in counts.items():
            print(f"  {kind:16s} {counter[REFUSE]:5d} {counter[IDENTICAL]:5d}")
    assert not failures, "\n".join(failures[:20])
    assert not marker.exists(), "a pickle payload ran"
    assert sum(sum(c.values()) for c in counts.values()) >= 1000
    assert counts["control"][IDENTICAL] == 1


def test_pickle_payload_never_runs(tmp_path, original):
    data, _ = original
    members = _members(data)
    live = tmp_path / "proof"
    payload = _npy(np.array([_Touch(live)], dtype=object))
    np.load(bytes_io.BytesIO(payload), allow_pickle=True)
    assert live.exists()  # the payload is live: unpickling it creates its marker file
    marker = tmp_path / "marker"
    payload = _npy(np.array([_Touch(marker)], dtype=object))
    for member in members:
        path = tmp_path / f"evil-{member[:-4]}.npz"
        path.write_bytes(_with(members, **{member: payload}))
        with pytest.raises(BrianModesError, match="dtype object.*never reads objects or pickles"):
            load(path)
    assert not marker.exists()
