"""Time one training step (forward + backward + weight gradients) on the numpy and the compiled engine.

float32, the two engines timed in turn within every repeat (side by side, medians, and the
ratio of the medians), through the trainer's step function (``train.bptt.engine_step`` for the
numpy engine, ``neurons.compiled_run.engine_step`` for the compiled one; both validate the
inputs and return a StepResult):

- context: N=100, P=3, B=100, T=500, 4 analog inputs, double-ema filter, per-step readout,
  root-sum-squared error (fused path);
- MNIST-like: N=100, P=3, B=256, T=50, 784 binary inputs at ~15 %, double filter, max
  readout, cross-entropy (fused path);
- MNIST again with the 0/1 inputs given as bool (the compiled loop reads bytes);
- for reference, the two dense input products alone (x @ W_in^T and the W_in gradient
  dL/dI_in^T @ x), BLAS at 1 and 2 threads; the compiled step at 1 and 2 OpenMP threads, and
  the CPU time of the 1-thread step (on a shared machine the best estimate of an idle core);
- the compiled context step for N = 1000, 3000, 10000 at P = 10 (fewer repeats), with the
  loop's working memory;
- the peak of what one compiled step allocates on the Python side (tracemalloc: numpy's arrays,
  the inputs' copies, the gradients), and the peak resident memory of the whole run.

The machine's load average is printed before and after: on a shared machine the numbers move.
OpenBLAS's threads spin for 2^28 cycles after each product by default; they would take the cores
from the compiled step that runs next, so this script sets OPENBLAS_THREAD_TIMEOUT=4 (its
shortest) before numpy loads, unless it is set.

    .venv/bin/python benchmarks/bench_compiled.py [--repeats 7] [--scale-repeats 3] [--no-scale]
"""

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before numpy (OpenBLAS reads it when it loads)

import numpy as np

from brianmodes import ModeNetwork
from brianmodes.neurons.compiled import CompiledEngine, slot_count
from brianmodes.neurons.compiled_run import engine_step as compiled_step
from brianmodes.neurons.engine import Engine
from brianmodes.threads import blas_limit
from brianmodes.train.bptt import engine_step as numpy_step


def context_case(rng, N=100, P=3, B=100, T=500):
    net = ModeNetwork(N=N, P=P, N_in=4, N_out=1, readout="per_step", filter="double-ema", seed=0)
    offsets = rng.choice([-0.5, 0.5], size=(B, 2))
    x = np.zeros((T, B, 4), np.float32)
    x[T // 10:T // 2, :, :2] = offsets + rng.normal(size=(T // 2 - T // 10, B, 2))
    x[:, np.arange(B), 2 + rng.integers(0, 2, B)] = 1.0
    return net, x, np.sign(rng.normal(size=(T, B, 1))).astype(np.float32), "root_sse"


def mnist_case(rng, N=100, P=3, B=256, T=50):
    net = ModeNetwork(N=N, P=P, N_in=784, N_out=10, seed=0)
    pixels = rng.random((B, 784)) * (rng.random((B, 784)) < 0.3)  # ~15 % of inputs active per step
    x = (rng.random((T, B, 784)) < pixels).astype(np.float32)
    return net, x, rng.integers(0, 10, B), "cross_entropy"


def side_by_side(fns, repeats):
    """Median wall-clock and CPU seconds of each function, the functions run in turn in every repeat."""
    for fn in fns:
        fn()  # warm-up (compilation, caches)
    wall, cpu = [[] for _ in fns], [[] for _ in fns]
    for _ in range(repeats):
        for fn, w, c in zip(fns, wall, cpu):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            w.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
    return np.median(np.array(wall), axis=1), np.median(np.array(cpu), axis=1)


def _step(fn, net, x, targets, loss, engine):
    return lambda: fn(net, x, targets, engine=engine, params=net.neuron_values(), loss=loss)


def engines(net, threads=None):
    return Engine(net.engine_model, net.dt), CompiledEngine(net.engine_model, net.dt, threads=threads)


def gemms(net, x, threads):
    """The two dense input products of a step: x @ W_in^T and dL/dI_in^T @ x."""
    T, B, n_in = x.shape
    flat = x.reshape(T * B, n_in)
    w = np.ascontiguousarray(net.params["W_in"], np.float32)
    g = np.random.default_rng(0).normal(size=(T * B, net.N)).astype(np.float32)

    def both():
        with blas_limit(threads):
            flat @ w.T
            g.T @ flat
    return both


def working_memory(engine, net, x, threads):
    """Bytes the compiled loop allocates per call (estimate): per thread the trial's tape, the states
    and adjoints, the trial's dL/dI_in rows; the gradient rows of the trial slots; the padded arrays."""
    T, B, n_in = x.shape
    Np = -(-net.N // 16) * 16
    size = np.dtype(np.float32).itemsize
    tape = T * (len(engine.layout.real_slots) + 1) * Np * size + T * (net.P + 1) * size
    per_thread = tape + T * Np * size + 4 * net.P * Np * size + 40 * Np * size
    L64 = (net.N_out + 2 * net.P + len(engine.layout.trainable)) * Np + net.P
    row = 8 * L64 + size * n_in * Np
    slots = slot_count(B, row) * row
    return threads * per_thread + slots + (n_in + 2 * net.P + net.N_out) * Np * size


def allocated_per_step(fn):
    """Peak bytes allocated on the Python side during one call (tracemalloc: numpy's arrays included)."""
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scale-repeats", type=int, default=3)
    parser.add_argument("--no-scale", action="store_true", help="skip the N = 1000 .. 10000 rows")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    load = os.getloadavg()
    print(f"Medians of {args.repeats} runs, forward + backward + weight gradients, float32, "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs, OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ['OPENBLAS_THREAD_TIMEOUT']}, load average {load[0]:.2f} {load[1]:.2f} at the start")
    print()
    print("| case | numpy engine | compiled, 1 thread | (its CPU time) | compiled, 2 threads | numpy / compiled "
          "(2 threads) | dense input GEMMs, 1 BLAS thread | 2 BLAS threads | allocated per compiled step |")
    print("|---|---|---|---|---|---|---|---|---|")
    cases = (("context N=100 P=3 B=100 T=500", context_case, False), ("MNIST N=100 P=3 B=256 T=50", mnist_case, False),
             ("MNIST, inputs as bool", mnist_case, True))
    for name, case, as_bool in cases:
        net, x, targets, loss = case(rng)
        reference = Engine(net.engine_model, net.dt)
        one = CompiledEngine(net.engine_model, net.dt, threads=1)
        two = CompiledEngine(net.engine_model, net.dt, threads=2)
        xc = x.astype(bool) if as_bool else x
        fns = [_step(numpy_step, net, x, targets, loss, reference), _step(compiled_step, net, xc, targets, loss, one),
               _step(compiled_step, net, xc, targets, loss, two), gemms(net, x, 1), gemms(net, x, 2)]
        wall, cpu = side_by_side(fns, args.repeats)
        alloc = allocated_per_step(fns[2])
        print(f"| {name} | {wall[0] * 1e3:.1f} ms | {wall[1] * 1e3:.1f} ms | {cpu[1] * 1e3:.1f} ms | "
              f"{wall[2] * 1e3:.1f} ms | {wall[0] / wall[2]:.1f}x | {wall[3] * 1e3:.1f} ms | {wall[4] * 1e3:.1f} ms | "
              f"{alloc / 2**20:.1f} MiB |")
    if not args.no_scale:
        print()
        print(f"Compiled context step (B=100, T=500, P=10), 2 threads, medians of {args.scale_repeats}")
        print()
        print("| N | step | per neuron and trial-step | loop working memory (estimate) |")
        print("|---|---|---|---|")
        for N in (1000, 3000, 10000):
            net, x, targets, loss = context_case(rng, N=N, P=10)
            engine = CompiledEngine(net.engine_model, net.dt, threads=2)
            (med,), _ = side_by_side([_step(compiled_step, net, x, targets, loss, engine)], args.scale_repeats)
            mem = working_memory(engine, net, x, 2)
            print(f"| {N} | {med * 1e3:.0f} ms | {med / (N * 100 * 500) * 1e9:.2f} ns | {mem / 2**20:.0f} MiB |")
    load = os.getloadavg()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print()
    print(f"load average {load[0]:.2f} {load[1]:.2f} at the end; peak resident memory of the run {peak:.0f} MiB")


if __name__ == "__main__":
    main()
