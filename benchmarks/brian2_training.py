"""Training with the forward pass in Brian2 (fidelity mode) against the engines (issue 11 item 7).

Trains the same network on the digits task (N = 100, P = 3, float64, the task's defaults
otherwise: batches of 64 trials of 50 steps) for --batches batches with each forward, and prints
the median seconds per batch (the first batch, which builds the Brian2 program, is left out and
shown as the build), the share of it spent in Brian2 (run and tape), and the largest parameter
difference to the numpy engine's run after the last batch.

    .venv/bin/python benchmarks/brian2_training.py [--batches 50] [--devices cpp_standalone numpy cython]
"""

import argparse
import time

import numpy as np

from brianmodes.tasks import make_task
from brianmodes.train import brian2_forward
from brianmodes.train import Trainer

FORWARD_SECONDS = []


def _timed(method):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            FORWARD_SECONDS.append(time.perf_counter() - t0)
    return wrapper


def train(task, args, **settings):
    net = task.make_network(N=args.N, P=args.P, seed=0)
    FORWARD_SECONDS.clear()
    trainer = Trainer(n_batches=args.batches, dtype="float64", progress=False, seed=0, **settings).fit(net, task)
    ends = np.array([row["seconds"] for row in trainer.history_])
    per_batch = np.diff(np.concatenate([[0.0], ends]))
    brian2 = float(np.median(FORWARD_SECONDS[1:])) if FORWARD_SECONDS else None
    return net, per_batch, brian2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--devices", nargs="+", default=list(brian2_forward.DEVICES))
    parser.add_argument("--N", type=int, default=100)
    parser.add_argument("--P", type=int, default=3)
    args = parser.parse_args()
    brian2_forward.Brian2Forward.forward = _timed(brian2_forward.Brian2Forward.forward)
    task = make_task("digits")
    runs = [("engine, numpy", dict(engine="numpy")), ("engine, compiled", dict(engine="compiled"))]
    runs += [(f"brian2:{d}", dict(engine="numpy", forward=f"brian2:{d}")) for d in args.devices]
    rows, reference = [], None
    for name, settings in runs:
        net, per_batch, brian2 = train(task, args, **settings)
        if reference is None:
            reference = net
        diff = max(float(np.abs(net.params[k] - reference.params[k]).max()) for k in net.params)
        median = float(np.median(per_batch[1:]))
        rows.append((name, median, max(per_batch[0] - median, 0.0), brian2, diff))
        print(rows[-1], flush=True)
    print(f"\ndigits, N = {args.N}, P = {args.P}, batches of {task.default_batch_size} trials x {task.n_steps} "
          f"steps, float64, {args.batches} batches\n")
    print("| forward | s per batch (median) | time vs numpy engine | first batch's extra (build, s) | "
          "of which Brian2 run + tape (s) | max parameter difference to the numpy engine |")
    print("|---|---|---|---|---|---|")
    base = rows[0][1]
    for name, median, build, brian2, diff in rows:
        print(f"| {name} | {median:.3f} | {median / base:.1f}x | {build:.1f} | "
              f"{'' if brian2 is None else f'{brian2:.3f}'} | {diff:.1e} |")


if __name__ == "__main__":
    main()
