"""The model-against-data page: PSTHs, population trajectories, rate and ISI-CV histograms."""

from __future__ import annotations

import numpy as np

from ..data.compare import _aligned_top_pcs
from ..errors import BrianModesError


def _psth_panel(ax, result, t, name):
    from ..figure_style import style_legend_entries

    data, model = result["data_psth"], result["model_psth"]
    matched = data.shape[2] == model.shape[2]
    for i in range(min(3, data.shape[2], model.shape[2])):
        ax.plot(t, data[:, 0, i], color=f"C{i}", label=f"neuron {i}" if matched else f"data unit {i}")
        ax.plot(t, model[:, 0, i], "--", color=f"C{i if matched else i + 3}",
                label=None if matched else f"model neuron {i}")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + style_legend_entries(("solid", "data"), ("dashed", "model")), fontsize=7)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"PSTHs, {name}", fontsize=10)


def _trajectory_panel(ax, result, names):
    from ..figure_style import style_legend_entries

    model, data = _aligned_top_pcs(result["model_psth"], result["data_psth"])
    for c, name in enumerate(names):
        ax.plot(data[:, c, 0], data[:, c, 1], color=f"C{c % 10}", label=name if c < 8 else None)
        ax.plot(model[:, c, 0], model[:, c, 1], "--", color=f"C{c % 10}")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + style_legend_entries(("solid", "data"), ("dashed", "model, rotated onto data")),
              fontsize=7)
    ax.set_xlabel("data PC 1 (Hz)")
    ax.set_ylabel("data PC 2 (Hz)")
    ax.set_title(f"population trajectories: CCA {result['cca']:.2f}, Procrustes {result['procrustes']:.2f}",
                 fontsize=10)


def _condition_names(result, names):
    """Legend names of the PSTHs' conditions, in the order of ``result``'s PSTHs."""
    from ..figure_style import condition_names

    n = result["data_psth"].shape[1]
    values = list(result["conditions"]) if "conditions" in result else None
    if values is None:
        if names is None:
            return [f"condition {c + 1}" for c in range(n)]
        values = sorted(names) if isinstance(names, dict) else list(range(n))
    if len(values) != n:
        raise BrianModesError(f"condition_names names {len(values)} conditions, the PSTHs have {n}: give one "
                              "name per condition, in sorted order of the condition values")
    return condition_names(values, names)


def comparison_figure(result, dt, title="model vs data", condition_names=None):
    """One page: PSTHs of a few neurons, trajectories in the data's top 2 PCs, rate and ISI-CV histograms.

    Parameters
    ----------
    result : dict
        The output of :func:`~brianmodes.data.compare_activity`.
    dt : float
        Time step of the PSTHs in seconds.
    title : str
    condition_names : dict or sequence, optional
        A name per condition (``{condition: name}`` or names in sorted order
        of the condition values given to :func:`~brianmodes.data.compare_activity`); default
        "condition 1", "condition 2", ... in that order (or "condition v" with
        the values themselves when ``result`` has ``conditions``).

    The model's trajectories are rotated onto the data's (the rotation the
    Procrustes similarity uses) so that the two can be compared by eye.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes.data import compare_activity
    >>> rng = np.random.default_rng(0)
    >>> spikes = rng.random((100, 8, 5)) < 0.05
    >>> result = compare_activity(spikes, spikes[:, ::-1], np.repeat([0, 1], 4), 0.002)
    >>> fig = comparison_figure(result, 0.002, condition_names=["left", "right"])
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['time (ms)', 'data PC 1 (Hz)', 'firing rate (Hz)', 'ISI coefficient of variation']
    """
    import matplotlib.pyplot as plt

    from ..figure_style import integer_axis

    names = _condition_names(result, condition_names)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True)
    t = np.arange(result["model_psth"].shape[0]) * dt * 1e3
    _psth_panel(axes[0, 0], result, t, names[0])
    _trajectory_panel(axes[0, 1], result, names)
    cv = [x[np.isfinite(x)] for x in (result["data_isi_cv"], result["model_isi_cv"])]
    for ax, values, label in ((axes[1, 0], [result["data_rates"], result["model_rates"]], "firing rate (Hz)"),
                              (axes[1, 1], cv, "ISI coefficient of variation")):
        ax.hist(values, bins=20, label=["data", "model"])
        ax.set_xlabel(label)
        ax.set_ylabel("number of neurons")
        integer_axis(ax.yaxis)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig
