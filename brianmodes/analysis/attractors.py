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
