"""Where the compiled loop's time goes: the forward pass alone against the whole training step, per N.

The context task's shape (B=100 trials, T=500 steps, P=3 modes, 4 analog inputs, double-ema filter,
per-step readout, root-sum-squared error) at several network sizes, on **one** thread, timing the
library call alone (no Python around it). Prints, per N, the forward pass (``CompiledEngine.forward``)
and the fused step (``engine_step``: forward, adjoint, weight gradients), in ms and in ns per step of
one trial and one block of 16 neurons (the loop's vector width), and their difference (the adjoint
and the gradients).

    OPENBLAS_THREAD_TIMEOUT=4 .venv/bin/python benchmarks/bench_phases.py [--sizes 16 100 400] [--repeats 9] [--discretization published]
"""

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np

from brianmodes import ModeNetwork
from brianmodes.neurons.compiled_run import engine_for, engine_step
from brianmodes.simulate import engine_params


def library_median(engine, call, repeats):
    """Median seconds of the compiled library's own call while ``call()`` runs (``repeats`` times)."""
    times, run = [], engine.library.run

    def timed(*args):
        t0 = time.perf_counter()
        status = run(*args)
        times.append(time.perf_counter() - t0)
        return status

    engine.library.run = timed
    try:
        call()  # warm-up
        times.clear()
        for _ in range(repeats):
            call()
    finally:
        engine.library.run = run
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 100, 400])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--discretization", default="brian2", choices=("brian2", "published"))
    args = parser.parse_args()
    B, T = 100, 500
    print(f"one thread, medians of {args.repeats}, float32, {args.discretization} discretization, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| N | forward (ms) | whole step (ms) | forward per trial-step and 16 neurons (ns) "
          "| whole step, the same (ns) | adjoint and gradients, the same (ns) |")
    print("|---|---|---|---|---|---|")
    for N in args.sizes:
        rng = np.random.default_rng(0)
        net = ModeNetwork(N=N, P=3, N_in=4, N_out=1, readout="per_step", filter="double-ema", seed=0,
                          discretization=args.discretization)
        x = rng.normal(size=(T, B, 4)).astype(np.float32)
        targets = np.sign(rng.normal(size=(T, B, 1))).astype(np.float32)
        engine = engine_for(net.engine_model, net.dt, "compiled", threads=1)
        weights = engine_params(net, np.float32)
        forward = library_median(engine, lambda: engine.forward(weights, x, readout=net.readout), args.repeats)
        step = library_median(engine, lambda: engine_step(net, x, targets, engine=engine, params=None,
                                                          loss="root_sse"), args.repeats)
        per = 1e9 / (B * T * -(-N // 16))
        print(f"| {N} | {1e3 * forward:.2f} | {1e3 * step:.2f} | {forward * per:.0f} | {step * per:.0f} | "
              f"{(step - forward) * per:.0f} |", flush=True)


if __name__ == "__main__":
    main()
