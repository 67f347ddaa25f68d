"""The results table of a sweep: one tidy row per run (configuration, metrics, status)."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import uuid
from pathlib import Path

import numpy as np

from .folders import RUNS, TABLE, TMP_PREFIX, is_finished

_FIRST_COLUMNS = ("run_id", "status", "task", "N", "P", "parametrization", "seed", "batches", "batch_size", "lr",
                  "brian2", "eval_trials", "brian2_trials", "task_options")
_LAST_COLUMNS = ("ran", "attempts", "error", "path")


@dataclasses.dataclass
class SweepResult:
    """The table of a sweep (one row per run) and what this invocation did.

    Attributes
    ----------
    rows : list of dict
        One row per run, in the order of the configurations: ``run_id``,
        ``status`` ('done' or 'failed'), the configuration, the metrics
        (Brian2's prefixed ``brian2_``), ``ran`` (trained by this invocation),
        ``attempts``, ``error`` and ``path``.
    table : Path
        The CSV file of ``rows``.
    figures : list of Path
    n_submitted, n_skipped, n_failed : int
        Runs submitted to Dask, runs already finished before, runs that
        failed after all their attempts.
    seconds : float
    """

    rows: list
    table: Path
    figures: list
    n_submitted: int
    n_skipped: int
    n_failed: int
    seconds: float

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def to_pandas(self):
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas

        return pandas.DataFrame(self.rows)

    def __repr__(self):
        done = sum(r["status"] == "done" for r in self.rows)
        return (f"SweepResult({len(self.rows)} runs: {done} done ({self.n_skipped} already before), "
                f"{self.n_failed} failed; table {self.table})")


def _config_columns(run):
    columns = {k: v for k, v in run.to_dict().items() if k != "data_dir"}
    columns["task_options"] = json.dumps(run.task_options, sort_keys=True) if run.task_options else ""
    return columns


def _row_from_folder(folder, run, ran):
    metrics = json.loads((Path(folder) / "metrics.json").read_text())
    metrics.pop("run_id", None)
    return {"run_id": run.run_id, "status": "done", **_config_columns(run), **metrics, "ran": ran,
            "attempts": None, "error": "", "path": str(folder)}


def _failed_row(run, error, attempts):
    return {"run_id": run.run_id, "status": "failed", **_config_columns(run), "ran": True,
            "attempts": attempts, "error": error, "path": ""}


def _finish(out, runs, outcome, n_submitted, n_skipped, seconds):
    rows = []
    for run in runs:
        folder = out / RUNS / run.run_id
        if is_finished(folder):
            row = _row_from_folder(folder, run, ran=run.run_id in outcome.rows)
            row["attempts"] = outcome.attempts.get(run.run_id) if row["ran"] else None
        elif run.run_id in outcome.failed:
            row = _failed_row(run, outcome.failed[run.run_id], outcome.attempts[run.run_id])
        else:  # interrupted before it finished
            row = {"run_id": run.run_id, "status": "not run", **_config_columns(run), "ran": False,
                   "attempts": outcome.attempts.get(run.run_id), "error": "", "path": ""}
        rows.append(row)
    table = out / TABLE
    write_table(rows, table)
    from ..plot import plot_sweep

    figures = plot_sweep(rows, out)
    return SweepResult(rows=rows, table=table, figures=figures, n_submitted=n_submitted, n_skipped=n_skipped,
                       n_failed=len(outcome.failed), seconds=seconds)


def write_table(rows, path):
    """Write rows (dicts) as a CSV file atomically, the known columns first."""
    keys = [k for k in _FIRST_COLUMNS if any(k in row for row in rows)]
    for row in rows:
        keys += [k for k in row if k not in keys and k not in _LAST_COLUMNS]
    keys += [k for k in _LAST_COLUMNS if any(k in row for row in rows)]
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def accuracy_table(rows, metric="accuracy", task=None):
    """Mean ``metric`` (in %) over seeds: ``{N: {P: value}}`` of the finished mode-network runs.

    Examples
    --------
    >>> accuracy_table([{"status": "done", "task": "digits", "parametrization": "modes", "N": 30, "P": 1,
    ...                  "accuracy": 0.9}, {"status": "done", "task": "digits", "parametrization": "modes",
    ...                  "N": 30, "P": 1, "accuracy": 0.8}])
    {30: {1: 85.0}}
    """
    values = {}
    for row in rows:
        if row.get("status") != "done" or row.get("parametrization") != "modes" \
                or (task is not None and row.get("task") != task) or not isinstance(row.get(metric), float):
            continue
        values.setdefault(int(row["N"]), {}).setdefault(int(row["P"]), []).append(100 * row[metric])
    return {N: {P: round(float(np.mean(v)), 4) for P, v in sorted(by_P.items())}
            for N, by_P in sorted(values.items())}
