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

    ax = ax or plt.gca()
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

    ax = ax or plt.gca()
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
