"""Refractory clocks: the not-refractory mask of each step, from the spike history.

The mask is a constant of the forward pass (it carries no gradient) and
follows the hard threshold, also when the dynamics use smooth spikes.

- ``brian2`` rule (continuous models): a neuron integrates at step t when
  ``timestep(t - lastspike) >= timestep(t_ref)``, Brian2's rule: after a
  spike at step k it is held for steps k+1 .. k+n_ref-1.
- ``published`` rule (discrete models, SPEC 1.1): it integrates when
  ``t > lastspike + t_ref``: masked for steps k+1 .. k+n_ref, counted in
  exact steps (``timing='steps'``) or with the authors' float32 clock
  (``timing='float32'``, SPEC 1.4), which masks 4 or 5 steps for
  t_ref = 5 dt depending on float32 rounding.
"""

from __future__ import annotations

import numpy as np


def brian2_steps(t_ref, dt):
    """Brian2's ``timestep(t_ref, dt)``: the refractory period in whole steps.

    Examples
    --------
    >>> brian2_steps(10e-3, 2e-3), brian2_steps(0.0, 2e-3)
    (5, 0)
    """
    return int((t_ref + 1e-3 * dt) / dt)


class StepClock:
    """Exact integer clock: the step of each neuron's last spike.

    ``strict=False`` is Brian2's rule (integrate when ``t - last >= n_ref``),
    ``strict=True`` the published one (``t - last > n_ref``).

    Examples
    --------
    >>> clock = StepClock((1, 1), n_ref=5, strict=False)
    >>> clock.update(7, np.array([[True]]))
    >>> [bool(clock.mask(t)[0, 0]) for t in range(8, 14)]
    [False, False, False, False, True, True]
    """

    def __init__(self, shape, n_ref, strict):
        self.n_ref, self.strict = int(n_ref), bool(strict)
        self.last = np.full(shape, -(self.n_ref + 1), np.int64)
        self._mask = np.empty(shape, bool)

    def mask(self, t, out=None):
        """Not-refractory mask of step ``t`` (bool; written into ``out`` when given)."""
        op = np.less if self.strict else np.less_equal
        return op(self.last, t - self.n_ref, out=out)

    def update(self, t, spikes):
        np.putmask(self.last, spikes, t)


class Float32Clock:
    """The authors' float32 clock (SPEC 1.4).

    ``t_last`` starts at -1 s; the mask of step i is ``dt*i > t_last + t_ref``
    and, after the step, ``t_last <- t_last + (dt*i - t_last) * s``, all in
    float32 (``dt*i`` and ``t_ref`` are Python floats rounded to float32).

    Examples
    --------
    >>> clock = Float32Clock((1, 1), dt=2e-3, t_ref=10e-3)
    >>> clock.update(7, np.array([[True]]))
    >>> [bool(clock.mask(i)[0, 0]) for i in range(8, 14)]
    [False, False, False, False, False, True]
    """

    def __init__(self, shape, dt, t_ref):
        self.dt = float(dt)
        self.t_ref = np.float32(t_ref)
        self.t_last = np.full(shape, -1.0, np.float32)

    def mask(self, t, out=None):
        return np.greater(np.float32(self.dt * t), self.t_last + self.t_ref, out=out)

    def update(self, t, spikes):
        now = np.float32(self.dt * t)
        self.t_last = self.t_last + (now - self.t_last) * spikes.astype(np.float32)


def make_clock(rule, timing, t_ref, dt, shape):
    """The clock of a program's refractoriness, or None when it has none.

    Examples
    --------
    >>> type(make_clock("published", "float32", 10e-3, 2e-3, (2, 3))).__name__
    'Float32Clock'
    >>> make_clock("brian2", "steps", 0.0, 2e-3, (2, 3)) is None
    True
    """
    if t_ref <= 0:
        return None
    if timing == "float32":
        return Float32Clock(shape, dt, t_ref)
    if rule == "brian2":
        return StepClock(shape, brian2_steps(t_ref, dt), strict=False)
    return StepClock(shape, int(round(t_ref / dt)), strict=True)
