"""A model's own filter: the statements of its derived step that make the activity from the spikes.

The activity ``r`` of the built-in LIF is a filter of the spike train (one or
two exponentials). Its statements in the derived program read only the
filter's own variables, the spikes and constants, so they can be run on any
binned spike train, a recorded one included, and give exactly what the model
computes from its own spikes.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .codegen import _compile, _Printer, constant_names, ranks
from .symbolic import SPIKE


def _variable(symbol):
    """The state a single-assignment symbol is a version of (``r__2`` -> ``r``), or None."""
    name = symbol.name
    base, sep, version = name.rpartition("__")
    return base if sep and version.isdigit() else None


def filter_statements(program):
    """The states of the activity's filter and the statements that update them.

    Raises
    ------
    BrianModesError
        If the model has no spikes, or its activity depends on more than its
        spikes (the membrane, the input, the refractory mask).

    Examples
    --------
    >>> from brianmodes.neurons import lif, program_for
    >>> states, statements = filter_statements(program_for(lif("double")))
    >>> states, [str(st.target) for st in statements]
    (('h', 'r'), ['h__1', 'r__1', 'h__2'])
    """
    model = program.model
    if not model.spiking:
        raise BrianModesError(f"model {model.name!r} has no spikes to filter")
    constants = {c.name for c in program.constants}
    assigns = [st for st in program.statements if st.kind != "threshold"]
    closure, grown = {model.activity}, True
    while grown:
        grown = False
        for st in assigns:
            if _variable(st.target) in closure:
                used = {_variable(s) for s in st.expr.free_symbols} - {None, SPIKE}
                if not used <= closure:
                    closure |= used
                    grown = True
    statements = [st for st in assigns if _variable(st.target) in closure]
    for st in statements:
        other = {s.name for s in st.expr.free_symbols if _variable(s) is None} - constants
        if other or closure & {model.input}:
            what = ", ".join(sorted(other | (closure & {model.input})))
            raise BrianModesError(f"the activity {model.activity!r} of model {model.name!r} depends on {what}, not "
                                  "only on its spikes: it cannot be computed from a spike train alone")
    return tuple(x for x in program.states if x in closure), statements


def filter_spikes(engine, spikes, params=None):
    """Run a model's filter on binned spikes ``(T, B, N)`` at the engine's dt; returns the activity (float64).

    Step ``t`` reads the spikes of step ``t`` where the model reads the
    spikes of its own step (the reset of a continuous model) and those of
    step ``t - 1`` where it reads the previous step's (the published update).

    Examples
    --------
    >>> from brianmodes.neurons import Engine, published_lif
    >>> s = np.zeros((4, 1, 1)); s[1] = 1
    >>> filter_spikes(Engine(published_lif("single"), 2e-3), s)[:, 0, 0].round(4)
    array([0.    , 0.    , 0.0667, 0.0624])
    """
    program = engine.program
    states, statements = filter_statements(program)
    spike_final = str(program.final[SPIKE])
    printer = _Printer(ranks(program))
    body = [f"{st.target} = {printer.doprint(st.expr)}" for st in statements]
    args = [str(program.old[x]) for x in states] + [str(program.old[SPIKE]), spike_final]
    args += list(constant_names(program))
    finals = "(" + "".join(f"{program.final[x]}, " for x in states) + ")"
    step = engine._cached(("filter", states), lambda: _compile("filter_step", args, body, finals))
    s = np.asarray(spikes, dtype=np.float64)
    if s.ndim != 3:
        raise BrianModesError(f"spikes must be (T, B, N) at the model's dt, got shape {s.shape}")
    T, B, N = s.shape
    C, _ = engine.constants(N, np.dtype(np.float64), params)
    zero = np.zeros((B, N))
    values = [zero] * len(states)
    out = np.empty_like(s)
    ia = states.index(engine.model.activity)
    for t in range(T):
        values = step(*values, s[t - 1] if t > 0 else zero, s[t], *C)
        out[t] = values[ia]
    return out
