"""Sweeps over N, P, seeds (and more) on Dask distributed, from a laptop to a cluster.

A sweep is a list of run configurations (or a grid that expands to one). Every
run trains a network, evaluates it on its task's held-out trials and, if asked,
validates it in Brian2; it runs as one Dask task on a ``LocalCluster`` (one
worker per core, one BLAS thread each) or on an existing cluster
(``scheduler="tcp://host:port"``).

Results are data. Under the results folder ``OUT``::

    OUT/runs/RUN_ID/      model.npz, card.json, metrics.json, history.csv, config.json
    OUT/results.csv       one row per run of the sweep (tidy: config columns, metrics, status)
    OUT/accuracy_vs_P.png accuracy against P, one line per N (classification tasks)
    OUT/failures.jsonl    one line per failed attempt (run id, attempt, error, traceback)
    OUT/sweep.json        the configurations of the last invocation
    OUT/checkpoints/      training checkpoints of unfinished runs (a retried run resumes)
    OUT/brian2-builds/    compiled C++ standalone programs, one per network structure

A run writes into ``OUT/runs/.tmp-RUN_ID-<random suffix>`` and renames it to
``OUT/runs/RUN_ID`` only when everything is written, so a run folder is
either complete or absent; a finished run is one whose folder holds
``metrics.json``. Running the same sweep again skips finished runs; a failing
run is recorded and retried without stopping the others; a killed worker's
run is rescheduled by Dask and resumes from its last training checkpoint.

Examples
--------
>>> configs = expand_grid({"task": "mnist", "N": [30, 100], "P": [1, 3], "seed": 0, "batches": 3000,
...                        "data_dir": "data/mnist"})
>>> [c.run_id for c in configs][:2]
['mnist-N30-P1-modes-seed0-b3000', 'mnist-N30-P3-modes-seed0-b3000']
>>> table = sweep(configs, "runs/sweep-mnist", n_workers=2)             # doctest: +SKIP

The package by job: :mod:`~brianmodes.sweep.configs` (what to run),
:mod:`~brianmodes.sweep.folders` (the results folder, atomic run folders, locks),
:mod:`~brianmodes.sweep.run` (one run on a worker), :mod:`~brianmodes.sweep.validation`
(Brian2, one compiled program per network structure), :mod:`~brianmodes.sweep.driver`
(Dask) and :mod:`~brianmodes.sweep.table` (the results table); its figure is
:func:`brianmodes.plot.plot_sweep`.
"""

from ..threads import blas_threads  # noqa: F401 - a worker's BLAS threads (used with sweeps)
from .configs import CONFIG_KEYS, RunConfig, configs_from, expand_grid, load_configs
from .driver import THREAD_VARIABLES, SweepInterrupted, make_local_cluster, sweep
from ..brian.standalone import structure_key
from ..run_folder import file_lock
from .folders import BUILDS, CHECKPOINTS, FAILURES, RUNS, TABLE, TMP_PREFIX, is_finished
from .folders import remove_temporary
from .run import run_one
from .table import SweepResult, accuracy_table, write_table
from .validation import validate_brian2

__all__ = ["RunConfig", "CONFIG_KEYS", "expand_grid", "load_configs", "configs_from", "sweep", "SweepResult",
           "SweepInterrupted", "make_local_cluster", "run_one", "validate_brian2", "structure_key",
           "write_table", "accuracy_table", "is_finished", "file_lock", "remove_temporary", "THREAD_VARIABLES",
           "RUNS", "TMP_PREFIX", "CHECKPOINTS", "BUILDS", "TABLE", "FAILURES"]
