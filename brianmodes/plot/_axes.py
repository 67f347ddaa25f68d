"""Axes, trial and condition checks shared by the plots."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def _new_axes(ax, **kwargs):
    """``ax`` itself, or the axes of a new figure whose layout keeps every label inside."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(constrained_layout=True).add_subplot(**kwargs)


def _trials(array, name, trial=None, last=None):
    """``array`` as a (T, B, N) ndarray, with ``trial`` (if given) checked against B."""
    array = np.asarray(array)
    if array.ndim != 3:
        raise BrianModesError(f"{name} must be an array (time steps, trials, {last or 'neurons'}), "
                              f"got shape {array.shape}")
    if trial is not None and not 0 <= trial < array.shape[1]:
        raise BrianModesError(f"trial {trial} does not exist: {name} has {array.shape[1]} trials "
                              f"(0..{array.shape[1] - 1})")
    return array


def _conditions(conditions, n_trials):
    conditions = np.asarray(conditions)
    if conditions.shape != (n_trials,):
        raise BrianModesError(f"conditions must give one condition per trial ({n_trials}), "
                              f"got shape {conditions.shape}")
    return conditions
