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
    from ..analysis.stats import gaussian_rates, psth

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
