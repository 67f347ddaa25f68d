"""The authors' checkpoints and plain arrays as networks: their names, their dynamics, nothing silent."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from brianmodes import BrianModesError, load, simulate
from brianmodes.bridges import network_from_arrays, read_checkpoint, read_pth
from brianmodes.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _quiet_read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = read_checkpoint(path, **kwargs)
    return net, [str(w.message) for w in caught]


def test_an_authors_context_checkpoint_gets_the_authors_dynamics():
    net, notes = _quiet_read(FIXTURES / "H_20_P_3_1.pth", task="context")
    arrays = read_pth(FIXTURES / "H_20_P_3_1.pth")
    assert (net.discretization, net.refractory_timing, net.filter, net.readout) == \
        ("published", "float32", "double-ema", "per_step")
    for ours, theirs in (("W_in", "Win"), ("W_out", "Wout"), ("xi_in", "pin"), ("xi_out", "pout"), ("lam", "l")):
        np.testing.assert_array_equal(net.params[ours], arrays[theirs].astype(np.float64))
    assert net.metadata["task"] == {"name": "context"} and notes == []
    # the single-filter variants named in SPEC 5
    single, _ = _quiet_read(FIXTURES / "H_100_P_3.pth", task="context")
    assert single.filter == "single"


def test_an_mnist_checkpoint_and_a_per_neuron_scale():
    net, _ = _quiet_read(FIXTURES / "H_12_P_2_0.pth", task="mnist", data_dir="somewhere")
    assert (net.N, net.P, net.N_in, net.N_out, net.readout, net.filter) == (12, 2, 784, 10, "max", "double")
    assert net.discretization == "published" and net.refractory_timing == "steps"
    assert net.metadata["task"]["data_dir"].endswith("somewhere")
    folded, notes = _quiet_read(FIXTURES / "H_20_P_3_4.pth", task="context")
    arrays = read_pth(FIXTURES / "H_20_P_3_4.pth")
    W = (arrays["l"] * arrays["pin"]) @ arrays["pout"].T   # the authors' matmul(l * pin, pout.T)
    np.testing.assert_allclose(folded.W, W, rtol=1e-5, atol=1e-7)   # W in float32 there
    np.testing.assert_array_equal(folded.lam, np.ones(3))
    assert any("folded into xi_in" in note for note in notes)


def test_what_cannot_run_is_refused_clearly(tmp_path):
    with pytest.raises(BrianModesError, match="learnable per-neuron tau_d .* never published"):
        read_checkpoint(FIXTURES / "H_300_P_2_0.pth", task="context")
    rate = tmp_path / "H_100_P_3_rate.pth"
    rate.write_bytes((FIXTURES / "H_20_P_3_1.pth").read_bytes())
    with pytest.raises(BrianModesError, match="rate networks"):
        read_checkpoint(rate, task="context")
    with pytest.raises(BrianModesError, match="the same weight"):
        network_from_arrays({"Win": np.zeros((3, 2)), "W_in": np.zeros((3, 2)), "Wout": np.zeros((1, 3))})


def test_extra_arrays_and_assumptions_are_said():
    rng = np.random.default_rng(0)
    arrays = {"W_in": rng.normal(size=(10, 2)), "W_out": rng.normal(size=(1, 10)), "xi_in": rng.normal(size=(10, 1)),
              "lam": np.ones(1), "xi_out": rng.normal(size=(10, 1)), "epoch": np.array(3)}
    net, notes = network_from_arrays(arrays)
    assert net.discretization == "brian2"
    assert notes[0] == "ignored array epoch (not a weight of the network)"
    assert any("no discretization given" in n for n in notes) and any("no task given" in n for n in notes)
    net, notes = network_from_arrays(arrays, task="context", discretization="published")
    assert (net.filter, net.readout, net.refractory_timing) == ("double-ema", "per_step", "steps") and len(notes) == 1


def test_cli_imports_a_checkpoint_that_evaluate_then_runs(tmp_path, capsys):
    out = tmp_path / "ctx.npz"
    assert main(["import", str(FIXTURES / "H_20_P_3_1.pth"), "--task", "context", "--out", str(out)]) == 0
    net = load(out)
    assert net.discretization == "published" and net.refractory_timing == "float32"
    assert main(["evaluate", str(out), "--trials", "8", "--json"]) == 0
    assert '"n_trials": 8' in capsys.readouterr().out
    assert main(["import", str(FIXTURES / "H_20_P_3_1.pth"), "--task", "context", "--out", str(out)]) == 2
    assert "exists; give another name or --overwrite" in capsys.readouterr().err
    assert main(["import", str(FIXTURES / "H_20_P_3_1.pth"), "--task", "context", "--out", str(out),
                 "--overwrite", "--discretization", "brian2"]) == 0
    assert load(out).discretization == "brian2"   # what is given wins


def test_the_imported_network_runs_the_authors_update_literally():
    """The float32 clock network equals a literal float32 transcription of SPEC 1.1 + 1.4 spike for spike."""
    net, _ = _quiet_read(FIXTURES / "H_20_P_3_1.pth", task="context")
    arrays = {k: v.astype(np.float32) for k, v in read_pth(FIXTURES / "H_20_P_3_1.pth").items()}
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(300, 4, 4)) * 2 + 1).astype(np.float32)
    ours = simulate(net, x, record=("s",), dtype=np.float32).spikes
    theirs = _authors_update(arrays, x)
    assert ours.sum() > 50 and int((ours != theirs).sum()) == 0


def _authors_update(a, x, dt=2e-3, t_ref=10e-3):
    """SPEC 1.1 (context double filter) with the float32 refractory clock of SPEC 1.4, in float32."""
    f = np.float32
    a_s, a_m, a_d, a_r = (f(np.exp(-dt / tau)) for tau in (10e-3, 20e-3, 30e-3, 2e-3))
    W = (a["pin"] * a["l"]) @ a["pout"].T
    T, B, _ = x.shape
    N = W.shape[0]
    I, v, h, r, s = (np.zeros((B, N), f) for _ in range(5))
    t_last = np.full((B, N), -1, f)
    spikes = np.zeros((T, B, N), bool)
    for i in range(T):
        I = a_s * I + x[i] @ a["Win"].T + r @ W.T
        notref = (f(dt * i) > t_last + f(t_ref)).astype(f)
        v = notref * (a_m * v + (1 - a_m) * I) * (1 - s)
        h = a_r * h + s
        r = a_d * r + (1 - a_d) * h
        s = (v > 1).astype(f)
        t_last = t_last + (f(dt * i) - t_last) * s
        spikes[i] = s > 0
    return spikes
