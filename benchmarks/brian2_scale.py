"""Scale: a mode network of N = 100,000 neurons (P = 10) for 1 s of biological time in Brian2.

Builds the circuit with the 'modes' recurrence (P mode units, 2 N P synapses), drives it with
random analog inputs, and reports build and run time and the peak memory of this process
and of the compiled program. Then asks for the 'dense' recurrence, which must refuse up front
with a memory estimate instead of swapping.

    .venv/bin/python benchmarks/brian2_scale.py [--N 100000] [--P 10] [--device cpp_standalone]
"""

import argparse
import resource
import time

import numpy as np

from brianmodes import BrianModesError, ModeNetwork
from brianmodes.brian import BrianCircuit, StandaloneProgram


def peak_mib():
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return self_kib / 1024, child_kib / 1024


def bytes_per_dense_synapse(N=2000):
    """Resident memory per synapse of a dense circuit (runtime device), after one short run."""
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    net = ModeNetwork(N=N, P=2, N_in=2, N_out=1, parametrization="full", readout="per_step", seed=0)
    before = rss()
    circuit = BrianCircuit(net, n_trials=1, recurrence="dense")
    built = rss()
    circuit.run(np.zeros((5, 1, 2)))
    return len(circuit.recurrent), (built - before) / len(circuit.recurrent), (rss() - before) / len(circuit.recurrent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=100_000)
    parser.add_argument("--P", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--device", default="cpp_standalone", choices=("cpp_standalone", "cython", "numpy"))
    args = parser.parse_args()
    # first, while the process is fresh (later, freed memory would be reused and hide the cost)
    n_syn, built, ran = bytes_per_dense_synapse()
    print(f"dense synapses measured: {n_syn:,} synapses, {built:.0f} bytes each after building, "
          f"{ran:.0f} after a run\n")
    net = ModeNetwork(N=args.N, P=args.P, N_in=4, N_out=2, readout="per_step", filter="double-ema", seed=0)
    net.params["W_in"] *= 3
    n_steps = int(round(args.seconds / net.dt))
    x = np.random.default_rng(0).normal(size=(n_steps, 1, 4))
    t0 = time.perf_counter()
    if args.device == "cpp_standalone":
        runner = StandaloneProgram(net, n_trials=1, n_steps=n_steps, input_kind="current", record_outputs=True)
        build = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = runner.run(x)
        run = time.perf_counter() - t1
        runner.close()
    else:
        circuit = BrianCircuit(net, n_trials=1, input_kind="current")
        build = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = circuit.run(x, target=args.device)
        run = time.perf_counter() - t1
    mem_self, mem_child = peak_mib()
    synapses = 2 * args.N * args.P + args.N * net.N_out
    print("| N | P | synapses | device | biological time (s) | build (s) | run (s) | spikes | mean rate (Hz) "
          "| peak memory, Python (MiB) | peak memory, compiled program (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.N:,} | {args.P} | {synapses:,} | {args.device} | {args.seconds:g} | {build:.1f} | {run:.1f} | "
          f"{int(result.spikes.sum()):,} | {result.rates().mean():.1f} | {mem_self:.0f} | {mem_child:.0f} |")
    try:
        BrianCircuit(net, n_trials=1, recurrence="dense")
        print("dense: built (unexpected at this size)")
    except BrianModesError as err:
        print(f"\ndense recurrence refused up front: {err}")


if __name__ == "__main__":
    main()
