import io as bytes_io
import json
import tokenize
import warnings
import zipfile

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, available_models, load, save
from brianmodes.io import HEADER_DIGEST_KEY, HEADER_KEY, SCHEMA_VERSION, header_digest, read_npz_checked
from brianmodes.zoo import zoo_path
from helpers import rewrite_model_file


@pytest.fixture
def net():
    return ModeNetwork(N=20, P=3, N_in=4, N_out=2, filter="double-ema", readout="per_step",
                       tau_m="25 ms", seed=0, metadata={"task": {"name": "context", "n_steps": 40}, "note": "x"})


def assert_same_network(a, b):
    assert a.config() == b.config()
    assert a.metadata == b.metadata
    assert set(a.params) == set(b.params)
    for name in a.params:
        assert a.params[name].dtype == b.params[name].dtype
        np.testing.assert_array_equal(a.params[name], b.params[name])


def _members(path):
    """The raw .npy bytes of every member of an .npz."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _npy(array, allow_pickle=False):
    buffer = bytes_io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _write_members(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _header_text(header):
    return _npy(np.array(json.dumps(header)))


def _read_header(path):
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data[HEADER_KEY]))





def _as_version_1(header):
    """What brianmodes 0.1 wrote: no header digest, schema version 1, no neuron model (schema 3)."""
    header.pop(HEADER_DIGEST_KEY)
    header["schema_version"] = 1
    header.pop("model", None)
    header["config"].pop("refractory_timing", None)


# -- round trips ----------------------------------------------------------

def test_round_trip(tmp_path, net):
    path = save(net, tmp_path / "model")
    assert path.suffix == ".npz"
    assert_same_network(load(path), net)


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
        assert set(data.files) == {HEADER_KEY, "W_in", "xi_in", "lam", "xi_out", "W_out"}
    assert header["schema_version"] == SCHEMA_VERSION == 3
    assert header[HEADER_DIGEST_KEY] == header_digest(header)
    assert header["model"] == net.model.to_dict()  # the neuron model: equations, parameters, settings
    assert header["model"]["equations"].startswith("dv/dt = (I - v) / tau_m : 1 (unless refractory)")


def test_header_digest_covers_every_field_and_type():
    header = {"config": {"v_th": 1.0, "filter": "double"}, "metadata": {"task": {"n_steps": 50}}}
    reference = header_digest(header)
    edits = [{"config": {"v_th": 1.0000001, "filter": "double"}},
             {"config": {"v_th": 1, "filter": "double"}},
             {"config": {"v_th": "1.0", "filter": "double"}},
             {"config": {"v_th": 1.0, "filter": "single"}},
             {"config": {"v_th": 1.0}},
             {"config": {"v_th": 1.0, "filter": "double"}, "metadata": {"task": {"n_steps": 51}}},
             {"config": {"v_th": 1.0, "filter": "double"}, "metadata": {"task": {"n_steps": [50]}}}]
    for edit in edits:
        assert header_digest({**header, **edit}) != reference, edit
    assert header_digest({**header, HEADER_DIGEST_KEY: "0" * 64}) == reference  # its own field is left out


def test_shipped_models_are_protected():
    """Every shipped model has a header with a digest (schema 2 or later) and loads without a warning."""
    names = list(available_models())
    assert names
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load(name)
        path = shipped_file(name)
        header = _read_header(path)
        assert header["schema_version"] in (2, SCHEMA_VERSION), name
        assert header[HEADER_DIGEST_KEY] == header_digest(header), name


def shipped_file(name):
    """The file that load(name) reads (the zoo's own name resolution)."""
    return zoo_path(name)


# -- schema version 1 (brianmodes 0.1) --------------------------------------

def test_schema_1_file_loads_with_a_warning(tmp_path, net):
    path = save(net, tmp_path / "old.npz")
    rewrite_model_file(path, edit_header=_as_version_1)
    with pytest.warns(UserWarning, match=r"schema version 1.*not protected.*save\(brianmodes.load\(path\), path\)"):
        old = load(path)
    assert_same_network(old, net)
    save(old, path)  # what the warning says to do
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_network(load(path), net)


def test_schema_1_header_digest_is_verified_when_present(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.update(schema_version=1))
    with pytest.raises(BrianModesError, match="header does not match its checksum"):
        load(path)


@pytest.mark.parametrize("version", [2, 3])
def test_schema_2_and_3_without_header_digest_refused(tmp_path, net, version):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: (h.pop(HEADER_DIGEST_KEY), h.update(schema_version=version)))
    with pytest.raises(BrianModesError, match=f"has no header_digest although its schema version is {version}"):
        load(path)


def test_schema_1_header_types_are_still_checked(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: (_as_version_1(h), h["config"].update(v_th="abc")))
    with pytest.warns(UserWarning), pytest.raises(BrianModesError, match="v_th must be a number, got 'abc'"):
        load(path)


def test_newer_schema_refused(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.update(schema_version=99))
    with pytest.raises(BrianModesError, match="upgrade brianmodes"):
        load(path)


# -- schema versions 1 and 2 (no neuron model in the header) -------------------------------

LEGACY_CONFIG = ("N", "P", "N_in", "N_out", "parametrization", "neuron", "filter", "readout", "discretization",
                 "dt", "tau_s", "tau_m", "tau_d", "tau_r", "v_th", "t_ref")


def _write_old_file(path, net, version):
    """A file as brianmodes wrote it with schema version 2 (version 1: without the header digest)."""
    from brianmodes.io import SCHEMA, write_npz_atomic

    config = {k: v for k, v in net.config().items() if k in LEGACY_CONFIG}
    write_npz_atomic(path, net.params, {"schema": SCHEMA, "schema_version": 2, "config": config,
                                        "metadata": net.metadata})
    if version == 1:
        rewrite_model_file(path, edit_header=_as_version_1)
    return path


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("kw", [dict(), dict(discretization="published", filter="single", t_ref="4 ms"),
                                dict(neuron="tanh", parametrization="full", P=20, readout="max")])
def test_schema_1_and_2_files_load_to_identical_networks(tmp_path, kw, version):
    from brianmodes import simulate

    net = ModeNetwork(**{**dict(N=20, P=3, N_in=4, N_out=2, readout="per_step", seed=1), **kw},
                      metadata={"task": {"name": "context"}})
    path = _write_old_file(tmp_path / "old.npz", net, version)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if version == 1 else "error")
        old = load(path)
    assert_same_network(old, net)
    assert old.config()["refractory_timing"] == "steps"
    assert old.model.to_dict() == net.model.to_dict()
    x = np.random.default_rng(0).normal(size=(30, 2, 4)) + 0.5
    np.testing.assert_array_equal(simulate(old, x, dtype=np.float64).outputs,
                                  simulate(net, x, dtype=np.float64).outputs)
    save(old, path)  # written again: the current schema, the same network
    assert _read_header(path)["schema_version"] == SCHEMA_VERSION
    assert_same_network(load(path), net)


def test_shipped_schema_2_model_is_the_network_its_config_names():
    name = next(iter(available_models()))
    assert _read_header(shipped_file(name))["schema_version"] == 2
    net = load(name)
    header = _read_header(shipped_file(name))
    rebuilt = ModeNetwork(**header["config"], params=net.params)
    assert_same_network(ModeNetwork(**header["config"], params=net.params, metadata=net.metadata), net)
    assert rebuilt.model.to_dict() == net.model.to_dict()


def test_schema_1_and_2_configs_are_those_of_brianmodes_0_1(tmp_path, net):
    path = _write_old_file(tmp_path / "old.npz", net, 2)
    rewrite_model_file(path, edit_header=lambda h: h["config"].update(refractory_timing="steps"), seal=True)
    with pytest.raises(BrianModesError, match="unknown field\\(s\\) refractory_timing"):
        load(path)
    rewrite_model_file(path, edit_header=lambda h: (h["config"].pop("refractory_timing"),
                                          h["config"].update(neuron="adaptive_lif")), seal=True)
    with pytest.raises(BrianModesError, match="neuron must be 'lif' or 'tanh'"):
        load(path)


# -- schema version 3: the neuron model in the header -------------------------------------------

def _model_network(**kw):
    from brianmodes.neurons import Parameter, adaptive_lif

    model = adaptive_lif("double-ema", tau_a="150 ms", beta=0.2, per_neuron=("v_th", "tau_m"),
                         trainable=("tau_m", "beta"))
    model = model.with_parameters(tau_s=Parameter(np.linspace(0.008, 0.012, 20), per_neuron=True))
    net = ModeNetwork(N=20, P=3, N_in=4, N_out=2, readout="per_step", neuron=model, seed=2, dt="1 ms",
                      metadata={"note": "adaptive"}, **kw)
    net.params["log_tau_m"] += np.linspace(-0.3, 0.3, 20)  # trained: heterogeneous
    net.params["beta"] += 0.05
    return net


def test_round_trip_of_a_neuron_model_with_trained_parameters(tmp_path):
    from brianmodes import simulate

    net = _model_network()
    assert set(net.params) == {"W_in", "xi_in", "lam", "xi_out", "W_out", "log_tau_m", "beta"}
    path = save(net, tmp_path / "adaptive.npz")
    header = _read_header(path)
    assert header["config"]["neuron"]["parameters"]["tau_m"]["value"] is None  # in the arrays
    assert header["model"]["parameters"]["tau_m"]["value"] == list(np.exp(net.params["log_tau_m"]))
    assert header["model"]["parameters"]["tau_s"]["value"] == list(np.linspace(0.008, 0.012, 20))
    assert "da/dt = -a / tau_a : 1" in header["model"]["equations"]
    back = load(path)
    assert_same_network(back, net)
    assert back.model.to_dict() == net.model.to_dict()
    x = np.random.default_rng(0).normal(size=(40, 2, 4)) + 0.5
    a, b = (simulate(n, x, record=("s",), dtype=np.float64) for n in (net, back))
    assert a.spikes.sum() > 0
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.outputs, b.outputs)


def test_edited_neuron_model_refused(tmp_path):
    net = _model_network()
    path = save(net, tmp_path / "adaptive.npz")
    edit = lambda h: h["model"].update(equations=h["model"]["equations"].replace("tau_a", "tau_m"))  # noqa: E731
    rewrite_model_file(path, edit_header=edit)
    with pytest.raises(BrianModesError, match="header does not match its checksum"):
        load(path)
    rewrite_model_file(path, edit_header=lambda h: h["model"].update(threshold="v > 2"), seal=True)
    with pytest.raises(BrianModesError, match="neuron model in the header is not the one its configuration builds"):
        load(path)
    rewrite_model_file(path, edit_header=lambda h: h["config"]["neuron"].update(threshold="v >"), seal=True)
    with pytest.raises(BrianModesError, match="invalid model: .*threshold"):
        load(path)
    rewrite_model_file(path, edit_header=lambda h: h["config"]["neuron"]["parameters"]["tau_a"].update(value=None), seal=True)
    with pytest.raises(BrianModesError, match="parameter 'tau_a' has no value"):
        load(path)


def test_float32_clock_network_round_trip(tmp_path, net):
    published = ModeNetwork.from_arrays(**net.params, filter="double-ema", readout="per_step",
                                        discretization="published", refractory_timing="float32")
    back = load(save(published, tmp_path / "f32.npz"))
    assert back.refractory_timing == "float32" and back.model.refractory_timing == "float32"
    assert_same_network(back, published)


# -- edited files ------------------------------------------------------------

def test_truncated_file(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BrianModesError, match="damaged"):
        load(path)


def test_tampered_array(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_arrays=lambda a: a.update(lam=a["lam"] * 2))
    with pytest.raises(BrianModesError, match="'lam' does not match its checksum"):
        load(path)


@pytest.mark.parametrize("section, field, value", [
    ("config", "tau_m", 0.021), ("config", "dt", 0.001), ("config", "t_ref", 0.004), ("config", "v_th", 1.5),
    ("config", "filter", "single"), ("config", "readout", "max"), ("config", "neuron", "tanh"),
    ("config", "discretization", "published"), ("config", "N", 21), ("config", "tau_s", 0.01000001),
    ("metadata", "task", {"name": "context", "n_steps": 41}), ("metadata", "note", "y"),
    ("metadata", "added", 1)])
def test_edited_header_field_refused(tmp_path, net, section, field, value):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h[section].update({field: value}))
    with pytest.raises(BrianModesError, match="header does not match its checksum; the file was edited"):
        load(path)


def test_removed_header_field_refused(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.pop("metadata"))
    with pytest.raises(BrianModesError, match="header does not match its checksum"):
        load(path)


def test_resealed_edit_of_sizes_still_refused(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h["config"].update(N=21), seal=True)
    with pytest.raises(BrianModesError, match="must have shape"):
        load(path)


# -- malformed headers (sealed, so that the type checks behind the digest are reached) --

@pytest.mark.parametrize("header, kind", [([1, 2], "a list"), (3.5, "a number"), ("model", "a string"),
                                          (None, "null")])
def test_header_that_is_not_an_object(tmp_path, header, kind):
    path = tmp_path / "model.npz"
    _write_members(path, {HEADER_KEY + ".npy": _header_text(header)})
    with pytest.raises(BrianModesError, match=f"the header is {kind}, not a JSON object"):
        load(path)


def test_header_that_is_not_json(tmp_path):
    path = tmp_path / "model.npz"
    _write_members(path, {HEADER_KEY + ".npy": _npy(np.array("{'config': 1"))})
    with pytest.raises(BrianModesError, match="the header is not valid JSON"):
        load(path)


@pytest.mark.parametrize("digests", [["W_in"], {"W_in": 5}, {"W_in": "not-hex"}, "abc", None])
def test_digests_of_the_wrong_type(tmp_path, net, digests):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.update(digests=digests), seal=True)
    with pytest.raises(BrianModesError, match="digests must map array names to SHA-256 hex strings"):
        load(path)


@pytest.mark.parametrize("value", [5, "abc", True, [1, 2], None, {"x": 1}])
def test_header_digest_of_the_wrong_type(tmp_path, net, value):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.update({HEADER_DIGEST_KEY: value}))
    with pytest.raises(BrianModesError, match="header_digest is .*not a SHA-256 hex string"):
        load(path)


@pytest.mark.parametrize("metadata, kind", [([1], "a list"), ("x", "a string"), (3, "an integer"),
                                            (None, "null")])
def test_metadata_of_the_wrong_type(tmp_path, net, metadata, kind):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.update(metadata=metadata), seal=True)
    with pytest.raises(BrianModesError, match=f"metadata is {kind}, not a JSON object"):
        load(path)


@pytest.mark.parametrize("field, value, message", [
    ("v_th", "abc", "config field v_th must be a number, got 'abc' \\(a string\\)"),
    ("v_th", None, "config field v_th must be a number, got None \\(null\\)"),
    ("v_th", True, "config field v_th must be a number, got True"),
    ("tau_m", "20 ms", "config field tau_m must be a number"),
    ("dt", [0.002], "config field dt must be a number"),
    ("v_th", 10 ** 400, "config field v_th must be a finite number"),
    ("N", 20.0, "config field N must be an integer, got 20.0"),
    ("P", "3", "config field P must be an integer"),
    ("filter", 2, "config field filter must be a string, got 2"),
    ("neuron", None, "config field neuron must be a string"),
    ("v_th", -1.0, "invalid model: v_th must be a positive finite number"),
    ("readout", "mean", "invalid model: readout must be one of max, per_step"),
])
def test_config_field_of_the_wrong_type_or_value(tmp_path, net, field, value, message):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h["config"].update({field: value}), seal=True)
    with pytest.raises(BrianModesError, match=message):
        load(path)


def test_config_missing_or_unknown_field(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: (h["config"].pop("discretization"), h["config"].update(gain=2.0)),
             seal=True)
    with pytest.raises(BrianModesError, match="config lacks discretization; it has unknown field\\(s\\) gain"):
        load(path)


@pytest.mark.parametrize("config, kind", [([1], "a list"), (None, "null"), ("N=20", "a string")])
def test_config_that_is_not_an_object(tmp_path, net, config, kind):
    path = save(net, tmp_path / "model.npz")
    rewrite_model_file(path, edit_header=lambda h: h.update(config=config), seal=True)
    with pytest.raises(BrianModesError, match=f"config is {kind}, not a JSON object"):
        load(path)


def test_deeply_nested_json_header(tmp_path):
    path = tmp_path / "model.npz"
    _write_members(path, {HEADER_KEY + ".npy": _npy(np.array("[" * 100_000 + "]" * 100_000))})
    with pytest.raises(RecursionError):  # what json does with it
        json.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BrianModesError, match="the header is not valid JSON \\(nested too deeply\\)"):
        load(path)


def test_nested_metadata_over_the_limit(tmp_path, net):
    deep = {"schema": "brianmodes.model", "schema_version": 2, "metadata": [[[]]]}
    for _ in range(80):
        deep["metadata"] = [deep["metadata"]]
    path = tmp_path / "model.npz"
    _write_members(path, {HEADER_KEY + ".npy": _header_text(deep)})
    with pytest.raises(BrianModesError, match="nested 84 levels deep \\(at most 64\\)"):
        load(path)
    for _ in range(80):
        net.metadata = {"x": net.metadata}
    with pytest.raises(BrianModesError, match="nested .* levels deep; at most 64"):
        save(net, tmp_path / "deep.npz")
    assert not (tmp_path / "deep.npz").exists()


def test_header_with_invalid_characters(tmp_path):
    codes = np.array([ord("{"), 0x110000, ord("}")], dtype="<u4")  # 0x110000 is no unicode character
    text = np.frombuffer(codes.tobytes(), dtype="<U3").reshape(())
    path = tmp_path / "model.npz"
    _write_members(path, {HEADER_KEY + ".npy": _npy(text)})
    with pytest.raises(BrianModesError, match="no unicode characters"):
        load(path)


def test_header_that_is_an_array_of_texts(tmp_path):
    path = tmp_path / "model.npz"
    _write_members(path, {HEADER_KEY + ".npy": _npy(np.array(["{}", "{}"]))})
    with pytest.raises(BrianModesError, match="header is an array of shape \\(2,\\)"):
        load(path)


# -- malformed archives and arrays ---------------------------------------------

@pytest.mark.parametrize("shape", [(10 ** 9,), (10 ** 12,), (10 ** 6, 10 ** 6), (2 ** 62, 4)])
def test_npy_header_declaring_a_huge_array(tmp_path, net, shape):
    path = save(net, tmp_path / "model.npz")
    members = _members(path)
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    buffer = bytes_io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    members["W_in.npy"] = buffer.getvalue() + b"\0" * 64
    _write_members(path, members)
    with pytest.raises(BrianModesError, match=r"array 'W_in' declares shape .* bytes\) but holds 64 bytes"):
        load(path)


def test_npy_file_renamed_npz(tmp_path, net):
    path = tmp_path / "model.npz"
    path.write_bytes(_npy(net.params["W_in"]))
    with pytest.raises(BrianModesError, match="is a single .npy array, not an .npz archive \\(was it renamed\\?\\)"):
        load(path)


def test_byte_flip_in_an_npy_header(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    members = _members(path)
    data = bytearray(members["lam.npy"])
    data[10] = ord('"')  # the opening brace of the header dict: numpy's tokenizer gives up
    members["lam.npy"] = bytes(data)
    _write_members(path, members)  # with a CRC that matches, so the npy header parser is reached
    with pytest.raises(tokenize.TokenError):
        np.load(path, allow_pickle=False)["lam"]
    with pytest.raises(BrianModesError, match="array 'lam' is damaged \\(TokenError: \\('EOF in multi-line statement'"):
        load(path)


def test_byte_flip_in_array_data_fails_the_zip_crc(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    data = bytearray(path.read_bytes())
    offset = data.index(b"xi_out.npy") + len("xi_out.npy") + 200
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BrianModesError, match="CRC"):
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
    with pytest.raises(BrianModesError, match="damaged or not an .npz archive"):
        load(garbage)


def test_pickled_object_array_refused(tmp_path):
    path = tmp_path / "evil.npz"
    _write_members(path, {HEADER_KEY + ".npy": _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)})
    with pytest.raises(BrianModesError, match="dtype object; it must hold unicode text"):
        load(path)


@pytest.mark.parametrize("array, dtype_text", [
    (np.array([{"a": 1}], dtype=object), "object"),
    (np.zeros(3, dtype=[("a", "<f8")]), "\\[\\('a', '<f8'\\)\\]"),
    (np.array(["ab"]), "<U2"),
    (np.array([b"ab"]), "\\|S2"),
    (np.zeros(2, dtype="datetime64[s]"), "datetime64\\[s\\]"),
])
def test_array_of_a_non_numeric_dtype_refused(tmp_path, net, array, dtype_text):
    path = save(net, tmp_path / "model.npz")
    members = _members(path)
    members["W_out.npy"] = _npy(array, allow_pickle=True)
    _write_members(path, members)
    with pytest.raises(BrianModesError, match=f"array 'W_out' has dtype {dtype_text}; it must hold plain numbers"):
        load(path)


def test_archive_members_that_are_not_arrays(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    members = _members(path)
    _write_members(path, {**members, "readme.txt": b"hello"})
    with pytest.raises(BrianModesError, match="holds 'readme.txt', which is not an .npy array"):
        load(path)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            zf.writestr("lam.npy", members["lam.npy"])
    with pytest.raises(BrianModesError, match="holds 'lam.npy' twice"):
        load(path)


def test_unsupported_zip_compression_refused(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    members = _members(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(BrianModesError, match="compression method 12; brianmodes reads stored or deflated"):
        load(path)


def test_compressed_npz_loads(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    members = _members(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert_same_network(load(path), net)


def test_model_is_not_a_checkpoint(tmp_path, net):
    path = save(net, tmp_path / "model.npz")
    with pytest.raises(BrianModesError, match="is not a brianmodes.checkpoint file \\(its schema is 'brianmodes.model'\\)"):
        read_npz_checked(path, schema="brianmodes.checkpoint")


# -- saving -----------------------------------------------------------------------

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


def test_object_arrays_are_never_written(tmp_path):
    from brianmodes.io import write_npz_atomic

    with pytest.raises(BrianModesError, match="array 'x' has dtype object; only arrays of plain numbers"):
        write_npz_atomic(tmp_path / "s.npz", {"x": np.array([{}], dtype=object)}, {"schema": "demo"})
    assert list(tmp_path.iterdir()) == []
