"""A neuron model as a Brian2 user writes it, checked once when it is built.

Two kinds share one representation:

- **continuous**: ``equations`` in Brian2's syntax with units, integrated by a
  Brian2 state updater (``method``), in Brian2's schedule (state update,
  threshold, input jumps, reset);
- **discrete**: ``statements``, the per-step update itself (``x = expr``
  lines, run in order, each seeing the values assigned above it), for updates
  with no continuous-time form such as the published one (SPEC 1.1).

The network talks to the neuron through three names: ``input`` (the variable
that receives ``W_in x``: a jump ``input += W_in x_t`` for continuous models,
the statement that reads ``I_in`` for discrete ones), ``recurrent`` (the symbol
holding ``W r`` of the previous step, a parameter ``I_rec : 1`` in Brian2) and
``activity`` (the variable ``r`` that the recurrence and the readout read).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..checks import choice
from ..errors import BrianModesError
from .parameters import as_parameter
from .symbolic import INPUT, MASK, SPIKE, brian2_parsing, check_name, check_smooth, parse, resolve_units, sym

REFRACTORY_MODES = ("hold", "clamp")
REFRACTORY_TIMINGS = ("steps", "float32")
_RESET_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(=|\+=|-=)\s*(.+?)\s*$")
_STATEMENT_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$")
_THRESHOLD_OPS = {">": (">", False), ">=": (">=", False), "<": (">", True), "<=": (">=", True)}


@dataclass(frozen=True)
class Assignment:
    """One line of a reset or of a discrete update: ``target op expr``."""

    target: str
    op: str
    expr: object  # sympy expression


def _lines(text):
    for raw in str(text).splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            yield line


def _assignments(text, where, pattern, ops_hint):
    out = []
    for line in _lines(text):
        match = pattern.match(line)
        if not match:
            raise BrianModesError(f"{where}: cannot read {line!r}; write one {ops_hint} per line")
        target, op, rhs = (match.group(1), "=", match.group(2)) if pattern is _STATEMENT_LINE else match.groups()
        out.append(Assignment(target, op, parse(rhs, f"{where} ({line!r})")))
    return tuple(out)


def _refractory_seconds(value):
    from ..checks import as_seconds

    if value is None or value is False:
        return 0.0
    seconds = as_seconds(value, "refractory")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise BrianModesError(f"refractory must be a finite non-negative time, got {value!r}")
    return seconds


class NeuronModel:
    """A neuron model: equations (or per-step statements), threshold, reset, refractoriness.

    Parameters
    ----------
    equations : str, optional
        Brian2 equations with units (continuous models), e.g.
        ``dv/dt = (I - v) / tau_m : 1 (unless refractory)``. The recurrent
        input must be declared (``I_rec : 1``); per-neuron parameters may be.
    statements : str, optional
        Discrete models instead: ``x = expr`` lines, one step of the update,
        reading ``I_in`` (W_in x_t), the recurrent input, ``s`` (the spikes of
        the previous step), ``not_refractory`` and ``dt``.
    threshold : str, optional
        ``a > b`` (or ``>=``, ``<``, ``<=``); None for a rate model.
    reset : str, optional
        ``x = e``, ``x += e`` or ``x -= e`` lines, run after a spike.
    refractory : float, Brian2 quantity or str, optional
        Refractory period (0 or None: none).
    refractory_mode : {'hold', 'clamp'}
        What ``(unless refractory)`` variables do while refractory. ``hold``
        (Brian2's semantics): they keep their value, and the gradient flows
        through the held value. ``clamp`` (today's numpy engine): they are set
        to the value their reset gives them (``v = 0``), so the gradient stops
        at the refractory period; with 0/1 spikes both give the same spikes.
    refractory_timing : {'steps', 'float32'}
        Discrete models: an exact mask of ``refractory/dt`` steps, or the
        authors' float32 clock (SPEC 1.4).
    input, recurrent, activity : str
        The variable receiving ``W_in x``, the symbol of ``W r``, the variable
        read by the recurrence and the readout.
    parameters : dict
        Name to value or :class:`~brianmodes.neurons.Parameter`.
    method : str
        Brian2 state updater of a continuous model (``exponential_euler``,
        ``euler``, ``rk2``, ...).
    name : str

    Examples
    --------
    >>> model = NeuronModel(
    ...     '''
    ...     dv/dt = (I - v) / tau_m : 1 (unless refractory)
    ...     dI/dt = -I / tau_s + I_rec / (2*ms) : 1
    ...     dr/dt = -r / tau_d : 1
    ...     I_rec : 1
    ...     ''',
    ...     threshold="v > 1", reset="v = 0\\nr += 0.1", refractory="10 ms",
    ...     parameters={"tau_m": "20 ms", "tau_s": "10 ms", "tau_d": "30 ms"})
    >>> model.kind, model.states, model.held
    ('continuous', ('v', 'I', 'r'), ('v',))
    """

    def __init__(self, equations=None, *, statements=None, threshold=None, reset=None, refractory=None,
                 refractory_mode="hold", refractory_timing="steps", input="I", recurrent="I_rec",
                 activity="r", parameters=None, method="exponential_euler", name="custom"):
        if (equations is None) == (statements is None):
            raise BrianModesError("a neuron model needs either equations (continuous time) or statements "
                                  "(one discrete time step), not both")
        self.kind = "continuous" if equations is not None else "discrete"
        self.name = str(name)
        self.equations = None if equations is None else str(equations)
        self.statements = None if statements is None else str(statements)
        self.method = str(method)
        self.input, self.recurrent, self.activity = input, recurrent, activity
        check_name(recurrent, "the recurrent input")
        self.parameters = {check_name(k, "parameter"): as_parameter(k, v) for k, v in (parameters or {}).items()}
        self.refractory = _refractory_seconds(refractory)
        self.refractory_mode = choice(refractory_mode, "refractory_mode", REFRACTORY_MODES)
        self.refractory_timing = choice(refractory_timing, "refractory_timing", REFRACTORY_TIMINGS)
        self.subexpressions = {}
        self.declared = ()
        if self.kind == "continuous":
            self._read_equations()
        else:
            self._read_statements()
        self.threshold = threshold
        self._read_threshold_and_reset(threshold, reset)
        self._check_interface()
        self._check_refractoriness()

    # -- reading ------------------------------------------------------------
    def _read_equations(self):
        with brian2_parsing():  # imports Brian2, from any thread
            from brian2 import Equations
            from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION

        try:
            with brian2_parsing():
                eqs = Equations(self.equations)
        except Exception as exc:
            raise BrianModesError(f"cannot read the equations of model {self.name!r}: {exc}") from None
        states, held, declared, exprs = [], [], [], {}
        for name, eq in eqs.items():
            if name != self.recurrent:
                check_name(name, "variable")
            if eq.type == DIFFERENTIAL_EQUATION:
                states.append(name)
                if "unless refractory" in eq.flags:
                    held.append(name)
            elif eq.type == PARAMETER:
                declared.append(name)
            elif eq.type == SUBEXPRESSION:
                self.subexpressions[name] = None
            if eq.expr is not None:
                if eq.expr.stochastic_variables:
                    raise BrianModesError(f"model {self.name!r}: stochastic equations ({name}) cannot be "
                                          "differentiated")
                exprs[name] = parse(eq.expr.code, f"the equation of {name}")
        for name in declared:
            if name == self.recurrent:
                continue
            if name not in self.parameters:
                raise BrianModesError(
                    f"model {self.name!r} declares {name!r} in its equations but it is neither the recurrent "
                    f"input {self.recurrent!r} nor a parameter; give its value in parameters=")
            param = self.parameters[name]
            if param.per_neuron is False:
                raise BrianModesError(f"parameter {name!r} is declared per neuron in the equations of "
                                      f"{self.name!r} but shared (per_neuron=False) in parameters")
            self.parameters[name] = _with(param, per_neuron=True)
        self.states, self.held, self.declared = tuple(states), tuple(held), tuple(declared)
        self.update = ()
        known = set(states) | set(declared) | set(self.subexpressions) | set(self.parameters) | {"dt"}
        for name, expr in exprs.items():
            check_smooth(expr, f"the equation of {name}")
            exprs[name] = self._check_known(expr, known, f"the equation of {name}")
        self.subexpressions = {name: exprs[name] for name in self.subexpressions}

    def _read_statements(self):
        assigned = _assignments(self.statements, f"the statements of model {self.name!r}", _STATEMENT_LINE,
                                "statement 'x = expr'")
        if not assigned:
            raise BrianModesError(f"model {self.name!r} has no statements")
        states = []
        for a in assigned:
            check_name(a.target, "variable")
            if a.target == self.recurrent:
                raise BrianModesError(f"the recurrent input {self.recurrent!r} cannot be assigned")
            if a.target not in states:
                states.append(a.target)
        self.states, self.held = tuple(states), ()
        known = set(states) | set(self.parameters) | {"dt", INPUT, self.recurrent, SPIKE, MASK}
        for a in assigned:
            check_smooth(a.expr, f"the statement of {a.target}")
        self.update = tuple(Assignment(a.target, a.op, self._check_known(a.expr, known, f"the statement of {a.target}"))
                            for a in assigned)

    def _read_threshold_and_reset(self, threshold, reset):
        import sympy

        known = set(self.states) | set(self.subexpressions) | set(self.parameters) | {"dt"}
        self.threshold_parts = None
        if threshold is not None:
            expr = parse(threshold, f"the threshold of model {self.name!r}")
            op = getattr(expr, "rel_op", None)
            if not isinstance(expr, sympy.core.relational.Relational) or op not in _THRESHOLD_OPS:
                raise BrianModesError(f"the threshold of model {self.name!r} must be one comparison "
                                      f"'a > b' (or >=, <, <=), got {threshold!r}")
            op, swap = _THRESHOLD_OPS[op]
            a, b = (expr.rhs, expr.lhs) if swap else (expr.lhs, expr.rhs)
            for side in (a, b):
                check_smooth(side, "the threshold")
            a, b = (self._check_known(side, known, "the threshold") for side in (a, b))
            self.threshold_parts = (op, a, b)
        self.reset_text = reset
        self.reset = ()
        if reset is not None:
            if threshold is None:
                raise BrianModesError(f"model {self.name!r} has a reset but no threshold")
            lines = _assignments(reset, f"the reset of model {self.name!r}", _RESET_LINE,
                                 "statement 'x = e', 'x += e' or 'x -= e'")
            for a in lines:
                if a.target not in self.states:
                    raise BrianModesError(f"the reset of model {self.name!r} assigns {a.target!r}, which is "
                                          f"not a state variable ({', '.join(self.states)})")
                check_smooth(a.expr, "the reset")
            self.reset = tuple(Assignment(a.target, a.op, self._check_known(a.expr, known, "the reset"))
                               for a in lines)

    def _check_known(self, expr, known, where):
        """``expr`` with Brian2 units replaced by their SI value; refuses unknown names."""
        expr = resolve_units(expr, known)
        unknown = sorted(s.name for s in expr.free_symbols if s.name not in known)
        if unknown:
            raise BrianModesError(
                f"unknown variable {unknown[0]!r} in {where} of model {self.name!r}; known: "
                f"{', '.join(sorted(known - {'dt'}))} (give a constant's value in parameters=)")
        return expr

    @property
    def own_names(self):
        """Every name the model defines or the engine provides (the rest may be Brian2 units)."""
        return (set(self.states) | set(self.declared) | set(self.subexpressions) | set(self.parameters)
                | {"dt", INPUT, self.recurrent} | ({SPIKE, MASK} if self.kind == "discrete" else set()))

    def _check_interface(self):
        for role, name in (("activity", self.activity), ("input", self.input)):
            if name not in self.states:
                raise BrianModesError(f"the {role} variable {name!r} of model {self.name!r} is not one of its "
                                      f"state variables ({', '.join(self.states)})")
        if self.kind == "continuous":
            if self.recurrent not in self.declared:
                raise BrianModesError(f"model {self.name!r} must declare its recurrent input in the equations, "
                                      f"as Brian2 needs it: '{self.recurrent} : 1'")
            return
        reads = [a for a in self.update if sym(INPUT) in a.expr.free_symbols]
        if not any(a.target == self.input for a in reads):
            raise BrianModesError(f"the statement of the input variable {self.input!r} of model {self.name!r} "
                                  f"must read {INPUT} (the input W_in x of the step)")
        if not any(sym(self.recurrent) in a.expr.free_symbols for a in self.update):
            raise BrianModesError(f"no statement of model {self.name!r} reads the recurrent input {self.recurrent!r}")

    def _check_refractoriness(self):
        uses_mask = self.kind == "discrete" and any(sym(MASK) in a.expr.free_symbols for a in self.update)
        if self.refractory > 0 and self.threshold is None:
            raise BrianModesError(f"model {self.name!r} has a refractory period but no threshold")
        if (self.held or uses_mask) and self.refractory == 0:
            raise BrianModesError(f"model {self.name!r} uses refractoriness ('unless refractory' or "
                                  f"{MASK}) but has no refractory period")
        if self.refractory_timing == "float32" and self.kind != "discrete":
            raise BrianModesError("refractory_timing='float32' is the authors' clock of the published discrete "
                                  "update; continuous models follow Brian2's timing (steps)")
        self.clamp_values = {}
        if self.refractory_mode == "clamp":
            for name in self.held:
                resets = [a for a in self.reset if a.target == name]
                constant = set(self.parameters) | {"dt"}
                if len(resets) != 1 or resets[0].op != "=" or \
                        any(s.name not in constant for s in resets[0].expr.free_symbols):
                    raise BrianModesError(
                        f"refractory_mode='clamp' sets {name!r} to its reset value while refractory, so its reset "
                        f"must be one '{name} = <constant>' line; use refractory_mode='hold' otherwise")
                self.clamp_values[name] = resets[0].expr

    # -- derived views --------------------------------------------------------
    @property
    def spiking(self):
        """True when the model has a threshold (spikes ``s``)."""
        return self.threshold is not None

    @property
    def trainable(self):
        """Names of the trainable parameters."""
        return tuple(name for name, p in self.parameters.items() if p.trainable)

    def parameter_values(self, N):
        """Every parameter's value in SI: a float when shared, an (N,) array per neuron."""
        return {name: p.values(N, name) for name, p in self.parameters.items()}

    def brian2_equations(self):
        """The equations with a declaration for every per-neuron parameter they do not declare."""
        if self.kind != "continuous":
            raise BrianModesError(f"model {self.name!r} is a discrete update: it has no Brian2 equations")
        lines = [self.equations.rstrip()]
        for name, p in self.parameters.items():
            if p.per_neuron and name not in self.declared:
                lines.append(f"{name} : {_unit_name(p.dim)} (constant)")
        return "\n".join(lines)

    def structure_key(self):
        """What the derived program depends on (parameter values and periods excluded)."""
        params = tuple(sorted((n, bool(p.per_neuron), p.trainable) for n, p in self.parameters.items()))
        return (self.kind, self.equations, self.statements, self.threshold, self.reset_text, self.refractory > 0,
                self.refractory_mode, self.refractory_timing, self.input, self.recurrent, self.activity,
                self.method, params)

    def with_parameters(self, **changes):
        """A copy with some parameters replaced (values or Parameter objects).

        Examples
        --------
        >>> from brianmodes.neurons import Parameter, lif
        >>> model = lif("single").with_parameters(tau_m=Parameter("20 ms", per_neuron=True, trainable=True))
        >>> model.trainable
        ('tau_m',)
        """
        unknown = sorted(set(changes) - set(self.parameters))
        if unknown:
            raise BrianModesError(f"model {self.name!r} has no parameter {unknown[0]!r}; "
                                  f"its parameters are {', '.join(self.parameters)}")
        return self._copy(parameters={**self.parameters, **{
            name: _keeping_unit(as_parameter(name, spec), self.parameters[name]) for name, spec in changes.items()}})

    def to_dict(self, values=True):
        """The model as JSON data (see :mod:`brianmodes.neurons.serialize`); ``values=False`` leaves out
        the values of trainable parameters.

        Examples
        --------
        >>> from brianmodes.neurons import lif
        >>> NeuronModel.from_dict(lif("double").to_dict()).structure_key() == lif("double").structure_key()
        True
        """
        from .serialize import model_to_dict

        return model_to_dict(self, values)

    @classmethod
    def from_dict(cls, description, values=None, where="the neuron model"):
        """The model of a :meth:`to_dict` description; ``values`` supplies values left out of it."""
        from .serialize import model_from_dict

        return model_from_dict(description, values, where)

    def with_options(self, **changes):
        """A copy with constructor arguments replaced (``refractory_mode='hold'``, ...)."""
        return self._copy(**changes)

    def _copy(self, **changes):
        args = dict(statements=self.statements, threshold=self.threshold, reset=self.reset_text,
                    refractory=self.refractory, refractory_mode=self.refractory_mode,
                    refractory_timing=self.refractory_timing, input=self.input, recurrent=self.recurrent,
                    activity=self.activity, parameters=dict(self.parameters), method=self.method, name=self.name)
        args.update(changes)
        return NeuronModel(self.equations, **args)

    def __repr__(self):
        params = ", ".join(f"{n}={p.value!r}" + ("*" if p.trainable else "") for n, p in self.parameters.items())
        body = self.equations if self.kind == "continuous" else self.statements
        return (f"NeuronModel({self.name!r}, {self.kind}; threshold={self.threshold!r}, reset={self.reset_text!r}, "
                f"refractory={self.refractory:g} s;\n{body.strip()}\nparameters: {params})")


def _with(param, **changes):
    from dataclasses import replace

    return replace(param, **changes)


def _unit_name(dim):
    return {"s": "second", None: "1"}.get(dim, dim)


def _keeping_unit(new, old):
    """A replaced parameter given as plain numbers keeps the unit of the one it replaces: times are
    seconds, as everywhere in brianmodes (Brian2 would otherwise see a dimensionless time constant)."""
    if new.dim is None and old.dim is not None:
        from dataclasses import replace

        return replace(new, dim=old.dim)
    return new
