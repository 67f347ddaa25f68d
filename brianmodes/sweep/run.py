"""One run of a sweep, executed on a worker: train, evaluate, validate in Brian2, publish the run folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import uuid
from pathlib import Path


from ..errors import BrianModesError
from ..threads import blas_limit, blas_threads
from .configs import RunConfig
from ..recipe import write_run_folder
from .folders import BUILDS, CHECKPOINTS, RUNS, TMP_PREFIX, _publish, is_finished
from .table import _row_from_folder
from .validation import validate_brian2

def run_one(config, out, blas_threads=1):
    """Train, evaluate and (optionally) validate one run; publish its folder atomically.

    This is the Dask task of a sweep; it is a plain function, usable alone.

    Parameters
    ----------
    config : dict or RunConfig
    out : path
        The sweep's results folder.
    blas_threads : int or None
        Threads numpy's BLAS may use during the run (``None``: leave as is).

    Returns
    -------
    dict
        The run's row of the results table.

    Examples
    --------
    >>> import tempfile
    >>> row = run_one({"task": "digits", "N": 20, "P": 2, "batches": 3, "eval_trials": 50,
    ...                "task_options": {"n_steps": 10}}, tempfile.mkdtemp())
    >>> row["status"], sorted(p.name for p in Path(row["path"]).iterdir())
    ('done', ['card.json', 'config.json', 'history.csv', 'metrics.json', 'model.npz'])
    """
    cfg = config if isinstance(config, RunConfig) else RunConfig(**config)
    out = Path(out)
    final = out / RUNS / cfg.run_id
    if is_finished(final):  # finished meanwhile (e.g. by a duplicate of this task)
        return _row_from_folder(final, cfg, ran=False)
    tmp = out / RUNS / f"{TMP_PREFIX}{cfg.run_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        with blas_limit(blas_threads):
            run = _train_and_evaluate(cfg, out)
        _write_run_folder(tmp, cfg, run)
        published = _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if published:
        with contextlib.suppress(FileNotFoundError):
            (out / CHECKPOINTS / f"{cfg.run_id}.npz").unlink()
    return _row_from_folder(final, cfg, ran=published)


def _train_and_evaluate(cfg, out):
    from ..recipe import train_and_evaluate
    from ..train.trainer import Trainer

    t_start = time.perf_counter()
    task = cfg.make_task()
    net = task.make_network(N=cfg.N, P=cfg.P, seed=cfg.seed, parametrization=cfg.parametrization)
    checkpoint = out / CHECKPOINTS / f"{cfg.run_id}.npz"
    resumed_from = _checkpoint_step(checkpoint)
    trainer = Trainer(n_batches=cfg.batches, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                      checkpoint=checkpoint, checkpoint_every=100, progress=False)
    def validate(net, task):
        return validate_brian2(net, task, out / BUILDS, n_trials=cfg.brian2_trials or cfg.eval_trials)

    run = train_and_evaluate(net, task, trainer, command=cfg.train_command(), resume=True,
                             eval_trials=cfg.eval_trials, runner="auto", validate=validate if cfg.brian2 else None,
                             sweep_run=cfg.run_id)
    run.metrics.update(train_seconds=round(run.train_seconds, 3), seconds=round(time.perf_counter() - t_start, 3),
                       resumed_from_batch=resumed_from, blas_threads=blas_threads(), host=socket.gethostname(),
                       pid=os.getpid(), worker=_worker_address(), date=net.metadata["date"])
    return run


def _checkpoint_step(path):
    if not path.exists():
        return 0
    from ..io import read_npz_checked

    try:
        step = read_npz_checked(path, schema="brianmodes.checkpoint")[0].get("step")
        if isinstance(step, int) and not isinstance(step, bool):
            return step
        raise BrianModesError(f"checkpoint {path} has no step")
    except BrianModesError:  # damaged: start again
        path.unlink()
        return 0


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def _write_run_folder(folder, cfg, run):
    """A sweep run's folder: :func:`~brianmodes.recipe.write_run_folder` with its configuration beside it."""
    write_run_folder(folder, run, name=cfg.run_id, metrics_record={"run_id": cfg.run_id, **run.metrics},
                     extra_json={"config.json": cfg.to_dict()},
                     card_extra={"sweep_config": {k: v for k, v in cfg.to_dict().items() if k != "data_dir"}})
