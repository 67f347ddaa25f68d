"""The argument checks of the whole package, with one message form and one table of time units.

Every check raises :class:`~brianmodes.BrianModesError` worded as
``<name> must be <requirement>, got <value>`` and returns the value in its
plain Python form (``int``, ``float``, the chosen string). The network, the
trainer, the command line, sweeps, the Brian2 code and the data tools all call
these, so that a bad argument reads the same wherever it is given.

Examples
--------
>>> positive_int(3, "P")
3
>>> positive_int(0, "P (the number of modes)")
Traceback (most recent call last):
...
brianmodes.errors.BrianModesError: P (the number of modes) must be a positive integer, got 0
>>> choice("gpu", "engine", ("auto", "numpy", "compiled"))
Traceback (most recent call last):
...
brianmodes.errors.BrianModesError: engine must be one of auto, numpy, compiled, got 'gpu'
>>> as_seconds("2 ms"), as_seconds(0.5), TIME_UNITS["µs"]
(0.002, 0.5, 1e-06)
"""

from __future__ import annotations

import math
import numbers
import re

from .errors import BrianModesError

#: Seconds per unit: the one table of time units (strings such as ``"2 ms"``, ``time_unit="us"``).
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def fail(name, requirement, value):
    """Raise the package's error in its one form: ``<name> must be <requirement>, got <value!r>``."""
    raise BrianModesError(f"{name} must be {requirement}, got {value!r}")


def integer_requirement(minimum):
    """How an integer bound reads in messages: ``a positive integer`` or ``an integer >= m``."""
    return "a positive integer" if minimum == 1 else f"an integer >= {minimum}"


def integer(value, name, minimum=1, *, none=False):
    """``value`` as an ``int`` if it is an integer >= ``minimum`` (bools are not integers here).

    Parameters
    ----------
    value : object
    name : str
        How the message names the argument.
    minimum : int
    none : bool
        Whether ``None`` is allowed (and returned).

    Examples
    --------
    >>> integer(0, "seed", minimum=0), integer(None, "batch_size", none=True)
    (0, None)
    """
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        fail(name, integer_requirement(minimum) + (" or None" if none else ""), value)
    return int(value)


def positive_int(value, name, *, none=False):
    """:func:`integer` with minimum 1."""
    return integer(value, name, 1, none=none)


def real(value, name):
    """``value`` as a ``float`` if it is a real number (not a bool; inf and nan pass: check them apart).

    Examples
    --------
    >>> real(2, "v_th")
    2.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(name, "a number", value)
    return float(value)


def number(value, name, *, positive=False, minimum=None, none=False):
    """``value`` as a finite ``float`` (> 0 with ``positive``, >= ``minimum`` when given).

    Examples
    --------
    >>> number(1e-3, "lr", positive=True)
    0.001
    >>> number(float("nan"), "lr", positive=True)
    Traceback (most recent call last):
    ...
    brianmodes.errors.BrianModesError: lr must be a positive number, got nan
    """
    if value is None and none:
        return None
    requirement = "a positive number" if positive else \
        ("a finite number" if minimum is None else f"a number >= {minimum:g}")
    if none:
        requirement += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(name, requirement, value)
    out = float(value)
    if not math.isfinite(out) or (positive and not out > 0) or (minimum is not None and out < minimum):
        fail(name, requirement, value)  # the value as given
    return out


def choice(value, name, options, aliases=None):
    """``value`` if it is one of ``options`` (after ``aliases``, a dict of other spellings).

    Examples
    --------
    >>> choice("ema", "filter", ("single", "double"), aliases={"ema": "single"})
    'single'
    """
    value = (aliases or {}).get(value, value) if isinstance(value, str) else value
    if not isinstance(value, str) or value not in options:
        fail(name, "one of " + ", ".join(map(str, options)), value)
    return value


def as_seconds(value, name="time"):
    """A time in seconds, from seconds, a Brian2 quantity or a string such as ``"2 ms"``.

    Parameters
    ----------
    value : float, brian2 Quantity or str
        Plain numbers are seconds. Strings are a number and one of the units of
        :data:`TIME_UNITS` (``"2 ms"``, ``"0.5ms"``, ``"100 us"``).
    name : str
        How the message names the argument.

    Returns
    -------
    float

    Examples
    --------
    >>> as_seconds("250 ms"), as_seconds("3")
    (0.25, 3.0)
    """
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-zµ]*)\s*", value)
        unit = match.group(2) if match else None
        if not match or (unit and unit not in TIME_UNITS):
            fail(name, "a time such as '2 ms' or '0.002' (units: " + ", ".join(TIME_UNITS) + ")", value)
        try:
            return float(match.group(1)) * TIME_UNITS[unit or "s"]
        except ValueError:
            fail(name, "a time such as '2 ms' or '0.002'", value)
    if hasattr(value, "dim"):  # a Brian2 quantity: check it is a time
        from brian2 import second  # imported only when the user already uses Brian2

        if value.dim != second.dim:
            fail(name, "a time", value)
        return float(value / second)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    fail(name, "a number of seconds, a Brian2 time or a string like '2 ms'", value)


def positive_seconds(value, name="time"):
    """:func:`as_seconds`, finite and > 0."""
    t = as_seconds(value, name)
    if not (t > 0 and math.isfinite(t)):
        fail(name, "a positive time", value)
    return t


def seconds_per_unit(unit, name="time_unit"):
    """Seconds in one ``unit``: a name of :data:`TIME_UNITS`, a ``quantities`` unit or a Brian2 unit.

    Examples
    --------
    >>> seconds_per_unit("ms")
    0.001
    """
    if isinstance(unit, str):
        if unit not in TIME_UNITS:
            fail(name, "one of " + ", ".join(TIME_UNITS), unit)
        return TIME_UNITS[unit]
    if hasattr(unit, "rescale"):  # a quantities unit
        return float(unit.rescale("s").magnitude)
    if hasattr(unit, "dim"):  # a Brian2 unit
        from brian2 import second

        if unit.dim != second.dim:
            fail(name, "a unit of time", unit)
        return float(unit / second)
    fail(name, "a unit of time", unit)
