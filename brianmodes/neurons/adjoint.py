"""The adjoint of a derived step: reverse-mode symbolic differentiation with sympy.

The forward step is straight-line single-assignment code, so its adjoint is
built one statement at a time from the last to the first: when a statement
``y = f(z_1, ..., z_k)`` is reached, every use of ``y`` has been seen and its
adjoint ``g_y`` is complete; it then adds ``g_y * df/dz_i`` to the adjoint of
each ``z_i``. Three rules differ from plain calculus:

- the threshold ``s = a > b`` passes ``g_s * SurrogateGrad(a - b)`` (times the
  mask when masked) to ``a - b``: the surrogate replaces the derivative of the
  step function;
- the not-refractory mask is a constant of the forward pass: no gradient;
- ``Select(m, a, b)`` passes ``m g`` to ``a`` and ``(1 - m) g`` to ``b``.

Inputs of the adjoint step are the *seeds* ``G__x``, the adjoints of the
state at the end of the step; its outputs the adjoints of the state at the
start of the step (the next seeds), of ``I_in`` and of the recurrent input,
and the step's contribution to the adjoint of each trainable constant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sympy

from .symbolic import INPUT, MASK, SurrogateGrad, check_derivative, sym


@dataclass
class Adjoint:
    """The derived adjoint step.

    Attributes
    ----------
    seeds : dict
        State name to the seed symbol ``G__x`` (only the seeds that can be
        non-zero).
    statements : list of (Symbol, Expr)
        The adjoint step, in execution order.
    old : dict
        State name to the expression of the adjoint of its old value (0 when
        none).
    input, recurrent : Expr
        Adjoints of ``I_in`` and of the recurrent input.
    constants : dict
        Trainable constant to this step's contribution to its adjoint.
    needed : tuple of str
        Forward values the adjoint reads (single-assignment names, the mask,
        the inputs).
    """

    seeds: dict
    statements: list
    old: dict
    input: object
    recurrent: object
    constants: dict
    needed: tuple

    def __str__(self):
        lines = [f"{g} = {e}" for g, e in self.statements]
        lines += [f"g_{x}__0 = {e}" for x, e in self.old.items() if e != 0]
        lines += [f"g_{INPUT} = {self.input}", f"g_rec = {self.recurrent}"]
        lines += [f"g_{c} += {e}" for c, e in self.constants.items()]
        return "\n".join(lines)


def _differentiable(expr, targets, inputs):
    return sorted((z for z in expr.free_symbols if z in targets or z in inputs), key=lambda z: z.name)


def _contributions(program, seeds, inputs):
    """Run the reverse sweep; returns the adjoint statements and the open contributions."""
    contrib = defaultdict(list)
    for x, g in seeds.items():
        contrib[program.final[x]].append(g)
    targets = {st.target for st in program.statements} | set(program.old.values())
    where = f"the adjoint of model {program.model.name!r}"
    out = []
    for st in reversed(program.statements):
        terms = contrib.pop(st.target, [])
        if not terms:
            continue
        g = sympy.Add(*terms)
        if not g.is_Symbol:
            gsym = sym(f"g_{st.target.name}")
            out.append((gsym, g))
            g = gsym
        if st.kind == "threshold":
            x = st.a - st.b
            gx = g * SurrogateGrad(x) * (sym(MASK) if st.masked else 1)
            gsym = sym(f"g_{st.target.name}_th")
            out.append((gsym, gx))
            expr, g = x, gsym
        else:
            expr = st.expr
        for z in _differentiable(expr, targets, inputs):
            d = check_derivative(sympy.diff(expr, z), where)
            if d != 0:
                contrib[z].append(g * d)
    return out, contrib


def derive_adjoint(program, external):
    """The :class:`Adjoint` of ``program``'s step.

    Parameters
    ----------
    program : Program
    external : frozenset of str
        States whose seed has a source outside the neuron's own recursion
        (the activity: readout and recurrence; ``s``: a rate penalty). The
        other seeds are the next step's old-value adjoints; those that are
        identically zero are dropped (repeated until nothing changes).

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> from brianmodes.neurons.derive import program_for
    >>> print(program_for(lif("single")).adjoint())
    g_s__1 = G__r*_c5 - G__v*v__1
    g_s__1_th = g_s__1*not_refractory*SurrogateGrad(v__1 - v_th)
    g_v__1 = G__v*(1 - s__1) + g_s__1_th
    g_v__0 = _c1*g_v__1*not_refractory
    g_I__0 = G__I*_c2 + _c0*g_v__1*not_refractory
    g_r__0 = G__r*_c4
    g_I_in = G__I
    g_rec = G__I*_c3
    """
    recurrent = sym(program.model.recurrent)
    constants = set(program.trainable_constants)
    inputs = {sym(INPUT), recurrent} | constants
    live = set(program.states)
    while True:
        seeds = {x: sym(f"G__{x}") for x in program.states if x in live}
        statements, contrib = _contributions(program, seeds, inputs)
        old = {x: sympy.Add(*contrib.get(program.old[x], [])) for x in program.states}
        now_live = {x for x in program.states if old[x] != 0} | (set(external) & set(program.states))
        if now_live >= live:
            break
        live = now_live
    result = Adjoint(seeds=seeds, statements=statements, old=old,
                     input=sympy.Add(*contrib.get(sym(INPUT), [])),
                     recurrent=sympy.Add(*contrib.get(recurrent, [])),
                     constants={c: sympy.Add(*contrib.get(c, [])) for c in program.trainable_constants},
                     needed=())
    result.needed = _needed(result, program)
    return result


def _needed(adjoint, program):
    """Names of the forward values the adjoint step reads."""
    exprs = [e for _, e in adjoint.statements] + list(adjoint.old.values()) + list(adjoint.constants.values())
    exprs += [adjoint.input, adjoint.recurrent]
    own = {g for g, _ in adjoint.statements} | set(adjoint.seeds.values()) | set(program.constants)
    names = set()
    for e in exprs:
        names |= {z.name for z in e.free_symbols if z not in own}
    return tuple(sorted(names))

