"""Sweeps on Dask: run identity, atomic run folders, failures and retries, a killed worker, restarts."""

import csv
import json
import os
import signal
import time
import warnings
from pathlib import Path

import pytest

from brianmodes import BrianModesError, load
from brianmodes.cli import main
from brianmodes.threads import blas_limit
from brianmodes.sweep import (
    RunConfig,
    SweepInterrupted,
    blas_threads,
    configs_from,
    expand_grid,
    load_configs,
    make_local_cluster,
    sweep,
)

distributed = pytest.importorskip("distributed")

#: Short digits runs: about a second each.
TINY = {"task": "digits", "batches": 30, "batch_size": 32, "eval_trials": 100, "task_options": {"n_steps": 20}}
RUN_FILES = {"model.npz", "card.json", "metrics.json", "history.csv", "config.json"}


def grid(**extra):
    return dict(TINY, **extra)


def all_paths(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def check_results_folder(out, run_ids):
    """Every run present exactly once and complete; nothing half-written anywhere."""
    names = sorted(p.name for p in (out / "runs").iterdir())
    assert names == sorted(run_ids)
    for name in names:
        assert {p.name for p in (out / "runs" / name).iterdir()} == RUN_FILES
        load(out / "runs" / name / "model.npz")  # digests verified
    assert not [p for p in all_paths(out) if ".tmp-" in p]
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(row["run_id"] for row in rows) == sorted(run_ids)
    return rows


@pytest.fixture(scope="module")
def threads_client():
    """A one-worker cluster of threads in this process (cheap; lets tests patch the run function)."""
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                       host="127.0.0.1", dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


# -- configurations ---------------------------------------------------------
def test_grid_expands_to_stable_readable_run_ids():
    configs = expand_grid({"task": "mnist", "N": [30, 100], "P": [1, 3], "seeds": [0, 1], "batches": 3000,
                           "data_dir": "somewhere", "brian2": True})
    assert len(configs) == 8
    assert configs[0].run_id == "mnist-N30-P1-modes-seed0-b3000-brian2"
    assert RunConfig("digits", 30, 2).run_id == "digits-N30-P2-modes-seed0-b2000"   # the train default budget
    assert RunConfig("context", 30, 2, lr=3e-3, batch_size=50).run_id == "context-N30-P2-modes-seed0-b1500-bs50-lr0.003"
    # the MNIST folder is not part of a run's identity; asking twice for a run runs it once
    assert RunConfig("mnist", 30, 1, data_dir="a").run_id == RunConfig("mnist", 30, 1, data_dir="b").run_id
    assert len(configs_from([grid(N=30, P=1), grid(N=30, P=[1, 2])])) == 2
    # a round trip through the dict of a run's config.json
    assert RunConfig(**configs[3].to_dict()) == configs[3]


@pytest.mark.parametrize("spec, message", [
    ({"task": "nope", "N": 30, "P": 1}, "task must be one of"),
    ({"task": "digits", "N": 0, "P": 1}, "N must be a positive integer"),
    ({"task": "digits", "N": 30, "P": 1, "speed": 3}, "unknown configuration key"),
    ({"task": "digits", "N": 30}, "needs 'P'"),
    ({"task": "digits", "N": 30, "P": 1, "seed": 0, "seeds": [1]}, "either seed or seeds"),
    ({"task": "mnist", "N": 30, "P": 1}, "needs data_dir"),
    ({"task": "digits", "N": 30, "P": 1, "data_dir": "x"}, "only used by tasks that read files"),
    ({"task": "digits", "N": 30, "P": [], "seed": 0}, "P has no values"),
    ({"task": "digits", "N": 30, "P": 1, "brian2": "yes"}, "brian2 must be true or false"),
    ({"task": "digits", "N": 30, "P": 1, "task_options": {"data_dir": "x"}}, "task_options cannot set"),
])
def test_bad_configurations_are_refused_before_anything_runs(tmp_path, spec, message):
    with pytest.raises(BrianModesError, match=message):
        sweep(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_configuration_files_yaml_and_json(tmp_path):
    (tmp_path / "grid.yaml").write_text("task: digits\nN: [20, 30]\nP: 2\nseeds: [0, 1]\nbatches: 10\n")
    assert len(load_configs(tmp_path / "grid.yaml")) == 4
    (tmp_path / "list.json").write_text(json.dumps([{"task": "digits", "N": 20, "P": 1},
                                                    {"task": "mnist", "N": 20, "P": [1, 3]}]))
    configs = load_configs(tmp_path / "list.json", data_dir=tmp_path)
    assert [c.data_dir for c in configs] == [None, str(tmp_path), str(tmp_path)]
    (tmp_path / "bad.yaml").write_text("task: [digits\n")
    with pytest.raises(BrianModesError, match="cannot read configurations"):
        load_configs(tmp_path / "bad.yaml")
    with pytest.raises(BrianModesError, match="no such configuration file"):
        load_configs(tmp_path / "missing.json")
    with pytest.raises(BrianModesError, match="entry 2"):
        load_configs(tmp_path / "list.json")   # the mnist entry has no data_dir


def test_retries_must_be_a_count(tmp_path):
    with pytest.raises(BrianModesError, match="retries"):
        sweep(grid(N=20, P=1), tmp_path, retries=-1)


# -- the main test: a worker killed mid-sweep --------------------------------
def kill_the_first_worker_that_writes_a_run(marker):
    """A function for ``client.run``: in each worker, the first run to write its folder, once
    another run has finished, writes its model into its temporary folder and SIGKILLs its own
    worker process. Only one worker in the cluster does so (``marker`` is created atomically),
    so the kill happens at a known point, whatever the timing."""
    def install():
        import brianmodes.sweep.run as sweep_module  # where a run writes its folder
        from brianmodes import save

        write_run_folder = sweep_module._write_run_folder

        def write_then_die(folder, cfg, run):
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:   # another worker was the one
                return write_run_folder(folder, cfg, run)
            runs = Path(folder).parent
            deadline = time.monotonic() + 300
            while not [p for p in runs.iterdir() if not p.name.startswith(".")] and time.monotonic() < deadline:
                time.sleep(0.05)   # wait until another run has finished
            save(run.net, Path(folder) / "model.npz")
            finished = len([p for p in runs.iterdir() if not p.name.startswith(".")])
            os.write(fd, json.dumps({"pid": os.getpid(), "temporary": Path(folder).name, "run": cfg.run_id,
                                     "finished": finished}).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)

        sweep_module._write_run_folder = write_then_die
    return install


@pytest.mark.slow
def test_sweep_survives_a_killed_worker_and_a_rerun_does_no_new_work(tmp_path):
    out = tmp_path / "sweep"
    configs = expand_grid(grid(N=[30, 40], P=[1, 2], seeds=[0, 1]))
    run_ids = [c.run_id for c in configs]
    assert len(run_ids) == 8
    cluster = make_local_cluster(2)   # what `brianmodes sweep` makes: 2 processes on loopback
    client = distributed.Client(cluster)
    marker = tmp_path / "killed.json"
    try:
        assert set(client.run(blas_threads).values()) == {1}   # one BLAS thread per worker
        pids = client.run(os.getpid)
        client.run(kill_the_first_worker_that_writes_a_run(str(marker)))
        result = sweep(configs, out, client=client, progress=False)
    finally:
        client.close()
        cluster.close()
    killed = json.loads(marker.read_text())
    assert killed["pid"] in pids.values()                       # one of the original workers died
    assert killed["temporary"].startswith(".tmp-" + killed["run"])   # in the middle of writing its run
    assert 1 <= killed["finished"] < 8
    assert result.n_submitted == 8 and result.n_failed == 0
    rows = check_results_folder(out, run_ids)
    assert {row["status"] for row in rows} == {"done"} and {row["blas_threads"] for row in rows} == {"1"}
    assert all(0 <= float(row["accuracy"]) <= 1 for row in rows)
    assert (out / "accuracy_vs_P.png").stat().st_size > 0

    before = {p: (out / "runs" / p).stat().st_mtime_ns for p in all_paths(out / "runs")}
    again = sweep(configs, out, progress=False)           # no cluster is even started
    assert (again.n_submitted, again.n_skipped, again.n_failed) == (0, 8, 0)
    assert not any(row["ran"] for row in again.rows)
    assert {p: (out / "runs" / p).stat().st_mtime_ns for p in all_paths(out / "runs")} == before
    assert [r["accuracy"] for r in again.rows] == [r["accuracy"] for r in result.rows]


# -- failures, retries, interruption ----------------------------------------
def test_a_failing_run_is_recorded_and_does_not_stop_the_others(tmp_path, threads_client):
    out = tmp_path / "sweep"
    configs = [grid(N=20, P=[1, 2]),
               {"task": "mnist", "N": 20, "P": 1, "batches": 5, "data_dir": str(tmp_path / "no-mnist-here")}]
    result = sweep(configs, out, client=threads_client, retries=2, progress=False)
    assert result.n_failed == 1 and len(result) == 3
    failed = [row for row in result.rows if row["status"] == "failed"]
    assert failed[0]["run_id"] == "mnist-N20-P1-modes-seed0-b5" and failed[0]["attempts"] == 3
    assert "no-mnist-here" in failed[0]["error"]
    attempts = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [a["attempt"] for a in attempts] == [1, 2, 3] and "BrianModesError" in attempts[0]["error"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        row["run_id"] for row in result.rows if row["status"] == "done")
    with open(out / "results.csv") as f:
        table = {row["run_id"]: row for row in csv.DictReader(f)}
    assert table["mnist-N20-P1-modes-seed0-b5"]["status"] == "failed"
    assert "no-mnist-here" in table["mnist-N20-P1-modes-seed0-b5"]["error"]


def test_a_run_that_fails_once_succeeds_on_retry(tmp_path, threads_client, monkeypatch):
    import brianmodes.sweep.run as sweep_module  # where a run trains

    calls = []
    real = sweep_module._train_and_evaluate

    def flaky(cfg, out):
        calls.append(cfg.run_id)
        if len(calls) == 1:
            raise RuntimeError("node lost its disk")
        return real(cfg, out)

    monkeypatch.setattr(sweep_module, "_train_and_evaluate", flaky)
    out = tmp_path / "sweep"
    result = sweep(grid(N=20, P=1), out, client=threads_client, retries=1, progress=False)
    assert result.n_failed == 0 and result.rows[0]["attempts"] == 2 and len(calls) == 2
    assert "node lost its disk" in (out / "failures.jsonl").read_text()
    check_results_folder(out, [result.rows[0]["run_id"]])
    no_retry = sweep(grid(N=20, P=2), tmp_path / "other", client=threads_client, retries=0, progress=False)
    assert no_retry.n_failed == 0   # the flaky function fails only its first call


def test_interrupted_sweep_keeps_finished_runs_and_continues(tmp_path, threads_client):
    out = tmp_path / "sweep"
    configs = grid(N=20, P=[1, 2, 3])

    def stop(row):
        raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as info:
        sweep(configs, out, client=threads_client, progress=False, callback=stop)
    assert [row["status"] for row in info.value.result.rows].count("done") >= 1
    time.sleep(1.5)   # the run that was in flight on the worker thread ends (a cancelled task is not killed)
    result = sweep(configs, out, client=threads_client, progress=False)
    assert result.n_skipped >= 1 and result.n_failed == 0
    check_results_folder(out, [row["run_id"] for row in result.rows])


def test_a_half_written_folder_is_cleaned_and_a_busy_folder_refused(tmp_path, threads_client):
    from brianmodes.sweep.folders import _sweep_lock

    out = tmp_path / "sweep"
    (out / "runs" / ".tmp-digits-N20-P1-whatever-1234abcd").mkdir(parents=True)
    (out / "runs" / ".tmp-digits-N20-P1-whatever-1234abcd" / "model.npz").write_text("half")
    result = sweep(grid(N=20, P=1), out, client=threads_client, progress=False)
    check_results_folder(out, [result.rows[0]["run_id"]])
    with _sweep_lock(out.resolve()), pytest.raises(BrianModesError, match="another sweep is running"):
        sweep(grid(N=20, P=1), out, client=threads_client, progress=False)


def test_scheduler_address_and_worker_count_cannot_mix(tmp_path, threads_client):
    with pytest.raises(BrianModesError, match="n_workers"):
        sweep(grid(N=20, P=1), tmp_path, scheduler="tcp://127.0.0.1:8786", n_workers=2)
    result = sweep(grid(N=20, P=1), tmp_path / "sweep", scheduler=threads_client.scheduler.address,
                   progress=False)
    assert result.rows[0]["status"] == "done"


# -- command line -------------------------------------------------------------
@pytest.mark.slow
def test_cli_sweep_from_file_and_flags(tmp_path, capsys):
    (tmp_path / "sweep.json").write_text(json.dumps(grid(N=20, P=1)))
    out = tmp_path / "sweep"
    args = ["sweep", str(tmp_path / "sweep.json"), "--task", "digits", "--N", "20", "--P", "2", "--batches", "30",
            "--batch-size", "32", "--steps", "20", "--eval-trials", "100", "--workers", "1", "--out", str(out),
            "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2 runs: 2 done (0 already before, 2 trained now), 0 failed" in printed
    assert "results.csv" in printed
    assert main(args) == 0
    assert "2 runs: 2 done (2 already before, 0 trained now)" in capsys.readouterr().out
    check_results_folder(out, ["digits-N20-P1-modes-seed0-b30-bs32-T20-e100", "digits-N20-P2-modes-seed0-b30-bs32-T20-e100"])


@pytest.mark.parametrize("args, message", [
    (["sweep"], "give a configuration file or a grid"),
    (["sweep", "--task", "mnist", "--N", "30"], "needs data_dir"),
    (["sweep", "missing.yaml"], "no such configuration file"),
    (["sweep", "--task", "digits", "--N", "0"], "expected a positive integer"),
])
def test_cli_sweep_errors_are_one_line(args, message, capsys):
    try:
        code = main(args)
    except SystemExit as stop:   # argparse's usage errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


# -- Brian2: one compiled program per structure --------------------------------
@pytest.mark.slow
@pytest.mark.compiled
def test_runs_with_the_same_structure_share_one_compiled_program(tmp_path):
    out = tmp_path / "sweep"
    configs = grid(N=20, P=2, seeds=[0, 1], brian2=True, batches=20)
    result = sweep(configs, out, n_workers=2, progress=False)
    assert result.n_failed == 0
    programs = sorted(row["brian2_program"] for row in result.rows)
    assert programs == ["compiled", "reused"]            # one compilation for the two runs
    builds = [p for p in (out / "brian2-builds").iterdir() if p.is_dir()]
    assert len(builds) == 1
    assert not list((builds[0] / "static_arrays").glob("init_*"))   # run_args files removed
    assert not list(builds[0].glob("results-*"))
    for row in result.rows:   # the Brian2 simulation reproduces the numpy engine's decisions
        assert abs(row["brian2_accuracy"] - row["accuracy"]) <= 0.02
        assert row["brian2_n_trials"] == row["n_trials"] == 100


def test_a_rerun_resumes_from_the_checkpoint_of_a_lost_attempt(tmp_path, threads_client):
    import numpy as np

    from brianmodes.train.trainer import Trainer

    config = RunConfig(**grid(N=20, P=2))
    out = tmp_path / "sweep"
    # what a killed attempt leaves behind: a checkpoint at batch 20 of 30, written, as the sweep's
    # runs are, with one BLAS thread (bit-exactness depends on the thread count)
    task = config.make_task()
    net = task.make_network(N=20, P=2, seed=0)
    with blas_limit(1):
        Trainer(n_batches=20, batch_size=32, seed=0, progress=False, checkpoint_every=10,
                checkpoint=out / "checkpoints" / f"{config.run_id}.npz").fit(net, task)
    with warnings.catch_warnings(record=True) as caught:   # the worker is a thread of this process
        warnings.simplefilter("always")
        resumed = sweep(config.to_dict(), out, client=threads_client, progress=False)
    assert not [w for w in caught if "bit-identical" in str(w.message)]   # same conditions as the attempt
    assert resumed.rows[0]["resumed_from_batch"] == 20
    assert not (out / "checkpoints" / f"{config.run_id}.npz").exists()   # removed once the run is published
    straight = sweep(config.to_dict(), tmp_path / "straight", client=threads_client, progress=False)
    assert straight.rows[0]["resumed_from_batch"] == 0
    a, b = (load(Path(r.rows[0]["path"]) / "model.npz") for r in (resumed, straight))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
