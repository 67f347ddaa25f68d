"""The sweep's driver: runs on Dask distributed (a local cluster or a scheduler), retries, the summary."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import time
import traceback
import uuid
from pathlib import Path


from ..checks import integer
from ..errors import BrianModesError
from .configs import configs_from
from .folders import FAILURES, RUNS, _sweep_lock, _write_atomic, is_finished, remove_temporary
from .run import run_one
from .table import _failed_row, _finish

#: Environment variables that set the threads of numpy's BLAS/OpenMP in a worker.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; ``result`` holds the table of what had finished."""

    def __init__(self, result):
        super().__init__("sweep interrupted")
        self.result = result


def sweep(configs, out, scheduler=None, n_workers=None, retries=1, progress=True, client=None,
          data_dir=None, blas_threads=1, callback=None):
    """Run a sweep of configurations on Dask; returns the results table.

    Parameters
    ----------
    configs : dict, RunConfig, list of them, or path
        A grid (see :func:`expand_grid`), configurations, or a YAML/JSON file.
    out : path
        Results folder (created; on a cluster, a folder every worker sees at
        the same path).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Default: a
        ``LocalCluster`` on this machine (see :func:`make_local_cluster`).
    n_workers : int, optional
        Workers of the local cluster (default: one per core).
    retries : int
        Further attempts for a run that fails (its error is recorded each time).
    progress : bool
        Progress bar (runs done / total, ETA) and one line per finished run.
    client : distributed.Client, optional
        Use this client instead of making one.
    data_dir : path, optional
        MNIST folder for mnist runs that name none.
    blas_threads : int
        BLAS/OpenMP threads per run (1: workers do not oversubscribe cores).
    callback : callable, optional
        Called with each finished or failed row, as it arrives.

    Returns
    -------
    SweepResult

    Raises
    ------
    BrianModesError
        Bad configurations, a busy results folder, no Dask, an unreachable scheduler.
    SweepInterrupted
        On Ctrl-C, after writing the table of the runs that finished.

    Notes
    -----
    The local cluster starts its workers as new Python processes that import
    the main module: a script that calls ``sweep`` needs the
    ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> result = sweep({"task": "digits", "N": [30, 50], "P": [1, 3], "seeds": [0, 1], "batches": 200},
    ...                "runs/sweep-digits", n_workers=2)                      # doctest: +SKIP
    >>> result.to_pandas().groupby(["N", "P"]).accuracy.mean()              # doctest: +SKIP
    """
    runs = configs_from(configs, data_dir=data_dir)
    integer(retries, "retries", 0)
    if scheduler is not None and (n_workers is not None or client is not None):
        raise BrianModesError("n_workers (and client) apply to a local cluster; with a scheduler address, "
                              "the cluster's workers are used")
    if n_workers is not None:
        integer(n_workers, "n_workers", 1)
    integer(blas_threads, "blas_threads", 1)
    t0 = time.perf_counter()
    out = Path(out).resolve()
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    with _sweep_lock(out):
        remove_temporary(out)
        _write_atomic(out / "sweep.json", json.dumps({
            "written": datetime.datetime.now().isoformat(timespec="seconds"),
            "configs": [run.to_dict() for run in runs]}, indent=2))
        todo = [run for run in runs if not is_finished(out / RUNS / run.run_id)]
        outcome = _Outcome()
        interrupted = False
        if todo:
            try:
                with _connect(client, scheduler, n_workers, blas_threads) as dask_client:
                    _run_all(dask_client, todo, runs, out, retries, blas_threads, progress, callback, outcome)
            except KeyboardInterrupt:
                interrupted = True
        remove_temporary(out)
        result = _finish(out, runs, outcome, len(todo), len(runs) - len(todo), time.perf_counter() - t0)
    if interrupted:
        raise SweepInterrupted(result)
    return result


class _Outcome:
    """What the driver learnt in this invocation: rows by run id and errors of failed runs."""

    def __init__(self):
        self.rows, self.failed, self.attempts = {}, {}, {}


def make_local_cluster(n_workers=None, blas_threads=1, host="127.0.0.1", **kwargs):
    """A Dask ``LocalCluster`` for sweeps: one process per worker, one thread each, 1 BLAS thread.

    Parameters
    ----------
    n_workers : int, optional
        Default: the cores this process may use.
    blas_threads : int
        Set as ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``
        in the workers' environment before they start.
    host : str
        Loopback by default: nothing listens on the network.
    **kwargs
        Passed to ``distributed.LocalCluster`` (e.g. ``dashboard_address=":8787"``).

    Examples
    --------
    >>> from distributed import Client                                       # doctest: +SKIP
    >>> client = Client(make_local_cluster(2))                               # doctest: +SKIP
    """
    distributed = _import_distributed()
    import dask

    n_workers = n_workers or len(os.sched_getaffinity(0))
    env = {name: str(blas_threads) for name in THREAD_VARIABLES}
    kwargs.setdefault("dashboard_address", ":0")  # any free port (the default 8787 may be taken)
    # BLAS reads these when numpy loads, so they must be in the environment a worker is spawned
    # with. Dask's nanny takes them from its "pre-spawn-environ" setting, where variables already
    # set in this process (say, OPENBLAS_NUM_THREADS=2) win: set both while the nannies start.
    pre_spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **env}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn}), _environment(env):
        return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host=host,
                                        env=env, **kwargs)


@contextlib.contextmanager
def _environment(variables):
    """Set environment variables inside the block; restore them afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise BrianModesError("sweeps run on Dask: pip install 'brianmodes[distributed]'") from None
    return distributed


@contextlib.contextmanager
def _connect(client, scheduler, n_workers, blas_threads):
    if client is not None:
        yield client
        return
    distributed = _import_distributed()
    if scheduler is not None:
        try:
            dask_client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise BrianModesError(f"cannot connect to the Dask scheduler at {scheduler} "
                                  f"({type(err).__name__}: {err})") from None
        try:
            yield dask_client
        finally:
            dask_client.close()
        return
    cluster = make_local_cluster(n_workers, blas_threads)
    dask_client = distributed.Client(cluster)
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


def _brian2_plugin():
    """A worker plugin that imports Brian2 in the worker's main thread.

    Importing Brian2 installs a SIGINT handler, which Python allows only in
    the main thread; Dask runs tasks in other threads.
    """
    from distributed import WorkerPlugin

    class ImportBrian2(WorkerPlugin):
        name = "brianmodes-import-brian2"

        def setup(self, worker):
            with contextlib.suppress(ValueError):  # not the main thread: the task will say so
                import brian2  # noqa: F401

    return ImportBrian2()


def _run_all(client, todo, runs, out, retries, blas_threads, progress, callback, outcome):
    from distributed import as_completed
    from tqdm.auto import tqdm

    if any(run.brian2 for run in todo):
        import brian2  # noqa: F401  (here, in the main thread, for clusters of threads in this process)

        client.register_plugin(_brian2_plugin())

    def submit(run, attempt):
        outcome.attempts[run.run_id] = attempt
        future = client.submit(run_one, run.to_dict(), str(out), blas_threads, pure=False,
                               key=f"brianmodes-{run.run_id}-attempt{attempt}-{uuid.uuid4().hex[:6]}")
        pending[future] = (run, attempt)
        return future

    pending = {}
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="sweep", unit="run", smoothing=0,
               disable=not progress)
    completed = as_completed([submit(run, 1) for run in todo])
    try:
        for future in completed:
            run, attempt = pending.pop(future)
            if future.status == "finished":
                row = future.result()
                row["attempts"] = attempt
                outcome.rows[run.run_id] = row
                _report(bar, progress, row, callback)
                continue
            error = future.exception() if future.status == "error" else RuntimeError(f"task {future.status}")
            _record_failure(out, run, attempt, error, future.traceback() if future.status == "error" else None)
            if attempt <= retries:
                completed.add(submit(run, attempt + 1))
                if progress:
                    bar.write(f"retrying {run.run_id} (attempt {attempt + 1} of {retries + 1}): {_one_line(error)}")
                continue
            outcome.failed[run.run_id] = _one_line(error)
            _report(bar, progress, _failed_row(run, _one_line(error), attempt), callback)
    finally:
        bar.close()
        if pending:  # interrupted: what is still queued is not wanted (a running task may finish)
            with contextlib.suppress(Exception):
                client.cancel(list(pending))


def _report(bar, progress, row, callback):
    bar.update(1)
    if progress:
        bar.write(_summary_line(row))
    if callback is not None:
        callback(row)


def _summary_line(row):
    if row["status"] != "done":
        return f"failed {row['run_id']} after {row['attempts']} attempt(s): {row['error']}"
    parts = [f"done   {row['run_id']}"]
    for key in ("accuracy", "decision_accuracy", "brian2_accuracy", "brian2_decision_accuracy"):
        if isinstance(row.get(key), float):
            parts.append(f"{key} {100 * row[key]:.2f} %")
    if isinstance(row.get("seconds"), float):
        parts.append(f"{row['seconds']:.0f} s")
    return ", ".join(parts)


def _one_line(error):
    text = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    return " ".join(text.split())


def _record_failure(out, run, attempt, error, tb):
    entry = {"run_id": run.run_id, "attempt": attempt, "error": _one_line(error),
             "traceback": "".join(traceback.format_tb(tb))[-4000:] if tb is not None else None,
             "time": datetime.datetime.now().isoformat(timespec="seconds")}
    with open(out / FAILURES, "a") as f:
        f.write(json.dumps(entry) + "\n")
