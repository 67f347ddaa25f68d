"""Every bad input to the command line: exit 2, exactly one stderr line ``brianmodes: error: ...``,
no traceback, and every existing file (a finished run folder among them) byte-identical afterwards.

Most cases run in this process through ``main()`` (fast); the ones where Brian2 or the
interpreter's shutdown could print more run the real console script in a subprocess.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brianmodes import ModeNetwork, save
from brianmodes.cli import main


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A folder with a finished run, models, a plain file, bad array files and a read-only folder."""
    root = tmp_path_factory.mktemp("world")
    run = root / "run"
    assert main(["train", "digits", "--N", "20", "--P", "1", "--batches", "4", "--batch-size", "8",
                 "--steps", "10", "--out", str(run), "--quiet", "--checkpoint-every", "2"]) == 0
    unfinished = root / "unfinished"
    unfinished.mkdir()
    shutil.copy(run / "checkpoint.npz", unfinished / "checkpoint.npz")
    (root / "file.txt").write_text("not a folder\n")
    (root / "not-a-model.npz").write_text("plain text, not a zip\n")
    truncated = root / "truncated.npz"
    truncated.write_bytes((run / "model.npz").read_bytes()[:-300])
    np.savez(root / "bad-shapes.npz", W_in=np.zeros((5, 2)), W_out=np.zeros((1, 5)), xi_in=np.zeros((5, 1)),
             lam=np.zeros(1), xi_out=np.zeros((4, 1)))
    np.savez(root / "no-W_out.npz", W_in=np.zeros((5, 2)), W=np.zeros((5, 5)))
    save(ModeNetwork(N=10, P=1, N_in=784, N_out=10, seed=0,
                     metadata={"task": {"name": "mnist", "data_dir": str(root / "gone" / "mnist"), "n_steps": 50}}),
         root / "mnist-moved.npz")
    save(ModeNetwork(N=10, P=1, N_in=64, N_out=10, neuron="tanh", seed=0,
                     metadata={"task": {"name": "digits"}}), root / "tanh.npz")
    save(ModeNetwork(N=10, P=1, N_in=64, N_out=10, seed=0), root / "no-task.npz")
    readonly = root / "readonly"
    readonly.mkdir()
    read_only_folder(readonly)
    yield root
    subprocess.run(["chattr", "-i", str(readonly)], capture_output=True)
    readonly.chmod(0o755)


def read_only_folder(path):
    """Make ``path`` unwritable, even for root (chattr +i) where permissions alone do not stop it."""
    path.chmod(0o555)
    if os.access(path, os.W_OK) and shutil.which("chattr"):
        subprocess.run(["chattr", "+i", str(path)], capture_output=True)


def snapshot(root):
    return {p.relative_to(root): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


# name, arguments ({root} is the world folder), part of the message
CASES = [
    ("no command", [], "required"),
    ("unknown command", ["fly"], "invalid choice"),
    ("unknown task", ["train", "cifar"], "invalid choice"),
    ("zero modes", ["train", "digits", "--P", "0"], "--P: expected a positive integer"),
    ("fractional budget", ["train", "digits", "--batches", "1.5"], "--batches: expected a positive integer"),
    ("negative learning rate", ["train", "digits", "--lr", "-1"], "--lr: expected a positive number"),
    ("seed not a number", ["train", "digits", "--seed", "abc"], "invalid int value"),
    ("threshold not a number", ["train", "digits", "--v-th", "abc"], "invalid float value"),
    ("zero time constant", ["train", "digits", "--tau-m", "0ms"], "tau_m must be a finite positive time"),
    ("negative time written with a space", ["train", "digits", "--tau-s", "-10ms"],
     "tau_s must be a finite positive time"),
    ("time without a unit we know", ["train", "digits", "--dt", "fast"], "--dt: expected a time such as 2ms"),
    ("refractory period not whole steps", ["train", "digits", "--t-ref", "3ms"], "whole number of time steps"),
    ("checkpoint interval zero", ["train", "digits", "--checkpoint-every", "0"], "expected a positive integer"),
    ("mnist folder missing", ["train", "mnist", "--data-dir", "{root}/nonexistent/mnist"], "nonexistent"),
    ("mnist without a folder", ["train", "mnist"], "needs data_dir"),
    ("data folder for another task", ["train", "digits", "--data-dir", "{root}"], "only used by tasks that read files"),
    ("switches for another task", ["train", "digits", "--switch-prob", "0.2"], "--switch-prob is only used by tasks that take switch_prob (not digits)"),
    ("out is a file", ["train", "digits", "--out", "{root}/file.txt"], "is a file, not a folder"),
    ("out under a file", ["train", "digits", "--out", "{root}/file.txt/run"], "which is a file"),
    ("out not writable", ["train", "digits", "--out", "{root}/readonly/run"], "is not writable"),
    ("out holds a finished model", ["train", "digits", "--out", "{root}/run"], "already holds a finished model"),
    ("out holds an unfinished run", ["train", "digits", "--out", "{root}/unfinished"],
     "already holds an unfinished run"),
    ("resume and overwrite", ["train", "digits", "--out", "{root}/run", "--resume", "--overwrite"], "give one"),
    ("model file missing", ["evaluate", "{root}/nonexistent/model.npz"], "no such file"),
    ("model file truncated", ["evaluate", "{root}/truncated.npz"], "damaged"),
    ("model file not a zip", ["info", "{root}/not-a-model.npz"], "damaged"),
    ("model without a task", ["evaluate", "{root}/no-task.npz"], "does not say which task"),
    ("mnist folder of a model moved", ["evaluate", "{root}/mnist-moved.npz"], "--data-dir"),
    ("zero trials", ["evaluate", "{root}/run/model.npz", "--trials", "0"], "expected a positive integer"),
    ("info of a missing file", ["info", "{root}/nonexistent.npz"], "no such file"),
    ("import of a missing file", ["import", "{root}/nonexistent.npz", "--out", "{root}/x.npz"], "no such file"),
    ("import of arrays of wrong shapes", ["import", "{root}/bad-shapes.npz", "--out", "{root}/x.npz"],
     "xi_out must have shape (5, 1)"),
    ("import without a readout", ["import", "{root}/no-W_out.npz", "--out", "{root}/x.npz"], "no array 'W_out'"),
    ("simulate at a zero time step", ["simulate", "{root}/run/model.npz", "--dt", "0ms"],
     "--dt: expected a positive time"),
    ("simulate at a time step that does not divide", ["simulate", "{root}/run/model.npz", "--dt", "0.3ms",
                                                      "--device", "runtime", "--target", "numpy"], "whole number"),
    ("figure into a missing folder", ["simulate", "{root}/run/model.npz", "--device", "runtime", "--target", "numpy",
                                      "--plot", "{root}/missing/raster.png"], "does not exist"),
    ("results into a folder", ["simulate", "{root}/run/model.npz", "--device", "runtime", "--target", "numpy", "--results", "{root}"],
     "is a folder"),
    ("a rate network in Brian2", ["simulate", "{root}/tanh.npz", "--device", "runtime", "--target", "numpy"], "only spiking"),
    ("sweep without a grid", ["sweep", "--out", "{root}/sweep"], "give a configuration file or a grid"),
    ("reproduce at an unknown scale", ["reproduce", "--scale", "huge"], "invalid choice"),
]


def expand(args, root):
    return [a.replace("{root}", str(root)) for a in args]


def run_main(args):
    try:
        return main(args)
    except SystemExit as stop:   # argparse exits itself
        return stop.code


def test_there_are_at_least_25_classes_of_bad_input():
    assert len(CASES) + len(NO_COMPILER_CASES) >= 25


@pytest.mark.parametrize("name, args, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(world, tmp_path, monkeypatch, capsys, name, args,
                                                          message):
    if "readonly" in " ".join(args) and os.access(world / "readonly", os.W_OK):
        pytest.skip("cannot make a folder read-only here (root without chattr)")
    monkeypatch.chdir(tmp_path)   # nothing may appear in the current folder either
    before = snapshot(world)
    code = run_main(expand(args, world))
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("brianmodes: error: ") and message in lines[0], lines[0]
    assert snapshot(world) == before
    assert list(tmp_path.iterdir()) == []


def without_compiler_env(tmp_path):
    """An environment whose PATH has Python's folder only: no gcc, g++ or make (and a fresh Cython cache)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX", "LDSHARED")}
    env.update(PATH=str(Path(sys.executable).parent), HOME=str(tmp_path), CYTHON_CACHE_DIR=str(tmp_path / "cython"))
    return env


NO_COMPILER_CASES = [
    ("simulate with cython", ["simulate", "{root}/run/model.npz", "--device", "runtime", "--target", "cython"]),
    ("simulate with C++ standalone", ["simulate", "{root}/run/model.npz", "--device", "cpp_standalone"]),
    ("evaluate in Brian2 with cython", ["evaluate", "{root}/run/model.npz", "--backend", "brian2",
                                        "--device", "runtime", "--target", "cython"]),
    ("evaluate in Brian2 with C++ standalone", ["evaluate", "{root}/run/model.npz", "--backend", "brian2"]),
]


@pytest.mark.slow   # fresh interpreters that import Brian2: seconds each
@pytest.mark.parametrize("name, args", NO_COMPILER_CASES, ids=[c[0] for c in NO_COMPILER_CASES])
def test_no_compiler_is_one_line_naming_what_works(world, tmp_path, name, args):
    before = snapshot(world)
    proc = subprocess.run([sys.executable, "-m", "brianmodes.cli", *expand(args, world)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=without_compiler_env(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("brianmodes: error: ") and "needs a C++ compiler" in lines[0]
    assert "--device runtime --target numpy" in lines[0]
    assert snapshot(world) == before


@pytest.mark.slow   # fresh interpreters that import Brian2: seconds each
def test_without_a_compiler_engine_compiled_is_one_line_and_auto_warns_once(tmp_path):
    env = dict(without_compiler_env(tmp_path), BRIANMODES_CACHE=str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    args = [sys.executable, "-m", "brianmodes.cli", "train", "digits", "--N", "20", "--batches", "2", "--quiet"]
    proc = subprocess.run(args + ["--engine", "compiled"], capture_output=True, text=True, timeout=300, cwd=work,
                          env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("brianmodes: error: ") and "compiled" in lines[0], proc.stderr
    assert list(work.iterdir()) == []   # refused before any folder was made
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "compiled engine is not available" in line]
    assert len(warned) == 1 and warned[0].startswith("brianmodes: warning: "), proc.stderr
    assert (work / "runs" / "digits-N20-P3-seed0-batches2" / "model.npz").exists()


@pytest.mark.slow   # fresh interpreters that import Brian2: seconds each
@pytest.mark.parametrize("args, message", [
    (["train", "digits", "--tau-s", "-10ms"], "tau_s must be a finite positive time"),
    (["train", "cifar"], "invalid choice"),
    (["simulate", "{root}/tanh.npz", "--device", "runtime", "--target", "numpy"], "only spiking"),
    (["evaluate", "{root}/truncated.npz"], "damaged"),
])
def test_the_console_script_prints_one_line_too(world, tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "brianmodes.cli", *expand(args, world)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("brianmodes: error: ") and message in lines[0], proc.stderr
    assert list(tmp_path.iterdir()) == []
