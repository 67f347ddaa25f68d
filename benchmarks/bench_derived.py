"""Time the derived numpy engine: forward alone and forward + backward, float32.

The network's own engine (``brianmodes.simulate.simulate`` and
``brianmodes.train.loss_and_grads``, since issue 11 the derived engine for every network;
the hand-written engine it replaced measured 1.14-1.24x faster in the last version that had
it), the two timed in turn within every repeat (medians), at the paper's two shapes:

- context: N=100, P=3, B=100, T=500, 4 analog inputs, double-ema filter, per-step readout;
- MNIST-like: N=100, P=3, B=256, T=50, 784 binary inputs at ~15 %, double filter, max readout.

Both discretizations (``brian2``, the default, and ``published``) are timed. To compare two
versions, run this script in each (``git archive REV | tar -x -C DIR``, ``PYTHONPATH=DIR``).

    .venv/bin/python benchmarks/bench_derived.py [--repeats 7]
"""

import argparse
import time

import numpy as np

from brianmodes import ModeNetwork, simulate
from brianmodes.train import loss_and_grads


def context_case(rng, discretization, N=100, P=3, B=100, T=500):
    net = ModeNetwork(N=N, P=P, N_in=4, N_out=1, readout="per_step", filter="double-ema",
                      discretization=discretization, seed=0)
    x = rng.normal(size=(T, B, 4)).astype(np.float32)
    return net, x, np.sign(rng.normal(size=(T, B, 1))).astype(np.float32), "root_sse"


def mnist_case(rng, discretization, N=100, P=3, B=256, T=50):
    net = ModeNetwork(N=N, P=P, N_in=784, N_out=10, discretization=discretization, seed=0)
    pixels = rng.random((B, 784)) * (rng.random((B, 784)) < 0.19)  # ~15 % of inputs active per step
    x = (rng.random((T, B, 784)) < pixels).astype(np.float32)
    return net, x, rng.integers(0, 10, B), "cross_entropy"


def side_by_side(fns, repeats):
    for fn in fns:
        fn()  # warm-up (and the derivation, cached afterwards)
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, acc in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return np.median(np.array(times), axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"Medians of {args.repeats} runs, forward + backward, float32, numpy {np.__version__}\n")
    print("| case | discretization | forward (simulate) | forward + backward (loss_and_grads) |")
    print("|---|---|---|---|")
    for name, case in (("context", context_case), ("MNIST-like", mnist_case)):
        for discretization in ("brian2", "published"):
            net, x, targets, loss = case(rng, discretization)
            fns = [lambda: simulate(net, x, record=()), lambda: loss_and_grads(net, x, targets, loss=loss)]
            t_forward, t_step = side_by_side(fns, args.repeats)
            print(f"| {name} | {discretization} | {t_forward * 1e3:.1f} ms | {t_step * 1e3:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
