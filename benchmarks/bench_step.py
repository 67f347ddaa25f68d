"""Time one training step (forward + backward + clipping + Adam) at the paper's settings, on both engines.

Prints markdown tables of medians over repeated runs:
1. MNIST (N=100, P=3, B=256, T=50, 784 spike inputs as bool, as the image tasks give them: a
   real training batch from ``--mnist-dir``, default ../shared/data/mnist, else synthetic
   MNIST-like spikes) and
   context (N=100, P=3, B=100, T=500, 4 analog float32 inputs): the
   numpy engine, the compiled engine and the two dense input-projection matrix products
   (W_in·x forward and the W_in gradient, what a dense implementation cannot avoid) timed in
   turn within each repeat; against the authors' PyTorch implementation on these 2-core
   machines (0.20 s and 0.34 s per step, SPEC/issue 2); peak memory of one step (numpy
   arrays, tracemalloc) on each engine.
2. Step time against N (100 -> 10,000) at P = 10 on the compiled engine (and numpy up to
   ``--max-N-numpy``).

    OPENBLAS_THREAD_TIMEOUT=4 .venv/bin/python benchmarks/bench_step.py [--repeats 9]

(``OPENBLAS_THREAD_TIMEOUT`` keeps OpenBLAS's spinning threads, woken by the numpy engine's
products, from taking the cores of the compiled loop timed next; see docs/compiled_engine.md.)
"""

import argparse
import itertools
import time
import tracemalloc
from pathlib import Path

import numpy as np

from brianmodes import ModeNetwork
from brianmodes.train import loss_and_grads
from brianmodes.train.optim import Adam, clip_by_global_norm

PYTORCH_REFERENCE = {"mnist": 0.20, "context": 0.34}


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def interleaved_medians(fns, repeats):
    """Median time of each function, run in turn within every repeat (side by side)."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, acc in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return np.median(np.array(times), axis=1)


def peak_memory(fn):
    """Peak of the memory numpy allocates during one call (MiB; tracemalloc traces numpy's arrays)."""
    fn()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20


def training_step(net, x, targets, loss, optimizer, engine):
    def step():
        result = loss_and_grads(net, x, targets, loss=loss, engine=engine)
        clip_by_global_norm(result.grads, 20.0)
        optimizer.step(net.params, result.grads)
    return step


MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def mnist_inputs(rng, B, T, data_dir):
    """A training batch of real MNIST as the task gives it (bool spikes), else MNIST-like synthetic spikes.

    Returns (inputs, labels, description). The compiled step's cost depends on how many inputs
    spike (event-driven projection), so real digits are the honest measure: their pixels are
    rate-coded at 0.13 spikes per input and step on average.
    """
    if data_dir is not None and Path(data_dir).is_dir():
        from brianmodes.tasks import MNIST

        batch = MNIST(data_dir, n_steps=T).sample(B, rng)
        return batch.inputs, batch.targets, f"real MNIST training batch from {data_dir}"
    pixels = rng.random((B, 784)) * (rng.random((B, 784)) < 0.19)  # MNIST-like sparsity
    return rng.random((T, B, 784)) < pixels, rng.integers(0, 10, B), "synthetic MNIST-like spikes"


def mnist_case(x, labels, N=100, P=3):
    """MNIST-sized spike inputs as the image tasks give them: bool (see ``tasks.bernoulli_spikes``)."""
    return ModeNetwork(N=N, P=P, N_in=784, N_out=10, seed=0), x, labels, "cross_entropy"


def context_case(rng, N=100, P=3, B=100, T=500, N_in=4):
    net = ModeNetwork(N=N, P=P, N_in=N_in, N_out=1, readout="per_step", filter="double-ema", seed=0)
    x = rng.normal(size=(T, B, N_in)).astype(np.float32)
    return net, x, np.sign(rng.normal(size=(T, B, 1))).astype(np.float32), "root_sse"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--max-N", type=int, default=10000)
    parser.add_argument("--max-N-numpy", type=int, default=1000)
    parser.add_argument("--mnist-dir", default=str(MNIST_DIR),
                        help="folder of the MNIST IDX files (default ../shared/data/mnist; synthetic spikes "
                             "when it is missing)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    mnist_x, mnist_labels, source = mnist_inputs(rng, 256, 50, args.mnist_dir)
    print(f"Medians of {args.repeats} runs, float32, numpy {np.__version__}; MNIST inputs: {source} "
          f"({mnist_x.mean():.3f} spikes per input and step)\n")
    print("| task | discretization | setting | numpy engine (ms) | compiled (ms) | numpy / compiled "
          "| PyTorch reference / compiled | input GEMMs (ms) | peak memory, numpy / compiled (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    cases = {"mnist": lambda: mnist_case(mnist_x, mnist_labels), "context": lambda: context_case(rng)}
    for (name, case), form in itertools.product(cases.items(), ("published", "brian2")):
        net, x, targets, loss = case()
        net = net.with_config(discretization=form)
        T, B, N_in = x.shape
        W_in = net.W_in.astype(np.float32)
        x2 = x.reshape(T * B, N_in).astype(np.float32)  # a dense implementation's products take numbers
        g = rng.normal(size=(T * B, net.N)).astype(np.float32)
        steps = [training_step(net.copy(), x, targets, loss, Adam(), engine) for engine in ("numpy", "compiled")]
        numpy_s, compiled_s, gemms = interleaved_medians(steps + [lambda: (x2 @ W_in.T, g.T @ x2)], args.repeats)
        memory = [peak_memory(step) for step in steps]
        ref = PYTORCH_REFERENCE[name]
        setting = f"N={net.N} P={net.P} B={B} T={T} N_in={N_in}"
        print(f"| {name} | {form} | {setting} | {1e3 * numpy_s:.1f} | {1e3 * compiled_s:.1f} | "
              f"{numpy_s / compiled_s:.1f}x | {ref / compiled_s:.0f}x | {1e3 * gemms:.1f} | "
              f"{memory[0]:.0f} / {memory[1]:.0f} |", flush=True)

    print("\nStep time against N (P=10, B=16, T=100, 100 inputs, per-step readout, MSE)\n")
    print("| N | compiled step (ms) | per neuron (µs) | ratio to previous | N ratio | numpy step (ms) "
          "| peak memory, compiled (MiB) |")
    print("|---|---|---|---|---|---|---|")
    previous = None
    for N in (100, 300, 1000, 3000, 10000):
        if N > args.max_N:
            break
        net = ModeNetwork(N=N, P=10, N_in=100, N_out=2, readout="per_step", seed=0)
        x = (rng.random((100, 16, 100)) < 0.2).astype(np.float32)
        targets = rng.normal(size=(100, 16, 2)).astype(np.float32)
        compiled = training_step(net.copy(), x, targets, "mse", Adam(), "compiled")
        step = median_time(compiled, max(3, args.repeats // 2))
        numpy_ms = ""
        if N <= args.max_N_numpy:
            numpy_ms = f"{1e3 * median_time(training_step(net.copy(), x, targets, 'mse', Adam(), 'numpy'), 3):.1f}"
        ratio = "" if previous is None else f"{step / previous[1]:.2f}"
        nratio = "" if previous is None else f"{N / previous[0]:.1f}"
        print(f"| {N} | {1e3 * step:.1f} | {1e6 * step / N:.2f} | {ratio} | {nratio} | {numpy_ms} | "
              f"{peak_memory(compiled):.0f} |", flush=True)
        previous = (N, step)


if __name__ == "__main__":
    main()
