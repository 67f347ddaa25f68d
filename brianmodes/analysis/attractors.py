"""Where trajectories end in mode space, per condition (context task; SPEC 3)."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def end_states_by_condition(kappa, conditions, window=50):
    """Mean mode-space state over the last ``window`` steps of each trial, grouped by condition.

    Parameters
    ----------
    kappa : array (T, B, P)
        Mode-space trajectories (:func:`~brianmodes.analysis.project_on_modes`).
    conditions : array (B,)
        A label per trial (e.g. ``2 * context + (target > 0)``).
    window : int

    Returns
    -------
    dict
        ``labels``; ``centres`` (n_conditions, P); ``spread`` (mean distance
        of trials to their condition's centre); ``separation`` (smallest
        distance between two centres); ``separation_ratio`` = separation /
        spread (> 1: conditions end in distinct regions).
    """
    kappa = np.asarray(kappa, dtype=float)
    conditions = np.asarray(conditions)
    if kappa.ndim != 3 or kappa.shape[1] != conditions.shape[0]:
        raise BrianModesError(f"kappa must be (T, B, P) with B = {conditions.shape[0]} trials, got {kappa.shape}")
    ends = kappa[-window:].mean(axis=0)
    labels = np.unique(conditions)
    if labels.size < 2:
        raise BrianModesError("need trials of at least two conditions")
    centres = np.stack([ends[conditions == c].mean(axis=0) for c in labels])
    spread = float(np.mean([np.linalg.norm(ends[conditions == c] - centres[k], axis=1).mean()
                            for k, c in enumerate(labels)]))
    distances = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    separation = float(distances[np.triu_indices(len(labels), 1)].min())
    return {"labels": labels, "centres": centres, "spread": spread, "separation": separation,
            "separation_ratio": separation / spread if spread > 0 else np.inf}


def slow_points(net, inputs, conditions, extra_steps=1000, window=100, which="in", smooth=25):
    """Slow points of the mode-space dynamics, found by simulation.

    Each trial is run as given, then continued for ``extra_steps`` with its
    last input held constant (for the context task: the cue on, the stimuli
    off). Speeds are those of each condition's trial-averaged trajectory,
    smoothed over ``smooth`` steps, so that spiking noise does not count as
    motion. Where a condition's trajectory settles its speed drops; the
    state over the last ``window`` steps is its slow point. Compared with the
    speed while the inputs drive the network, a small ``slowdown`` means an
    attractor-like region.

    Parameters
    ----------
    net : ModeNetwork
    inputs : array (T, B, N_in)
    conditions : array (B,)
    extra_steps, window : int
    which : {'in', 'out'}
        Project on the input or output modes.

    Returns
    -------
    dict
        ``labels``, ``points`` (n_conditions, P), ``speed`` (mean |d kappa /
        dt| over the last window, per condition, 1/s), ``driven_speed`` (mean
        speed while the trial's own inputs run), ``slowdown`` (speed /
        driven_speed), ``kappa`` (the extended trajectories, (T + extra, B, P)).
    """
    from .stats import psth
    from ..simulate import simulate
    from .modes import project_on_modes

    x = np.asarray(inputs, dtype=float)
    held = np.repeat(x[-1:], int(extra_steps), axis=0)
    res = simulate(net, np.concatenate([x, held]), record=("r",), dtype=np.float64)
    kappa = project_on_modes(net, res.r, which)
    conditions = np.asarray(conditions)
    labels = np.unique(conditions)
    T = x.shape[0]
    _, mean, _ = psth(kappa, conditions)  # trial-averaged trajectory per condition, (T', C, P)
    kernel = np.ones(int(smooth)) / int(smooth)
    smoothed = np.apply_along_axis(lambda s: np.convolve(s, kernel, mode="valid"), 0, mean)
    speed = np.linalg.norm(np.diff(smoothed, axis=0), axis=2) / net.dt  # (T' - smooth, C)
    points = mean[-window:].mean(axis=0)
    end_speed = speed[-window:].mean(axis=0)
    driven = float(speed[:max(T - int(smooth), 1)].mean())
    return {"labels": labels, "points": points, "speed": end_speed, "driven_speed": driven,
            "slowdown": end_speed / driven if driven > 0 else np.full(len(labels), np.nan), "kappa": kappa}
