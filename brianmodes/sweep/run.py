"""One run of a sweep, executed on a worker: train, evaluate, validate in Brian2, publish the run folder."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path


from ..errors import BrianModesError
from ..threads import blas_limit, blas_threads
from .configs import RunConfig
from .folders import BUILDS, CHECKPOINTS, RUNS, TMP_PREFIX, _publish, _write_text, is_finished
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
            net, metrics, history = _train_and_evaluate(cfg, out)
        _write_run_folder(tmp, cfg, net, metrics, history)
        published = _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if published:
        with contextlib.suppress(FileNotFoundError):
            (out / CHECKPOINTS / f"{cfg.run_id}.npz").unlink()
    return _row_from_folder(final, cfg, ran=published)


def _train_and_evaluate(cfg, out):
    from ..train.trainer import Trainer

    t_start = time.perf_counter()
    task = cfg.make_task()
    net = task.make_network(N=cfg.N, P=cfg.P, seed=cfg.seed, parametrization=cfg.parametrization)
    checkpoint = out / CHECKPOINTS / f"{cfg.run_id}.npz"
    resumed_from = _checkpoint_step(checkpoint)
    trainer = Trainer(n_batches=cfg.batches, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                      checkpoint=checkpoint, checkpoint_every=100, progress=False)
    t0 = time.perf_counter()
    trainer.fit(net, task, resume=True)
    train_seconds = time.perf_counter() - t0
    metrics = task.evaluate(net, n_trials=cfg.eval_trials)
    if cfg.brian2:
        brian2 = validate_brian2(net, task, out / BUILDS, n_trials=cfg.brian2_trials or cfg.eval_trials)
        metrics.update({f"brian2_{key}": value for key, value in brian2.items()})
    metrics.update(train_seconds=round(train_seconds, 3), seconds=round(time.perf_counter() - t_start, 3),
                   resumed_from_batch=resumed_from, blas_threads=blas_threads(), host=socket.gethostname(),
                   pid=os.getpid(), worker=_worker_address(),
                   date=datetime.datetime.now().isoformat(timespec="seconds"))
    net.metadata.update(task=task.config(), trainer=trainer.settings(), batches=cfg.batches,
                        train_seconds=round(train_seconds, 2), command=cfg.train_command(),
                        sweep_run=cfg.run_id, date=metrics["date"], brianmodes=_version(),
                        metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    return net, metrics, trainer.history_


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


def _version():
    from .. import __version__

    return __version__


def model_card(cfg, net, metrics):
    """A model card (JSON-serializable dict) for a network trained by a sweep run."""
    from ..tasks import TASKS

    data = TASKS[cfg.task].data_description
    task = {k: v for k, v in net.metadata["task"].items() if k != "data_dir"}
    return {
        "name": cfg.run_id,
        "description": f"{cfg.task} task, N={net.N} {net.neuron} neurons, P={net.P} modes, "
                       f"{net.parametrization} parametrization, "
                       + (f"{net.discretization} discretization" if net.discretization else f"model {net.model.name}"),
        "config": net.config(),
        "neuron_model": net.model.to_dict(),
        "task": task,
        "data": data,
        "training_command": cfg.train_command(),
        "sweep_config": {k: v for k, v in cfg.to_dict().items() if k != "data_dir"},
        "trainer": net.metadata.get("trainer"),
        "batches": cfg.batches,
        "train_seconds": metrics["train_seconds"],
        "trained": metrics["date"],
        "metrics_held_out": {k: v for k, v in metrics.items() if not k.startswith("brian2_")
                             and k in ("accuracy", "mse", "decision_accuracy", "n_trials", "rate_hz")},
        "metrics_brian2": {k[len("brian2_"):]: v for k, v in metrics.items() if k.startswith("brian2_")} or None,
        "evaluate_command": "brianmodes evaluate model.npz" + (" --data-dir DIR" if cfg.data_dir is not None else ""),
        "brianmodes": _version(),
    }


def _write_run_folder(folder, cfg, net, metrics, history):
    from ..io import save
    from ..train.trainer import write_history_csv

    save(net, folder / "model.npz")
    write_history_csv(folder / "history.csv", history)
    _write_text(folder / "config.json", json.dumps(cfg.to_dict(), indent=2))
    _write_text(folder / "card.json", json.dumps(model_card(cfg, net, metrics), indent=2))
    _write_text(folder / "metrics.json", json.dumps({"run_id": cfg.run_id, **metrics}, indent=2))  # last
