"""Per-neuron spike statistics."""

from __future__ import annotations

import numpy as np


def firing_rates(spikes, dt):
    """Mean rate of each neuron in Hz over trials and time; spikes (T, B, N)."""
    spikes = np.asarray(spikes)
    return spikes.mean(axis=(0, 1)) / dt


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
