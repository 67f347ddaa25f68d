"""Sweeps on Dask: wall time with 1 vs 2 workers, and the MNIST accuracy-vs-P grid via the sweep.

(a) Timing (default): a 12-run sweep (digits, N in {30, 50} x P in {1, 3, 10} x seeds {0, 1},
    BATCHES batches each) run from scratch with 1 and with 2 workers, alternating, REPEATS
    times; prints every repetition, the medians and the speed-up, and the load average
    before and after.

        .venv/bin/python benchmarks/sweep.py [--batches 1000] [--repeats 2]

(b) MNIST (--mnist): the grid N in {30, 50, 100} x P in {1, 3, 10}, seed 0, BATCHES batches
    (default 3000, `brianmodes train mnist`'s budget), validated in Brian2, run by the sweep
    itself into --out (finished runs are reused: the same as
    `brianmodes sweep --task mnist --N 30 50 100 --P 1 3 10 --seeds 0 --brian2 --data-dir DIR
    --out runs/sweep-mnist`); prints a markdown table beside the published numbers (SPEC 2.1).

        .venv/bin/python benchmarks/sweep.py --mnist [--data-dir ../shared/data/mnist]
            [--out runs/sweep-mnist] [--figure docs/sweeps_accuracy_vs_P.png]
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from brianmodes.reproduce import PUBLISHED_MNIST
from brianmodes.sweep import expand_grid, sweep

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timing(batches, repeats, out_root):
    configs = expand_grid({"task": "digits", "N": [30, 50], "P": [1, 3, 10], "seeds": [0, 1],
                           "batches": batches})
    assert len(configs) == 12
    print(f"12 runs: digits, N in {{30, 50}} x P in {{1, 3, 10}} x seeds {{0, 1}}, {batches} batches of 64, "
          f"evaluation on the 360 held-out digits; {os.cpu_count()} cores; load average before: {load_average()}",
          flush=True)
    times = {1: [], 2: []}
    work = {1: [], 2: []}
    for repeat in range(repeats):
        for workers in (1, 2):
            out = Path(tempfile.mkdtemp(prefix=f"sweep-w{workers}-", dir=out_root))
            t0 = time.perf_counter()
            result = sweep(configs, out, n_workers=workers, progress=False)
            wall = time.perf_counter() - t0
            assert result.n_failed == 0 and result.n_submitted == 12
            run_seconds = sum(row["seconds"] for row in result.rows)
            times[workers].append(wall)
            work[workers].append(run_seconds)
            print(f"repeat {repeat + 1}, {workers} worker(s): wall {wall:.1f} s (sum of run times "
                  f"{run_seconds:.1f} s); load average {load_average()}", flush=True)
            shutil.rmtree(out)
    print(f"load average after: {load_average()}")
    print()
    print("| workers | " + " | ".join(f"wall, repeat {k + 1} (s)" for k in range(repeats))
          + " | median wall (s) | median sum of run times (s) |")
    print("|---" * (repeats + 3) + "|")
    for workers in (1, 2):
        print(f"| {workers} | " + " | ".join(f"{t:.1f}" for t in times[workers])
              + f" | {statistics.median(times[workers]):.1f} | {statistics.median(work[workers]):.1f} |")
    speedups = [a / b for a, b in zip(times[1], times[2])]
    print()
    print("speed-up (1-worker wall / 2-worker wall): "
          + ", ".join(f"{s:.2f}" for s in speedups)
          + f" per repeat; {statistics.median(times[1]) / statistics.median(times[2]):.2f} on the medians")


def mnist(data_dir, out, batches, figure):
    configs = expand_grid({"task": "mnist", "N": [30, 50, 100], "P": [1, 3, 10], "seed": 0, "batches": batches,
                           "brian2": True, "data_dir": str(data_dir)})
    result = sweep(configs, out)
    print(result)
    print()
    print(f"MNIST test accuracy (%), 10,000 held-out images, seed 0, {batches} batches of 256; "
          "numpy engine and Brian2 (C++ standalone) on the same input spikes; published: SPEC 2.1 "
          "(mean over seeds)")
    print()
    print("| N | P | ours, numpy (%) | ours, Brian2 (%) | published (%) | ours - published | rate (Hz) | "
          "train (s) | Brian2 program |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in sorted(result.rows, key=lambda r: (r["N"], r["P"])):
        published = PUBLISHED_MNIST.get(row["N"], {}).get(row["P"])
        if row["status"] != "done":
            print(f"| {row['N']} | {row['P']} | failed: {row['error']} | | {published} | | | | |")
            continue
        ours, b2 = 100 * row["accuracy"], 100 * row["brian2_accuracy"]
        diff = f"{ours - published:+.2f}" if published is not None else "no published number"
        print(f"| {row['N']} | {row['P']} | {ours:.2f} | {b2:.2f} | {published if published else '-'} | {diff} | "
              f"{row['rate_hz']:.1f} | {row['train_seconds']:.0f} | {row['brian2_program']} |")
    if figure and result.figures:
        shutil.copyfile(result.figures[0], figure)
        print(f"\nfigure copied to {figure}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", action="store_true", help="run the MNIST N x P grid instead of the timing")
    parser.add_argument("--batches", type=int, help="batches per run (timing: 1000; MNIST: 3000)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--out", help="results folder (MNIST: runs/sweep-mnist; timing: temporary folders "
                                      "under runs/)")
    parser.add_argument("--figure", help="copy the accuracy-vs-P figure here (MNIST)")
    args = parser.parse_args()
    if args.mnist:
        mnist(args.data_dir, args.out or "runs/sweep-mnist", args.batches or 3000, args.figure)
    else:
        root = Path(args.out or "runs")
        root.mkdir(parents=True, exist_ok=True)
        timing(args.batches or 1000, args.repeats, root)


if __name__ == "__main__":
    main()
