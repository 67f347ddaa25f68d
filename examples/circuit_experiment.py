"""A circuit experiment in Brian2: silence the neurons that carry one mode for 200 ms.

Takes a trained context-task model, builds its Brian2 network (20 trials side by side),
adds a StateMonitor, and runs the same trials twice: intact, and with the 20 neurons that
load most strongly on the most important mode (``brianmodes.analysis.mode_importance``,
the paper's tau) silenced from 300 to 500 ms (during the stimulus). Silencing is done as a
Brian2 user would: the neurons' per-neuron threshold ``v_th`` is raised to infinity
between two calls of ``network.run``. Prints the decision accuracy of both runs and
writes a figure of the outputs by condition.

    .venv/bin/python examples/circuit_experiment.py runs/context-N100-P3/model.npz [--out silencing.png]
        [--target cython]

Train the model first with ``brianmodes train context --out runs/context-N100-P3``.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import StateMonitor, ms, prefs  # noqa: E402

from brianmodes import load  # noqa: E402
from brianmodes.analysis import mode_importance  # noqa: E402
from brianmodes.brian import BrianCircuit  # noqa: E402
from brianmodes.tasks import make_task  # noqa: E402

SILENCE_MS = (300, 500)


def most_important_mode(net):
    """Index of the mode with the largest importance tau (SPEC 3), and tau of every mode."""
    tau = mode_importance(net)
    return int(np.argmax(tau)), tau


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--silence", type=int, default=20, help="number of neurons to silence")
    parser.add_argument("--out", default="silencing.png")
    parser.add_argument("--target", choices=("numpy", "cython"), default="numpy",
                        help="Brian2 code generation: numpy needs no compiler, cython is faster on long runs")
    args = parser.parse_args()

    net = load(args.model)
    task = make_task(net.metadata["task"])
    if task.n_steps * net.dt * 1e3 <= SILENCE_MS[1]:
        parser.error(f"the model's trials last {task.n_steps * net.dt * 1e3:g} ms; silencing {SILENCE_MS[0]}-"
                     f"{SILENCE_MS[1]} ms needs longer ones (a context-task model)")
    prefs.codegen.target = args.target  # for building the circuit and for every run below
    batch = next(task.test_batches(batch_size=args.trials, n_trials=args.trials, seed=0))
    circuit = BrianCircuit(net, n_trials=args.trials, input_kind="current")
    print(circuit.equations)

    # the neurons whose activity carries the mode: the largest |xi_out| (kappa = xi_out^T r)
    mode, tau = most_important_mode(net)
    print("mode importance tau:", np.round(tau, 3).tolist(), f"-> silencing mode {mode}")
    chosen = np.argsort(-np.abs(net.xi_out[:, mode]))[:args.silence]
    in_every_trial = (np.arange(args.trials)[:, None] * net.N + chosen[None, :]).ravel()
    monitor = StateMonitor(circuit.neurons, "v", record=in_every_trial[:args.silence], when="end",
                           name="silenced_v")
    circuit.add(monitor)

    intact = circuit.run(batch.inputs, target=args.target)
    intact_v = np.array(monitor.v_)

    n_steps = circuit.prepare(batch.inputs)
    total = n_steps * net.dt * 1e3
    start, stop = SILENCE_MS
    circuit.network.run(start * ms)
    circuit.neurons.v_th[in_every_trial] = np.inf     # silence
    circuit.network.run((stop - start) * ms)
    circuit.neurons.v_th[in_every_trial] = net.v_th  # release
    circuit.network.run((total - stop) * ms)
    silenced = circuit.collect(n_steps)

    for name, result in (("intact", intact), ("silenced", silenced)):
        m = {k: float(np.mean(v)) for k, v in task.trial_metrics(result.outputs, batch).items()}
        print(f"{name}: decision accuracy {100 * m['decision_accuracy']:.0f} %, MSE {m['mse']:.4f}, "
              f"mean rate {result.rates().mean():.1f} Hz")
    window = slice(*(int(round(t * 1e-3 / net.dt)) for t in SILENCE_MS))
    print(f"silenced neurons' spikes in {start}-{stop} ms: intact {int(intact.spikes[window][:, :, chosen].sum())}, "
          f"silenced {int(silenced.spikes[window][:, :, chosen].sum())}")

    time_ms = np.arange(n_steps) * net.dt * 1e3
    fig, (ax_out, ax_v) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    context, target = batch.info["context"], batch.targets[-1, :, 0]
    for c in (0, 1):
        for sign, style in ((1, "-"), (-1, "--")):
            sel = (context == c) & (target == sign)
            if sel.any():
                ax_out.plot(time_ms, intact.outputs[:, sel, 0].mean(axis=1), style, color=f"C{c}", alpha=0.4)
                ax_out.plot(time_ms, silenced.outputs[:, sel, 0].mean(axis=1), style, color=f"C{c}",
                            label=f"context {c + 1}, target {sign:+d} (silenced)")
    for ax in (ax_out, ax_v):
        ax.axvspan(start, stop, color="0.9", zorder=-1)
    ax_out.set_ylabel("output y (mean by condition)")
    ax_out.set_title(f"most important mode ({mode}): {args.silence} neurons silenced {start}-{stop} ms "
                     "(pale: intact)")
    ax_out.legend(fontsize=7)
    ax_v.plot(time_ms, intact_v[0], color="0.6", label="intact")
    ax_v.plot(time_ms, np.array(monitor.v_)[0], color="k", label="silenced")
    ax_v.set_ylabel("v of a silenced neuron")
    ax_v.set_xlabel("time (ms)")
    ax_v.legend(fontsize=7)
    fig.savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")


if __name__ == "__main__":
    main()
