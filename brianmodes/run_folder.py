"""Run folders: where a training run writes, checked before anything is created, never lost.

A run folder holds :data:`RUN_FILES`. Before training into one, the command
line checks that it can be a folder at all (:func:`check_output_folder`) and
that training would not replace a finished or unfinished run the user did not
ask to replace (:func:`refuse_to_lose_work`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import BrianModesError

#: Files a training run writes into its folder.
RUN_FILES = ("model.npz", "checkpoint.npz", "history.csv", "card.json", "metrics.json")


def check_output_folder(out, option="--out"):
    """Refuse an output folder that cannot be one: a file, under a file, or not writable.

    Nothing is created; the nearest existing folder above ``out`` must be writable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BrianModesError(f"{option} {out} is a file, not a folder; give a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise BrianModesError(f"{option} {out} lies under {existing}, which is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BrianModesError(f"{option} {out}: {existing} is not writable; choose another folder")
    return out


def check_output_file(path, option):
    """Refuse a file to write whose folder is missing, a file, or not writable (before any work)."""
    path = Path(path)
    if path.is_dir():
        raise BrianModesError(f"{option} {path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise BrianModesError(f"{option} {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BrianModesError(f"{option} {path}: the folder {folder} is not writable")
    return path


def refuse_to_lose_work(out, resume=False, overwrite=False):
    """Refuse to train into ``out`` if it holds a run, unless ``resume`` or ``overwrite`` says what to do.

    Raises
    ------
    BrianModesError
        If ``out`` holds a finished model or a checkpoint and neither is given,
        if both are given, or if ``resume`` is asked of a finished model that
        has no checkpoint to resume from.
    """
    out = Path(out)
    if resume and overwrite:
        raise BrianModesError("--resume continues the run in --out and --overwrite starts it afresh; give one")
    held = [name for name in RUN_FILES if (out / name).exists()]
    if not held or overwrite:
        return
    if resume:
        if not (out / "checkpoint.npz").exists() and (out / "model.npz").exists():
            raise BrianModesError(f"{out} holds a finished model but no checkpoint to resume from; "
                                  "give --overwrite to train it afresh, or another --out")
        return
    what = "a finished model" if (out / "model.npz").exists() else "an unfinished run"
    raise BrianModesError(f"{out} already holds {what} ({', '.join(held)}); continue it with --resume, "
                          "replace it with --overwrite, or give another --out")


def remove_stale_temporaries(out):
    """Delete temporary files that a killed run left while writing one of its :data:`RUN_FILES`."""
    for name in RUN_FILES:
        for stale in Path(out).glob(f"{name}.*.tmp"):
            stale.unlink()


@contextlib.contextmanager
def file_lock(path, shared=False):
    """An advisory lock on ``path`` between processes (``fcntl.flock``): shared or exclusive.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.lock")
    >>> with file_lock(path, shared=True), file_lock(path, shared=True):
    ...     pass
    """
    import fcntl

    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
