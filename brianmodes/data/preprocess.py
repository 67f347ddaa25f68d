"""One preprocessing for model and data: binning, filtering, trial-averaged PSTHs per condition."""

from __future__ import annotations

import numpy as np

from ..checks import positive_seconds
from ..errors import BrianModesError


def filter_like_model(spikes, net):
    """Filter binned spikes ``(T, B, N)`` (at the model's dt) exactly as the network filters its own.

    Runs the statements of the network's neuron model that make its activity
    from its spikes (:func:`brianmodes.neurons.activity.filter_spikes`), so
    that for a model's spikes the result equals the simulator's r; for
    recorded spikes it gives the activity the model would see.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=3, P=1, N_in=1, N_out=1)
    >>> s = np.zeros((50, 1, 3)); s[10, 0, 0] = 1
    >>> r = filter_like_model(s, net)
    >>> bool(r[:11, 0, 0].max() == 0 and r[20, 0, 0] > 0)
    True
    """
    from ..neurons.activity import filter_spikes
    from ..neurons.run import engine_for

    s = np.asarray(spikes, dtype=float)
    if s.ndim != 3:
        raise BrianModesError(f"spikes must be (T, B, N) at the model's dt, got shape {s.shape}")
    return filter_spikes(engine_for(net, engine="numpy"), s, net.neuron_values())


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
