"""Spiking activity: rasters, population rates, membrane traces, outputs against targets and by condition."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from ..figure_style import condition_names, integer_axis, style_legend_entries
from ..analysis.stats import population_rate  # noqa: F401  (plotted here, defined there)
from ._axes import _conditions, _new_axes, _trials


def plot_raster(spikes, dt, trial=0, ax=None, color="k"):
    """Raster of one trial: a tick per spike, neurons on the y axis, time in ms.

    Parameters
    ----------
    spikes : bool array (T, B, N)
    dt : float
        Time step in seconds.
    trial : int
    ax : matplotlib Axes, optional
    color : matplotlib colour

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_raster(np.eye(20, dtype=bool)[:, None, :10], 0.001)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time (ms)', 'neuron')
    """
    spikes = _trials(spikes, "spikes", trial)
    ax = _new_axes(ax)
    steps, neurons = np.nonzero(spikes[:, trial])
    ax.scatter(steps * dt * 1e3, neurons, s=8, c=color, marker="|", linewidths=1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, spikes.shape[2] - 0.5)
    ax.set_xlim(0, spikes.shape[0] * dt * 1e3)
    integer_axis(ax.yaxis)
    return ax


def plot_population_rate(spikes, dt, ax=None, bin_ms=10.0):
    """Population rate (Hz) against time (ms), averaged over trials and neurons, in bins of ``bin_ms``.

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_population_rate(np.ones((40, 2, 5), bool), 0.001)
    >>> ax.get_ylabel()
    'population rate (Hz)'
    """
    spikes = _trials(spikes, "spikes")
    ax = _new_axes(ax)
    times, rate = population_rate(spikes, dt, bin_ms)
    ax.plot(times, rate, color="C0")
    ax.set_ylabel("population rate (Hz)")
    ax.set_xlabel("time (ms)")
    ax.set_ylim(0, 1.3 * max(float(rate.max(initial=0.0)), 1.0))  # headroom for the caption
    ax.text(0.99, 0.95, f"mean of {spikes.shape[1]} trials × {spikes.shape[2]} neurons, {bin_ms:g} ms bins",
            transform=ax.transAxes, ha="right", va="top", fontsize=7, color="0.3")
    return ax


def plot_output_vs_target(outputs, dt, targets=None, trial=0, ax=None):
    """The readout of one trial against time, with its target dashed; outputs and targets (T, B, N_out).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros((50, 2, 1))
    >>> ax = plot_output_vs_target(y, 0.002, targets=y + 1)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['output', 'target']
    """
    outputs = _trials(outputs, "outputs", trial, last="outputs")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.shape != outputs.shape:
            raise BrianModesError(f"targets must have the outputs' shape {outputs.shape} (time steps, trials, "
                                  f"outputs), got {targets.shape}")
    ax = _new_axes(ax)
    t = np.arange(outputs.shape[0]) * dt * 1e3
    several = outputs.shape[2] > 1
    for k in range(outputs.shape[2]):
        suffix = f" {k}" if several else ""
        ax.plot(t, outputs[:, trial, k], color=f"C{k % 10}", lw=1.2, label="output" + suffix)
        if targets is not None:
            ax.plot(t, targets[:, trial, k], "--", color="k" if not several else f"C{k % 10}", lw=1.0,
                    label="target" + suffix)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("readout")
    ax.legend(fontsize=7, ncol=2 if several else 1)
    return ax


def raster_figure(spikes, dt, title=None, trial=0, bin_ms=10.0, outputs=None, targets=None, output_dt=None):
    """A raster of one trial above the population rate of all trials, and the output against its target.

    Parameters
    ----------
    spikes : bool array (T, B, N)
    dt : float
        Time step of ``spikes`` in seconds.
    title : str, optional
        The figure's title, e.g. the model's name ("digits-N100-P3").
    trial : int
        The trial shown in the raster and the output panel.
    bin_ms : float
        Bin width of the population rate.
    outputs, targets : arrays (T_out, B, N_out), optional
        Per-step readouts and their targets; with ``outputs`` a third panel
        shows trial ``trial``'s output (and target).
    output_dt : float, optional
        Time step of ``outputs`` in seconds (default ``dt``), e.g. the model's
        step when the spikes were simulated at a finer one.

    Examples
    --------
    >>> import numpy as np
    >>> spikes = np.random.default_rng(0).random((100, 3, 20)) < 0.05
    >>> fig = raster_figure(spikes, 0.002, title="example")
    >>> len(fig.axes)
    2
    >>> fig = raster_figure(spikes, 0.002, title="example", outputs=np.zeros((100, 3, 1)))
    >>> fig.axes[2].get_ylabel()
    'readout'
    """
    import matplotlib.pyplot as plt

    spikes = _trials(spikes, "spikes", trial)
    if outputs is not None:
        outputs = _trials(outputs, "outputs", last="outputs")
        output_dt = dt if output_dt is None else output_dt
        if outputs.shape[1] != spikes.shape[1] or abs(outputs.shape[0] * output_dt - spikes.shape[0] * dt) \
                > max(output_dt, dt) * (1 + 1e-9):
            raise BrianModesError(
                f"outputs {outputs.shape} at {output_dt * 1e3:g} ms per step cover "
                f"{outputs.shape[0] * output_dt * 1e3:g} ms of {outputs.shape[1]} trials, the spikes "
                f"{spikes.shape[0] * dt * 1e3:g} ms of {spikes.shape[1]}: pass the outputs of the same "
                "trials, and output_dt if they are at another time step")
    ratios = (3, 1) if outputs is None else (3, 1, 1.3)
    fig, axes = plt.subplots(len(ratios), 1, sharex=True, figsize=(8, 5 if outputs is None else 6.5),
                             height_ratios=ratios, constrained_layout=True)
    plot_raster(spikes, dt, trial=trial, ax=axes[0])
    axes[0].set_title(f"trial {trial} of {spikes.shape[1]}", fontsize=9)
    plot_population_rate(spikes, dt, ax=axes[1], bin_ms=bin_ms)
    axes[1].set_ylabel("population\nrate (Hz)")  # two lines: the panel is short
    if outputs is not None:
        plot_output_vs_target(outputs, output_dt, targets=targets, trial=trial, ax=axes[2])
    for ax in axes:
        ax.label_outer()
    if title:
        fig.suptitle(title)
    return fig


def plot_membrane_traces(v, dt, neurons=(0, 1, 2), trial=0, v_th=1.0, ax=None):
    """Membrane potential of a few neurons of one trial, stacked, each with its threshold dashed; v (T, B, N).

    The y ticks mark each trace's reset (0) and threshold (``v_th``).

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_membrane_traces(np.zeros((30, 1, 4)), 0.002, neurons=(0, 3))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['neuron 0', 'neuron 3', 'threshold']
    """
    v = _trials(v, "v", trial)
    ax = _new_axes(ax)
    t = np.arange(v.shape[0]) * dt * 1e3
    step = 1.5 * v_th
    for k, i in enumerate(neurons):
        ax.plot(t, v[:, trial, i] + step * k, lw=0.8, color=f"C{k % 10}", label=f"neuron {i}")
    for k in range(len(neurons)):
        ax.axhline(v_th + step * k, color="0.6", ls="--", lw=0.6, label="threshold" if k == 0 else None)
    ax.set_yticks([step * k + level for k in range(len(neurons)) for level in (0.0, v_th)],
                  [label for _ in neurons for label in ("0", f"{v_th:g}")])
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane potential (traces stacked)")
    ax.legend(fontsize=7, loc="upper right")
    return ax


def plot_outputs_by_condition(outputs, conditions, dt, labels=None, output=0, ax=None):
    """Mean output over the trials of each condition, shaded ±1 s.d. over those trials; outputs (T, B, N_out).

    Parameters
    ----------
    outputs : array (T, B, N_out)
    conditions : array (B,)
    dt : float
        Time step in seconds.
    labels : dict or sequence, optional
        A name per condition: ``{condition: name}`` or names in sorted order of
        the conditions; for the context task
        :data:`brianmodes.figure_style.CONTEXT_CONDITION_NAMES`. Default
        "condition c".
    output : int
        Which output.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).normal(size=(20, 4, 1))
    >>> ax = plot_outputs_by_condition(y, [0, 0, 1, 1], 0.002, labels={0: "left", 1: "right"})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['left', 'right', '±1 s.d. over trials']
    """
    y = _trials(outputs, "outputs", last="outputs")[:, :, output]
    conditions = _conditions(conditions, y.shape[1])
    ax = _new_axes(ax)
    t = np.arange(y.shape[0]) * dt * 1e3
    values = np.unique(conditions)
    for k, (c, name) in enumerate(zip(values, condition_names(values.tolist(), labels))):
        sel = conditions == c
        mean, sd = y[:, sel].mean(axis=1), y[:, sel].std(axis=1)
        ax.plot(t, mean, color=f"C{k % 10}", label=name)
        ax.fill_between(t, mean - sd, mean + sd, color=f"C{k % 10}", alpha=0.2, lw=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("readout" + (f" {output}" if np.shape(outputs)[2] > 1 else "") + " (trial mean)")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + style_legend_entries(("band", "±1 s.d. over trials")), fontsize=7)
    return ax
