"""The paper's tables on the derived engine, several seeds per row: mean ± sd beside the published numbers.

Each row is trained with ``brianmodes train`` (one run folder per seed, under ``--out``; a run
whose ``model.npz`` exists is reused, an interrupted one resumed), with the task's default budget
(MNIST: 3000 batches of 256, evaluated on the 10,000 test images; context: 1500 batches of 100,
evaluated on 500 held-out trials). Rows are trained seed by seed (every row's seed 0 first), so an
interrupted run leaves whole seeds. The table is printed and written to ``--table`` (markdown) with
the per-seed numbers in a JSON file beside it. The rows marked "first seed only" (the MNIST rows of
other neuron models) are trained for the first seed unless ``--all-seeds``.

On 2 cores, two shards side by side (each with one compiled-engine thread) use the machine
better than one process: ``--shard 0/2`` and ``--shard 1/2``, then ``--table-only`` gathers::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reproduce_seeds.py --shard 0/2 &
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reproduce_seeds.py --shard 1/2
    .venv/bin/python benchmarks/reproduce_seeds.py --table-only --table docs/reproduction/seeds.md

(all with ``--data-dir ../shared/data/mnist --seeds 0 1 2 --out runs/reproduce-seeds``).
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
PUBLISHED_MNIST = {1: 96.2, 3: 96.0, 10: 95.3, 30: 94.9}   # SPEC §2.1, N = 100, % test accuracy
PUBLISHED_CONTEXT = "MSE 0.02-0.03, decisions 99-100 %"     # SPEC §2.2, N = 30-200, P >= 1

#: (row name, task, extra `brianmodes train` arguments, every seed?)
ROWS = [(f"LIF, P = {P}", "mnist", ["--P", str(P)], True) for P in (1, 3, 10, 30)] + \
       [(f"LIF, P = {P}", "context", ["--P", str(P)], True) for P in (1, 3, 10)] + [
    ("adaptive LIF, P = 3", "mnist", ["--neuron", "adaptive_lif"], False),
    ("adaptive LIF, P = 3", "context", ["--neuron", "adaptive_lif"], True),
]
HETEROGENEOUS_TAU = ["--trainable", "tau_m", "--spread", "tau_m=0.2"]   # log-normal start, sd 0.2 of log tau_m


def _folder(out, task, extra, seed):
    name = "-".join(a.strip("-").replace("_", "").replace("=", "") for a in extra) or "default"
    return Path(out) / f"{task}-{name}-seed{seed}"


def train(task, extra, seed, out, data_dir, engine):
    """Train one row's seed with the command line; return its metrics (reusing a finished run)."""
    folder = _folder(out, task, extra, seed)
    if not (folder / "model.npz").exists():
        cmd = [sys.executable, "-m", "brianmodes.cli", "train", task, "--seed", str(seed), "--out", str(folder),
               "--engine", engine, "--quiet", *extra]
        if task == "mnist":
            cmd += ["--data-dir", str(data_dir)]
        if (folder / "checkpoint.npz").exists():
            cmd.append("--resume")
        print("$", " ".join(cmd[2:]), flush=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"  {time.perf_counter() - t0:.0f} s", flush=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["command"] = "brianmodes train " + " ".join([task, "--seed", str(seed), *extra])
    return metrics


def _mean_sd(values, scale=1.0, digits=2):
    values = [scale * v for v in values]
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (1 seed)"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def table(results, seeds_asked):
    """Markdown tables of the rows trained so far."""
    lines = ["| MNIST, N = 100 | test accuracy (%) | published (%) | rate (Hz) | seeds | train time per seed |",
             "|---|---|---|---|---|---|"]
    for name, task, extra, _ in ROWS_IN_USE:
        runs = results.get(f"{task}|{name}", [])
        if task != "mnist" or not runs:
            continue
        P = int(extra[extra.index("--P") + 1]) if "--P" in extra else 3
        pub = PUBLISHED_MNIST.get(P) if name.startswith("LIF") else None
        lines.append(f"| {name} | {_mean_sd([r['accuracy'] for r in runs], 100)} | {pub or '–'} | "
                     f"{_mean_sd([r['rate_hz'] for r in runs], digits=1)} | {len(runs)} | "
                     f"{statistics.median(r['train_seconds'] for r in runs):.0f} s |")
    lines += ["", "| context, N = 100 | MSE | decisions (%) | rate (Hz) | seeds | train time per seed |",
              "|---|---|---|---|---|---|"]
    for name, task, extra, _ in ROWS_IN_USE:
        runs = results.get(f"{task}|{name}", [])
        if task != "context" or not runs:
            continue
        lines.append(f"| {name} | {_mean_sd([r['mse'] for r in runs], digits=4)} | "
                     f"{_mean_sd([r['decision_accuracy'] for r in runs], 100, 1)} | "
                     f"{_mean_sd([r['rate_hz'] for r in runs], digits=1)} | {len(runs)} | "
                     f"{statistics.median(r['train_seconds'] for r in runs):.0f} s |")
    lines += ["", f"Published context numbers: {PUBLISHED_CONTEXT}. Seeds asked: {seeds_asked}; "
              "mean ± sample standard deviation over the seeds trained."]
    return "\n".join(lines)


ROWS_IN_USE = list(ROWS)


def finished(out, seeds):
    """The metrics of every row's finished runs, by row, in seed order."""
    results = {}
    for seed in seeds:
        for name, task, extra, _ in ROWS_IN_USE:
            path = _folder(out, task, extra, seed) / "metrics.json"
            if path.exists() and (path.parent / "model.npz").exists():
                metrics = json.loads(path.read_text())
                metrics["command"] = "brianmodes train " + " ".join([task, "--seed", str(seed), *extra])
                results.setdefault(f"{task}|{name}", []).append({**metrics, "seed": seed})
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/reproduce-seeds")
    parser.add_argument("--table", help="markdown file for the table (a .json of the runs is written beside it)")
    parser.add_argument("--engine", default="auto", choices=("auto", "numpy", "compiled"))
    parser.add_argument("--tasks", nargs="+", default=["mnist", "context"])
    parser.add_argument("--heterogeneous-tau", action="store_true",
                        help="add the rows with heterogeneous trainable per-neuron tau_m")
    parser.add_argument("--all-seeds", action="store_true", help="every seed for the rows of other models too")
    parser.add_argument("--shard", default="0/1", help="I/N: train every N-th run, starting with the I-th")
    parser.add_argument("--table-only", action="store_true", help="gather the finished runs; train nothing")
    parser.add_argument("--rows", nargs="+", help="train only the rows whose names start with one of these")
    args = parser.parse_args()
    if args.heterogeneous_tau:
        ROWS_IN_USE.extend([("heterogeneous trainable tau_m, P = 3", task, HETEROGENEOUS_TAU, task == "context")
                            for task in ("mnist", "context")])
    index, count = (int(v) for v in args.shard.split("/"))
    runs = [(seed, task, extra) for seed in args.seeds for name, task, extra, every in ROWS_IN_USE
            if task in args.tasks and (every or args.all_seeds or seed == args.seeds[0])
            and (not args.rows or name.startswith(tuple(args.rows)))]
    t0 = time.perf_counter()
    for seed, task, extra in ([] if args.table_only else runs[index::count]):
        train(task, extra, seed, args.out, args.data_dir, args.engine)
    text = table(finished(args.out, args.seeds), args.seeds)
    if args.table:
        Path(args.table).write_text(text + "\n")
        Path(args.table).with_suffix(".json").write_text(json.dumps(finished(args.out, args.seeds), indent=2) + "\n")
    print(text)
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
