"""The results folder of a sweep: its layout, run folders written atomically, and the locks."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path


from ..errors import BrianModesError

#: Under a sweep\'s results folder OUT: the run folders, temporary names, checkpoints, Brian2 builds, the table
#: and the failures.
RUNS = "runs"
TMP_PREFIX = ".tmp-"
CHECKPOINTS = "checkpoints"
BUILDS = "brian2-builds"
TABLE = "results.csv"
FAILURES = "failures.jsonl"


def is_finished(folder):
    """Whether ``folder`` is a finished run (it holds ``metrics.json``)."""
    return (Path(folder) / "metrics.json").is_file()


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


def _write_atomic(path, text):
    """Replace ``path`` by ``text`` atomically (temporary file + rename)."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    _write_text(tmp, text)
    os.replace(tmp, path)


def _publish(tmp, final):
    """Rename the complete folder into place; False if another attempt published first."""
    if final.exists() and not is_finished(final):  # not a run of ours (no metrics.json): set it aside
        os.rename(final, final.with_name(f"{TMP_PREFIX}{final.name}-unfinished-{uuid.uuid4().hex[:8]}"))
    try:
        os.rename(tmp, final)
    except OSError:
        if not is_finished(final):
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    with contextlib.suppress(OSError):  # make the rename durable
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return True


@contextlib.contextmanager
def _sweep_lock(out):
    import fcntl

    with open(out / ".sweep.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BrianModesError(f"another sweep is running in {out}; wait for it or use another "
                                  "results folder") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def remove_temporary(out):
    """Remove half-written run folders (``OUT/runs/.tmp-*``) and files left by killed or interrupted runs.

    Returns the number removed. Called by :func:`sweep` before and after its
    runs, while it holds the results folder's lock.
    """
    count = 0
    for path in (Path(out) / RUNS).glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
        count += 1
    for path in [*Path(out).glob(f"{TMP_PREFIX}*"), *(Path(out) / CHECKPOINTS).glob("*.tmp")]:
        path.unlink(missing_ok=True)  # table files being replaced; checkpoints being written
    return count
