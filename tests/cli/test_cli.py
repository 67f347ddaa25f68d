"""The command line: each command end to end, and one-line errors with exit code 2."""

import json

import numpy as np
import pytest

from brianmodes import ModeNetwork, load, save
from brianmodes.cli import main
from helpers import run_cli





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
    assert "dv/dt = (I - v) / tau_m : 1 (unless refractory)" in text and "threshold: v > v_th" in text
    assert main(["info", str(trained / "model.npz"), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["model"] == load(trained / "model.npz").model.to_dict()


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
    published = tmp_path / "published.npz"
    assert main(["import", str(arrays), "--out", str(published), "--readout", "per_step", "--discretization",
                 "published", "--refractory-timing", "float32"]) == 0
    capsys.readouterr()
    assert load(published).model.refractory_timing == "float32"
    np.testing.assert_array_equal(net.lam, [0.5, -0.2])
    assert main(["evaluate", str(out), "--trials", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_trials"] == 20


@pytest.mark.slow   # a fresh interpreter that imports Brian2: seconds
def test_cli_subprocess_train_and_evaluate(tmp_path):
    code, out, err = run_cli("train", "context", "--N", "20", "--P", "1", "--batches", "2", "--batch-size", "4",
                             "--steps", "300", "--out", tmp_path, "--quiet")
    assert code == 0, err
    assert "trained 2 batches" in out
    code, out, err = run_cli("evaluate", tmp_path / "model.npz", "--trials", "10")
    assert code == 0 and "decision_accuracy" in out


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
    assert code == 2 and "needs xi_in, lam and xi_out" in err and len(err.strip().splitlines()) == 1


def test_evaluate_with_brian2_backend(trained, capsys):
    assert main(["evaluate", str(trained / "model.npz"), "--backend", "brian2", "--device", "runtime", "--target", "numpy",
                 "--trials", "40", "--json"]) == 0
    brian = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(trained / "model.npz"), "--trials", "40", "--json", "--dtype", "float64"]) == 0
    engine = json.loads(capsys.readouterr().out)
    assert brian["accuracy"] == engine["accuracy"] and brian["rate_hz"] == pytest.approx(engine["rate_hz"])


def test_simulate_writes_figure_and_results(trained, tmp_path, capsys):
    plot, results_file = tmp_path / "raster.png", tmp_path / "results" / "simulation.json"
    results_file.parent.mkdir()
    assert main(["simulate", str(trained / "model.npz"), "--trials", "3", "--device", "runtime", "--target", "numpy",
                 "--dt", "1ms", "--plot", str(plot), "--results", str(results_file)]) == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raster.png", "results"]   # nothing unasked
    assert f"results written to {results_file}" in capsys.readouterr().out
    results = json.loads(results_file.read_text())
    assert results["trials"] == 3 and results["dt_ms"] == 1.0 and len(results["outputs"]) == 3
    assert results["mean_rate_hz"] > 0


@pytest.mark.slow   # a fresh interpreter that imports Brian2: seconds
def test_simulate_writes_only_what_is_asked(trained, tmp_path):
    code, out, err = run_cli("simulate", trained / "model.npz", "--trials", "2", "--device", "runtime", "--target", "numpy",
                             "--plot", "raster.png", cwd=tmp_path)
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["raster.png"] and "figure written to raster.png" in out


def test_resumed_run_reports_totals_and_keeps_history_columns(tmp_path, capsys):
    args = ["train", "digits", "--N", "20", "--P", "1", "--batch-size", "8", "--steps", "10", "--quiet",
            "--eval-every", "5", "--eval-trials", "20", "--checkpoint-every", "5", "--out", str(tmp_path / "run")]
    assert main(args + ["--batches", "10"]) == 0
    first_header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0]
    assert first_header.startswith("batch,loss,task_loss,grad_norm,rate_hz,seconds,test_")
    capsys.readouterr()
    assert main(args + ["--batches", "15", "--resume"]) == 0
    assert "trained 15 batches (5 in this run, resumed from batch 10)" in capsys.readouterr().out
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert rows[0] == first_header and len(rows) == 16
    seconds = [float(row.split(",")[5]) for row in rows[1:]]
    assert seconds == sorted(seconds)                     # time keeps counting across the resume
    net = load(tmp_path / "run" / "model.npz")
    assert net.metadata["batches"] == 15 and net.metadata["train_seconds"] == pytest.approx(seconds[-1], abs=0.01)


def test_default_run_folders_tell_runs_apart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["train", "digits", "--N", "20", "--P", "1", "--batches", "2", "--batch-size", "4", "--steps", "5",
            "--quiet"]
    for extra in ([], ["--parametrization", "full"], ["--neuron", "tanh"]):
        assert main(base + extra) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "digits-N20-P1-seed0-batches2-bs4-T5", "digits-N20-P1-seed0-full-batches2-bs4-T5",
        "digits-N20-P1-seed0-tanh-batches2-bs4-T5"]


def test_overwrite_replaces_a_finished_run(tmp_path, capsys):
    args = ["train", "digits", "--N", "20", "--P", "1", "--batch-size", "8", "--steps", "10", "--quiet",
            "--out", str(tmp_path)]
    assert main(args + ["--batches", "3"]) == 0
    assert main(args + ["--batches", "4"]) == 2
    assert load(tmp_path / "model.npz").metadata["batches"] == 3
    assert main(args + ["--batches", "4", "--overwrite"]) == 0
    assert load(tmp_path / "model.npz").metadata["batches"] == 4


def test_a_relative_mnist_folder_is_found_from_anywhere(tmp_path, monkeypatch, capsys):
    from helpers import make_mnist

    make_mnist(tmp_path / "data" / "mnist", n_train=40, n_test=10)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "mnist", "--data-dir", "data/mnist", "--N", "10", "--P", "1", "--batches", "2",
                 "--batch-size", "4", "--steps", "5", "--quiet", "--out", "run"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "model.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_trials"] == 10
