"""One training step of this working tree and of an earlier commit, side by side in one process.

On a shared machine the speed of a core moves by tens of percent from one minute to the next, so
two versions timed in separate runs cannot be compared. This script extracts ``brianmodes/`` of
``--old`` (any git revision) into a temporary folder as the package ``brianmodes_old``, imports
it beside this tree's ``brianmodes``, and times the two training steps (forward, backward,
clipping, Adam; the compiled engine; float32) **in turn within every repeat**, the order
alternating, on the same inputs:

- context: N=100, P=3, B=100, T=500, 4 analog inputs, double-ema filter, root-sum-squared error;
- MNIST-like: N=100, P=3, B=256, T=50, 784 spike inputs (~15 % active) as float32 0/1;
- the same MNIST inputs as bool (what the image tasks give).

It prints the medians, their ratio, and how far the two versions' results lie apart: the largest
relative difference of the first step's gradients and of the parameters after all steps
(0 means bitwise the same).

    OPENBLAS_THREAD_TIMEOUT=4 .venv/bin/python benchmarks/compare_versions.py --old 9d19a7a [--repeats 21]

With ``--old 33b9230 --old-engine numpy`` it times the issue-11 baseline (the last version with
the hand-written numpy loops, whose steps the issue quotes as 66 ms and 41 ms) beside this tree
on the same machine, so the issue's speed-ups can be checked on whatever machine runs it.
"""

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before numpy (see bench_compiled.py)

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def extract_old(revision, folder):
    """``brianmodes/`` of ``revision`` as ``folder/brianmodes_old`` (imports inside it are relative)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, "brianmodes"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (Path(folder) / "brianmodes").rename(Path(folder) / "brianmodes_old")


def cases(pkg, discretization="brian2", seed=0):
    """(name, network, inputs, targets, loss) of the three cases, the same draws for every package."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(500, 100, 4)).astype(np.float32)
    y = np.sign(rng.normal(size=(500, 100, 1))).astype(np.float32)
    net = pkg.ModeNetwork(N=100, P=3, N_in=4, N_out=1, readout="per_step", filter="double-ema", seed=0,
                          discretization=discretization)
    yield "context", net, x, y, "root_sse"
    pixels = rng.random((256, 784)) * (rng.random((256, 784)) < 0.3)
    spikes = rng.random((50, 256, 784)) < pixels
    labels = rng.integers(0, 10, 256)
    yield "MNIST, float32 inputs", pkg.ModeNetwork(N=100, P=3, N_in=784, N_out=10, seed=0,
                                                   discretization=discretization), \
        spikes.astype(np.float32), labels, "cross_entropy"
    yield "MNIST, bool inputs", pkg.ModeNetwork(N=100, P=3, N_in=784, N_out=10, seed=0,
                                                discretization=discretization), spikes, labels, "cross_entropy"


def step_function(pkg, net, x, targets, loss, engine="compiled"):
    """One training step of ``pkg`` on a copy of ``net`` (its own Adam state).

    ``engine`` is passed to ``loss_and_grads``; versions before the engine choice (the
    hand-written numpy loops, e.g. 33b9230) take no ``engine`` and run their only engine.
    """
    import importlib
    import inspect

    train = importlib.import_module(f"{pkg.__name__}.train")
    optim = importlib.import_module(f"{pkg.__name__}.train.optim")
    net, opt = net.copy(), optim.Adam()
    options = {"engine": engine} if "engine" in inspect.signature(train.loss_and_grads).parameters else {}

    def step():
        result = train.loss_and_grads(net, x, targets, loss=loss, **options)
        optim.clip_by_global_norm(result.grads, 20.0)
        opt.step(net.params, result.grads)
        return result
    return step, net


def largest_difference(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) / max(float(np.max(np.abs(a[k]))), 1e-300) for k in a)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the git revision to compare with (e.g. a commit hash)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--discretization", default="brian2", choices=("brian2", "published"))
    parser.add_argument("--old-engine", default="compiled", choices=("compiled", "numpy"),
                        help="the engine of the old version (versions without the choice run their own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        extract_old(args.old, folder)
        sys.path.insert(0, folder)
        sys.path.insert(0, str(ROOT))
        import brianmodes as new
        import brianmodes_old as old

        print(f"{args.repeats} repeats, both versions in turn (order alternating), float32, {args.old}: "
              f"{args.old_engine} engine, this tree: compiled engine, {args.discretization} discretization; "
              f"load average {os.getloadavg()[0]:.2f}\n")
        print(f"| case | {args.old} (ms) | this tree (ms) | this / {args.old} | first gradients, largest "
              "relative difference | parameters after all steps |")
        print("|---|---|---|---|---|---|")
        pairs = zip(cases(old, args.discretization), cases(new, args.discretization))
        for (name, net_old, x, t, loss), (_, net_new, _, _, _) in pairs:
            steps = [step_function(pkg, net, x, t, loss, engine)
                     for pkg, net, engine in ((old, net_old, args.old_engine), (new, net_new, "compiled"))]
            first = [fn() for fn, _ in steps]
            times = [[], []]
            for r in range(args.repeats):
                for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                    t0 = time.perf_counter()
                    steps[i][0]()
                    times[i].append(time.perf_counter() - t0)
            a, b = (1e3 * float(np.median(v)) for v in times)
            grads = largest_difference(first[0].grads, first[1].grads)
            params = largest_difference(steps[0][1].params, steps[1][1].params)
            print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.3f} | {grads:.1e} | {params:.1e} |", flush=True)
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
