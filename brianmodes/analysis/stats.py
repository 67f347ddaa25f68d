"""Per-neuron spike statistics."""

from __future__ import annotations

import numpy as np


def rates_from_counts(count, n_steps, dt):
    """Mean rate of each neuron in Hz from its spike counts per trial.

    The one definition of a firing rate in the package: spikes per trial and
    neuron ``count`` (B, N) over trials of ``n_steps`` steps of ``dt`` seconds.

    Examples
    --------
    >>> rates_from_counts(np.array([[2, 0], [4, 1]]), n_steps=100, dt=0.001).tolist()
    [30.0, 5.0]
    """
    count = np.asarray(count)
    return count.sum(axis=0) / (count.shape[0] * n_steps * dt)


def mean_rate(count, n_steps, dt):
    """The population's mean rate in Hz (one number) from spike counts per trial and neuron (B, N).

    Examples
    --------
    >>> mean_rate(np.array([[2, 0], [4, 1]]), n_steps=100, dt=0.001)
    17.5
    """
    count = np.asarray(count)
    return float(count.sum() / (count.size * n_steps * dt))


def firing_rates(spikes, dt):
    """Mean rate of each neuron in Hz over trials and time; spikes (T, B, N)."""
    spikes = np.asarray(spikes)
    return rates_from_counts(spikes.sum(axis=0), spikes.shape[0], dt)


def isi_cv(spikes, dt, min_intervals=3):
    """Coefficient of variation of the inter-spike intervals of each neuron.

    Intervals are taken within trials and pooled over trials; neurons with
    fewer than ``min_intervals`` intervals get NaN.

    Returns
    -------
    ndarray (N,)

    Examples
    --------
    >>> import numpy as np
    >>> regular = np.zeros((100, 1, 1), bool); regular[::10] = True
    >>> isi_cv(regular, 0.001).tolist()
    [0.0]
    """
    spikes = np.asarray(spikes, bool)
    T, B, N = spikes.shape
    cv = np.full(N, np.nan)
    for i in range(N):
        intervals = []
        for b in range(B):
            times = np.flatnonzero(spikes[:, b, i])
            if times.size > 1:
                intervals.append(np.diff(times))
        if intervals:
            isi = np.concatenate(intervals) * dt
            if isi.size >= min_intervals and isi.mean() > 0:
                cv[i] = isi.std() / isi.mean()
    return cv
