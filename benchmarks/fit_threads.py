"""Fitting speed with one BLAS thread against two: batches per second, runs interleaved.

    python benchmarks/fit_threads.py [--repeats 3] [--batches 100]

Each run is a fresh process (the thread count is read when numpy loads) fitting the
ground-truth recording of docs/fitting.md (N = 60, P = 2, batches of 32, 250 steps).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

RUN = """
import time
from brianmodes.data.fit import ActivityTask, fit_activity
from brianmodes.data.ground_truth import record_network, recording_to_arrays, short_context_task, two_mode_network
task = short_context_task(); true = two_mode_network(N=60, seed=1)
rec, inputs = record_network(true, n_recorded=40, trials_per_condition=10, task=task, return_inputs=True)
spikes, act, cond = recording_to_arrays(rec, true, n_steps=task.n_steps)
ft = ActivityTask(inputs, cond, act, test_fraction=0.25, match="trials")
t0 = time.perf_counter()
fit_activity(ft, N=60, P=2, n_batches={batches}, filter=true.filter)
print({batches} / (time.perf_counter() - t0))
"""


def rate(threads, batches):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", RUN.format(batches=batches)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", type=int, default=100)
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    rates = {1: [], 2: []}
    for _ in range(args.repeats):
        for threads in (2, 1):
            rates[threads].append(rate(threads, args.batches))
    print(f"load average at the start: {load:.1f} on {os.cpu_count()} cores")
    print("| BLAS threads | batches/s (median) | runs |")
    print("|---|---|---|")
    for threads in (1, 2):
        print(f"| {threads} | {statistics.median(rates[threads]):.1f} | "
              f"{', '.join(f'{r:.1f}' for r in rates[threads])} |")
    print(f"one thread is {statistics.median(rates[1]) / statistics.median(rates[2]):.1f}x faster")


if __name__ == "__main__":
    main()
