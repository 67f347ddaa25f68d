"""Inputs at a finer simulation time step than the model's."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def substeps(model_dt, dt):
    """The integer number of simulation steps per model step (dt must divide the model's)."""
    ratio = model_dt / dt
    k = int(round(ratio))
    if k < 1 or abs(ratio - k) > 1e-6:
        raise BrianModesError(f"the simulation dt ({dt * 1e3:g} ms) must divide the model's time step "
                              f"({model_dt * 1e3:g} ms) a whole number of times")
    return k


def resample_inputs(x, k, kind, rng=None):
    """Inputs ``(T, B, K)`` at the model's step as inputs ``(k T, B, K)`` at a k times finer step.

    ``current``: each value is held for the k sub-steps (the circuit scales
    the jumps by dt/dt_model, so the injected charge is unchanged).
    ``spikes``: each spike is moved to a random one of its k sub-steps, so
    that every model step keeps its spike count (the rate code's statistics
    per model step) while spike times become continuous.

    Examples
    --------
    >>> x = np.zeros((2, 1, 1)); x[1, 0, 0] = 1
    >>> float(resample_inputs(x, 4, "spikes", np.random.default_rng(0)).sum())
    1.0
    """
    x = np.asarray(x)
    if k == 1:
        return x
    if kind == "current":
        return np.repeat(x, k, axis=0)
    rng = np.random.default_rng(rng)
    T, B, K = x.shape
    if not np.all((x == 0) | (x == 1)):
        raise BrianModesError("spike inputs must be 0/1")
    fine = np.zeros((T * k, B, K), x.dtype)
    steps, trials, channels = np.nonzero(x)
    fine[steps * k + rng.integers(0, k, size=steps.size), trials, channels] = 1
    return fine
