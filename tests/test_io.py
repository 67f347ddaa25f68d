import json
import zipfile

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, load, save
from brianmodes.io import HEADER_KEY


@pytest.fixture
def net():
    return ModeNetwork(N=20, P=3, N_in=4, N_out=2, filter="double-ema", readout="per_step",
                       tau_m="25 ms", seed=0, metadata={"task": {"name": "context"}, "note": "x"})


def test_round_trip(tmp_path, net):
    path = save(net, tmp_path / "model")
    assert path.suffix == ".npz"
    back = load(path)
    assert back.config() == net.config()
    assert back.metadata == net.metadata
    for name in net.params:
        np.testing.assert_array_equal(back.params[name], net.params[name])


def test_load_accepts_the_name_given_to_save(tmp_path, net):
    save(net, tmp_path / "mymodel")
    assert load(tmp_path / "mymodel").config() == net.config()


def test_saved_file_has_ordinary_permissions(tmp_path, net):
    import os

    mask = os.umask(0o022)
    try:
        path = save(net, tmp_path / "model.npz")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_file_is_plain_data(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data[HEADER_KEY]))
        assert header["schema_version"] == 1
        assert set(data.files) == {HEADER_KEY, "W_in", "xi_in", "lam", "xi_out", "W_out"}


def test_truncated_file(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrianModesError, match="damaged"):
        load(path)


def _rewrite(path, edit_arrays=None, edit_header=None):
    """Rewrite a saved model with edited arrays or header, as a careless tool would."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop(HEADER_KEY)))
    if edit_arrays:
        edit_arrays(arrays)
    if edit_header:
        edit_header(header)
    np.savez(path, **arrays, **{HEADER_KEY: np.array(json.dumps(header))})


def test_tampered_array(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    _rewrite(path, edit_arrays=lambda a: a.update(lam=a["lam"] * 2))
    with pytest.raises(BrianModesError, match="'lam' does not match its checksum"):
        load(path)


def test_tampered_header(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    _rewrite(path, edit_header=lambda h: h["config"].update(N=21))
    with pytest.raises(BrianModesError, match="must have shape"):
        load(path)


def test_newer_schema_refused(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    _rewrite(path, edit_header=lambda h: h.update(schema_version=99))
    with pytest.raises(BrianModesError, match="upgrade brianmodes"):
        load(path)


def test_plain_npz_and_missing_and_garbage(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, W_in=np.zeros((2, 2)))
    with pytest.raises(BrianModesError, match="brianmodes import"):
        load(plain)
    with pytest.raises(BrianModesError, match="no such file"):
        load(tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(BrianModesError, match="damaged"):
        load(garbage)


def test_pickled_object_array_refused(tmp_path):
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(HEADER_KEY + ".npy", "w") as f:
            np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BrianModesError):
        load(path)


def test_save_is_atomic(tmp_path, net, monkeypatch):
    path = save(net, tmp_path / "model.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save(net, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_metadata_must_be_json(tmp_path, net):
    net.metadata["bad"] = object()
    with pytest.raises(BrianModesError, match="JSON"):
        save(net, tmp_path / "m.npz")
