"""The .pth reader: torch's own arrays without torch, and hundreds of hostile files refused without running them."""

import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from brianmodes import BrianModesError
from brianmodes.bridges import read_pth

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VALID = FIXTURES / "H_20_P_3_1.pth"


def test_every_tensor_equals_what_torch_reads():
    """expected.npz was written by torch.load(weights_only=True) in tools/make_pth_fixtures.py."""
    expected = np.load(FIXTURES / "expected.npz")
    files = {key.split("::")[0] for key in expected.files}
    assert len(files) == 6 and len(expected.files) == 35
    for key in expected.files:
        name, tensor = key.split("::")
        got = read_pth(FIXTURES / name)[tensor]
        assert got.dtype == expected[key].dtype and got.shape == expected[key].shape, key
        np.testing.assert_array_equal(got, expected[key], err_msg=key)
    assert list(read_pth(VALID)) == ["Win", "pin", "pout", "l", "Wout"]  # the file's order


# -- hostile files -----------------------------------------------------------------------------------

class _Canary:
    """Unpickled by pickle, this would run ``call(*args)``: it must never be."""

    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def _members(path=VALID):
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info.filename) for info in z.infolist()}


def _zip(members, compress=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _with_pickle(data):
    members = _members()
    members[next(name for name in members if name.endswith("data.pkl"))] = data
    return _zip(members)


def _code_pickles(canary):
    """Pickles that would run code, made by pickle itself and by hand."""
    touch = f"touch {canary}"
    calls = [(os.system, (touch,)), (eval, (f"open({str(canary)!r}, 'w')",)), (exec, (f"open({str(canary)!r}, 'w')",)),
             (getattr, ("", "join")), (open, (str(canary), "w")), (__import__, ("subprocess",)),
             (os.remove, (str(canary),)), (print, ("hello",))]
    made = [pickle.dumps(_Canary(f, a), protocol=p) for f, a in calls for p in (0, 1, 2, 3, 4, 5)]
    made += [pickle.dumps({"Win": _Canary(f, a)}, protocol=2) for f, a in calls]
    by_hand = [
        b"\x80\x02cposix\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03.",
        b"\x80\x02c__builtin__\neval\nX\x04\x00\x00\x001+1\x85R.",
        b"\x80\x02ctorch\nload\nX\x01\x00\x00\x00x\x85R.",
        b"\x80\x02ctorch._utils\n_rebuild_tensor\n)R.",                    # a rebuild torch has, not allowed here
        b"\x80\x02ccollections\nOrderedDict\nX\x01\x00\x00\x00x\x85R.",     # OrderedDict from arguments
        b"\x80\x02ctorch\nFloatStorage\n)R.",                                # calling a storage type
        b"(cos\nsystem\nS'touch x'\ntR.",                                    # protocol 0 INST-style
        b"(X\x01\x00\x00\x00xios\nsystem\n.",                                # INST
        b"\x80\x02(cos\nsystem\nX\x01\x00\x00\x00xo.",                       # OBJ
        b"\x80\x04\x8c\x02os\x8c\x06system\x93X\x01\x00\x00\x00x\x85R.",     # STACK_GLOBAL
        b"\x80\x02cos\nsystem\n)\x81.",                                      # NEWOBJ
        b"\x80\x02\x82\x01.",                                                # EXT1
        b"\x80\x02Pstorage\n.",                                              # text PERSID
        b"\x80\x02}X\x01\x00\x00\x00a]q\x00cos\nsystem\nbs.",               # BUILD on a list with a global
        b"\x80\x02}X\x01\x00\x00\x00a}bs.",                                 # BUILD on a dict
    ]
    return made + by_hand


def _structural_pickles():
    """Pickles that are not state dicts of tensors or whose tensors lie about their storage."""
    def rebuild(storage_type="FloatStorage", key="0", numel=80, offset=0, size=(20, 4), stride=(4, 1),
                hooks=b"ccollections\nOrderedDict\n)R"):
        def ints(values):
            return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"
        pid = (b"(X\x07\x00\x00\x00storagectorch\n" + storage_type.encode() + b"\nX" + struct.pack("<I", len(key))
               + key.encode() + b"X\x03\x00\x00\x00cpuJ" + struct.pack("<i", numel) + b"tQ")
        return (b"\x80\x02}X\x03\x00\x00\x00Winctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J"
                + struct.pack("<i", offset) + ints(size) + ints(stride) + b"\x89" + hooks + b"tRs.")
    out = [
        rebuild(), rebuild(storage_type="ComplexFloatStorage"), rebuild(storage_type="DoubleStorage"),
        rebuild(key="9"), rebuild(key="../../etc/passwd"), rebuild(numel=81), rebuild(numel=2**30),
        rebuild(offset=1), rebuild(offset=2**30), rebuild(size=(21, 4)), rebuild(size=(2**20, 2**20)),
        rebuild(size=(20, 4, 1), stride=(4, 1)), rebuild(stride=(5, 1)), rebuild(size=(-1, 4)),
        rebuild(hooks=b"}X\x01\x00\x00\x00kK\x01s"), rebuild(hooks=b"K\x01"),
        b"\x80\x02]q\x00.", b"\x80\x02K\x01.", b"\x80\x02X\x01\x00\x00\x00a.", b"\x80\x02N.",
        b"\x80\x02}X\x01\x00\x00\x00aK\x01s.",                   # a value that is not a tensor
        b"\x80\x02}K\x01K\x02s.",                                 # a key that is not a name
        b"\x80\x02}(X\x01\x00\x00\x00au.",                        # a key without a value
        b"\x80\x02}.K\x01",                                       # data after STOP is fine, but two values:
        b"\x80\x02}}.", b"\x80\x02.", b"", b"\x80", b"\x80\x02}", b"\x80\x02(.", b"\x80\x02t.",
        b"\x80\x02h\x05.", b"\x80\x02j\x05\x00\x00\x00.", b"\x80\x02X\xff\xff\xff\xff.",
        b"\x80\x02X\x02\x00\x00\x00\xff\xfe.", b"\x80\x02\x8a\x7f" + b"\x01" * 127 + b".",
        b"\x80\x02cnot a module\n" + b"x" * 300 + b".", b"\x80\x02ccollections\n",
        b"\x80\x02" + b"(" * 200000 + b".", b"\x80\x02" + b"]" * 200000 + b".",
    ]
    return out


def _archives():
    """Archives that are damaged, compressed, or not torch's."""
    valid = VALID.read_bytes()
    members = _members()
    pkl = next(name for name in members if name.endswith("data.pkl"))
    out = [valid[:n] for n in range(0, len(valid), max(1, len(valid) // 60))]          # truncated zips
    out += [_zip(members, zipfile.ZIP_DEFLATED), _zip({k: v for k, v in members.items() if "/data/" not in k}),
            _zip({k: v for k, v in members.items() if k != pkl}), _zip({"data.pkl": members[pkl]}),
            _zip({**members, "other/data.pkl": members[pkl]}), _zip({}), b"", b"not a zip at all",
            pickle.dumps({"Win": np.zeros(3)}), b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.",  # torch < 1.6 magic
            _zip({pkl: b"\x80\x02}."} | {f"{pkl[:-8]}data/{i}": b"\0" * 10**6 for i in range(3)})]
    truncated_storage = dict(members)
    key = next(name for name in members if name.endswith("/data/0"))
    truncated_storage[key] = members[key][:-4]
    out.append(_zip(truncated_storage))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(pkl, b"\x80\x02}." + b"\0" * 50_000_000)
    out.append(bomb.getvalue())
    flipped = bytearray(valid)
    flipped[valid.find(members[key]) + 3] ^= 0xFF  # a byte of a storage: its CRC no longer matches
    out.append(bytes(flipped))
    return out


def _mutations(n=120):
    """Valid checkpoints with a few bytes of the pickle changed, deleted or inserted (seeded)."""
    members = _members()
    pkl = next(name for name in members if name.endswith("data.pkl"))
    data, rng, out = members[pkl], np.random.default_rng(0), []
    for _ in range(n):
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            i, kind = int(rng.integers(0, len(b))), rng.integers(0, 3)
            if kind == 0:
                b[i] = int(rng.integers(0, 256))
            elif kind == 1:
                del b[i]
            else:
                b.insert(i, int(rng.integers(0, 256)))
        out.append(_with_pickle(bytes(b)))
    return out


def test_hostile_files_are_refused_and_run_nothing(tmp_path):
    canary = tmp_path / "CANARY"
    cases = [_with_pickle(p) for p in _code_pickles(canary) + _structural_pickles()] + _archives() + _mutations()
    assert len(cases) >= 200
    refused = accepted = 0
    for i, data in enumerate(cases):
        path = tmp_path / f"hostile-{i}.pth"
        path.write_bytes(data)
        try:
            arrays = read_pth(path)
        except BrianModesError as err:
            assert str(path) in str(err) or path.name in str(err), err
            refused += 1
        else:  # a mutation that is still a state dict of tensors (e.g. a changed name): arrays only
            assert isinstance(arrays, dict) and all(isinstance(v, np.ndarray) for v in arrays.values())
            accepted += 1
        assert not canary.exists(), f"case {i} ran code"
    assert refused >= 200, (refused, accepted)


def test_what_is_refused_says_what_it_was(tmp_path):
    canary = tmp_path / "x"
    path = tmp_path / "evil.pth"
    path.write_bytes(_with_pickle(pickle.dumps(_Canary(os.system, (f"touch {canary}",)), protocol=2)))
    with pytest.raises(BrianModesError, match=r"the global (posix|os)\.system; refused without running it"):
        read_pth(path)
    path.write_bytes(_zip(_members(), zipfile.ZIP_DEFLATED))
    with pytest.raises(BrianModesError, match="compressed"):
        read_pth(path)
    path.write_bytes(b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.")
    with pytest.raises(BrianModesError, match="legacy format of torch < 1.6"):
        read_pth(path)
    with pytest.raises(BrianModesError, match="no such file"):
        read_pth(tmp_path / "missing.pth")
    assert not canary.exists()
