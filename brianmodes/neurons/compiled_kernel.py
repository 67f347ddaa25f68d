"""Generate the C source of the fused loop from a derived program.

One source per model structure holds both compute types (``bm_run_f32``,
``bm_run_f64``). Per trial (OpenMP over trials), ``bm_run`` runs the forward
steps over T (the derived statements, the recurrence in mode space
``k = xi_out^T r``, ``I_rec = xi_in (lam k)``, the event-driven input
projection), storing the tape of :class:`~brianmodes.neurons.compiled_layout.Layout`,
and then, while the trial's tape is still in cache, the derived adjoint
steps from T-1 back to 0 with the weight gradients of the trial, summed in a
buffer of the thread. The statements are printed by
:class:`~brianmodes.neurons.compiled_printer.CPrinter`.
"""

from __future__ import annotations

import sympy

from ..errors import BrianModesError
from .codegen import ranks
from .compiled_layout import Layout
from .compiled_printer import CPrinter, c_name, c_statements
from .compiled_template import TEMPLATE
from .symbolic import INPUT, MASK, SPIKE, SurrogateGrad

#: Bumped whenever the generated code changes meaning (part of the cache key through the source).
GENERATOR_VERSION = 3

_HEADER = """/* brianmodes: the fused forward + adjoint loop of model {name!r} (generated, do not edit) */
/* generator version {version} */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
/* thread-local storage: each OpenMP thread keeps its work block between calls */
#if defined(__GNUC__)
#define BM_TLS __thread
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define BM_TLS _Thread_local
#else
#define BM_TLS
#endif
/* the neuron loops touch element n of distinct arrays only: no dependence between iterations */
#if defined(__clang__)
#define BM_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define BM_IVDEP _Pragma("GCC ivdep")
#else
#define BM_IVDEP
#endif
/* the tape row of step t: the step itself with a tape, else one of two alternating scratch rows */
#define BM_TAPE_ROW(per, t) ((per) ? (t) : ((t) & 1))

int bm_openmp(void)
{{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}}

int bm_max_threads(void)
{{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}}
"""


def _indent(lines, depth):
    pad = " " * (4 * depth)
    return "\n".join(pad + line for line in lines)


def _constant_loads(layout, per_neuron):
    """Constants as locals of a loop (per neuron) or of the function (shared)."""
    out = []
    for j, name in enumerate(layout.constants):
        if layout.per_neuron[name] == per_neuron:
            src = f"bm_C[{j} * bmN + bm_n]" if per_neuron else f"bmc->C[{j} * bmN]"
            out.append(f"const real {c_name(name)} = {src};")
    return out


def _dims():
    return ["const int64_t bmT = bmc->T, bmB = bmc->B, bmN = bmc->N & ~(int64_t)15, bmNI = bmc->NI, bmP = bmc->P, "
            "bmK = bmc->K, bmnr = bmc->nr, bmnu = bmc->nu;",
            "(void)bmT; (void)bmB; (void)bmNI; (void)bmP; (void)bmK; (void)bmnr; (void)bmnu;"]


def _mask(layout):
    prog = layout.program
    if not prog.masked:
        return [], [], []
    if prog.model.refractory_timing == "float32":
        init = ["for (int64_t bm_n = 0; bm_n < bmN; bm_n++) bmw->tl[bm_n] = -1.0f;"]
        step = ["const float bm_now = (float)(bmc->dt * (double)bm_t), bm_tref = (float)bmc->t_ref;"]
        load = [f"const real {MASK} = (bm_now > bm_tl[bm_n] + bm_tref) ? 1 : 0;"]
        return init, step, load
    op = "<=" if prog.rule == "brian2" else "<"
    init = ["for (int64_t bm_n = 0; bm_n < bmN; bm_n++) bmw->last[bm_n] = -(int32_t)(bmc->n_ref + 1);"]
    step = ["const int32_t bm_t32 = (int32_t)bm_t, bm_nref = (int32_t)bmc->n_ref;"]
    load = [f"const real {MASK} = (bm_last[bm_n] {op} bm_t32 - bm_nref) ? 1 : 0;"]
    return init, step, load


def _clock_update(layout):
    prog = layout.program
    if not prog.masked:
        return []
    s = c_name(layout.spike)
    if prog.model.refractory_timing == "float32":
        return [f"bm_tl[bm_n] = bm_tl[bm_n] + (bm_now - bm_tl[bm_n]) * (float)({s} != 0);"]
    return [f"bm_last[bm_n] = {s} != 0 ? bm_t32 : bm_last[bm_n];"]


def _forward_statements(layout, printer):
    out = []
    for st in layout.program.statements:
        if st.kind != "threshold":
            out += c_statements(printer, [(st.target, st.expr)])
            continue
        sides = []
        for name, side in (("bm_ta", st.a), ("bm_tb", st.b)):
            if side.is_Atom:
                sides.append(printer.doprint(side))
            else:  # its own statement, rounded as Brian2 rounds it, then compared
                out.append(f"const real {name} = {printer.doprint(side)};")
                sides.append(name)
        test = f"({sides[0]} {st.op} {sides[1]})" + (f" & ({MASK} != 0)" if st.masked else "")
        out.append(f"const real {c_name(st.target.name)} = ({test}) ? 1 : 0;")
    return out


def forward_function(layout, ctype, record):
    """The C function running the forward steps of one trial (``record``: write the recorded values)."""
    prog, printer = layout.program, CPrinter(ranks(layout.program), ctype)
    states, activity = layout.states, layout.activity
    init, step, mask = _mask(layout)
    taped = layout.taped_states  # without a tape (tape_mode 0) the scratch holds two alternating steps
    loads = [f"const real {c_name(prog.old[x].name)} = bm_trq[{taped[x]} * bmN + bm_n];" if x in taped
             else f"const real {c_name(prog.old[x].name)} = bm_st_{x}[bm_n];" for x in states]
    loads += [f"const real {c_name(INPUT)} = bm_drive[bm_n];", f"const real {c_name(layout.recurrent)} = bm_rec[bm_n];"]
    loads += mask + _constant_loads(layout, True)
    stores = [f"bm_st_{x}[bm_n] = {c_name(layout.final[x])};" for x in states if x not in taped]
    if layout.spike is not None:
        stores.append(f"bm_count[bm_n] += ({c_name(layout.spike)} != 0);")
    stores += _clock_update(layout)
    stores += [f"bm_tr[{j} * bmN + bm_n] = {c_name(n)};" for j, n in enumerate(layout.real_slots)]
    stores += [f"bm_tu[{j} * bmN + bm_n] = (uint8_t)({c_name(n)} != 0);" for j, n in enumerate(layout.byte_slots)]
    if record:
        for j, (name, kind) in enumerate(layout.records):
            value = c_name(layout.record_value(name))
            if kind == "byte":
                stores.append(f"{{ uint8_t *bmR = bmc->records[{j}]; if (bmR && bm_n < bmc->Nt) bmR[bm_off + bm_n] = "
                              f"(uint8_t)({value} != 0); }}")
            else:
                stores.append(f"{{ real *bmR = bmc->records[{j}]; if (bmR && bm_n < bmc->Nt) bmR[bm_off + bm_n] = "
                              f"{value}; }}")
    body = loads + _forward_statements(layout, printer) + stores
    inner = [f"real *restrict bm_st_{x} = bmw->st + {i} * bmN;" for i, x in enumerate(states) if x not in taped]
    inner += ["real *restrict bm_tr = bmtape_r + BM_TAPE_ROW(bmper, bm_t) * bmnr * bmN;",
              "const real *restrict bm_trq = bm_t ? bmtape_r + BM_TAPE_ROW(bmper, bm_t - 1) * bmnr * bmN : bmw->zr;",
              "uint8_t *restrict bm_tu = bmtape_u + bmper * bm_t * bmnu * bmN;",
              "const real *restrict bm_drive = bmdrv, *restrict bm_rec = bmw->rec, *restrict bm_C = bmc->C;",
              "int32_t *restrict bm_count = bmc->count + bm_b * bmN, *restrict bm_last = bmw->last;",
              "float *restrict bm_tl = bmw->tl;",
              "(void)bm_tr; (void)bm_trq; (void)bm_tu; (void)bm_C; (void)bm_last; (void)bm_tl;"]
    name = "bm_forward_record" if record else "bm_forward_plain"
    return "\n".join([
        f"static void BM_({name})(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b)", "{",
        _indent(_dims(), 1),
        _indent(["real *bmtape_r, *bmtape_k; uint8_t *bmtape_u;",
                 "const int64_t bmper = BM_(bm_tape)(bmc, bmw, bm_b, &bmtape_r, &bmtape_u, &bmtape_k);"], 1),
        _indent(_constant_loads(layout, False), 1),
        _indent([f"memset(bmw->st, 0, sizeof(real) * {len(states)} * bmN);", *init,
                 "memset(bmc->count + bm_b * bmN, 0, sizeof(int32_t) * bmN);",
                 "real *bm_amax = bmc->amax ? bmc->amax + bm_b * bmN : NULL;",
                 "int32_t *bm_argmax = bmc->argmax ? bmc->argmax + bm_b * bmN : NULL;",
                 "if (!bmc->per_step)",
                 "    for (int64_t bm_n = 0; bm_n < bmN; bm_n++) { bm_amax[bm_n] = -INFINITY; bm_argmax[bm_n] = 0; }",
                 f"const real *bm_r = bmw->st + {states.index(activity)} * bmN;",
                 "/* 0/1 inputs: every step's drive at once (bm_unit_drive), in the trial's dL/dI_in rows */",
                 "const int bmunit = bmw->unit[bmw->cur];",
                 "if (bmunit) BM_(bm_unit_drive)(bmc, bmw, bm_b, bmw->ginall);"], 1),
        "    for (int64_t bm_t = 0; bm_t < bmT; bm_t++) {",
        _indent(["const int64_t bm_off = (bm_t * bmB + bm_b) * bmc->Nt; (void)bm_off;",
                 "real *bm_kt = bmtape_k + bmper * bm_t * bmP;",
                 "const int64_t bm_slot = bmw->cur * bmT + bm_t;  /* the active inputs (bm_prescan) */",
                 "const real *bmdrv = bmunit ? bmw->ginall + bm_t * bmN : bmw->drive;",
                 "if (!bmunit) BM_(bm_project)(bmw->ai + bmw->aoff[bm_slot], bmw->av + bmw->aoff[bm_slot], "
                 "bmw->an[bm_slot], bmc->W_in_T, bmw->drive, bmN, 0);",
                 "BM_(bm_recurrence)(bmc, bmw, bm_r, bm_kt, bm_t);",
                 "if (bmc->ktrace) memcpy(bmc->ktrace + (bm_t * bmB + bm_b) * bmP, bm_kt, sizeof(real) * bmP);",
                 *step], 2),
        "        {",
        _indent(inner, 3),
        "            BM_IVDEP",
        "            for (int64_t bm_n = 0; bm_n < bmN; bm_n++) {",
        _indent(body, 4),
        "            }",
        "        }",
        f"        BM_(bm_zero_pad)(bmw->st + {states.index(activity)} * bmN, bmc->Nt, bmN);",
        "        BM_(bm_after_step)(bmc, bmw, bm_r, bm_amax, bm_argmax, bm_t, bm_b);",
        "    }",
        "    BM_(bm_readout_end)(bmc, bm_amax, bm_b);",
        "}"])


def _needed_loads(layout):
    """Locals of the adjoint loop for every forward value it reads."""
    out = []
    for name in layout.adjoint.needed:
        if name in layout.old_slot:
            region, j = layout.slot(layout.old_slot[name])
            src = "bm_trp" if region == "r" else "bm_tup"
        else:
            region, j = layout.slot(name)
            src = "bm_tr" if region == "r" else "bm_tu"
        value = f"{src}[{j} * bmN + bm_n]"
        out.append(f"const real {c_name(name)} = {value if region == 'r' else f'(real){value}'};")
    return out


def _seed_loads(layout):
    out = []
    for x in layout.seeded:
        g = c_name(layout.adjoint.seeds[x].name)
        if x == layout.activity:
            out.append(f"const real {g} = (bm_gst_{x}[bm_n] + bm_direct[bm_n]) + bm_recg[bm_n];")
        elif x == SPIKE:
            out.append(f"const real {g} = bm_gst_{x}[bm_n] + bm_ds[bm_n];")
        else:
            out.append(f"const real {g} = bm_gst_{x}[bm_n];")
    return out


def _adjoint_body(layout, printer):
    """The adjoint statements, the shared products of its outputs, and the stores."""
    prog, adj = layout.program, layout.adjoint
    body = c_statements(printer, adj.statements)
    outputs = [adj.old[x] for x in prog.states] + [adj.input, adj.recurrent]
    outputs += [adj.constants[c] for c in prog.trainable_constants]
    # the same common products as the numpy executor (codegen.compile_backward)
    shared, outputs = sympy.cse(outputs, symbols=sympy.numbered_symbols("_t"), order="none")
    body += c_statements(printer, shared)
    n = len(prog.states)
    for x, expr in zip(prog.states, outputs[:n]):
        if x in layout.seeded:
            body.append(f"bm_gst_{x}[bm_n] = {printer.doprint(expr)};")
        elif expr != 0:
            raise BrianModesError(f"internal: the adjoint of {x!r} is not a seed but its old value has a gradient")
    body.append(f"bm_gin[bm_n] = {printer.doprint(outputs[n])};")
    body.append(f"bm_grec[bm_n] = {printer.doprint(outputs[n + 1])};")
    for j, expr in enumerate(outputs[n + 2:]):
        body.append(f"bm_gtc[{j} * bmN + bm_n] += {printer.doprint(expr)};")
    return body


_SURROGATES = {  # the formulas of brianmodes.train.surrogates, in the same operations
    0: ["real bm_sa = {fabs}(bm_sx) * bmc->slope;", "bm_sa = bm_sa + 1;", "bm_sa = bm_sa * bm_sa;",
        "bm_out = 1 / bm_sa;"],
    1: ["const real bm_ss = (real)0.5 * ((real)1.0 + {tanh}(bmc->half_slope * bm_sx));",
        "bm_out = bm_ss * ((real)1.0 - bm_ss) * bmc->slope;"],
    2: ["real bm_sa = {fabs}(bm_sx) * (-bmc->slope);", "bm_sa = bm_sa + 1;", "bm_out = bm_sa > 0 ? bm_sa : 0;"],
}


def _adjoint_loops(layout, printer, ctype, body):
    """The adjoint loop over the neurons with the surrogate computed in it (the formulas of ``_SURROGATES``), one
    loop per surrogate family, the family chosen outside the loop."""
    loads = _seed_loads(layout) + _needed_loads(layout) + _constant_loads(layout, True)
    loop = ["BM_IVDEP", "for (int64_t bm_n = 0; bm_n < bmN; bm_n++) {"]
    if not printer.surrogates:
        return loop + [_indent(loads + body, 1), "}"]
    suffix = "f" if ctype == "float" else ""
    out = ["switch (bmc->sur) {"]
    for kind, lines in _SURROGATES.items():
        formula = [line.format(fabs=f"fabs{suffix}", tanh=f"tanh{suffix}") for line in lines]
        sg = []
        for arg, name in printer.surrogates.items():
            sg += [f"real {name};", "{", f"    const real bm_sx = {printer.doprint(arg)};", "    real bm_out;",
                   *("    " + line for line in formula), f"    {name} = bm_out;", "}"]
        out += [f"case {kind}:" if kind < 2 else "default:", *loop, _indent(loads + sg + body, 1), "}", "break;"]
    return out + ["}"]


def backward_function(layout, ctype):
    """The C function running the adjoint steps of one trial and adding its weight gradients."""
    printer = CPrinter(ranks(layout.program), ctype)
    body = _adjoint_body(layout, printer)  # registers the surrogate arguments first
    inner = [f"real *restrict bm_gst_{x} = bmw->gst + {i} * bmN;" for i, x in enumerate(layout.seeded)]
    inner += ["const real *restrict bm_direct = bmw->direct, *restrict bm_recg = bmw->recg, *restrict bm_sg = bmw->sg;",
              "const real *restrict bm_C = bmc->C, *restrict bm_ds = bmc->ds ? bmc->ds : bmw->zero;",
              "real *restrict bm_gin = bmw->ginall + bm_t * bmN, *restrict bm_grec = bmw->grec;",
              "real *restrict bm_gtc = bmw->acc + bmK * bmN + 2 * bmP * bmN + bmP;",
              "(void)bm_C; (void)bm_ds; (void)bm_gtc; (void)bm_sg; (void)bm_direct; (void)bm_recg;"]
    act_slot = layout.slot(layout.final[layout.activity])[1]
    return "\n".join([
        "static void BM_(bm_backward)(const struct BM_(ctx) *bmc, struct BM_(work) *bmw, int64_t bm_b)", "{",
        _indent(_dims(), 1),
        _indent(["real *bmtape_r, *bmtape_k; uint8_t *bmtape_u;",
                 "const int64_t bmper = BM_(bm_tape)(bmc, bmw, bm_b, &bmtape_r, &bmtape_u, &bmtape_k);",
                 "if (!bmper) return;"], 1),
        _indent(_constant_loads(layout, False), 1),
        _indent([f"memset(bmw->gst, 0, sizeof(real) * {max(len(layout.seeded), 1)} * bmN);",
                 "memset(bmw->recg, 0, sizeof(real) * bmN);",
                 "memset(bmw->acc, 0, sizeof(real) * bmc->L64);",
                 "BM_(bm_direct_init)(bmc, bmw, bm_b);"], 1),
        "    for (int64_t bm_t = bmT - 1; bm_t >= 0; bm_t--) {",
        _indent(["const real *bm_tr = bmtape_r + bm_t * bmnr * bmN;",
                 "const uint8_t *bm_tu = bmtape_u + bm_t * bmnu * bmN;",
                 "const real *bm_trp = bm_t ? bm_tr - bmnr * bmN : bmw->zr;",
                 "const uint8_t *bm_tup = bm_t ? bm_tu - bmnu * bmN : bmw->zu;",
                 "(void)bm_trp; (void)bm_tup;",
                 "bmw->grec = bmw->grecall + bm_t * bmN;  /* each step's g_rec kept (bm_deferred_grads) */",
                 "BM_(bm_direct)(bmc, bmw, bm_b, bm_t);"], 2),
        "        {",
        _indent(inner, 3),
        _indent(_adjoint_loops(layout, printer, ctype, body), 3),
        "        }",
        "        if (bmNI <= BM_FEW_INPUTS) {",
        "            const int64_t bm_slot = bmw->cur * bmT + bm_t;",
        "            BM_(bm_scatter_grad)(bmw->ai + bmw->aoff[bm_slot], bmw->av + bmw->aoff[bm_slot], bmw->an[bm_slot], "
        "bmw->ginall + bm_t * bmN, bmw->gr, bmN);",
        "        }",
        f"        BM_(bm_weight_grads)(bmc, bmw, bm_b, bm_t, bm_tr + {act_slot} * bmN, "
        f"bm_trp + {act_slot} * bmN, bmtape_k + bm_t * bmP);",
        "    }",
        f"    BM_(bm_deferred_grads)(bmc, bmw, bm_b, bmtape_r + {act_slot} * bmN, bmnr * bmN);",
        "    BM_(bm_trial_grads)(bmc, bmw, bm_b);",
        "}"])


def _constant_blocks(layout):
    printer = CPrinter({}, "double")
    params = [f"const double {c_name(p)} = bmpar[{j} * bmN + bm_n]; (void){c_name(p)};"
              for j, p in enumerate(layout.parameters)]
    blocks = {True: [], False: []}
    for j, name in enumerate(layout.constants):
        expr = printer.doprint(layout.expressions[name])
        blocks[layout.per_neuron[name]].append(f"bmC[{j} * bmN + bm_n] = (real)({expr});")
    return _indent(params, 2), _indent(blocks[False], 2), _indent(blocks[True], 2)


def dtype_section(layout, ctype):
    """The template filled for one compute type (``'float'`` or ``'double'``)."""
    from .compiled_helpers import HELPERS
    from .compiled_inputs import INPUTS

    params, scalar, vector = _constant_blocks(layout)
    suffix = "f" if ctype == "float" else ""
    fills = {"INPUTS": INPUTS,  # first: it holds placeholders of its own
             "CTYPE": ctype, "SUF": "_f32" if ctype == "float" else "_f64", "EXPM1": f"expm1{suffix}",
             "BITS": "uint32_t" if ctype == "float" else "uint64_t",
             "CONST_PARAMS": params, "CONST_SCALAR": scalar, "CONST_VECTOR": vector,
             "NS": str(max(len(layout.states), 1)), "NSG": str(1), "NR": str(len(layout.real_slots)),
             "NU": str(len(layout.byte_slots)), "NTC": str(len(layout.trainable)),
             "FORWARD_PLAIN": HELPERS.replace("@EXP@", f"exp{suffix}") + "\n" + forward_function(layout, ctype, False),
             "FORWARD_RECORD": forward_function(layout, ctype, True),
             "BACKWARD": backward_function(layout, ctype)}
    text = TEMPLATE
    for key, value in fills.items():
        text = text.replace(f"@{key}@", value)
    return text


def generate_source(program):
    """The C source of ``program``'s fused loop and its :class:`Layout`.

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> from brianmodes.neurons.derive import program_for
    >>> source, layout = generate_source(program_for(lif("single")))
    >>> [line for line in source.splitlines() if line.startswith("#define real")]  # bm_run_f32, bm_run_f64
    ['#define real float', '#define real double']
    >>> print(next(line.strip() for line in source.splitlines() if line.strip().startswith("const real v__1 =")))
    const real v__1 = (not_refractory != 0 ? _c1*v__0 + I__0*_c0 : 0);
    """
    layout = Layout(program)
    n_sg = sum(1 for _, e in layout.adjoint.statements if e.has(SurrogateGrad))
    if n_sg > 1:
        raise BrianModesError(f"model {program.model.name!r}: the compiled loop supports one threshold")
    header = _HEADER.format(name=program.model.name, version=GENERATOR_VERSION)
    return header + dtype_section(layout, "float") + dtype_section(layout, "double"), layout
