"""Derive the per-step update of a neuron model with Brian2's own machinery.

Continuous models go the way Brian2 goes: ``Equations`` →
``add_refractoriness`` → ``StateUpdateMethod.apply_stateupdater(eqs, {},
method)``, then Brian2's schedule: state update, threshold, input jumps
(the ``synapses`` slot), reset. Discrete models are their statements. The
result is a :class:`Program` in single-assignment form (``v__0`` the value at
the end of the previous step, ``v__1``, ``v__2`` the values after each
assignment), with

- the ``(unless refractory)`` update written as a select, ``Select(m, update,
  hold)`` (Brian2 does not write the variable while refractory; the
  ``int(not_refractory)`` factor of its update is then redundant, and
  ``I + (v - I)`` is not exactly ``v``); ``hold`` is the old value
  (``refractory_mode='hold'``) or the reset value (``'clamp'``);
- the threshold ``a > b`` as its own statement, ``s = Spike(a, b)`` (times the
  mask for continuous models, as Brian2's ``v > v_th and not_refractory``);
- a reset ``x = e`` as ``x (1 - s) + s e`` and ``x += e`` as ``x + s e``
  (exact for 0/1 spikes; the gradient goes through ``s``);
- update expressions linear in the state written as sums of coefficient ×
  variable, and every expression of parameters and ``dt`` alone hoisted out of
  the time loop as a constant (``_c0 = exp(-dt/tau_m)``).
"""

from __future__ import annotations

import sympy

from ..errors import BrianModesError
from .symbolic import INPUT, MASK, SPIKE, Select, brian2_parsing, check_derivative, parse, resolve_units, sym


class Statement:
    """``target = expr``: one assignment of a step."""

    kind = "assign"

    def __init__(self, target, expr):
        self.target, self.expr = target, expr

    def display(self, printer):
        return f"{self.target} = {printer.doprint(self.expr)}"


class Threshold:
    """``target = a > b`` (``op`` is ``'>'`` or ``'>='``), masked by ``not_refractory`` if ``masked``."""

    kind = "threshold"

    def __init__(self, target, op, a, b, masked):
        self.target, self.op, self.a, self.b, self.masked = target, op, a, b, masked

    @property
    def expr(self):
        return sympy.Tuple(self.a, self.b, sym(MASK)) if self.masked else sympy.Tuple(self.a, self.b)

    def display(self, printer):
        mask = f" and {MASK}" if self.masked else ""
        return f"{self.target} = {printer.doprint(self.a)} {self.op} {printer.doprint(self.b)}{mask}"


class _Versions:
    """The current single-assignment name of every state variable."""

    def __init__(self, states):
        self.count = {x: 0 for x in states}

    def current(self, x):
        return sym(f"{x}__{self.count[x]}")

    def new(self, x):
        self.count[x] += 1
        return self.current(x)

    def rename(self, expr):
        return expr.xreplace({sym(x): self.current(x) for x in self.count})


class Program:
    """The derived per-step update of a model: what the executors run.

    Attributes
    ----------
    states : tuple of str
        State variables, ``s`` (the spikes) last when the model spikes.
    old, final : dict
        Each state's symbol at the start of a step (``v__0``) and at its end.
    statements : tuple
        The step, in order (:class:`Statement` and :class:`Threshold`).
    constants : dict
        Hoisted constant symbol to its expression in parameters and ``dt``.
    """

    def __init__(self, model, states, statements, versions, constants):
        self.model = model
        self.states = tuple(states)
        self.statements = tuple(statements)
        self.old = {x: sym(f"{x}__0") for x in self.states}
        self.final = {x: versions.current(x) for x in self.states}
        self.constants = constants
        self.masked = model.refractory > 0
        self.rule = "brian2" if model.kind == "continuous" else "published"
        self._adjoints = {}
        self.compiled = {}  # generated functions, filled by the executors

    @property
    def trainable_constants(self):
        """Constants whose value depends on a trainable parameter (they get gradients)."""
        train = {sym(n) for n in self.model.trainable}
        return tuple(c for c, e in self.constants.items() if e.free_symbols & train)

    def adjoint(self, external=None):
        """The derived adjoint step (see :func:`~brianmodes.neurons.adjoint.derive_adjoint`), cached."""
        from .adjoint import derive_adjoint

        key = frozenset(external if external is not None else (self.model.activity,))
        if key not in self._adjoints:
            self._adjoints[key] = derive_adjoint(self, key)
        return self._adjoints[key]

    def __str__(self):
        from .codegen import DisplayPrinter, ranks

        printer = DisplayPrinter(ranks(self))
        lines = ["# once per run"] + [f"{c} = {e}" for c, e in self.constants.items() if c != e]
        lines += ["# each step"] + [s.display(printer) for s in self.statements]
        return "\n".join(lines)


# -- continuous models ------------------------------------------------------------
def _state_updates(model):
    """Each state's updated value, from Brian2's state updater, temporaries inlined."""
    with brian2_parsing():  # imports Brian2, from any thread
        from brian2 import Equations, StateUpdateMethod
        from brian2.equations.refractory import add_refractoriness

    with brian2_parsing():
        eqs = Equations(model.brian2_equations())
        if model.refractory > 0:
            eqs = add_refractoriness(eqs)
    try:
        with brian2_parsing():
            code = StateUpdateMethod.apply_stateupdater(eqs, {}, model.method)
    except Exception as exc:
        raise BrianModesError(f"Brian2's {model.method!r} state updater cannot integrate model "
                              f"{model.name!r}: {exc}") from None
    temporaries = {}
    for line in code.splitlines():
        lhs, rhs = (part.strip() for part in line.split("=", 1))
        if lhs in model.states and rhs == f"_{lhs}":
            continue
        temporaries[sym(lhs)] = parse(rhs, f"Brian2's update of model {model.name!r}").xreplace(temporaries)
    updates = {}
    for x in model.states:
        expr = temporaries[sym(f"_{x}")]
        # Brian2's int(not_refractory) factor: the select below does what it does
        expr = expr.replace(lambda e: isinstance(e, sympy.Function) and e.func.__name__ == "int_",
                            lambda e: sympy.S.One)
        updates[x] = resolve_units(expr, model.own_names)
    return updates


def _linear_form(expr, dynamic):
    """``sum_i c_i z_i + c_0`` when ``expr`` is linear in the dynamic symbols, else ``expr``."""
    syms = sorted(expr.free_symbols & dynamic, key=lambda s: s.name)
    if not syms:
        return expr
    try:
        poly = sympy.Poly(expr, *syms)
    except sympy.PolynomialError:
        return expr
    if poly.total_degree() > 1:
        return expr
    def tidy(c):  # tau_s*(1 - exp(-dt/tau_s))/dt_model rather than Brian2's expanded form
        return sympy.factor_terms(sympy.expand(c))

    terms = [tidy(poly.coeff_monomial(z)) * z for z in syms]
    return sympy.Add(*terms, tidy(poly.coeff_monomial(1)))


def _subexpressions(model, expr):
    """Substitute the model's subexpressions (Brian2 ``x = e : unit`` lines)."""
    subs = {sym(n): e for n, e in model.subexpressions.items()}
    for _ in range(len(subs) + 1):
        new = expr.xreplace(subs)
        if new == expr:
            return expr
        expr = new
    raise BrianModesError(f"the subexpressions of model {model.name!r} refer to each other in a cycle")


def _continuous(model, versions):
    updates = _state_updates(model)
    dynamic = {versions.current(x) for x in model.states} | {sym(model.recurrent)}
    new_values = {}
    for x in model.states:
        expr = _linear_form(versions.rename(updates[x]), dynamic)
        if x in model.held:
            hold = versions.current(x) if model.refractory_mode == "hold" else model.clamp_values[x]
            expr = Select(sym(MASK), expr, hold)
        new_values[x] = expr
    # every update reads the values of the previous step
    return [Statement(versions.new(x), new_values[x]) for x in model.states]


# -- shared: threshold, input, reset -------------------------------------------------
def _threshold(model, versions, masked):
    op, a, b = model.threshold_parts
    a, b = (versions.rename(_subexpressions(model, e)) for e in (a, b))
    return Threshold(versions.new(SPIKE), op, a, b, masked)


def _reset(model, versions):
    out = []
    for line in model.reset:
        e = versions.rename(_subexpressions(model, line.expr))
        x, s = versions.current(line.target), versions.current(SPIKE)
        if line.op == "=":
            value = x * (1 - s) + s * e
        else:
            value = x + s * e if line.op == "+=" else x - s * e
        out.append(Statement(versions.new(line.target), value))
    return out


def _discrete(model, versions):
    out = []
    for line in model.update:
        expr = versions.rename(line.expr)  # the values assigned so far in this step
        out.append(Statement(versions.new(line.target), expr))
    return out


# -- hoisting -------------------------------------------------------------------------
class _Constants:
    """Hoists expressions of parameters and dt alone out of the time loop."""

    def __init__(self, parameters):
        self.params = {sym(n) for n in parameters} | {sym("dt")}
        self.defs = {}
        self._names = {}

    def _const(self, e):
        return not e.is_Number and e.free_symbols <= self.params and not e.has(Select)

    def _name(self, e):
        if e.is_Symbol:
            self.defs[e] = e
            return e
        if e not in self._names:
            c = sym(f"_c{len(self._names)}")
            self._names[e] = c
            self.defs[c] = e
        return self._names[e]

    def hoist(self, e):
        if e.is_Number:
            return e
        if self._const(e):
            return self._name(e)
        if e.is_Atom:
            return e
        if e.is_Add or e.is_Mul:
            const = [a for a in e.args if a.is_Number or self._const(a)]
            dynamic = [self.hoist(a) for a in e.args if not (a.is_Number or self._const(a))]
            if const:
                c = e.func(*const)
                dynamic.insert(0, c if c.is_Number else self._name(c))
            return e.func(*dynamic)
        return e.func(*[self.hoist(a) for a in e.args])


def _hoisted(statements, parameters):
    table = _Constants(parameters)
    for st in statements:
        if st.kind == "threshold":
            st.a, st.b = table.hoist(st.a), table.hoist(st.b)
        else:
            st.expr = table.hoist(st.expr)
    return table.defs


def derive(model, dt=None):
    """The per-step update of ``model`` as a :class:`Program`.

    Parameters
    ----------
    model : NeuronModel
    dt : float, optional
        Accepted for symmetry with the executors; the program keeps ``dt`` as a
        symbol (hoisted into the constants), so one derivation serves every dt.

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> print(derive(lif("single")))
    # once per run
    _c0 = 1 - exp(-dt/tau_m)
    _c1 = exp(-dt/tau_m)
    _c2 = exp(-dt/tau_s)
    _c3 = tau_s*(1 - exp(-dt/tau_s))/dt_model
    _c4 = exp(-dt/tau_d)
    _c5 = dt_model/tau_d
    # each step
    v__1 = Select(not_refractory, _c1*v__0 + I__0*_c0, 0)
    I__1 = I__0*_c2 + I_rec*_c3
    r__1 = _c4*r__0
    s__1 = v__1 > v_th and not_refractory
    I__2 = I__1 + I_in
    v__2 = v__1*(1 - s__1)
    r__2 = r__1 + _c5*s__1
    """
    states = tuple(model.states) + ((SPIKE,) if model.spiking else ())
    versions = _Versions(states)
    if model.kind == "continuous":
        statements = _continuous(model, versions)
    else:
        statements = _discrete(model, versions)
    if model.spiking:
        statements.append(_threshold(model, versions, masked=model.kind == "continuous" and model.refractory > 0))
    if model.kind == "continuous":
        jump = versions.current(model.input) + sym(INPUT)  # Brian2's synapses slot: input += W_in x
        statements.append(Statement(versions.new(model.input), jump))
    statements += _reset(model, versions)
    constants = _hoisted(statements, model.parameters)
    for st in statements:
        check_derivative(st.expr, f"the update of model {model.name!r}")
    return Program(model, states, statements, versions, constants)


_PROGRAMS = {}


def program_for(model):
    """The program of ``model``, derived once per model structure (parameter values excluded).

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> program_for(lif("single", tau_m=0.01)) is program_for(lif("single"))
    True
    """
    key = model.structure_key()
    if key not in _PROGRAMS:
        _PROGRAMS[key] = derive(model)
    return _PROGRAMS[key]
