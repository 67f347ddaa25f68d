"""A trained model's whole test set in Brian2 against the numpy engine (issue 3).

Evaluates MODEL on all held-out trials with the numpy engine (float32 and float64) and in
Brian2 (C++ standalone by default: compiled once, re-run per batch of copies), and prints
accuracy, time including compilation, and trials per second.

    .venv/bin/python benchmarks/brian2_evaluate.py runs/mnist-N100-P3/model.npz \
        [--data-dir ../shared/data/mnist] [--devices cpp_standalone cython] [--batch-size 500]
"""

import argparse
import time

import numpy as np

from brianmodes import load
from brianmodes.brian import evaluate_brian2
from brianmodes.tasks import task_for


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data-dir")
    parser.add_argument("--devices", nargs="+", default=["cpp_standalone"], choices=("cpp_standalone", "cython", "numpy"),
                        help="cpp_standalone, or a target of Brian2's runtime device (cython, numpy)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--trials", type=int)
    args = parser.parse_args()
    net = load(args.model)
    task = task_for(net, args.data_dir)
    metric = task.main_metric
    rows = []
    for dtype in (np.float32, np.float64):
        t0 = time.perf_counter()
        m = task.evaluate(net, n_trials=args.trials, batch_size=args.batch_size, dtype=dtype)
        sec = time.perf_counter() - t0
        rows.append((f"numpy engine ({np.dtype(dtype).name})", m[metric], m["rate_hz"], sec, 0.0, m["n_trials"] / sec))
        print(rows[-1], flush=True)
    for device in args.devices:
        where = ("runtime", device) if device in ("numpy", "cython") else (device, None)  # a runtime target
        m = evaluate_brian2(net, task, device=where[0], target=where[1], n_trials=args.trials,
                            batch_size=args.batch_size)
        rows.append((f"Brian2 {device}", m[metric], m["rate_hz"], m["seconds"], m["build_seconds"],
                     m["trials_per_second"]))
        print(rows[-1], flush=True)
    numpy_tps = rows[0][5]
    print(f"\n{args.model} ({net.discretization} discretization), task {task.name}, "
          f"{rows[0][0] and m['n_trials']} held-out trials, batches of {args.batch_size}\n")
    print(f"| engine | {metric} (%) | mean rate (Hz) | time incl. build (s) | build (s) | trials/s | vs numpy float32 |")
    print("|---|---|---|---|---|---|---|")
    for name, value, rate, sec, build, tps in rows:
        print(f"| {name} | {100 * value:.2f} | {rate:.2f} | {sec:.1f} | {build:.1f} | {tps:.0f} | {tps / numpy_tps:.2f} |")


if __name__ == "__main__":
    main()
