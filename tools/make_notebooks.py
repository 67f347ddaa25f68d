"""Write the tutorial notebooks in notebooks/ from the cell lists below (outputs are not stored).

Every notebook reads ``BRIANMODES_QUICK=1`` from the environment to run at small sizes;
the test suite executes them that way (tests/test_notebooks.py).

    .venv/bin/python tools/make_notebooks.py
"""

import hashlib
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parents[1] / "notebooks"

SETUP = '''import os
import numpy as np
import matplotlib.pyplot as plt

QUICK = os.environ.get("BRIANMODES_QUICK") == "1"   # small sizes, for the test suite
%matplotlib inline'''

NOTEBOOKS = {
    "01_quick_start.ipynb": [
        ("md", "# Quick start: train a mode network, run it in Brian2, look at its modes\n\n"
               "A recurrent network of N LIF neurons whose weight matrix has rank P: "
               "W = xi_in diag(lambda) xi_out^T. We train it on the built-in 8x8 digits, "
               "simulate the trained circuit in Brian2 and project its activity onto the modes."),
        ("code", SETUP),
        ("code", '''from brianmodes import simulate, save, load
from brianmodes.tasks import make_task
from brianmodes.train import Trainer

task = make_task("digits")
net = task.make_network(N=100 if not QUICK else 40, P=3, seed=0)
net'''),
        ("md", "Training: surrogate-gradient BPTT in numpy, Adam, a progress bar. About 20 s at full size."),
        ("code", '''trainer = Trainer(n_batches=2000 if not QUICK else 40, batch_size=64, progress=not QUICK).fit(net, task)
loss = [row["loss"] for row in trainer.history_]
plt.plot(loss); plt.xlabel("batch"); plt.ylabel("cross-entropy"); plt.show()
task.evaluate(net)'''),
        ("md", "## The same network in Brian2\n\nThe trained circuit becomes Brian2 objects "
               "(NeuronGroup `neurons`, mode units `modes`, Synapses `to_modes`/`from_modes`, a readout). "
               "With the default `brian2` discretization it produces the numpy engine's spikes exactly."),
        ("code", '''from brianmodes.brian import BrianCircuit
from brianmodes.plot import raster_figure

batch = next(task.test_batches(batch_size=8, n_trials=8))
circuit = BrianCircuit(net, n_trials=8, input_kind="spikes", record=("v", "r"))
print(circuit.equations)
result = circuit.run(batch.inputs)            # numpy target: no compiler needed
engine = simulate(net, batch.inputs, record=("s",), dtype=np.float64)
print("spike mismatches Brian2 vs numpy engine:", int((result.spikes != engine.spikes).sum()))
raster_figure(result.spikes, net.dt, title="Brian2, trial 0"); plt.show()'''),
        ("md", "## Activity in mode space\n\nkappa_in(t) = xi_in^T r(t): P numbers per time step."),
        ("code", '''from brianmodes.analysis import project_on_modes, mode_vs_pca_variance

kappa = project_on_modes(net, result.traces["r"], "in")
labels = batch.targets
fig, ax = plt.subplots()
for k in range(3):
    ax.plot(np.arange(kappa.shape[0]) * net.dt * 1e3, kappa[:, :, k].mean(axis=1), label=f"mode {k}")
ax.set_xlabel("time (ms)"); ax.legend(); plt.show()
mode_vs_pca_variance(net, result.traces["r"])'''),
    ],
    "02_digits_and_mnist.ipynb": [
        ("md", "# Digits and MNIST: accuracy against P, the importance power law, pruning\n\n"
               "With an MNIST folder (`MNIST_DIR`) this uses MNIST, otherwise the built-in 8x8 digits. "
               "For the paper's full tables run `brianmodes reproduce --scale full --data-dir DIR`."),
        ("code", SETUP + '''
MNIST_DIR = os.environ.get("MNIST_DIR")'''),
        ("code", '''from brianmodes.tasks import make_task
from brianmodes.train import Trainer

task = make_task("mnist", data_dir=MNIST_DIR) if MNIST_DIR and not QUICK else make_task("digits")
Ps = [1, 3, 10, 30] if not QUICK else [1, 8]
batches = (3000 if task.name == "mnist" else 1500) if not QUICK else 30
nets, accuracy = {}, {}
for P in Ps:
    nets[P] = task.make_network(N=100 if not QUICK else 30, P=P, seed=0)
    Trainer(n_batches=batches, progress=not QUICK).fit(nets[P], task)
    accuracy[P] = 100 * task.evaluate(nets[P], n_trials=None if not QUICK else 100)["accuracy"]
accuracy'''),
        ("code", '''from brianmodes.plot import plot_accuracy_vs_modes
from brianmodes.reproduce import PUBLISHED_MNIST

N = nets[Ps[0]].N
plot_accuracy_vs_modes({N: accuracy}, published={100: PUBLISHED_MNIST[100]} if task.name == "mnist" else None)
plt.show()'''),
        ("md", "## Mode importance\n\ntau_mu = gamma (||xi_in_mu|| + ||xi_out_mu||) + |lambda_mu|, sorted, "
               "against rank on log-log axes with two fitted power laws (published for MNIST, N=100, P=30: "
               "slopes -0.10 and -0.12)."),
        ("code", '''from brianmodes.analysis import mode_importance, fit_piecewise_power_law
from brianmodes.plot import plot_importance

big = nets[max(Ps)]
fit = fit_piecewise_power_law(mode_importance(big))
plot_importance(fit); plt.show()
fit["breakpoint"], fit["slopes"]'''),
        ("md", "## Pruning: remove modes least-important first, most-important first, at random"),
        ("code", '''from brianmodes.analysis import pruning_curve
from brianmodes.plot import plot_pruning

curve = pruning_curve(big, task, counts=None if not QUICK else [0, 4, 8], n_random=3 if not QUICK else 1,
                      n_trials=1000 if not QUICK else 50)
plot_pruning(curve); plt.show()'''),
    ],
    "03_context_task.ipynb": [
        ("md", "# Context-dependent integration: outputs, mode-space attractors, a context switch\n\n"
               "Two noisy stimuli and a context cue; the network reports the sign of the cued stimulus "
               "(after Mante et al. 2013). We use the shipped model `context-N100-P3`."),
        ("code", SETUP),
        ("code", '''from brianmodes import load, simulate
from brianmodes.tasks import make_task

net = load("context-N100-P3")
task = make_task(net.metadata["task"])
print(net)
task.evaluate(net, n_trials=500 if not QUICK else 50)'''),
        ("code", '''from brianmodes.plot import plot_outputs_by_condition

n = 200 if not QUICK else 40
batch = next(task.test_batches(batch_size=n, n_trials=n))
res = simulate(net, batch.inputs, record=("r", "v"))
conditions = 2 * batch.info["context"] + (batch.targets[-1, :, 0] > 0)
from brianmodes.figure_style import CONTEXT_CONDITION_NAMES as names   # "context 1, choice +", ...
plot_outputs_by_condition(res.outputs, conditions, net.dt, labels=names); plt.show()'''),
        ("md", "## Mode space: where the four conditions end"),
        ("code", '''from brianmodes.analysis import project_on_modes, end_states_by_condition
from brianmodes.plot import plot_mode_trajectories

kappa = project_on_modes(net, res.r, "in")
ends = end_states_by_condition(kappa, conditions)
print(f"separation / spread: {ends['separation_ratio']:.1f}")
fig = plt.figure(figsize=(6, 5))
plot_mode_trajectories(kappa, conditions, labels=names, ax=fig.add_subplot(projection="3d"))
plt.show()'''),
        ("md", "## A context switch\n\nThe cue flips at 600 ms on every trial; the target becomes the sign of "
               "the other stimulus. The shipped model was not trained with switches: this shows how it copes."),
        ("code", '''switch = make_task("context", switch_prob=1.0, switch_step=300)
sw = next(switch.test_batches(batch_size=n, n_trials=n))
out = simulate(net, sw.inputs, record=()).outputs
metrics = {k: float(np.mean(v)) for k, v in switch.trial_metrics(out, sw).items()}
print("after a switch:", metrics)
plot_outputs_by_condition(out, 2 * sw.info["context"] + (sw.targets[-1, :, 0] > 0), net.dt, labels=names); plt.show()'''),
    ],
    "04_circuit_experiment.ipynb": [
        ("md", "# A circuit experiment in Brian2\n\nTake the Brian2 network of the trained context model, "
               "add a StateMonitor, silence for 200 ms the neurons that load most on the most important mode "
               "(by the paper's importance tau, `brianmodes.analysis.mode_importance`), and compare "
               "with the intact network. (The same as `examples/circuit_experiment.py`.)"),
        ("code", SETUP),
        ("code", '''from brian2 import StateMonitor, ms, prefs
from brianmodes import load
from brianmodes.analysis import mode_importance
from brianmodes.brian import BrianCircuit
from brianmodes.tasks import make_task

prefs.codegen.target = "numpy"   # no compiler needed; "cython" makes long experiments faster
net = load("context-N100-P3")
task = make_task(net.metadata["task"])
trials = 20 if not QUICK else 4
batch = next(task.test_batches(batch_size=trials, n_trials=trials))
circuit = BrianCircuit(net, n_trials=trials, input_kind="current")
tau = mode_importance(net)       # tau_mu = gamma (||xi_in_mu|| + ||xi_out_mu||) + |lambda_mu|
mode = int(np.argmax(tau))
print("importance:", tau.round(3), "-> silencing the neurons of mode", mode)
chosen = np.argsort(-np.abs(net.xi_out[:, mode]))[:20]
idx = (np.arange(trials)[:, None] * net.N + chosen).ravel()
monitor = StateMonitor(circuit.neurons, "v", record=idx[:3], when="end")
circuit.add(monitor)'''),
        ("code", '''intact = circuit.run(batch.inputs)
v_intact = np.array(monitor.v_)

n_steps = circuit.prepare(batch.inputs)
circuit.network.run(300 * ms)
circuit.neurons.v_th[idx] = np.inf        # silence
circuit.network.run(200 * ms)
circuit.neurons.v_th[idx] = net.v_th      # release
circuit.network.run(500 * ms)
silenced = circuit.collect(n_steps)
for name, r in (("intact", intact), ("silenced", silenced)):
    print(name, {k: float(np.mean(v)) for k, v in task.trial_metrics(r.outputs, batch).items()})'''),
        ("code", '''t = np.arange(n_steps) * net.dt * 1e3
fig, (a, b) = plt.subplots(2, 1, sharex=True, figsize=(8, 5))
a.plot(t, intact.outputs[:, :, 0], color="0.7", lw=0.6); a.plot(t, silenced.outputs[:, :, 0], color="C3", lw=0.6)
a.axvspan(300, 500, color="0.9"); a.set_ylabel("output (grey intact, red silenced)")
b.plot(t, v_intact[0], color="0.6"); b.plot(t, np.array(monitor.v_)[0], color="k")
b.axvspan(300, 500, color="0.9"); b.set_ylabel("v"); b.set_xlabel("time (ms)"); plt.show()'''),
    ],
    "05_fit_recorded_data.ipynb": [
        ("md", "# Fitting a mode network to recorded spikes (ground truth, end to end)\n\n"
               "We play experimenter on a network whose modes we know (P* = 2): record the spikes of some of its "
               "neurons on trials of the context task, save them as NWB, read the file back as real data, "
               "choose P by cross-validation, fit, and check what the fit recovered. "
               "`docs/fitting.md` has the full-size numbers and explains how to do this with a real NWB file "
               "(e.g. from DANDI)."),
        ("code", SETUP),
        ("code", '''from brianmodes import simulate
from brianmodes.data import (read_nwb, write_nwb, choose_modes, fit_activity, mode_subspace_angles,
                             cca_similarity, psth)
from brianmodes.tasks import ActivityTask
from brianmodes.data.ground_truth import (two_mode_network, short_context_task, record_network,
                                          recording_to_arrays, context_inputs)

task = short_context_task()
true = two_mode_network(N=60, seed=1)
recording, inputs = record_network(true, n_recorded=40, trials_per_condition=40 if not QUICK else 8,
                                   task=task, return_inputs=True)
path = write_nwb(recording, "ground_truth.nwb")
data = read_nwb(path)                      # from here on, only what an experimenter has
data'''),
        ("md", "## Preprocess like the model\n\nBin at the model's dt and filter with the model's own r filter; "
               "trial-averaged PSTHs per condition (context x stimulus signs)."),
        ("code", '''spikes, activity, conditions = recording_to_arrays(data, true, n_steps=task.n_steps)
labels, mean, sem = psth(activity, conditions)
t = np.arange(task.n_steps) * true.dt
for c in range(4):
    plt.plot(t, mean[:, c, 0], label=f"condition {c}")
plt.xlabel("time (s)"); plt.ylabel("filtered rate, unit 0"); plt.legend(frameon=False); plt.show()'''),
        ("md", "## Choose P by cross-validation\n\nFor each fold of trials and each P, fit on the other folds and "
               "score the model's trial-averaged rates against the fold's own PSTHs; the chosen P is the smallest "
               "within one standard error of the best. The fits are nested: P modes start from the P - 1 fit "
               "with one mode added. Here each trial's stimulus is known (`match=\"trials\"`); "
               "with only the stimulus statistics per condition, pass a function of (conditions, rng) as inputs."),
        ("code", '''curve = choose_modes(inputs, conditions, activity, N=60, Ps=(1, 2, 3) if not QUICK else (1, 2), n_folds=3,
                     n_batches=1000 if not QUICK else 20, filter=true.filter, task_kwargs={"match": "trials"},
                     progress=not QUICK)
plt.errorbar(curve["Ps"], curve["mean"], yerr=curve["sem"], marker="o", capsize=3)
plt.axhline(curve["noise_floor"], ls="--", color="gray"); plt.xlabel("P"); plt.ylabel("held-out PSTH error"); plt.show()
print("chosen P:", curve["best_P"])'''),
        ("md", "## Fit, then compare with the truth\n\nPrincipal angles between the true and fitted mode subspaces "
               "(over the recorded neurons) and CCA of the trial-averaged mode trajectories on fresh trials."),
        ("code", '''fit_task = ActivityTask(inputs, conditions, activity, test_fraction=0.1, match="trials")
fitted = None
for P in range(1, curve["best_P"] + 1):   # grown mode by mode, as in choose_modes
    fitted, metrics = fit_activity(fit_task, N=60, P=P, init=fitted, filter=true.filter, progress=not QUICK,
                                   n_batches=(2500 if P == curve["best_P"] else 1000) if not QUICK else 20)
recorded = np.asarray(data.unit_ids)
print("principal angles (deg):", mode_subspace_angles(true, fitted, recorded, np.arange(recorded.size)).round(1))
cond = np.repeat(np.arange(8), 20)
x = context_inputs(cond, np.random.default_rng(5), task)
_, true_r, _ = psth(simulate(true, x, record=("r",)).r, cond)
_, fit_r, _ = psth(simulate(fitted, x, record=("r",)).r, cond)
cca = cca_similarity(fit_r @ fitted.xi_out, true_r @ true.xi_out, n_components=min(fitted.P, 2))
print("CCA of mode trajectories:", cca["correlations"].round(3))'''),
    ],
    "06_your_own_neuron.ipynb": [
        ("md", "# Your own neuron model: write it in Brian2 syntax, train it, run it in Brian2\n\n"
               "A network's neurons are one `NeuronModel`: equations in Brian2's syntax with units, a threshold, "
               "a reset, a refractory period and parameters. brianmodes derives from it the per-step update and "
               "its adjoint (surrogate-gradient BPTT), so a neuron you write trains like the built-ins, its "
               "parameters (time constants, one per neuron if you like) train beside the weights, and the "
               "trained network runs in Brian2 spike for spike. `docs/models.md` is the reference."),
        ("code", SETUP + '''
ENGINE = "numpy" if QUICK else "auto"   # auto: the compiled engine (faster; compiles once per model structure)'''),
        ("md", "## 1. Write the neuron\n\n"
               "A LIF with *shunting adaptation*: each spike opens a conductance `g` that pulls the membrane "
               "towards 0 and decays with `tau_g`. The network talks to the neuron through three names: input "
               "spikes jump `I` (`input`), the recurrent drive W r of the previous step is `I_rec` (declared "
               "`I_rec : 1`), and the recurrence and the readout read the filtered spikes `r` (`activity`). "
               "`tau_m` gets one value per neuron, scattered around 20 ms (a seeded log-normal spread), and is "
               "trained; `beta` (the conductance jump) is one shared trained value, kept non-negative."),
        ("code", '''from brianmodes.neurons import NeuronModel, Parameter, derive, lif
from brianmodes.neurons import heterogeneous
from brianmodes.tasks import make_task

task = make_task("digits")
N = 100 if not QUICK else 40
shunting = NeuronModel(
    """
    dv/dt = (I - v - g * v) / tau_m : 1 (unless refractory)
    dg/dt = -g / tau_g : 1
    dI/dt = -I / tau_s + I_rec / (2 * ms) : 1
    dh/dt = -h / tau_r : 1
    dr/dt = (h - r) / tau_d : 1
    I_rec : 1
    """,
    threshold="v > 1", reset="v = 0\\ng += beta\\nh += 1", refractory="10 ms",
    parameters={"tau_m": Parameter(heterogeneous("20 ms", N, 0.2, seed=0), trainable=True, bound="positive"),
                "beta": Parameter(0.5, trainable=True, bound="nonnegative"),
                "tau_g": "100 ms", "tau_s": "10 ms", "tau_r": "2 ms", "tau_d": "30 ms"},
    name="lif-shunting")
print(derive(shunting))   # one time step, derived by Brian2's state updater: what the engines run'''),
        ("md", "## 2. Train it beside the built-ins\n\n"
               "The same task and seed for four neurons: the built-in LIF, the built-in adaptive LIF "
               "(`neuron=\"adaptive_lif\"`), the LIF with one trained `tau_m` per neuron, and yours."),
        ("code", '''from brianmodes.train import Trainer

heterogeneous_lif = lif(task.filter, tau_m=heterogeneous("20 ms", N, 0.2, seed=0), per_neuron=("v_th", "tau_m"),
                        trainable=("tau_m",))
neurons = {"built-in LIF": "lif", "adaptive LIF (built-in)": "adaptive_lif",
           "LIF, trained tau_m per neuron": heterogeneous_lif, "your shunting LIF": shunting}
nets, losses, accuracy = {}, {}, {}
for label, neuron in neurons.items():
    nets[label] = task.make_network(N=N, P=3, seed=0, neuron=neuron)
    trainer = Trainer(n_batches=1000 if not QUICK else 40, batch_size=64 if not QUICK else 32, lr=3e-3,
                      progress=not QUICK, engine=ENGINE).fit(nets[label], task)
    losses[label] = [row["loss"] for row in trainer.history_]
    accuracy[label] = round(100 * task.evaluate(nets[label], runner=ENGINE)["accuracy"], 1)
fig, ax = plt.subplots()
for label, loss in losses.items():
    ax.plot(loss, label=f"{label}: {accuracy[label]} % held out")
ax.set_xlabel("batch"); ax.set_ylabel("cross-entropy (training batch)"); ax.legend(frameon=False); plt.show()
print(nets["your shunting LIF"])   # the trained arrays: the weights, log_tau_m (N,) and sqrt_beta ()'''),
        ("md", "## 3. What training did to the time constants\n\n"
               "A positive parameter is trained as the logarithm of its value (`log_tau_m`), a non-negative one "
               "as a square root (`sqrt_beta`): Adam moves them freely and the values stay in bounds. "
               "`net.neuron_values()` gives the values."),
        ("code", '''fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, label in zip(axes, ("LIF, trained tau_m per neuron", "your shunting LIF")):
    start = 1e3 * np.asarray(neurons[label].parameters["tau_m"].value)
    trained = 1e3 * nets[label].neuron_values()["tau_m"]
    bins = np.linspace(min(start.min(), trained.min()), max(start.max(), trained.max()), 15)
    ax.hist(start, bins, alpha=0.6, label="at the start"); ax.hist(trained, bins, alpha=0.6, label="trained")
    ax.set_title(label); ax.set_xlabel("membrane time constant tau_m (ms)")
axes[0].set_ylabel("neurons"); axes[0].legend(frameon=False); plt.show()
print("beta: 0.5 at the start, trained", round(nets["your shunting LIF"].neuron_values()["beta"], 3))'''),
        ("md", "## 4. Saved with the model\n\n"
               "The model file holds the neuron model in its header (equations, threshold, reset, "
               "refractoriness, every parameter with its unit and flags, the trained values), protected by a "
               "checksum: `load` gives the same network back, and `brianmodes info`, `evaluate` and `simulate` "
               "work on it like on any model file."),
        ("code", '''from brianmodes import load, save
from brianmodes.neurons.serialize import model_text

net = nets["your shunting LIF"]
back = load(save(net, "shunting.npz"))
print(model_text(back.model))   # as `brianmodes info shunting.npz` shows it
print("arrays identical:", all(np.array_equal(back.params[k], v) for k, v in net.params.items()),
      "| model identical:", back.model.to_dict() == net.model.to_dict())'''),
        ("md", "## 5. Run it in Brian2\n\n"
               "`BrianCircuit` builds a `NeuronGroup` from the model's own equations (per-neuron and trained "
               "values as group variables), mode units for the recurrence and a readout. It produces the numpy "
               "engine's spikes exactly (in quick mode on Brian2's numpy target: no compiler needed)."),
        ("code", '''from brianmodes import simulate
from brianmodes.brian import BrianCircuit

trials = 8
batch = next(task.test_batches(batch_size=trials, n_trials=trials))
circuit = BrianCircuit(net, n_trials=trials, input_kind=task.input_kind)
print(circuit.equations)
brian = circuit.run(batch.inputs, target="numpy" if QUICK else "cython")
engine = simulate(net, batch.inputs, record=("s",), dtype=np.float64)
print(f"spikes: Brian2 {int(brian.spikes.sum())}, numpy engine {int(engine.spikes.sum())}, "
      f"mismatches {int((brian.spikes != engine.spikes).sum())}")
fig, ax = plt.subplots(figsize=(8, 3.5))
for spikes, style, label in ((engine.spikes, dict(marker="o", s=30, facecolors="none", edgecolors="C0"), "numpy engine"),
                             (brian.spikes, dict(marker=".", s=8, color="k"), "Brian2")):
    t, i = np.nonzero(spikes[:, 0, :])
    ax.scatter(t * net.dt * 1e3, i, label=label, **style)
ax.set_xlabel("time (ms)"); ax.set_ylabel("neuron"); ax.set_title("trial 0")
ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0)); plt.tight_layout(); plt.show()'''),
        ("md", "The held-out trials in Brian2 (`evaluate_brian2`: the same trials and input spikes as "
               "`task.evaluate`):"),
        ("code", '''from brianmodes.brian import evaluate_brian2

n = 360 if not QUICK else 16
in_brian2 = evaluate_brian2(net, task, device="runtime" if QUICK else "cpp_standalone", n_trials=n, batch_size=n)
in_numpy = task.evaluate(net, n_trials=n, runner=ENGINE)
print(f"accuracy on {n} held-out trials: Brian2 {100 * in_brian2['accuracy']:.1f} %, "
      f"numpy engine {100 * in_numpy['accuracy']:.1f} %")'''),
        ("md", "## On the command line\n\n"
               "The built-ins train from the command line with the same options:\n\n"
               "    brianmodes train digits --neuron adaptive_lif\n"
               "    brianmodes train context --trainable tau_m --spread tau_m=0.2   # one trained tau_m per neuron\n\n"
               "A model of your own is trained from Python as above; its file then works with "
               "`brianmodes info`, `evaluate` (also `--backend brian2`) and `simulate`. Limits: one threshold "
               "per model; discrete-time models (per-step statements) run in the numpy engines but not in "
               "Brian2 (see `docs/models.md`)."),
    ],
}


def _cell(name, index, kind, source):
    """A cell whose id depends only on its notebook and position, so regenerating changes nothing else."""
    cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    cell.id = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
    return cell


def main():
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [_cell(name, i, kind, src) for i, (kind, src) in enumerate(cells)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
