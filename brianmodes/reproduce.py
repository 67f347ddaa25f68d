"""Reproduce the paper's experiments at a chosen scale and write a markdown report.

``brianmodes reproduce --scale quick`` (minutes) or ``--scale full`` (the SPEC tables:
MNIST N=100 with P = 1, 3, 10, 30 for 3000 batches; context N=100 with P = 1, 3, 10 for
1500 batches; importance power law and pruning). Every trained model is saved under
``OUT/models``; a model already there with the same settings is reused, so an interrupted
run continues where it stopped.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

from . import __version__
from .checks import choice
from .io import load, save
from .tasks import make_task
from .train.trainer import Trainer

#: Published test accuracy (%) of the spiking models, N x P (SPEC 2.1).
PUBLISHED_MNIST = {
    30: {1: 94.2, 3: 93.9, 10: 93.1, 30: 92.7, 100: 93.0, 200: 92.9},
    50: {1: 95.0, 3: 94.6, 10: 94.8, 30: 94.0, 100: 93.7, 200: 93.3},
    100: {1: 96.2, 3: 96.0, 10: 95.3, 30: 94.9, 100: 95.2, 200: 94.8},
    200: {1: 97.3, 3: 97.2, 10: 96.8, 30: 96.3, 100: 95.7, 200: 96.1},
}
#: Published importance slopes for MNIST N=100, P=30 (ranks 1-9 and 10-19).
PUBLISHED_SLOPES = (-0.10, -0.12)

SCALES = {
    "tiny": {"N": 30, "image_P": (1, 3), "context_P": (1, 3), "image_batches": 15, "context_batches": 15,
             "context_steps": 200, "eval_trials": 100, "prune_trials": 50, "n_random": 2},
    "quick": {"N": 100, "image_P": (1, 3, 10), "context_P": (1, 3), "image_batches": 300, "context_batches": 400,
              "context_steps": 500, "eval_trials": 2000, "prune_trials": 500, "n_random": 3},
    "full": {"N": 100, "image_P": (1, 3, 10, 30), "context_P": (1, 3, 10), "image_batches": 3000,
             "context_batches": 1500, "context_steps": 500, "eval_trials": None, "prune_trials": 2000, "n_random": 5},
}


def _train_or_reuse(task, N, P, batches, seed, folder, progress, eval_trials=None):
    """A model of the report, trained (:func:`~brianmodes.recipe.train_and_evaluate`) or found in ``folder``.

    Returns the network, its held-out metrics, its file and whether it was reused.
    """
    from .recipe import train_and_evaluate

    path = folder / f"{task.name}-N{N}-P{P}-seed{seed}.npz"
    if path.exists():
        net = load(path)
        meta = net.metadata
        if (meta.get("batches") == batches and net.N == N and net.P == P
                and meta.get("task", {}).get("name") == task.name):
            return net, task.evaluate(net, n_trials=eval_trials), path, True
    net = task.make_network(N=N, P=P, seed=seed)
    run = train_and_evaluate(net, task, Trainer(n_batches=batches, seed=seed, progress=progress),
                             command=f"brianmodes train {task.name} --N {N} --P {P} --batches {batches} --seed {seed}",
                             eval_trials=eval_trials, runner="auto")
    save(net, path)
    return net, run.metrics, path, False


#: Attractor-like regions are stated only if every condition's trajectory slows below this
#: fraction of its speed while the stimuli drive it ...
ATTRACTOR_MAX_SLOWDOWN = 0.25
#: ... and the conditions' end states lie more than this many times further apart than the
#: spread of trials within a condition (``end_states_by_condition``'s separation ratio).
ATTRACTOR_MIN_SEPARATION = 3.0


def _attractor_failures(slowdown, separation_ratio, labels):
    """The attractor criteria the numbers fail, in words (empty: they support it)."""
    failures = []
    if not np.all(np.isfinite(slowdown)):
        failures.append("the driven speed is zero, so the slowdown could not be measured")
    else:
        moving = [f"{name} ({100 * v:.0f} %)" for name, v in zip(labels, slowdown) if v >= ATTRACTOR_MAX_SLOWDOWN]
        if moving:
            failures.append("still moving: " + ", ".join(moving))
    if not separation_ratio > ATTRACTOR_MIN_SEPARATION:
        failures.append(f"end states only {separation_ratio:.1f} times further apart than their spread")
    return failures


def attractor_verdict(slowdown, separation_ratio, labels=None):
    """What the slow-point numbers show, and the attractor conclusion only when they support it.

    The conclusion needs both: every condition's trajectory slows below
    :data:`ATTRACTOR_MAX_SLOWDOWN` of its driven speed, and the end states are
    more than :data:`ATTRACTOR_MIN_SEPARATION` times further apart than their
    spread. Otherwise the sentence says which criterion failed.

    Parameters
    ----------
    slowdown : array (n_conditions,)
        End speed / driven speed per condition (``slow_points``).
    separation_ratio : float
        Separation of the end states over their spread.
    labels : list of str, optional
        Condition names, in the order of ``slowdown``.

    Examples
    --------
    >>> attractor_verdict([0.1, 0.12], 30.0).endswith("attractor-like regions of mode space.")
    True
    >>> "does not show" in attractor_verdict([0.1, 0.8], 30.0)
    True
    """
    slowdown = np.asarray(slowdown, dtype=float)
    labels = list(labels) if labels is not None else [f"condition {k}" for k in range(slowdown.size)]
    measured = ("The trial-averaged trajectory of each condition slows to "
                + ", ".join(f"{100 * v:.0f} %" for v in slowdown)
                + f" of its speed while the stimuli were on, and the {slowdown.size} end states are "
                f"{separation_ratio:.1f} times further apart than the spread within a condition")
    criteria = (f"every condition below {100 * ATTRACTOR_MAX_SLOWDOWN:.0f} % of its driven speed and end states "
                f"more than {ATTRACTOR_MIN_SEPARATION:g} times further apart than their spread")
    failures = _attractor_failures(slowdown, separation_ratio, labels)
    if failures:
        return (f"{measured}. This does not show attractor-like regions, which need {criteria}: "
                + "; ".join(failures) + ".")
    return f"{measured} ({criteria}): the decision is held in attractor-like regions of mode space."


def pruning_verdict(curve, n_trials, area=None):
    """One sentence on which removal order is more robust, or that the modes hardly matter.

    A difference counts only beyond sampling noise: twice the binomial standard
    error of the intact network's metric on ``n_trials`` trials (at least one
    trial's worth). Areas under the curves decide otherwise.
    """
    intact = float(curve["ascending"]["mean"][0])
    noise = max(2 * np.sqrt(intact * (1 - intact) / n_trials), 1.0 / n_trials)
    asc, desc = curve["ascending"]["mean"], curve["descending"]["mean"]
    if area is None:
        area = {o: float(np.trapezoid(curve[o]["mean"], curve["counts"])) for o in ("ascending", "descending")}
    scores = (f"area under the curve {area['ascending']:.3f} (least important first) against "
              f"{area['descending']:.3f} (most important first)")
    if np.all(np.abs(asc - intact) <= noise) and np.all(np.abs(desc - intact) <= noise):
        return (f"Removing modes, in either order and down to none, changes the {curve['metric']} by no more "
                f"than sampling noise (±{noise:.4f}): this task's performance hardly depends on the "
                f"recurrent modes ({scores}).")
    if np.max(np.abs(asc - desc)) <= noise:
        return f"The two orders are indistinguishable within sampling noise (±{noise:.4f}; {scores})."
    better = area["ascending"] > area["descending"]
    return (("Removing the least important modes first is the more robust order" if better else
             "Removing the most important modes first is, unexpectedly, the more robust order")
            + f" ({scores}).")


def reproduce(scale="quick", data_dir=None, out=None, seed=0, progress=True):
    """Run the experiments of one scale; returns the path of the markdown report.

    Parameters
    ----------
    scale : {'quick', 'full', 'tiny'}
        ``tiny`` is for tests (seconds, meaningless numbers).
    data_dir : path, optional
        MNIST folder. Without it, the classification experiments use the
        built-in 8x8 digits (the report says so; the published numbers are
        MNIST's).
    out : path, optional
        Output folder (default ``reports/reproduce-SCALE``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .analysis import (end_states_by_condition, fit_piecewise_power_law, mode_importance,
                           project_on_modes, pruning_curve, slow_points)
    from .plot import (plot_accuracy_vs_modes, plot_importance, plot_mode_trajectories,
                       plot_outputs_by_condition, plot_pruning)
    from .simulate import simulate

    choice(scale, "scale", SCALES)
    s = SCALES[scale]
    out = Path(out or f"reports/reproduce-{scale}")
    models, figures = out / "models", out / "figures"
    models.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    N = s["N"]
    images = make_task("mnist", data_dir=data_dir) if data_dir else make_task("digits")
    context = make_task("context", n_steps=s["context_steps"], stim_on=s["context_steps"] // 10,
                        stim_off=s["context_steps"] // 2)
    lines = [f"# Reproduction report ({scale})", "",
             f"Made by `brianmodes reproduce --scale {scale}" + (f" --data-dir {data_dir}" if data_dir else "")
             + f"` (brianmodes {__version__}) on {datetime.date.today().isoformat()}; seed {seed}. "
             "Models are in `models/`, figures in `figures/`.", ""]

    # -- classification accuracy against P ---------------------------------
    rows, nets = [], {}
    for P in s["image_P"]:
        net, m, path, reused = _train_or_reuse(images, N, P, s["image_batches"], seed, models, progress,
                                               eval_trials=s["eval_trials"])
        nets[P] = net
        published = PUBLISHED_MNIST.get(N, {}).get(P) if images.name == "mnist" else None
        rows.append((P, 100 * m["accuracy"], published, m["rate_hz"], net.metadata.get("command", ""), reused))
    n_eval = images.n_test_trials(s["eval_trials"])
    lines += [f"## {images.name.upper() if images.name == 'mnist' else 'Digits (8x8, built in)'}: "
              f"accuracy against P (N = {N}, {s['image_batches']} batches)", ""]
    if images.name != "mnist":
        lines += ["No MNIST folder was given: these are scikit-learn's 8x8 digits, not comparable with the "
                  "published MNIST numbers.", ""]
    lines += [f"Test accuracy on {n_eval} held-out images.", "",
              "| P | accuracy (%) | published (%) | difference | mean rate (Hz) | trained with |",
              "|---|---|---|---|---|---|"]
    for P, acc, pub, rate, command, reused in rows:
        diff = f"{acc - pub:+.2f}" if pub is not None else "-"
        lines.append(f"| {P} | {acc:.2f} | {pub if pub is not None else '-'} | {diff} | {rate:.1f} | "
                     f"`{command}`{' (reused)' if reused else ''} |")
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    plot_accuracy_vs_modes({N: {P: acc for P, acc, *_ in rows}},
                           published={N: PUBLISHED_MNIST[N]} if images.name == "mnist" and N in PUBLISHED_MNIST
                           else None, ax=ax)
    fig.savefig(figures / "accuracy_vs_P.png", dpi=110)
    lines += ["", "![accuracy against P](figures/accuracy_vs_P.png)", ""]

    # -- context task ------------------------------------------------------
    ctx_rows, ctx_nets = [], {}
    for P in s["context_P"]:
        net, m, path, reused = _train_or_reuse(context, N, P, s["context_batches"], seed, models, progress)
        ctx_nets[P] = net
        ctx_rows.append((P, m["mse"], 100 * m["decision_accuracy"], m["rate_hz"], net.metadata.get("command", ""),
                         reused))
    lines += [f"## Context-dependent integration (N = {N}, {s['context_batches']} batches)", "",
              f"{context.n_test_trials()} held-out trials. Published: MSE per trial about 0.02-0.03 and 99-100 % "
              "correct decisions for N = 30-200, P >= 1; rates 16-23 Hz.", "",
              "| P | MSE | decision accuracy (%) | mean rate (Hz) | trained with |", "|---|---|---|---|---|"]
    for P, mse, dec, rate, command, reused in ctx_rows:
        lines.append(f"| {P} | {mse:.4f} | {dec:.1f} | {rate:.1f} | `{command}`{' (reused)' if reused else ''} |")
    show, attractor = ctx_nets.get(3) or ctx_nets[max(ctx_nets)], None
    batch = next(context.test_batches(batch_size=200, n_trials=200, seed=seed))
    res = simulate(show, batch.inputs, record=("r",))
    conditions = 2 * batch.info["context"] + (batch.targets[-1, :, 0] > 0)
    from .figure_style import CONTEXT_CONDITION_NAMES as names
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    plot_outputs_by_condition(res.outputs, conditions, show.dt, labels=names, ax=ax)
    fig.savefig(figures / "context_outputs.png", dpi=110)
    lines += ["", f"![context outputs by condition, P = {show.P}](figures/context_outputs.png)", ""]
    if show.P >= 3:
        kappa = project_on_modes(show, res.r, "in")
        ends = end_states_by_condition(kappa, conditions)
        fig = plt.figure(figsize=(5, 4.5), constrained_layout=True)
        plot_mode_trajectories(kappa, conditions, labels=names, ax=fig.add_subplot(projection="3d"))
        fig.savefig(figures / "context_modes.png", dpi=110)
        lines += [f"Mode space (P = {show.P}, kappa_in = xi_in^T r): the {len(ends['labels'])} conditions end "
                  f"{ends['separation_ratio']:.1f} times further apart than the spread of trials within a "
                  f"condition (smallest distance between condition centres {ends['separation']:.3f}, mean "
                  f"within-condition spread {ends['spread']:.3f}).", "",
                  "![mode-space trajectories](figures/context_modes.png)", ""]
        extra = 1000 if scale != "tiny" else 100
        slow = slow_points(show, batch.inputs, conditions, extra_steps=extra)
        after = end_states_by_condition(slow["kappa"], conditions)
        labels = [names[int(c)] for c in slow["labels"]]
        verdict = attractor_verdict(slow["slowdown"], after["separation_ratio"], labels)
        lines += [f"Slow points, found by simulation: each trial continued for {extra * show.dt:g} s with the "
                  f"cue on and the stimuli off. {verdict}", ""]
        attractor = {"P": show.P, "slowdown": [float(v) for v in slow["slowdown"]],
                     "separation_ratio": float(after["separation_ratio"]),
                     "supported": not _attractor_failures(slow["slowdown"], after["separation_ratio"], labels),
                     "max_slowdown": ATTRACTOR_MAX_SLOWDOWN, "min_separation": ATTRACTOR_MIN_SEPARATION}

    # -- importance power law and pruning -------------------------------------
    big = nets[max(nets)]
    if big.P >= 6:
        tau = mode_importance(big)
        fit = fit_piecewise_power_law(tau)
        paper_range = fit_piecewise_power_law(tau, max_rank=19) if big.P >= 19 else None
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        plot_importance(fit, ax=ax)
        fig.savefig(figures / "importance.png", dpi=110)
        lines += [f"## Mode importance ({images.name}, N = {N}, P = {big.P})", "",
                  "| | ranks | slope | R² |", "|---|---|---|---|",
                  f"| ours, segment 1 | 1-{fit['breakpoint']} | {fit['slopes'][0]:.3f} | {fit['r2'][0]:.2f} |",
                  f"| ours, segment 2 | {fit['breakpoint'] + 1}-{len(fit['ranks'])} | {fit['slopes'][1]:.3f} | "
                  f"{fit['r2'][1]:.2f} |",
                  ] + ([
                  f"| ours, ranks 1-19 only (the paper's range), segment 1 | 1-{paper_range['breakpoint']} | "
                  f"{paper_range['slopes'][0]:.3f} | {paper_range['r2'][0]:.2f} |",
                  f"| ours, ranks 1-19 only, segment 2 | {paper_range['breakpoint'] + 1}-19 | "
                  f"{paper_range['slopes'][1]:.3f} | {paper_range['r2'][1]:.2f} |"] if paper_range else []) + [
                  f"| published (MNIST, N = 100, P = 30) | 1-9 / 10-19 | {PUBLISHED_SLOPES[0]} / "
                  f"{PUBLISHED_SLOPES[1]} | |", "", "![importance](figures/importance.png)", ""]
    for label, net, task, n_trials in (("classification", big, images, s["prune_trials"]),
                                       ("context", ctx_nets[max(ctx_nets)], context, s["prune_trials"])):
        if net.P < 2:
            continue
        counts = sorted(set(np.linspace(0, net.P, min(net.P + 1, 9)).round().astype(int).tolist()))
        curve = pruning_curve(net, task, counts=counts, n_random=s["n_random"],
                              n_trials=min(n_trials, task.n_test_trials()), seed=seed)
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        plot_pruning(curve, ax=ax)
        fig.savefig(figures / f"pruning_{label}.png", dpi=110)
        area = {o: float(np.trapezoid(curve[o]["mean"], curve["counts"])) for o in ("ascending", "descending")}
        n_eval = min(n_trials, task.n_test_trials())
        verdict = pruning_verdict(curve, n_eval, area)
        lines += [f"## Pruning ({task.name}, N = {net.N}, P = {net.P})", "",
                  f"{curve['metric']} after removing k modes ({min(n_trials, task.n_test_trials())} held-out "
                  f"trials; random: mean ± sd over {s['n_random']} orders).", "",
                  "| k | least important first | most important first | random |", "|---|---|---|---|"]
        for j, k in enumerate(curve["counts"]):
            lines.append(f"| {k} | {curve['ascending']['mean'][j]:.4f} | {curve['descending']['mean'][j]:.4f} | "
                         f"{curve['random']['mean'][j]:.4f} ± {curve['random']['sd'][j]:.4f} |")
        lines += ["", verdict, "", f"![pruning](figures/pruning_{label}.png)", ""]
    plt.close("all")
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (out / "report.json").write_text(json.dumps({"scale": scale, "seed": seed, "classification": [
        {"P": P, "accuracy": acc, "published": pub, "rate_hz": rate} for P, acc, pub, rate, *_ in rows],
        "context": [{"P": P, "mse": mse, "decision_accuracy": dec, "rate_hz": rate}
                    for P, mse, dec, rate, *_ in ctx_rows], "attractor": attractor}, indent=2))
    return report
