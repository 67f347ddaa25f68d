"""The mode analyses: trajectories in mode space, importance, pruning, accuracy against P, sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..figure_style import condition_names, integer_axis, metric_label, plain_log_axis
from ._axes import _conditions, _new_axes, _trials


def plot_mode_trajectories(kappa, conditions, modes=(0, 1, 2), ax=None, every=1, labels=None):
    """Trial-averaged trajectories in a 3-D mode space, one colour per condition, darker as time goes on.

    kappa (T, B, P) from :func:`brianmodes.analysis.project_on_modes`; a circle
    marks the end of the trial. ``modes`` are 0-based indices; the axes say
    "mode 1, 2, 3" as the paper does. ``labels`` names the conditions as in
    :func:`plot_outputs_by_condition`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    kappa = _trials(kappa, "kappa", last="modes")
    conditions = _conditions(conditions, kappa.shape[1])
    if ax is None:
        ax = _new_axes(None, projection="3d")
    cmaps = ["Blues", "Oranges", "Greens", "Reds", "Purples", "Greys"]
    values = np.unique(conditions)
    handles = []
    for k, (c, name) in enumerate(zip(values, condition_names(values.tolist(), labels))):
        mean = kappa[:, conditions == c][:, :, list(modes)].mean(axis=1)[::every]
        cmap = plt.get_cmap(cmaps[k % len(cmaps)])
        ax.scatter(*mean.T, c=cmap(np.linspace(0.3, 1.0, len(mean))), s=4)
        ax.scatter(*mean[-1], color=cmap(1.0), s=60, edgecolor="k")
        handles.append(Line2D([], [], ls="", marker="o", ms=5, color=cmap(0.75), label=name))
    for axis, set_label, m in zip((ax.xaxis, ax.yaxis, ax.zaxis), (ax.set_xlabel, ax.set_ylabel, ax.set_zlabel),
                                  modes):
        axis.set_major_locator(MaxNLocator(4))
        set_label(f"mode {m + 1}", labelpad=6)
    ax.set_box_aspect(None, zoom=0.85)  # room for the z label inside the axes
    end = Line2D([], [], ls="", marker="o", ms=8, color="0.6", markeredgecolor="k", label="end of trial")
    ax.legend(handles=handles + [end], fontsize=7, loc="upper left", title="darker: later in the trial",
              title_fontsize=7)
    return ax


def plot_importance(fit, ax=None):
    """Sorted mode importance against rank on log-log axes, with the two fitted power laws.

    ``fit`` is the output of :func:`brianmodes.analysis.fit_piecewise_power_law`.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes.analysis import fit_piecewise_power_law
    >>> ax = plot_importance(fit_piecewise_power_law(np.linspace(2, 1, 10)))
    >>> ax.get_xlabel()
    'rank (most important first)'
    """
    ax = _new_axes(ax)
    ranks, values, b = fit["ranks"], fit["values"], fit["breakpoint"]
    ax.loglog(ranks, values, "o", ms=4, color="k", label="modes")
    for seg, (slope, intercept) in enumerate(zip(fit["slopes"], fit["intercepts"])):
        x = ranks[:b] if seg == 0 else ranks[b:]
        ax.loglog(x, np.exp(intercept) * x ** slope, color=f"C{seg}",
                  label=f"power law, ranks {x[0]}–{x[-1]}: slope {slope:.3f}".replace("-", "−")
                        + f" (R² {fit['r2'][seg]:.2f})")
    plain_log_axis(ax.xaxis, integer=True)
    plain_log_axis(ax.yaxis)
    ax.set_xlabel("rank (most important first)")
    ax.set_ylabel("mode importance τ")
    ax.legend(fontsize=7)
    return ax


def plot_pruning(curve, ax=None):
    """Task metric against the number of modes removed, per removal order; random: mean ±1 s.d. shaded.

    ``curve`` is the output of :func:`brianmodes.analysis.pruning_curve`;
    fractions (accuracies) are shown in %.

    Examples
    --------
    >>> import numpy as np
    >>> curve = {"counts": np.arange(3), "metric": "decision_accuracy",
    ...          "ascending": {"mean": np.array([1.0, 0.9, 0.5]), "sd": np.zeros(3)}}
    >>> plot_pruning(curve).get_ylabel()
    'decision accuracy (%)'
    """
    ax = _new_axes(ax)
    k = np.asarray(curve["counts"])
    label, scale = metric_label(curve.get("metric", "metric"))
    names = {"ascending": "least important first", "descending": "most important first", "random": "random order"}
    for order, style in (("ascending", "o-"), ("descending", "s-"), ("random", "^--")):
        if order in curve:
            mean, sd = scale * np.asarray(curve[order]["mean"]), scale * np.asarray(curve[order]["sd"])
            line, = ax.plot(k, mean, style, ms=4, label=names[order])
            if np.any(sd > 0):
                n = curve.get("n_random")
                ax.fill_between(k, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, lw=0,
                                label=f"{names[order]}: ±1 s.d. over " + (f"{n} orders" if n else "orders"))
    ax.set_xlabel("number of modes removed")
    ax.set_ylabel(label)
    integer_axis(ax.xaxis)
    ax.legend(fontsize=7)
    return ax


def plot_accuracy_vs_modes(table, published=None, ax=None, ylabel="test accuracy (%)"):
    """Accuracy against P (log axis, integer ticks), one line per N; ``table`` maps N to {P: accuracy in %}.

    ``published`` (same shape) is drawn dashed beside it.

    Examples
    --------
    >>> ax = plot_accuracy_vs_modes({100: {1: 96.0, 3: 95.9, 10: 95.5}})
    >>> ax.get_xlabel()
    'number of modes P'
    """
    ax = _new_axes(ax)
    Ps = set()
    for k, (N, row) in enumerate(sorted(table.items())):
        x = sorted(row)
        Ps.update(x)
        ax.semilogx(x, [row[P] for P in x], "o-", color=f"C{k % 10}", label=f"N = {N}")
        if published and N in published:
            Pp = sorted(published[N])
            Ps.update(Pp)
            ax.semilogx(Pp, [published[N][P] for P in Pp], "--", color=f"C{k % 10}", alpha=0.6,
                        label=f"N = {N} (published)")
    plain_log_axis(ax.xaxis, values=sorted(Ps), integer=True)
    ax.set_xlabel("number of modes P")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return ax


def plot_sweep(rows, out):
    """Accuracy against P, one line per N, per classification task (MNIST: published numbers dashed).

    Returns the figure files written (``OUT/accuracy_vs_P.png``, or
    ``OUT/accuracy_vs_P-TASK.png`` when the sweep has several tasks).
    """
    tasks = sorted({row["task"] for row in rows if row["task"] in ("digits", "mnist")})
    if not tasks:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..reproduce import PUBLISHED_MNIST
    from ..sweep.table import accuracy_table

    files = []
    for task in tasks:
        table = accuracy_table(rows, task=task)
        if not table:
            continue
        P_max = max(P for row in table.values() for P in row)
        published = {N: {P: v for P, v in PUBLISHED_MNIST[N].items() if P <= P_max}
                     for N in table if N in PUBLISHED_MNIST} if task == "mnist" else None
        n_seeds = len({row["seed"] for row in rows if row["task"] == task and row["status"] == "done"})
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        plot_accuracy_vs_modes(table, published=published, ax=ax, ylabel="held-out accuracy (%)")
        ax.set_title(f"{'MNIST' if task == 'mnist' else '8×8 digits'}: mean over {n_seeds} "
                     f"seed{'s' if n_seeds > 1 else ''}", fontsize=9)
        path = Path(out) / ("accuracy_vs_P.png" if len(tasks) == 1 else f"accuracy_vs_P-{task}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path)
    return files
