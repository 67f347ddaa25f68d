"""Symbols, the engine's own sympy functions, and the checks on what a model may contain.

Every symbol of a derived program is a real ``sympy.Symbol`` made by :func:`sym`,
matched **by name**: Brian2's ``str_to_sympy`` gives symbols with assumptions of
its own (``dt`` positive, ...), which :func:`parse` replaces by these.

Three functions stand for what sympy cannot say by itself:

- ``Select(m, a, b)``: ``a`` where the mask ``m`` is 1, else ``b`` (Brian2's
  conditional write during refractoriness); ``d/da = m``, ``d/db = 1 - m``, the
  mask itself carries no gradient;
- ``Spike(a, b)``: the spike ``H(a - b)`` of a threshold ``a > b``; its
  derivative is the surrogate;
- ``SurrogateGrad(x)``: the surrogate derivative of the spike function at ``x``.
"""

from __future__ import annotations

import contextlib
import keyword
import signal
import threading
import warnings

import sympy

from ..errors import BrianModesError

#: Names a model may not define: the engine's own symbols.
RESERVED = ("s", "I_in", "not_refractory", "lastspike", "t", "i", "N", "dt", "xi")
#: Functions a model may use: smooth, so the update can be differentiated.
SMOOTH_FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
                    "asin", "acos", "atan", "Abs", "exprel")
#: The symbol of the not-refractory mask (1 while a neuron integrates).
MASK = "not_refractory"
#: The symbol of the input projection W_in x of the step.
INPUT = "I_in"
#: The symbol of the spikes.
SPIKE = "s"


def sym(name):
    """The program's symbol called ``name`` (real, no other assumption).

    Examples
    --------
    >>> sym("v") == sym("v"), sym("v").is_real
    (True, True)
    """
    return sympy.Symbol(name, real=True)


def check_name(name, what):
    """Refuse names the engine uses itself or that Python cannot hold.

    Examples
    --------
    >>> check_name("tau_m", "parameter")
    'tau_m'
    >>> check_name("s", "variable")
    Traceback (most recent call last):
    ...
    brianmodes.errors.BrianModesError: variable 's' is a reserved name (s, I_in, not_refractory, lastspike, t, i, N, dt, xi)
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise BrianModesError(f"{what} {name!r} is not a valid variable name")
    if name.startswith("_") or "__" in name:
        raise BrianModesError(f"{what} {name!r}: names starting with '_' or holding '__' are reserved")
    if name in RESERVED:
        raise BrianModesError(f"{what} {name!r} is a reserved name ({', '.join(RESERVED)})")
    return name


class Select(sympy.Function):
    """``Select(m, a, b)``: ``a`` where the 0/1 mask ``m`` is 1, else ``b``.

    Examples
    --------
    >>> m, a, b = sym("m"), sym("a"), sym("b")
    >>> sympy.diff(Select(m, a * b, b), b)
    a*m - m + 1
    """

    nargs = 3

    @classmethod
    def eval(cls, m, a, b):
        if a == b:
            return a
        return None

    def fdiff(self, argindex=1):
        m = self.args[0]
        if argindex == 1:
            return sympy.S.Zero  # the mask carries no gradient
        return m if argindex == 2 else 1 - m


class Spike(sympy.Function):
    """``Spike(a, b)``: 1 when ``a > b`` (the threshold), else 0."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        sign = 1 if argindex == 1 else -1
        return sign * SurrogateGrad(a - b)


class SurrogateGrad(sympy.Function):
    """The surrogate derivative of the spike function, evaluated at ``x = a - b``."""

    nargs = 1

    def fdiff(self, argindex=1):
        raise BrianModesError("the surrogate has no derivative here (second-order gradients are not derived)")


def _normalize(expr):
    """Replace every symbol by the program's symbol of the same name."""
    return expr.xreplace({s: sym(s.name) for s in expr.free_symbols})


_IMPORT_LOCK = threading.Lock()


def import_brian2():
    """Import Brian2, also from a thread other than the main one (a Dask worker's, a sweep's).

    Brian2 installs a Ctrl-C handler when it is imported, which Python allows
    only in the main thread: imported first in another thread, it fails. There
    the handler is left out (a worker thread gets no Ctrl-C anyway); calls from
    the main thread are untouched.

    Examples
    --------
    >>> import_brian2().__name__
    'brian2'
    """
    import sys

    if "brian2" in sys.modules or threading.current_thread() is threading.main_thread():
        import brian2

        return brian2
    with _IMPORT_LOCK:
        original = signal.signal

        def main_thread_only(signalnum, handler):
            if threading.current_thread() is threading.main_thread():
                return original(signalnum, handler)
            return signal.getsignal(signalnum)

        signal.signal = main_thread_only
        try:
            import brian2
        finally:
            signal.signal = original
    return brian2


@contextlib.contextmanager
def brian2_parsing():
    """Brian2 imported (:func:`import_brian2`), its parsers without the deprecation warnings under them.

    Brian2 2.9 calls pyparsing functions that newer pyparsing deprecates; the
    warnings say nothing about the user's model (and break runs with ``-W error``).
    """
    import_brian2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def parse(text, where):
    """A Brian2 expression string as a sympy expression with the program's symbols.

    Examples
    --------
    >>> parse("(I - v) / tau_m", "an example")
    (I - v)/tau_m
    """
    if not isinstance(text, str) or not text.strip():
        raise BrianModesError(f"{where}: expected an expression, got {text!r}")
    try:
        with brian2_parsing():
            from brian2.parsing.sympytools import str_to_sympy

            expr = str_to_sympy(text)
    except Exception as exc:  # Brian2 raises SyntaxError, ValueError, TypeError...
        raise BrianModesError(f"{where}: cannot read {text!r}: {exc}") from None
    return _normalize(expr)


def resolve_units(expr, own):
    """Replace Brian2 unit names (``ms``, ``mV``, ...) that are not the model's own names by their SI value.

    Examples
    --------
    >>> resolve_units(parse("I_rec / (2*ms)", "x"), own={"I_rec"})
    500*I_rec
    """
    from brian2.core.namespace import DEFAULT_UNITS

    subs = {z: sympy.Rational(repr(float(DEFAULT_UNITS[z.name])))
            for z in expr.free_symbols if z.name not in own and z.name in DEFAULT_UNITS}
    return expr.xreplace(subs) if subs else expr


def function_names(expr):
    """Names of the functions an expression calls."""
    return {f.func.__name__ for f in expr.atoms(sympy.Function)}


def check_smooth(expr, where, allowed=()):
    """Refuse what cannot be differentiated: comparisons, logic, int/floor, noise.

    Examples
    --------
    >>> check_smooth(parse("exp(-v)", "x"), "x")
    >>> check_smooth(parse("floor(v)", "x"), "the update")
    Traceback (most recent call last):
    ...
    brianmodes.errors.BrianModesError: the update uses floor(), a construct that cannot be differentiated (the engine needs the derivative of every update); write it with smooth functions (exp, log, sqrt, tanh, ...)
    """
    logic = (sympy.core.relational.Relational, sympy.logic.boolalg.BooleanFunction,
             sympy.logic.boolalg.BooleanAtom)
    if isinstance(expr, logic) or expr.atoms(*logic):
        raise BrianModesError(f"{where} compares or combines truth values ({expr}), which cannot be "
                              "differentiated; only the threshold may compare")
    bad = sorted(function_names(expr) - set(SMOOTH_FUNCTIONS) - set(allowed))
    if bad:
        raise BrianModesError(
            f"{where} uses {bad[0]}(), a construct that cannot be differentiated (the engine needs the "
            "derivative of every update); write it with smooth functions (exp, log, sqrt, tanh, ...)")


def check_derivative(expr, where):
    """A derivative sympy could not evaluate means the update is not differentiable."""
    if expr.has(sympy.Derivative) or expr.has(sympy.Subs) or expr.has(sympy.DiracDelta):
        raise BrianModesError(f"{where}: the derivative of this update cannot be written in closed form "
                              f"({expr}); use smooth functions")
    return expr
