"""Surrogate derivatives of the spike function.

The forward spike is the Heaviside step H(x), x = v - v_th. Backpropagation
replaces its derivative by a smooth *surrogate* g(x). Each surrogate here also
knows its ``primitive`` G (with G' = g exactly): simulating with G as the spike
function gives a smooth network whose true gradient equals the surrogate
gradient, which is how the tests check BPTT against finite differences.
"""

from __future__ import annotations

import copy

import numpy as np

from ..checks import choice, number
from ..errors import BrianModesError


def _positive_slope(slope):
    if isinstance(slope, np.generic):
        slope = slope.item()
    return number(slope, "surrogate slope", positive=True)


class Surrogate:
    """Base class: ``grad(x)`` is the surrogate dH/dx, ``primitive(x)`` its integral."""

    name = "surrogate"

    def __init__(self, slope):
        self.slope = _positive_slope(slope)

    def with_slope(self, slope):
        """A copy of this surrogate (same family) with another slope; this one is left unchanged."""
        other = copy.copy(self)
        other.slope = _positive_slope(slope)
        return other

    def grad(self, x, out=None):  # pragma: no cover - abstract
        raise NotImplementedError("abstract")

    def primitive(self, x):  # pragma: no cover - abstract
        raise NotImplementedError("abstract")

    def __repr__(self):
        return f"{type(self).__name__}(slope={self.slope:g})"


class FastSigmoid(Surrogate):
    """g(x) = 1 / (1 + k|x|)^2 (Zenke & Ganguli's SuperSpike); the published choice, k = 25."""

    name = "fast_sigmoid"

    def grad(self, x, out=None):
        out = np.abs(x, out=out)
        out *= self.slope
        out += 1.0
        np.square(out, out=out)
        return np.reciprocal(out, out=out)

    def primitive(self, x):
        return x / (1.0 + self.slope * np.abs(x)) + 1.0 / self.slope


class Sigmoid(Surrogate):
    """g(x) = k sigma(kx) (1 - sigma(kx)), the derivative of a logistic of slope k."""

    name = "sigmoid"

    def grad(self, x, out=None):
        sig = self.primitive(x)
        result = sig * (1.0 - sig) * self.slope
        if out is None:
            return result
        out[...] = result
        return out

    def primitive(self, x):
        return 0.5 * (1.0 + np.tanh(0.5 * self.slope * np.asarray(x)))


class Triangle(Surrogate):
    """g(x) = max(0, 1 - k|x|) (Bellec et al.'s piecewise-linear pseudo-derivative)."""

    name = "triangle"

    def grad(self, x, out=None):
        out = np.abs(x, out=out)
        out *= -self.slope
        out += 1.0
        return np.maximum(out, 0.0, out=out)

    def primitive(self, x):
        x = np.clip(np.asarray(x), -1.0 / self.slope, 1.0 / self.slope)
        return x - 0.5 * self.slope * x * np.abs(x) + 0.5 / self.slope


SURROGATES = {cls.name: cls for cls in (FastSigmoid, Sigmoid, Triangle)}
DEFAULT_SLOPES = {"fast_sigmoid": 25.0, "sigmoid": 25.0, "triangle": 1.0}


def get_surrogate(name="fast_sigmoid", slope=None):
    """Return a surrogate by name (``fast_sigmoid``, ``sigmoid``, ``triangle``) or as given.

    Parameters
    ----------
    name : str or Surrogate
        A name, or a surrogate object.
    slope : float, optional
        The slope k. Default: the family's (25 for the sigmoids, 1 for the
        triangle), or the object's own slope. With an object and a slope,
        a copy of the object with that slope is returned (the object is not
        changed).

    Examples
    --------
    >>> get_surrogate("fast_sigmoid").grad(np.array([0.0, 0.04]))
    array([1.  , 0.25])
    >>> get_surrogate(Triangle(1.0), slope=2.0)
    Triangle(slope=2)
    """
    if isinstance(name, Surrogate):
        return name if slope is None else name.with_slope(slope)
    if not isinstance(name, str):
        raise BrianModesError(f"a surrogate is a name ({', '.join(SURROGATES)}) or a Surrogate object, "
                              f"got {type(name).__name__}")
    choice(name, "surrogate", tuple(SURROGATES))
    return SURROGATES[name](DEFAULT_SLOPES[name] if slope is None else slope)
