"""Comparing model and recorded activity: population trajectories and single neurons."""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes

from ..errors import BrianModesError


def _trajectories(x):
    """(T, C, N) trial-averaged activity as (T*C, N) samples, centred."""
    x = np.asarray(x, dtype=float)
    x = x.reshape(-1, x.shape[-1])
    return x - x.mean(axis=0)


def _principal(x, k):
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    keep = s > s[0] * 1e-10 if s.size else s
    return (u[:, :k] * s[:k])[:, :int(np.sum(keep[:k]))]


def cca_similarity(model, data, n_components=None):
    """Mean canonical correlation between two sets of trajectories over the same times and conditions.

    Both (T, C, N) arrays (N may differ) are reduced to their top
    ``n_components`` principal components (default: the smaller dimension,
    at most 10) before CCA, as is usual for neural data.

    Returns
    -------
    dict
        ``mean`` (the similarity, 0..1) and ``correlations`` (one per pair).
    """
    X, Y = _trajectories(model), _trajectories(data)
    if X.shape[0] != Y.shape[0]:
        raise BrianModesError(f"model and data trajectories cover different times x conditions: "
                              f"{X.shape[0]} and {Y.shape[0]} samples")
    k = n_components or min(X.shape[1], Y.shape[1], 10)
    qx, _ = np.linalg.qr(_principal(X, k))
    qy, _ = np.linalg.qr(_principal(Y, k))
    corr = np.clip(np.linalg.svd(qx.T @ qy, compute_uv=False), 0, 1)
    return {"mean": float(corr.mean()), "correlations": corr}


def procrustes_similarity(model, data, n_components=None):
    """1 - residual after the best rotation of the model's trajectories onto the data's.

    Both are reduced to the same number of principal components, centred and
    scaled to unit norm; 1 means identical up to a rotation, 0 unrelated.
    """
    X, Y = _trajectories(model), _trajectories(data)
    if X.shape[0] != Y.shape[0]:
        raise BrianModesError("model and data trajectories cover different times x conditions")
    k = n_components or min(X.shape[1], Y.shape[1], 10)
    X, Y = _principal(X, k), _principal(Y, k)
    k = min(X.shape[1], Y.shape[1])
    X, Y = X[:, :k] / np.linalg.norm(X[:, :k]), Y[:, :k] / np.linalg.norm(Y[:, :k])
    R, _ = orthogonal_procrustes(X, Y)
    return float(1.0 - np.sum((X @ R - Y) ** 2) / 2.0)  # both unit norm: residual in [0, 4] -> halve


def psth_correlation(model, data):
    """Pearson correlation of each neuron's PSTH (over time and conditions); model and data matched neuron by neuron."""
    X = np.asarray(model, dtype=float).reshape(-1, np.shape(model)[-1])
    Y = np.asarray(data, dtype=float).reshape(-1, np.shape(data)[-1])
    if X.shape != Y.shape:
        raise BrianModesError(f"PSTHs must match neuron by neuron: {X.shape} and {Y.shape}")
    X, Y = X - X.mean(axis=0), Y - Y.mean(axis=0)
    denominator = np.sqrt(np.sum(X * X, axis=0) * np.sum(Y * Y, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, np.sum(X * Y, axis=0) / denominator, np.nan)


def compare_activity(model_spikes, data_spikes, conditions, dt, sigma=0.02):
    """All comparisons at once, from binned spikes ``(T, B, N)`` of model and data (same trials).

    Returns
    -------
    dict
        ``cca``, ``procrustes``, per-neuron ``psth_correlation`` (when the
        neurons match), the firing-rate and ISI-CV distributions of both, the
        PSTHs and ``conditions`` (the condition values, in the PSTHs' order).
    """
    from ..analysis.stats import firing_rates, isi_cv
    from .preprocess import gaussian_rates, psth

    labels, model_psth, _ = psth(gaussian_rates(model_spikes, dt, sigma), conditions)
    _, data_psth, _ = psth(gaussian_rates(data_spikes, dt, sigma), conditions)
    result = {"cca": cca_similarity(model_psth, data_psth)["mean"],
              "procrustes": procrustes_similarity(model_psth, data_psth),
              "model_rates": firing_rates(np.asarray(model_spikes) > 0, dt),
              "data_rates": firing_rates(np.asarray(data_spikes) > 0, dt),
              "model_isi_cv": isi_cv(np.asarray(model_spikes) > 0, dt),
              "data_isi_cv": isi_cv(np.asarray(data_spikes) > 0, dt),
              "model_psth": model_psth, "data_psth": data_psth, "conditions": labels}
    if np.shape(model_spikes)[-1] == np.shape(data_spikes)[-1]:
        result["psth_correlation"] = psth_correlation(model_psth, data_psth)
    return result


def _aligned_top_pcs(model, data):
    """Top-2 PC coordinates (T, C, 2) of the data and of the model rotated onto them (Procrustes), in Hz."""
    X, Y = _trajectories(model), _trajectories(data)
    k = min(X.shape[1], Y.shape[1], 10)
    X, Y = _principal(X, k), _principal(Y, k)
    k = min(X.shape[1], Y.shape[1])
    X, Y = X[:, :k], Y[:, :k]
    R, _ = orthogonal_procrustes(X, Y)
    X = X @ R * (np.linalg.norm(Y) / max(np.linalg.norm(X), 1e-300))
    pad = [(0, 0), (0, max(0, 2 - k))]  # one component only: the second axis is flat
    shape = (np.shape(data)[0], np.shape(data)[1], 2)
    return np.pad(X, pad)[:, :2].reshape(shape), np.pad(Y, pad)[:, :2].reshape(shape)


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
        The output of :func:`compare_activity`.
    dt : float
        Time step of the PSTHs in seconds.
    title : str
    condition_names : dict or sequence, optional
        A name per condition (``{condition: name}`` or names in sorted order
        of the condition values given to :func:`compare_activity`); default
        "condition 1", "condition 2", ... in that order (or "condition v" with
        the values themselves when ``result`` has ``conditions``).

    The model's trajectories are rotated onto the data's (the rotation the
    Procrustes similarity uses) so that the two can be compared by eye.

    Examples
    --------
    >>> import numpy as np
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
