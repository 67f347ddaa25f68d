"""The reproduction report: the experiments' results (:func:`run_experiments`) as markdown and JSON."""

from __future__ import annotations

import datetime

import numpy as np

from .. import __version__
from ..figure_style import CONTEXT_CONDITION_NAMES
from .published import PUBLISHED_SLOPES

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


def _image_section(results):
    s, N = results["settings"], results["settings"]["N"]
    mnist = results["image_task"] == "mnist"
    lines = [f"## {'MNIST' if mnist else 'Digits (8x8, built in)'}: accuracy against P (N = {N}, "
             f"{s['image_batches']} batches)", ""]
    if not mnist:
        lines += ["No MNIST folder was given: these are scikit-learn's 8x8 digits, not comparable with the "
                  "published MNIST numbers.", ""]
    lines += [f"Test accuracy on {results['n_eval']} held-out images.", "",
              "| P | accuracy (%) | published (%) | difference | mean rate (Hz) | trained with |",
              "|---|---|---|---|---|---|"]
    for row in results["classification"]:
        acc, pub = row["accuracy"], row["published"]
        diff = f"{acc - pub:+.2f}" if pub is not None else "-"
        lines.append(f"| {row['P']} | {acc:.2f} | {pub if pub is not None else '-'} | {diff} | {row['rate_hz']:.1f} | "
                     f"`{row['command']}`{' (reused)' if row['reused'] else ''} |")
    return lines + ["", "![accuracy against P](figures/accuracy_vs_P.png)", ""]


def _context_section(results):
    s, shown = results["settings"], results["context_show"]
    lines = [f"## Context-dependent integration (N = {s['N']}, {s['context_batches']} batches)", "",
             f"{results['context_n_test']} held-out trials. Published: MSE per trial about 0.02-0.03 and 99-100 % "
             "correct decisions for N = 30-200, P >= 1; rates 16-23 Hz.", "",
             "| P | MSE | decision accuracy (%) | mean rate (Hz) | trained with |", "|---|---|---|---|---|"]
    for row in results["context"]:
        lines.append(f"| {row['P']} | {row['mse']:.4f} | {row['decision_accuracy']:.1f} | {row['rate_hz']:.1f} | "
                     f"`{row['command']}`{' (reused)' if row['reused'] else ''} |")
    lines += ["", f"![context outputs by condition, P = {shown['P']}](figures/context_outputs.png)", ""]
    if "kappa" in shown:
        ends = shown["ends"]
        lines += [f"Mode space (P = {shown['P']}, kappa_in = xi_in^T r): the {len(ends['labels'])} conditions end "
                  f"{ends['separation_ratio']:.1f} times further apart than the spread of trials within a "
                  f"condition (smallest distance between condition centres {ends['separation']:.3f}, mean "
                  f"within-condition spread {ends['spread']:.3f}).", "",
                  "![mode-space trajectories](figures/context_modes.png)", ""]
        verdict = attractor_verdict(shown["slowdown"], shown["slow_ends"]["separation_ratio"], _slow_labels(shown))
        lines += [f"Slow points, found by simulation: each trial continued for {shown['extra_steps'] * shown['dt']:g} "
                  f"s with the cue on and the stimuli off. {verdict}", ""]
    return lines


def _slow_labels(shown):
    return [CONTEXT_CONDITION_NAMES[int(c)] for c in shown["slow_labels"]]


def _importance_section(results):
    imp = results["importance"]
    if imp is None:
        return []
    fit, paper_range = imp["fit"], imp["paper_range"]
    return [f"## Mode importance ({results['image_task']}, N = {imp['N']}, P = {imp['P']})", "",
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


def _pruning_section(entry):
    curve, n_eval = entry["curve"], entry["n_eval"]
    area = {o: float(np.trapezoid(curve[o]["mean"], curve["counts"])) for o in ("ascending", "descending")}
    lines = [f"## Pruning ({entry['task']}, N = {entry['N']}, P = {entry['P']})", "",
             f"{curve['metric']} after removing k modes ({n_eval} held-out "
             f"trials; random: mean ± sd over {entry['n_random']} orders).", "",
             "| k | least important first | most important first | random |", "|---|---|---|---|"]
    for j, k in enumerate(curve["counts"]):
        lines.append(f"| {k} | {curve['ascending']['mean'][j]:.4f} | {curve['descending']['mean'][j]:.4f} | "
                     f"{curve['random']['mean'][j]:.4f} ± {curve['random']['sd'][j]:.4f} |")
    return lines + ["", pruning_verdict(curve, n_eval, area), "", f"![pruning](figures/pruning_{entry['label']}.png)",
                    ""]


def report_markdown(results):
    """The report of :func:`run_experiments`' results, in markdown (figures under ``figures/``)."""
    scale, data_dir = results["scale"], results["data_dir"]
    lines = [f"# Reproduction report ({scale})", "",
             f"Made by `brianmodes reproduce --scale {scale}" + (f" --data-dir {data_dir}" if data_dir else "")
             + f"` (brianmodes {__version__}) on {datetime.date.today().isoformat()}; seed {results['seed']}. "
             "Models are in `models/`, figures in `figures/`.", ""]
    lines += _image_section(results) + _context_section(results) + _importance_section(results)
    for entry in results["pruning"]:
        lines += _pruning_section(entry)
    return "\n".join(lines) + "\n"


def report_record(results):
    """The report's numbers as a JSON-serializable dict (``report.json``)."""
    shown, attractor = results["context_show"], None
    if "kappa" in shown:
        ratio = float(shown["slow_ends"]["separation_ratio"])
        attractor = {"P": shown["P"], "slowdown": [float(v) for v in shown["slowdown"]], "separation_ratio": ratio,
                     "supported": not _attractor_failures(shown["slowdown"], ratio, _slow_labels(shown)),
                     "max_slowdown": ATTRACTOR_MAX_SLOWDOWN, "min_separation": ATTRACTOR_MIN_SEPARATION}
    return {"scale": results["scale"], "seed": results["seed"], "classification": [
        {key: row[key] for key in ("P", "accuracy", "published", "rate_hz")} for row in results["classification"]],
        "context": [{key: row[key] for key in ("P", "mse", "decision_accuracy", "rate_hz")}
                    for row in results["context"]], "attractor": attractor}
