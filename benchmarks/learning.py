"""Learning benchmarks: the digits main job and the context task (issue 2 acceptance).

1. digits, N=100, P=3, the CLI defaults (2000 batches of 64): test accuracy and wall time
   (target: >= 90 % in <= 2 minutes).
2. context, N=100, P=3, double-ema filter, root-SSE loss, batches of 100, Adam 1e-3:
   MSE and decision accuracy on 500 fresh trials (seed 12345, never used in training)
   after the stated budget (target: decision accuracy >= 99 %, MSE <= 0.03).

    .venv/bin/python benchmarks/learning.py [--context-batches 1500] [--seed 0]
"""

import argparse
import time

from brianmodes.tasks import make_task
from brianmodes.train import Trainer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits-batches", type=int, default=2000)
    parser.add_argument("--context-batches", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []

    task = make_task("digits")
    net = task.make_network(N=100, P=3, seed=args.seed, discretization="published")
    t0 = time.perf_counter()
    Trainer(n_batches=args.digits_batches, batch_size=64, seed=args.seed, progress=False).fit(net, task)
    train = time.perf_counter() - t0
    m = task.evaluate(net)
    rows.append(("digits", f"{args.digits_batches} x 64", f"{train:.1f}",
                 f"accuracy {100 * m['accuracy']:.2f} % ({m['n_trials']} test images)", f"{m['rate_hz']:.1f}"))
    print(rows[-1], flush=True)

    task = make_task("context")
    net = task.make_network(N=100, P=3, seed=args.seed, discretization="published")
    t0 = time.perf_counter()
    Trainer(n_batches=args.context_batches, batch_size=100, seed=args.seed, progress=False).fit(net, task)
    train = time.perf_counter() - t0
    m = task.evaluate(net, n_trials=500, seed=12345)
    rows.append(("context", f"{args.context_batches} x 100", f"{train:.1f}",
                 f"MSE {m['mse']:.4f}, decision accuracy {100 * m['decision_accuracy']:.1f} % (500 fresh trials)",
                 f"{m['rate_hz']:.1f}"))
    print(rows[-1], flush=True)

    print(f"\nN=100, P=3, seed {args.seed}\n")
    print("| task | budget (batches x trials) | training time (s) | held-out result | mean rate (Hz) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
