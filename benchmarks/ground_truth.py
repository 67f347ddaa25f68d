"""Ground truth for fitting: record a known mode network, go through NWB, fit, compare (issue 5).

    python benchmarks/ground_truth.py --out docs/fitting [--match psth] [--seed 1]   # full

    python benchmarks/ground_truth.py --quick --out /tmp/gt   # a small run (minutes)

Steps: a P* = 2 network (brianmodes.data.ground_truth.two_mode_network) performs the
context task; the spikes of a random subset of its neurons on trials of the eight
conditions become a Recording, written to NWB and read back (checked identical); the
cross-validated PSTH error is measured against P (choose_modes, one-standard-error
rule); a network with the chosen P is fitted on all training trials and compared with
the truth: principal angles between the true and fitted mode subspaces over the
recorded neurons, and CCA of the trial-averaged trajectories (mode coordinates and
recorded neurons) on fresh trials.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from brianmodes import load, simulate
from brianmodes.data import cca_similarity, psth, read_nwb, write_nwb
from brianmodes.data.fit import (ActivityTask, choose_modes, fit_activity, mode_subspace_angles,
                                 one_standard_error_choice)
from brianmodes.data.ground_truth import (CONTEXT_CONDITIONS, context_inputs, context_targets, record_network,
                                          recording_to_arrays, short_context_task, two_mode_network)
from brianmodes.tasks.context import ContextTask


def trajectories(true, fitted, recorded, task, n_per_condition=50, seed=5):
    """Trial-averaged r of both networks on the same fresh trials: ((T, 8, N_true), (T, 8, N_fit))."""
    cond = np.repeat(np.arange(8), n_per_condition)
    x = context_inputs(cond, np.random.default_rng(seed), task)
    _, mt, _ = psth(simulate(true, x, record=("r",), dtype=np.float64).r, cond)
    _, mf, _ = psth(simulate(fitted, x, record=("r",), dtype=np.float64).r, cond)
    return mt, mf


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the report)")
    ap.add_argument("--out", default="docs", help="folder for fitting.md, the figure and the NWB file")
    ap.add_argument("--match", default="trials", choices=["trials", "psth"],
                    help="trials: each trial's input is known; psth: only the stimulus statistics per condition")
    ap.add_argument("--seed", type=int, default=0, help="seed of the ground-truth network (plus 1) and of the recording")
    ap.add_argument("--network", default=None,
                    help="a shipped or saved context-task model as the ground truth instead of the P* = 2 network "
                         "(e.g. context-N100-P3); full-length trials, half its neurons recorded")
    ap.add_argument("--task-weight", type=float, default=0.0,
                    help="add the context task's loss with this weight (a trained readout row beside the activity)")
    ap.add_argument("--summarize", action="store_true", help="print a markdown table of the results in --out and stop")
    args = ap.parse_args(argv)
    if args.summarize:
        print(summarize(Path(args.out)))
        return None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    q = args.quick
    stem = "gt" if q else f"fitting-{args.network or 'two-mode'}-{args.match}-seed{args.seed}"
    if args.task_weight:
        stem += f"-task{args.task_weight:g}"
    if args.network:
        true, task = load(args.network), ContextTask()
    else:
        true, task = two_mode_network(N=60, seed=1 + args.seed), short_context_task()
    settings = dict(N=true.N, n_recorded=true.N * 2 // 3 if not args.network else true.N // 2,
                    trials_per_condition=40 if not q else 12, Ps=(1, 2, 3, 4) if not q else (1, 2),
                    n_folds=3, cv_batches=1000 if not q else 40, final_batches=2500 if not q else 60, seed=args.seed)
    t0 = time.time()
    recording, inputs = record_network(true, n_recorded=settings["n_recorded"], task=task, seed=settings["seed"],
                                       trials_per_condition=settings["trials_per_condition"], return_inputs=True)
    nwb_path = write_nwb(recording, out / f"{stem}.nwb")
    back = read_nwb(nwb_path)
    same = (all(np.array_equal(a, b) for a, b in zip(recording.spike_times, back.spike_times))
            and all(np.array_equal(recording.conditions[k], back.conditions[k]) for k in recording.conditions))
    spikes, activity, cond = recording_to_arrays(back, true, n_steps=task.n_steps)
    recorded = np.asarray(back.unit_ids, dtype=int)
    x = inputs if args.match == "trials" else (lambda c, rng: context_inputs(c, rng, task))
    task_kwargs = {"match": args.match}
    if args.task_weight:
        task_kwargs.update(task_targets=context_targets(cond, task), task_weight=args.task_weight)
    common = dict(filter=true.filter, lr=1e-2, seed=0)
    curve = choose_modes(x, cond, activity, N=settings["N"], Ps=settings["Ps"], n_folds=settings["n_folds"],
                         n_batches=settings["cv_batches"], task_kwargs=task_kwargs, progress=not q,
                         **common)
    chosen = curve["best_P"]
    final_task = ActivityTask(x, cond, activity, test_fraction=0.1, **task_kwargs)
    fitted = None
    for P in range(1, chosen + 1):  # grown mode by mode, as in the cross-validation
        fitted, metrics = fit_activity(final_task, N=settings["N"], P=P, init=fitted, progress=not q,
                                       n_batches=settings["final_batches"] if P == chosen else settings["cv_batches"],
                                       **common)
    n = recorded.size
    angles = mode_subspace_angles(true, fitted, recorded, np.arange(n))
    mt, mf = trajectories(true, fitted, recorded, task)
    kt, kf = mt @ true.params["xi_out"], mf @ fitted.params["xi_out"]
    latent = cca_similarity(kf, kt, n_components=min(chosen, true.P))
    neurons = cca_similarity(mf[..., :n], mt[..., recorded], n_components=5)
    if args.task_weight:
        metrics["decision_accuracy"] = decision_accuracy(fitted, recorded.size, task)
    result = {"task_weight": args.task_weight, "decision_accuracy": metrics.get("decision_accuracy"), "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
              "network": args.network or "two_mode_network", "match": args.match, "P_true": true.P, "nwb_round_trip_identical": bool(same),
              "n_spikes": int(spikes.sum()), "rate_hz": float(spikes.mean() / true.dt),
              "Ps": curve["Ps"], "cv_mean": curve["mean"].tolist(), "cv_sem": curve["sem"].tolist(),
              "cv_fold_errors": curve["fold_errors"].tolist(), "noise_floor": curve["noise_floor"],
              "chosen_P": chosen, "one_se_P": curve["one_se_P"], "min_P": curve["min_P"], "final_psth_mse": metrics["psth_mse"],
              "target_variance": float(np.nanvar(final_task.test_targets)),
              "principal_angles_deg": angles.tolist(), "cca_modes": latent["correlations"].tolist(),
              "cca_modes_mean": latent["mean"], "cca_recorded_psth": neurons["mean"], "seconds": time.time() - t0}
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    figure(curve, mt, mf, kt, kf, recorded, true, out / f"{stem}.png")
    print(json.dumps({k: v for k, v in result.items() if k != "cv_fold_errors"}, indent=1))
    return result


def decision_accuracy(fitted, n_activity, task, n_per_condition=50, seed=7):
    """Fraction of fresh trials whose task output, averaged after the stimulus, has the cued stimulus' sign."""
    cond = np.repeat(np.arange(8), n_per_condition)
    out = simulate(fitted, context_inputs(cond, np.random.default_rng(seed), task), record=()).outputs
    decision = np.sign(out[task.stim_off:, :, n_activity].mean(axis=0))
    return float(np.mean(decision == context_targets(cond, task)[-1, :, 0]))


def summarize(folder):
    """A markdown table with one row per result file (fitting-*.json) in ``folder``."""
    rows = ["| ground truth | inputs known | seed | P* | held-out error for P = 1, 2, 3, 4 (x 1e-4; noise floor) | "
            "chosen P (1-SE rule, lowest) | principal angles (deg) | CCA, mode trajectories | CCA, recorded PSTHs | task |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(Path(folder).glob("fitting-*.json")):
        r = json.loads(path.read_text())
        cv = ", ".join(f"{m * 1e4:.2f}±{e * 1e4:.2f}" for m, e in zip(r["cv_mean"], r["cv_sem"]))
        rows.append(f"| {r.get('network', 'two_mode_network')} | "
                    f"{'each trial' if r['match'] == 'trials' else 'per condition'} | {r['settings']['seed']} | "
                    f"{r['P_true']} | {cv} ({r['noise_floor'] * 1e4:.2f}) | {r['chosen_P']} ({one_standard_error_choice(r['Ps'], r['cv_mean'], r['cv_sem'])}, {r['min_P']}) | "
                    f"{', '.join(f'{a:.1f}' for a in r['principal_angles_deg'])} | "
                    f"{', '.join(f'{c:.3f}' for c in r['cca_modes'])} | {r['cca_recorded_psth']:.3f} | "
                    + (f"weight {r['task_weight']:g}: {100 * r['decision_accuracy']:.1f} % decisions |"
                       if r.get("task_weight") else "none |"))
    return "\n".join(rows)


def condition_name(c):
    """Words for condition c (0..7) of CONTEXT_CONDITIONS: context, then the signs of the two stimuli."""
    context, s1, s2 = CONTEXT_CONDITIONS[c]
    sign = {-1: "−", 1: "+"}
    return f"context {context + 1}, stim. 1 {sign[s1]}, stim. 2 {sign[s2]}"


def draw_figure(curve, mt, mf, kt, kf, recorded, true):
    """The three panels: error against P, mode trajectories, recorded neurons (true solid, fitted dashed)."""
    import matplotlib.pyplot as plt

    from brianmodes.figure_style import style_legend_entries

    fig, axes = plt.subplots(1, 3, figsize=(14, 5), constrained_layout=True)
    ax = axes[0]
    ax.errorbar(curve["Ps"], curve["mean"], yerr=curve["sem"], marker="o", capsize=3,
                label="cross-validated (mean ± s.e.m. over folds)")
    ax.axhline(curve["noise_floor"], color="gray", ls="--", label="noise floor")
    ax.axvline(true.P, color="k", ls=":", label=f"true P* = {true.P}")
    ax.set_xticks(list(curve["Ps"]), [str(int(P)) for P in curve["Ps"]])
    ax.set(xlabel="number of modes P", ylabel="held-out PSTH error (mean squared)",
           title=f"chosen P = {curve['best_P']}")
    ax.legend(frameon=False, fontsize=8)
    # fitted mode coordinates mapped onto the true ones by least squares, per condition
    T = kt.shape[0]
    A, *_ = np.linalg.lstsq(np.c_[kf.reshape(-1, kf.shape[-1]), np.ones(kf.shape[0] * kf.shape[1])],
                            kt.reshape(-1, kt.shape[-1]), rcond=None)
    mapped = (np.c_[kf.reshape(-1, kf.shape[-1]), np.ones(kf.shape[0] * kf.shape[1])] @ A).reshape(kt.shape)
    ax = axes[1]
    for c in range(kt.shape[1]):
        color = plt.cm.tab10(c)
        ax.plot(kt[:, c, 0], kt[:, c, 1], color=color, lw=2, label=condition_name(c))
        ax.plot(mapped[:, c, 0], mapped[:, c, 1], color=color, lw=1, ls="--")
    ax.set(xlabel="output mode 1", ylabel="output mode 2", title="mode trajectories, fitted mapped onto true")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + style_legend_entries(("solid", "true"), ("dashed", "fitted")), fontsize=7,
              ncol=2, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax = axes[2]
    t = np.arange(T) * true.dt * 1e3
    for j, color in zip(range(3), ("C0", "C1", "C2")):
        ax.plot(t, mt[:, 0, recorded[j]], color=color, lw=2, label=f"neuron {recorded[j]}")
        ax.plot(t, mf[:, 0, j], color=color, lw=1, ls="--")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + style_legend_entries(("solid", "true"), ("dashed", "fitted")), fontsize=7,
              frameon=False, title=condition_name(0), title_fontsize=7)
    ax.set(xlabel="time (ms)", ylabel="filtered activity r", title="three recorded neurons")
    return fig


def figure(curve, mt, mf, kt, kf, recorded, true, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw_figure(curve, mt, mf, kt, kf, recorded, true)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
