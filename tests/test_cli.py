"""The command line: each command end to end, and one-line errors with exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from brianmodes import ModeNetwork, load, save
from brianmodes.cli import main


def run_cli(*args):
    """Run the real console script in a subprocess (exit code and streams as a user sees them)."""
    proc = subprocess.run([sys.executable, "-m", "brianmodes.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "digits", "--N", "30", "--P", "2", "--batches", "30", "--batch-size", "16",
                 "--steps", "20", "--out", str(out), "--quiet", "--checkpoint-every", "10"])
    assert code == 0
    return out


def test_train_writes_model_history_metrics(trained):
    assert {p.name for p in trained.iterdir()} >= {"model.npz", "history.csv", "metrics.json", "checkpoint.npz"}
    net = load(trained / "model.npz")
    assert (net.N, net.P, net.N_in) == (30, 2, 64)
    assert net.metadata["task"]["name"] == "digits" and net.metadata["batches"] == 30
    assert net.metadata["command"].startswith("brianmodes train digits --N 30")
    metrics = json.loads((trained / "metrics.json").read_text())
    assert 0 <= metrics["accuracy"] <= 1
    assert len((trained / "history.csv").read_text().splitlines()) == 31


def test_resume_continues(trained, tmp_path):
    code = main(["train", "digits", "--N", "30", "--P", "2", "--batches", "40", "--batch-size", "16",
                 "--steps", "20", "--out", str(trained), "--quiet", "--resume"])
    assert code == 0
    assert load(trained / "model.npz").metadata["batches"] == 40


def test_evaluate_and_info(trained, capsys):
    assert main(["evaluate", str(trained / "model.npz"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_trials"] == 360 and "accuracy" in metrics
    assert main(["info", str(trained / "model.npz")]) == 0
    text = capsys.readouterr().out
    assert "ModeNetwork(N=30" in text and "recurrent parameters" in text


def test_import_round_trip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    arrays = tmp_path / "weights.npz"
    np.savez(arrays, W_in=rng.normal(size=(20, 4)), W_out=rng.normal(size=(1, 20)),
             xi_in=rng.normal(size=(20, 2)), **{"lambda": np.array([0.5, -0.2])},
             xi_out=rng.normal(size=(20, 2)))
    out = tmp_path / "model.npz"
    assert main(["import", str(arrays), "--out", str(out), "--readout", "per_step", "--filter",
                 "double-ema", "--task", "context", "--dt", "1ms", "--t-ref", "2ms"]) == 0
    capsys.readouterr()
    net = load(out)
    assert (net.N, net.P, net.dt, net.filter) == (20, 2, 0.001, "double-ema")
    np.testing.assert_array_equal(net.lam, [0.5, -0.2])
    assert main(["evaluate", str(out), "--trials", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_trials"] == 20


def test_cli_subprocess_train_and_evaluate(tmp_path):
    code, out, err = run_cli("train", "context", "--N", "20", "--P", "1", "--batches", "2", "--batch-size", "4",
                             "--steps", "300", "--out", tmp_path, "--quiet")
    assert code == 0, err
    assert "trained 2 batches" in out
    code, out, err = run_cli("evaluate", tmp_path / "model.npz", "--trials", "10")
    assert code == 0 and "decision_accuracy" in out


@pytest.mark.parametrize("args, message", [
    (["train", "digits", "--P", "0"], "--P: expected a positive integer"),
    (["train", "digits", "--lr", "-1"], "--lr: expected a positive number"),
    (["train", "cifar"], "invalid choice"),
    (["train", "digits", "--tau-m", "0ms"], "tau_m must be a finite positive time"),
    (["train", "digits", "--dt", "fast"], "cannot read"),
    (["train", "mnist", "--data-dir", "/nonexistent/mnist"], "nonexistent"),
    (["train", "mnist"], "needs data_dir"),
    (["evaluate", "/nonexistent/model.npz"], "no such file"),
    (["info", "/nonexistent/model.npz"], "no such file"),
    (["import", "/nonexistent/arrays.npz", "--out", "x.npz"], "no such file"),
    ([], "required"),
])
def test_bad_arguments_one_line_exit_2(args, message):
    code, out, err = run_cli(*args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("brianmodes") and message in lines[0], lines[0]
    assert "Traceback" not in err


def test_damaged_model_file_one_line(tmp_path):
    path = save(ModeNetwork(N=10, P=1, N_in=64, N_out=10, metadata={"task": {"name": "digits"}}),
                tmp_path / "m.npz")
    data = path.read_bytes()
    path.write_bytes(data[:-200])
    code, out, err = run_cli("evaluate", path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "damaged" in err


def test_import_bad_arrays_one_line(tmp_path):
    arrays = tmp_path / "w.npz"
    np.savez(arrays, W_in=np.zeros((5, 2)), W_out=np.zeros((1, 5)), xi_in=np.zeros((5, 1)),
             lam=np.zeros(1), xi_out=np.zeros((4, 1)))
    code, out, err = run_cli("import", arrays, "--out", tmp_path / "m.npz")
    assert code == 2 and "xi_out must have shape (5, 1)" in err and len(err.strip().splitlines()) == 1
    np.savez(arrays, W_in=np.zeros((5, 2)), W_out=np.zeros((1, 5)), weights=np.zeros(3))
    code, out, err = run_cli("import", arrays, "--out", tmp_path / "m.npz")
    assert code == 2 and "unexpected arrays weights" in err


def test_evaluate_with_brian2_backend(trained, capsys):
    assert main(["evaluate", str(trained / "model.npz"), "--backend", "brian2", "--device", "numpy",
                 "--trials", "40", "--json"]) == 0
    brian = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(trained / "model.npz"), "--trials", "40", "--json", "--dtype", "float64"]) == 0
    engine = json.loads(capsys.readouterr().out)
    assert brian["accuracy"] == engine["accuracy"] and brian["rate_hz"] == pytest.approx(engine["rate_hz"])


def test_simulate_writes_figure_and_results(trained, tmp_path):
    plot = tmp_path / "raster.png"
    assert main(["simulate", str(trained / "model.npz"), "--trials", "3", "--device", "numpy",
                 "--dt", "1ms", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    results = json.loads(plot.with_suffix(".json").read_text())
    assert results["trials"] == 3 and results["dt_ms"] == 1.0 and len(results["outputs"]) == 3
    assert results["mean_rate_hz"] > 0


def test_simulate_bad_dt_one_line(trained):
    code, out, err = run_cli("simulate", trained / "model.npz", "--dt", "0.3ms", "--device", "numpy")
    assert code == 2 and "whole number" in err and len(err.strip().splitlines()) == 1
