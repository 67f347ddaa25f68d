"""The parameters of a neuron model: value, shared or per neuron, fixed or trainable, bound.

Values are kept in SI (seconds for times); a Brian2 quantity or a time string
(``"20 ms"``) is converted at the boundary and its dimension kept for Brian2.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace

import numpy as np

from ..checks import number, positive_int
from ..errors import BrianModesError

#: Bounds a parameter may carry (kept by the trainer's parametrization).
BOUNDS = (None, "positive", "nonnegative")


def _to_si(value, name=None):
    """(SI value as float or float array, Brian2 dimension or None)."""
    from ..checks import as_seconds

    what = f"parameter {name!r}" if name else "a parameter"

    if isinstance(value, str):
        return as_seconds(value, name or "parameter"), "s"
    if hasattr(value, "dim"):  # a Brian2 quantity
        from brian2 import get_dimensions

        dim = get_dimensions(value)
        array = np.asarray(value, dtype=float)  # a quantity's array holds its SI value
        return (float(array) if array.ndim == 0 else array), (None if dim.is_dimensionless else str(dim))
    if isinstance(value, bool):
        raise BrianModesError(f"{what} must be a number, got {value!r}")
    if isinstance(value, numbers.Real):
        return float(value), None
    array = np.asarray(value)
    if array.ndim <= 1 and np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array):
        return (float(array) if array.ndim == 0 else array.astype(float)), None
    raise BrianModesError(f"{what} must be a number, a 1-D array of numbers (one per neuron), "
                          f"a Brian2 quantity or a time string like '20 ms'; got {value!r}")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a neuron model.

    Parameters
    ----------
    value : float, array (N,), Brian2 quantity or time string
        The value, in SI once stored (``"20 ms"`` is 0.02).
    per_neuron : bool, optional
        One value per neuron (declared as ``name : unit (constant)`` in
        Brian2) or one for all. Default: per neuron when the equations declare
        it, when the value is an array, or when it is trainable per neuron.
    trainable : bool
        Whether the engine returns its gradient.
    bound : {None, 'positive', 'nonnegative'}
        A constraint the value must satisfy (time constants are positive);
        the trainer keeps it through its parametrization.
    dim : str or None
        The Brian2 dimension of the value (``'s'``), None when
        dimensionless or given as a plain number.

    Examples
    --------
    >>> Parameter("20 ms", per_neuron=True, trainable=True, bound="positive")
    Parameter(value=0.02, per_neuron=True, trainable=True, bound='positive', dim='s')
    """

    value: object
    per_neuron: bool | None = None
    trainable: bool = False
    bound: str | None = None
    dim: str | None = None

    def __post_init__(self):
        value, dim = _to_si(self.value)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "dim", self.dim or dim)

    def checked(self, name):
        """This parameter with its value in SI and its bound verified."""
        value, dim = _to_si(self.value, name)
        if self.bound not in BOUNDS:
            raise BrianModesError(f"parameter {name!r}: bound must be one of {BOUNDS}, got {self.bound!r}")
        array = np.asarray(value)
        if not np.all(np.isfinite(array)):
            raise BrianModesError(f"parameter {name!r} must be finite, got {value!r}")
        if self.bound == "positive" and not np.all(array > 0):
            raise BrianModesError(f"parameter {name!r} must be positive, got {value!r}")
        if self.bound == "nonnegative" and not np.all(array >= 0):
            raise BrianModesError(f"parameter {name!r} must be non-negative, got {value!r}")
        per_neuron = self.per_neuron
        if array.ndim == 1:
            if per_neuron is False:
                raise BrianModesError(f"parameter {name!r} is shared (per_neuron=False) but has one value per neuron")
            per_neuron = True
        return replace(self, value=value, per_neuron=per_neuron, dim=self.dim or dim)

    def values(self, N, name="parameter"):
        """The value as float64: a scalar when shared, an (N,) array per neuron."""
        array = np.asarray(self.value, dtype=np.float64)
        if not self.per_neuron:
            return float(array)
        if array.ndim == 0:
            return np.full(N, float(array))
        if array.shape != (N,):
            raise BrianModesError(f"parameter {name!r} holds {array.shape[0]} values for {N} neurons")
        return array.copy()


def as_parameter(name, spec):
    """A :class:`Parameter` from a value or a Parameter, checked.

    Examples
    --------
    >>> as_parameter("tau_m", "20 ms").value
    0.02
    """
    if not isinstance(spec, Parameter):
        spec = Parameter(spec)
    return spec.checked(name)


class BoundParametrization:
    """How a trained array ``u`` holds a bounded parameter: its name, the value it gives, the inverse.

    The trainer (Adam, clipping, freezing, checkpoints) sees only ``u``, which
    is unconstrained; the bound holds for every ``u``:

    - no bound: ``value = u``, the array is called like the parameter;
    - ``'positive'``: ``value = exp(u)``, the array is ``log_<name>``;
    - ``'nonnegative'``: ``value = u**2``, the array is ``sqrt_<name>``.

    Examples
    --------
    >>> p = BOUND_PARAMETRIZATIONS["positive"]
    >>> p.array_name("tau_m"), float(p.value(p.stored(0.02)))
    ('log_tau_m', 0.02)
    >>> float(p.derivative(p.stored(0.02)))  # d value / d u
    0.02
    """

    def __init__(self, prefix, value, stored, derivative):
        self.prefix = prefix
        self.value, self.stored, self.derivative = value, stored, derivative

    def array_name(self, name):
        """The name of the trained array of parameter ``name``."""
        return self.prefix + name


#: The parametrization of each bound (:data:`BOUNDS`).
BOUND_PARAMETRIZATIONS = {
    None: BoundParametrization("", lambda u: np.asarray(u, np.float64), lambda v: np.asarray(v, np.float64),
                               lambda u: np.ones_like(np.asarray(u, np.float64))),
    "positive": BoundParametrization("log_", np.exp, np.log, np.exp),
    "nonnegative": BoundParametrization("sqrt_", np.square, np.sqrt, lambda u: 2.0 * np.asarray(u, np.float64)),
}


def heterogeneous(value, N, spread, seed=None):
    """``N`` values scattered around ``value``, one per neuron: a seeded log-normal spread.

    Each neuron gets ``value * exp(spread * z)`` with ``z`` drawn from a
    standard normal distribution: ``value`` is the median, the logarithm of
    the values has standard deviation ``spread`` (0.2: most values within
    about ±20 %), and every value has the sign of ``value`` (a positive time
    constant stays positive). Pass the result as a parameter's value, e.g.
    ``lif(tau_m=heterogeneous("20 ms", N, 0.2, seed=0), per_neuron=("v_th",
    "tau_m"), trainable=("tau_m",))``.

    Parameters
    ----------
    value : float, Brian2 quantity or time string
        The median, in SI once converted (``"20 ms"`` is 0.02).
    N : int
        Number of neurons.
    spread : float
        Standard deviation of the logarithm (>= 0; 0 gives ``N`` equal values).
    seed : int, sequence of int or numpy Generator, optional
        What :func:`numpy.random.default_rng` takes: the same seed gives the
        same values.

    Returns
    -------
    numpy.ndarray or Brian2 Quantity
        Shape ``(N,)``, float64. A value with a unit (a time string such as
        ``"20 ms"`` or a Brian2 quantity) gives a Brian2 quantity, so that a
        :class:`Parameter` made from it keeps its unit for Brian2 (a plain
        array is dimensionless unless the Parameter is given ``dim="s"``);
        a plain number gives a plain array of the same numbers.

    Examples
    --------
    >>> tau = heterogeneous("20 ms", 5, 0.2, seed=0)
    >>> tau.shape, bool((tau > 0).all()), Parameter(tau).dim
    ((5,), True, 's')
    >>> plain = heterogeneous(0.02, 5, 0.2, seed=0)
    >>> bool((plain == np.asarray(tau)).all()), float(heterogeneous(0.02, 3, 0.0)[0])
    (True, 0.02)
    """
    si, dim = _to_si(value, "value")
    if np.ndim(si) != 0:
        raise BrianModesError(f"heterogeneous: value must be one number (the median), got {value!r}")
    N = positive_int(N, "heterogeneous: N")
    spread = number(spread, "heterogeneous: spread", minimum=0)
    z = np.random.default_rng(seed).standard_normal(N)
    values = float(si) * np.exp(float(spread) * z)
    if dim is None:
        return values
    from brian2 import Quantity, get_dimensions, second

    return Quantity(values, dim=(second.dim if dim == "s" else get_dimensions(value)))
