"""The measures of spiking activity, each defined once: rates, smoothed rates, PSTHs, population rate, ISI CV."""

from __future__ import annotations

import numpy as np

from ..checks import positive_seconds
from ..errors import BrianModesError


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


def gaussian_rates(spikes, dt, sigma):
    """Firing rates in Hz: binned spikes ``(T, B, N)`` smoothed in time by a Gaussian of width ``sigma`` (s).

    At the start and end of a trial the spikes are mirrored about the first
    and last bin (the reflection method of kernel estimation), so a constant
    rate reads the same at the edges as in the middle. Padding with copies of
    the edge bin instead turns a spike in the last bin into a jump of
    hundreds of Hz.

    Examples
    --------
    >>> import numpy as np
    >>> spikes = np.zeros((1001, 1, 1)); spikes[::10] = 1   # 100 Hz at dt = 1 ms, spikes in both edge bins
    >>> rates = gaussian_rates(spikes, 0.001, 0.02)[:, 0, 0]
    >>> [round(float(r)) for r in (rates[0], rates[500], rates[-1])]
    [100, 100, 100]
    """
    from scipy.ndimage import gaussian_filter1d

    sigma = positive_seconds(sigma, "sigma")
    spikes = np.asarray(spikes, dtype=float)
    if spikes.ndim != 3:
        raise BrianModesError(f"spikes must be binned (time steps, trials, neurons), got shape {spikes.shape}")
    return gaussian_filter1d(spikes / dt, sigma / dt, axis=0, mode="mirror")


def psth(activity, conditions):
    """Trial-averaged activity per condition.

    Parameters
    ----------
    activity : array (T, B, N)
    conditions : array (B,)

    Returns
    -------
    labels : ndarray (C,)
    mean : ndarray (T, C, N)
    sem : ndarray (T, C, N)
        Standard error over the trials of each condition.
    """
    activity = np.asarray(activity, dtype=float)
    conditions = np.asarray(conditions)
    if activity.ndim != 3 or conditions.shape != (activity.shape[1],):
        raise BrianModesError(f"activity must be (T, B, N) with one condition per trial; got {activity.shape} "
                              f"and {conditions.shape}")
    labels = np.unique(conditions)
    mean = np.stack([activity[:, conditions == c].mean(axis=1) for c in labels], axis=1)
    sem = np.stack([activity[:, conditions == c].std(axis=1) / np.sqrt(max((conditions == c).sum(), 1))
                    for c in labels], axis=1)
    return labels, mean, sem


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
