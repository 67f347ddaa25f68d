"""brianmodes against a real peer through NIR: snnTorch 1.0 (needs the 'peers' extra: torch, snntorch, nir, nirtorch).

    python -m venv /tmp/peer && /tmp/peer/bin/pip install -e ".[peers]" nirtorch
    /tmp/peer/bin/python benchmarks/snntorch_crosscheck.py [--trials 8] [--steps 2000]

1. An snnTorch recurrent network (Linear -> RSynaptic, reset to zero -> Linear, no biases) runs
   on random inputs; ``snntorch.export_nir.export_to_nir`` writes its NIR graph.
2. ``brianmodes.nir.from_nir(graph, dt=1e-4, update="snntorch")`` (snnTorch's own discrete
   update) runs it in brianmodes' engine: spikes compared with snnTorch's, one by one.
3. ``from_nir(graph, dt=1e-4)`` (NIR's continuous equations, with and without snnTorch's
   one-step dead time, refractory = 2 dt in Brian2's terms) runs in the engine and in Brian2
   (runtime device, numpy target): Brian2 against the engine spike for spike, rates against snnTorch.
4. brianmodes -> NIR -> snnTorch: the imported network written back with ``to_nir`` and read by
   ``snntorch.import_nir.import_from_nir``, beside snnTorch re-importing its own graph; and a
   brianmodes LIF network offered to it (its importer requires r = tau_mem / 1e-4 and
   LIF -> Linear -> LIF cycles; a brianmodes recurrence reads the filtered activity through LI nodes).
"""

import argparse
import copy

import numpy as np
import snntorch as snn
import torch
from snntorch.export_nir import export_to_nir

from brianmodes import ModeNetwork, simulate
from brianmodes.brian import BrianCircuit
from brianmodes.nir import from_nir, to_nir


def snntorch_network(N, N_in, N_out, seed, alpha=0.95, beta=0.9):
    torch.manual_seed(seed)
    fc1, fc2 = torch.nn.Linear(N_in, N, bias=False), torch.nn.Linear(N, N_out, bias=False)
    rsyn = snn.RSynaptic(alpha=alpha, beta=beta, linear_features=N, reset_mechanism="zero", init_hidden=True)
    with torch.no_grad():
        fc1.weight.mul_(0.05)
        rsyn.recurrent.weight.mul_(0.1)
        rsyn.recurrent.bias.zero_()
    return torch.nn.Sequential(fc1, rsyn, fc2), rsyn


def run_snntorch(model, rsyn, x):
    """x: (T, B, N_in). Spikes of the recurrent layer (T, B, N)."""
    rsyn.reset_hidden()
    spikes = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            model(torch.from_numpy(x[t]).float())
            spikes.append(rsyn.spk.numpy() > 0)
    return np.array(spikes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=40)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    x = np.random.default_rng(args.seed).random((args.steps, args.trials, 3)).astype(np.float32)
    model, rsyn = snntorch_network(args.N, 3, 2, args.seed)
    theirs = run_snntorch(model, rsyn, x)
    graph = export_to_nir(model, torch.zeros(1, 3), ignore_dims=[0])
    print(f"snnTorch {snn.__version__}: {args.trials} trials x {args.steps} steps of 0.1 ms, N = {args.N}; "
          f"{int(theirs.sum())} spikes ({100 * theirs.mean():.1f} % of the neuron-steps)\n")
    print("| brianmodes run | spikes | rate / snnTorch's | spikes differing from snnTorch's |")
    print("|---|---|---|---|")
    for dtype in (np.float32, np.float64):
        net = from_nir(graph, dt=1e-4, update="snntorch")
        ours = simulate(net, x, record=("s",), dtype=dtype).spikes
        print(f"| snnTorch's update, engine, {np.dtype(dtype).name} | {int(ours.sum())} | "
              f"{ours.sum() / theirs.sum():.3f} | {int((ours != theirs).sum())} |")
    for refractory, label in ((None, "NIR's equations"), (2e-4, "NIR's equations + snnTorch's dead time")):
        net = from_nir(graph, dt=1e-4, refractory=refractory)
        ours = simulate(net, x, record=("s",), dtype=np.float64).spikes
        brian = BrianCircuit(net, n_trials=args.trials, input_kind="current").run(x.astype(np.float64))
        print(f"| {label}, engine | {int(ours.sum())} | {ours.sum() / theirs.sum():.3f} | "
              f"{int((ours != theirs).sum())} |")
        print(f"| {label}, Brian2 (numpy target) | {int(brian.spikes.sum())} | "
              f"{brian.spikes.sum() / theirs.sum():.3f} | {int((brian.spikes != theirs).sum())} "
              f"(Brian2 vs engine: {int((brian.spikes != ours).sum())}) |")
    from snntorch.import_nir import import_from_nir

    def run_imported(module):
        state, outputs = None, []
        with torch.no_grad():
            for t in range(x.shape[0]):
                out, state = module(torch.from_numpy(x[t]), state)
                outputs.append(out.numpy())
        return np.array(outputs)

    rsyn.reset_hidden()
    with torch.no_grad():
        original = np.array([model(torch.from_numpy(x[t])).numpy() for t in range(x.shape[0])])
    ours_net = from_nir(copy.deepcopy(graph), dt=1e-4, update="snntorch")
    ours = simulate(ours_net, x, dtype=np.float32).outputs
    own = run_imported(import_from_nir(copy.deepcopy(graph)))      # snnTorch reading its own graph
    via = run_imported(import_from_nir(to_nir(ours_net)))          # snnTorch reading brianmodes' graph of it
    print("\nOutputs (W_out times the spikes) over all steps, largest difference from the original snnTorch network "
          f"(outputs up to {np.abs(original).max():.3f}):\n")
    print("| run | largest difference | nonzero outputs |\n|---|---|---|")
    for label, out in (("brianmodes, snnTorch's update (float32)", ours),
                       ("snnTorch, its own graph re-imported (import_from_nir)", own),
                       ("snnTorch, brianmodes' graph of it (to_nir -> import_from_nir)", via)):
        print(f"| {label} | {np.abs(out - original).max():.3g} | {100 * np.mean(out != 0):.1f} % |")
    print(f"\nsnnTorch's re-import of its own graph against brianmodes' graph of it: "
          f"{np.abs(own - via).max():.3g} largest difference")

    ours_graph = to_nir(ModeNetwork(N=20, P=2, N_in=3, N_out=2, seed=0), recurrence="dense")
    try:
        import_from_nir(ours_graph)
        print("\nsnnTorch imported a brianmodes LIF graph")
    except Exception as err:  # noqa: BLE001 - the peer's own refusal, reported as it is
        print(f"\nsnnTorch on a brianmodes LIF graph: {type(err).__name__}: {err}")

if __name__ == "__main__":
    main()
