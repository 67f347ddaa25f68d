"""Plots of spiking activity (matplotlib; work in notebooks and headless)."""

from __future__ import annotations

import numpy as np


def plot_raster(spikes, dt, trial=0, ax=None, color="k"):
    """Raster of one trial: a dot per spike, neurons on the y axis, time in ms.

    Parameters
    ----------
    spikes : bool array (T, B, N)
    dt : float
        Time step in seconds.
    trial : int
    ax : matplotlib Axes, optional
    """
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    steps, neurons = np.nonzero(np.asarray(spikes)[:, trial])
    ax.scatter(steps * dt * 1e3, neurons, s=8, c=color, marker="|", linewidths=1.0)
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, spikes.shape[2] - 0.5)
    ax.set_xlim(0, spikes.shape[0] * dt * 1e3)
    return ax


def population_rate(spikes, dt, bin_ms=10.0):
    """Population rate in Hz over all trials and neurons, in bins of ``bin_ms``.

    Returns
    -------
    times_ms : ndarray
        Bin centres.
    rate_hz : ndarray
    """
    spikes = np.asarray(spikes)
    T = spikes.shape[0]
    per_bin = max(1, int(round(bin_ms * 1e-3 / dt)))
    n_bins = T // per_bin
    counts = spikes[:n_bins * per_bin].reshape(n_bins, per_bin, -1).sum(axis=(1, 2))
    n_units = spikes.shape[1] * spikes.shape[2]
    rate = counts / (n_units * per_bin * dt)
    times = (np.arange(n_bins) + 0.5) * per_bin * dt * 1e3
    return times, rate


def plot_population_rate(spikes, dt, ax=None, bin_ms=10.0):
    """Population rate (Hz) against time (ms), averaged over trials and neurons."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    times, rate = population_rate(spikes, dt, bin_ms)
    ax.plot(times, rate, color="C0")
    ax.set_ylabel("rate (Hz)")
    ax.set_xlabel("time (ms)")
    return ax


def raster_figure(spikes, dt, title=None, trial=0, bin_ms=10.0):
    """A raster of one trial above the population rate of all trials.

    Examples
    --------
    >>> import numpy as np
    >>> spikes = np.random.default_rng(0).random((100, 3, 20)) < 0.05
    >>> fig = raster_figure(spikes, 0.002, title="example")
    >>> len(fig.axes)
    2
    """
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5), height_ratios=(3, 1),
                                      constrained_layout=True)
    plot_raster(spikes, dt, trial=trial, ax=top)
    plot_population_rate(spikes, dt, ax=bottom, bin_ms=bin_ms)
    top.set_title(title or f"trial {trial}")
    return fig


def plot_membrane_traces(v, dt, neurons=(0, 1, 2), trial=0, v_th=1.0, ax=None):
    """Membrane potential of a few neurons of one trial, with the threshold dashed; v (T, B, N)."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    v = np.asarray(v)
    t = np.arange(v.shape[0]) * dt * 1e3
    for k, i in enumerate(neurons):
        ax.plot(t, v[:, trial, i] + 1.5 * v_th * k, lw=0.8, label=f"neuron {i}")
        ax.axhline(v_th + 1.5 * v_th * k, color="0.6", ls="--", lw=0.6)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("v (offset per neuron)")
    return ax


def plot_outputs_by_condition(outputs, conditions, dt, labels=None, output=0, ax=None):
    """Mean ± sd of a per-step output over the trials of each condition; outputs (T, B, N_out)."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    y = np.asarray(outputs)[:, :, output]
    t = np.arange(y.shape[0]) * dt * 1e3
    for k, c in enumerate(np.unique(conditions)):
        sel = np.asarray(conditions) == c
        mean, sd = y[:, sel].mean(axis=1), y[:, sel].std(axis=1)
        name = labels.get(c, c) if isinstance(labels, dict) else c
        ax.plot(t, mean, color=f"C{k}", label=str(name))
        ax.fill_between(t, mean - sd, mean + sd, color=f"C{k}", alpha=0.2, lw=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("output")
    ax.legend(fontsize=7)
    return ax


def plot_mode_trajectories(kappa, conditions, modes=(0, 1, 2), ax=None, every=1):
    """Trial-averaged trajectories in a 3-D mode space, one colour per condition, darker as time goes on.

    kappa (T, B, P) from :func:`brianmodes.analysis.project_on_modes`; a circle marks the end.
    """
    import matplotlib.pyplot as plt

    kappa = np.asarray(kappa)
    if ax is None:
        ax = plt.figure().add_subplot(projection="3d")
    cmaps = ["Blues", "Oranges", "Greens", "Reds", "Purples", "Greys"]
    for k, c in enumerate(np.unique(conditions)):
        mean = kappa[:, np.asarray(conditions) == c][:, :, list(modes)].mean(axis=1)[::every]
        colours = plt.get_cmap(cmaps[k % len(cmaps)])(np.linspace(0.3, 1.0, len(mean)))
        ax.scatter(*mean.T, c=colours, s=4, label=str(c))
        ax.scatter(*mean[-1], color=colours[-1], s=60, edgecolor="k")
    ax.set_xlabel(f"mode {modes[0]}")
    ax.set_ylabel(f"mode {modes[1]}")
    ax.set_zlabel(f"mode {modes[2]}")
    ax.legend(fontsize=7, markerscale=3)
    return ax


def plot_importance(fit, ax=None):
    """Sorted mode importance against rank on log-log axes, with the two fitted power laws.

    ``fit`` is the output of :func:`brianmodes.analysis.fit_piecewise_power_law`.
    """
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    ranks, values, b = fit["ranks"], fit["values"], fit["breakpoint"]
    ax.loglog(ranks, values, "o", ms=4, color="k")
    for seg, (slope, intercept) in enumerate(zip(fit["slopes"], fit["intercepts"])):
        x = ranks[:b] if seg == 0 else ranks[b:]
        ax.loglog(x, np.exp(intercept) * x ** slope, color=f"C{seg}",
                  label=f"ranks {x[0]}-{x[-1]}: slope {slope:.3f} (R² {fit['r2'][seg]:.2f})")
    ax.set_xlabel("rank")
    ax.set_ylabel("importance")
    ax.legend(fontsize=7)
    return ax


def plot_pruning(curve, ax=None):
    """Task metric against the number of modes removed, per removal order (mean ± sd)."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    k = curve["counts"]
    labels = {"ascending": "least important first", "descending": "most important first", "random": "random order"}
    for order, style in (("ascending", "o-"), ("descending", "s-"), ("random", "^--")):
        if order in curve:
            mean, sd = curve[order]["mean"], curve[order]["sd"]
            ax.plot(k, mean, style, ms=4, label=labels[order])
            if np.any(sd > 0):
                ax.fill_between(k, mean - sd, mean + sd, alpha=0.2, lw=0)
    ax.set_xlabel("modes removed")
    ax.set_ylabel(curve.get("metric", "metric"))
    ax.legend(fontsize=7)
    return ax


def plot_accuracy_vs_modes(table, published=None, ax=None):
    """Accuracy against P, one line per N; ``table`` maps N to {P: accuracy in %}.

    ``published`` (same shape) is drawn dashed beside it.
    """
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots()[1]  # a new figure unless given axes
    for k, (N, row) in enumerate(sorted(table.items())):
        Ps = sorted(row)
        ax.semilogx(Ps, [row[P] for P in Ps], "o-", color=f"C{k}", label=f"N = {N}")
        if published and N in published:
            Pp = sorted(published[N])
            ax.semilogx(Pp, [published[N][P] for P in Pp], "--", color=f"C{k}", alpha=0.6,
                        label=f"N = {N} (published)")
    ax.set_xlabel("modes P")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7)
    return ax
