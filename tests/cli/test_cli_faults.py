"""Training never loses work: killed (SIGKILL) at random moments and resumed, interrupted
(Ctrl-C), or stopped by a full disk, the user keeps a checkpoint, and a resumed run ends
bit-identical to an uninterrupted one."""

import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from brianmodes import BrianModesError, load
from brianmodes.cli import main
from brianmodes.io import read_npz_checked
from brianmodes.tasks.images import Digits
from brianmodes.train.trainer import CHECKPOINT_SCHEMA

SMALL_RUN = ["train", "digits", "--N", "30", "--P", "2", "--batch-size", "16", "--steps", "20", "--quiet"]


def train_command(out, *extra, batches=60, every=5):
    return [sys.executable, "-m", "brianmodes.cli", *SMALL_RUN, "--batches", str(batches),
            "--checkpoint-every", str(every), "--out", str(out), *extra]


def checkpoint_step(path):
    """The batch of the checkpoint at ``path``, or None while there is none."""
    try:
        return read_npz_checked(path, schema=CHECKPOINT_SCHEMA)[0]["step"]
    except BrianModesError:   # not there yet
        return None


def assert_same_network(a, b):
    assert a.config() == b.config()
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def kill_when_checkpoint_reaches(proc, checkpoint, step, delay, timeout=240):
    """SIGKILL ``proc`` ``delay`` seconds after its checkpoint reaches batch ``step``."""
    deadline = time.monotonic() + timeout
    last_mtime = None
    while proc.poll() is None and time.monotonic() < deadline:
        mtime = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
        if mtime != last_mtime:
            last_mtime = mtime
            reached = checkpoint_step(checkpoint)
            if reached is not None and reached >= step:
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.003)
    return proc.wait(timeout=timeout)


@pytest.mark.slow
def test_killed_five_times_and_resumed_equals_an_uninterrupted_run(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(train_command(straight), check=True, capture_output=True, timeout=300, cwd=tmp_path)
    rng = np.random.default_rng(2024)
    # five moments: four while training (just after a checkpoint, or in the middle of the next
    # batches or checkpoint writes), one after the last batch (evaluating or writing the model)
    steps = sorted(rng.choice(np.arange(5, 55, 5), size=4, replace=False).tolist()) + [60]
    delays = rng.uniform(0.0, 0.08, size=5)
    codes = []
    for i, (step, delay) in enumerate(zip(steps, delays)):
        extra = ("--resume",) if i else ()
        proc = subprocess.Popen(train_command(killed, *extra), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=tmp_path)
        codes.append(kill_when_checkpoint_reaches(proc, killed / "checkpoint.npz", step, delay))
    assert codes.count(-signal.SIGKILL) >= 4, codes          # the training-time kills all landed
    done = subprocess.run(train_command(killed, "--resume"), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_same_network(load(killed / "model.npz"), load(straight / "model.npz"))
    assert load(killed / "model.npz").metadata["batches"] == 60
    assert not list(killed.glob("*.tmp"))                      # no half-written file is left behind

    before = snapshot(killed)
    again = subprocess.run(train_command(killed), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [again.stderr.strip()]
    assert again.stderr.startswith("brianmodes: error: ") and "--resume" in again.stderr
    assert snapshot(killed) == before


def test_ctrl_c_writes_a_checkpoint_at_the_interruption(tmp_path, monkeypatch, capsys):
    """The first Ctrl-C ends the current batch, writes a checkpoint there and exits 130;
    ``--resume`` then ends exactly where an uninterrupted run does."""
    args = SMALL_RUN + ["--batches", "20", "--checkpoint-every", "100"]   # no periodic checkpoint before 20
    main(args + ["--out", str(tmp_path / "straight")])
    sample, calls = Digits.sample, []

    def sample_then_press_ctrl_c(self, *a, **k):
        calls.append(1)
        if len(calls) == 7:
            os.kill(os.getpid(), signal.SIGINT)
        return sample(self, *a, **k)

    monkeypatch.setattr(Digits, "sample", sample_then_press_ctrl_c)
    capsys.readouterr()
    assert main(args + ["--out", str(tmp_path / "interrupted")]) == 130
    err = capsys.readouterr().err
    assert "interrupted after batch 7" in err and "--resume" in err
    assert checkpoint_step(tmp_path / "interrupted" / "checkpoint.npz") == 7
    assert not (tmp_path / "interrupted" / "model.npz").exists()
    monkeypatch.setattr(Digits, "sample", sample)
    assert main(args + ["--out", str(tmp_path / "interrupted"), "--resume"]) == 0
    assert "trained 20 batches (13 in this run, resumed from batch 7)" in capsys.readouterr().out
    assert_same_network(load(tmp_path / "interrupted" / "model.npz"), load(tmp_path / "straight" / "model.npz"))


def limit_file_size(n_bytes):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))
    return preexec


@pytest.mark.slow
def test_a_full_disk_while_checkpointing_is_one_line_and_keeps_the_previous_checkpoint(tmp_path):
    sizes = {}
    for batches in (5, 10):
        out = tmp_path / f"probe{batches}"
        subprocess.run(train_command(out, batches=batches), check=True, capture_output=True, timeout=300,
                       cwd=tmp_path)
        sizes[batches] = (out / "checkpoint.npz").stat().st_size
    assert sizes[10] > sizes[5] + 300                       # the history makes each checkpoint larger
    out = tmp_path / "full"
    proc = subprocess.run(train_command(out, batches=10), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, preexec_fn=limit_file_size((sizes[5] + sizes[10]) // 2))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("brianmodes: error: cannot write the checkpoint"), proc.stderr
    assert "at batch 10" in lines[0] and "the previous checkpoint is kept" in lines[0]
    assert checkpoint_step(out / "checkpoint.npz") == 5
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz"]
    resumed = subprocess.run(train_command(out, "--resume", batches=10), capture_output=True, text=True,
                             timeout=300, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_network(load(out / "model.npz"), load(tmp_path / "probe10" / "model.npz"))
