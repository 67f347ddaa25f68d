"""numpy code from derived statements: the forward step, the adjoint step, the constants.

Each function is generated as Python source (readable: ``print(source)``)
and compiled with ``exec``. Sums are written in a fixed order, the state's
own terms first and the drives last (``a_s*I + I_in + I_rec``), so that float
rounding follows the order the update is written in; numeric literals stay
Python numbers, so float32 arrays stay float32.
"""

from __future__ import annotations

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from .symbolic import INPUT, MASK, sym

_DRIVE_RANK = 1000


def exprel(x):
    """``(exp(x) - 1) / x``, 1 at 0 (Brian2's ``exprel``).

    Examples
    --------
    >>> exprel(np.array([0.0, 1.0]))
    array([1.        , 1.71828183])
    """
    x = np.asarray(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.expm1(x) / x
    return np.where(x == 0, 1.0, out)


class _OrderedSums:
    """Sums printed in the order of :func:`ranks`: the state's terms first, the drives last."""

    def _rank(self, term):
        names = [s.name for s in term.free_symbols]
        if not names:
            return (-1, ())
        return (min(self.ranks.get(n, _DRIVE_RANK - 1) for n in names), sympy.default_sort_key(term))

    def _print_Add(self, expr, order=None):
        terms = sorted(expr.args, key=self._rank)
        if len(terms) > 1 and terms[0].could_extract_minus_sign() and not terms[1].could_extract_minus_sign():
            terms[0], terms[1] = terms[1], terms[0]  # a - b, not -b + a: the same number, one operation less
        out = []
        for i, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            text = self.parenthesize(-term if negative else term, PRECEDENCE["Add"])
            if i == 0:
                out.append(f"-{text}" if negative else text)
            else:
                out.append(f" - {text}" if negative else f" + {text}")
        return "".join(out)


class DisplayPrinter(_OrderedSums, StrPrinter):
    """Plain sympy text, with sums in the order the engine evaluates them."""

    def __init__(self, ranks):
        super().__init__()
        self.ranks = ranks


class _Printer(_OrderedSums, NumPyPrinter):
    """sympy's numpy printer with ordered sums and the engine's own functions."""

    def __init__(self, ranks):
        super().__init__({"fully_qualified_modules": True})
        self.ranks = ranks

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        b = self.parenthesize(base, PRECEDENCE["Pow"])
        if exp == sympy.S.Half:
            return f"numpy.sqrt({self._print(base)})"
        if exp.is_Integer:
            n = int(exp)
            if n > 0:
                return f"{b}**{n}"
            return f"(1/{b})" if n == -1 else f"(1/{b}**{-n})"
        return f"numpy.power({self._print(base)}, {self._print(exp)})"

    def _print_Select(self, expr):
        if expr.args[2] == 0:  # a clamp to 0: a product with the 0/1 mask is exact and twice as fast as where
            return f"{self.parenthesize(expr.args[1], PRECEDENCE['Mul'])}*{self._print(expr.args[0])}"
        m, a, b = (self._print(x) for x in expr.args)
        return f"numpy.where({m}, {a}, {b})"

    def _print_SurrogateGrad(self, expr):
        return f"_surrogate({self._print(expr.args[0])})"

    def _print_exprel(self, expr):
        return f"_exprel({self._print(expr.args[0])})"


def ranks(program):
    """Order of symbols in printed sums: states in order, then ``s``, then the drives."""
    out = {}
    for i, x in enumerate(program.states):
        for k in range(0, 64):
            out[f"{x}__{k}"] = i
            out[f"G__{x}"] = i
    out[INPUT] = _DRIVE_RANK
    out[program.model.recurrent] = _DRIVE_RANK + 1
    return out


def _compile(name, args, body, returns):
    lines = [f"def {name}({', '.join(args)}):"] + [f"    {line}" for line in body]
    lines.append(f"    return {returns}")
    source = "\n".join(lines) + "\n"
    namespace = {"numpy": np, "_exprel": exprel}
    exec(compile(source, f"<brianmodes derived {name}>", "exec"), namespace)  # noqa: S102 - our own code
    function = namespace[name]
    function.source = source
    return function


def _tuple(items):
    return "(" + "".join(f"{x}, " for x in items) + ")"


def constant_names(program):
    """The constants the step functions take, in order."""
    return tuple(sorted(c.name for c in program.constants))


def compile_forward(program, extras=(), smooth=False):
    """The forward step ``f(olds..., I_in, I_rec, [not_refractory], constants...)``.

    Returns ``(finals, extras, spikes)``: the state at the end of the step
    (in ``program.states`` order), the requested single-assignment values,
    and the hard spikes (bool) or None for a rate model. With ``smooth``, the
    dynamics use ``_spike_fn(a - b)`` (the first argument) instead of 0/1
    spikes, while the returned hard spikes still follow the threshold.

    Examples
    --------
    >>> from brianmodes.neurons import published_lif
    >>> from brianmodes.neurons.derive import program_for
    >>> print(compile_forward(program_for(published_lif("single"))).source)
    def forward_step(I__0, v__0, r__0, s__0, I_in, I_rec, not_refractory, _c0, _c1, _c2, _c3, _c4, v_th):
        I__1 = I__0*_c0 + I_in + I_rec
        v__1 = not_refractory*(1 - s__0)*(I__1*_c1 + _c2*v__0)
        r__1 = _c3*r__0 + _c4*s__0
        _spk = numpy.greater(v__1, v_th)
        s__1 = _spk.astype(I_in.dtype)
        return (I__1, v__1, r__1, s__1, ), (), _spk
    <BLANKLINE>
    """
    printer = _Printer(ranks(program))
    p = printer.doprint
    body, spikes = [], "None"
    for st in program.statements:
        if st.kind != "threshold":
            body.append(f"{st.target} = {p(st.expr)}")
            continue
        op = "greater" if st.op == ">" else "greater_equal"
        sides = []
        for name, side in (("_a", st.a), ("_b", st.b)):
            if side.is_Atom:
                sides.append(p(side))
            else:  # its own statement, rounded as Brian2 rounds it, then compared
                body.append(f"{name} = {p(side)}")
                sides.append(name)
        a, b = sides
        body.append(f"_spk = numpy.{op}({a}, {b})")
        if st.masked:
            body.append(f"_spk &= {MASK}")
        if smooth:
            body.append(f"{st.target} = _spike_fn({a} - {b})" + (f" * {MASK}" if st.masked else ""))
        else:
            body.append(f"{st.target} = _spk.astype(I_in.dtype)")
        spikes = "_spk"
    args = (["_spike_fn"] if smooth else []) + [str(program.old[x]) for x in program.states]
    args += [INPUT, program.model.recurrent] + ([MASK] if program.masked else []) + list(constant_names(program))
    finals = _tuple(program.final[x] for x in program.states)
    return _compile("forward_step", args, body, f"{finals}, {_tuple(extras)}, {spikes}")


def compile_backward(program, adjoint):
    """The adjoint step ``g(_surrogate, seeds..., needed..., constants...)``.

    Returns ``(old adjoints, g_I_in, g_rec, constant contributions)``; the old
    adjoints in ``program.states`` order (0 where none), the contributions in
    ``program.trainable_constants`` order.
    """
    printer = _Printer(ranks(program))
    p = printer.doprint
    body = [f"{g} = {p(e)}" for g, e in adjoint.statements]
    args = ["_surrogate"] + [str(adjoint.seeds[x]) for x in program.states if x in adjoint.seeds]
    args += list(adjoint.needed) + list(constant_names(program))
    outputs = [adjoint.old[x] for x in program.states] + [adjoint.input, adjoint.recurrent]
    outputs += [adjoint.constants[c] for c in program.trainable_constants]
    # the outputs share products (g_v m (1 - s) in both g_I and g_v): compute them once
    shared, outputs = sympy.cse(outputs, symbols=sympy.numbered_symbols("_t"), order="none")
    body += [f"{t} = {p(e)}" for t, e in shared]
    n = len(program.states)
    olds, consts = _tuple(p(e) for e in outputs[:n]), _tuple(p(e) for e in outputs[n + 2:])
    return _compile("backward_step", args, body, f"{olds}, {p(outputs[n])}, {p(outputs[n + 1])}, {consts}")


def compile_constants(program):
    """``c(dt, parameters...)``: the value of every constant (float64), in :func:`constant_names` order."""
    p = _Printer({}).doprint
    names = sorted(program.model.parameters)
    by_name = {c.name: e for c, e in program.constants.items()}
    values = _tuple(p(by_name[n]) for n in constant_names(program))
    return _compile("constants", ["dt"] + names, [], values), names


def compile_constant_gradients(program):
    """``d(dt, parameters...)``: d constant / d parameter for each trainable parameter and trainable constant.

    Returns the function and the list of ``(parameter, constant)`` pairs it
    returns the derivatives of.
    """
    p = _Printer({}).doprint
    names = sorted(program.model.parameters)
    pairs, exprs = [], []
    for c in program.trainable_constants:
        for theta in program.model.trainable:
            d = sympy.diff(program.constants[c], sym(theta))
            if d != 0:
                pairs.append((theta, c.name))
                exprs.append(p(d))
    return _compile("constant_gradients", ["dt"] + names, [], _tuple(exprs)), pairs
