"""The adjoint pass over time: the derived adjoint step from the last step back to the first.

At step t the seeds are the adjoints of the state at the end of the step:
the old-value adjoints the step t+1 returned, plus, for the activity ``r``,
the readout's direct gradient and the recurrence's ``W^T g_rec[t+1]`` (in
mode space: ``xi_out (lam * (xi_in^T g_rec[t+1]))``), plus, for the spikes, a
rate penalty's ``ds``. The weights' gradients are products over all ``T*B``
rows after the loop; a trainable parameter's gradient is the sum over steps
and trials of its constants' adjoints times d(constant)/d(parameter).
"""

from __future__ import annotations

import numpy as np

from ..train.surrogates import get_surrogate
from .symbolic import INPUT, MASK, SPIKE


def _getters(engine, fwd, names, zero):
    """One function of t per forward value the adjoint step reads."""
    prog, bufs = engine.program, fwd["tape"]
    old_of = {str(prog.old[x]): str(prog.final[x]) for x in engine.states}
    getters = []
    for name in names:
        if name == MASK:  # as 0/1 numbers: 1 - m and g * m stay in the float dtype
            getters.append(lambda t, M=fwd["M"]: M[t].view(np.uint8))
        elif name == INPUT:
            getters.append(lambda t, D=fwd["drive"]: D[t])
        elif name == engine.model.recurrent:
            getters.append(lambda t, R=fwd["REC"]: R[t])
        elif name in old_of:
            getters.append(lambda t, buf=bufs[old_of[name]]: buf[t - 1] if t else zero)
        else:
            getters.append(lambda t, buf=bufs[name]: buf[t])
    return getters


def _direct(fwd, gy, w):
    """dL/dr[t] from the readout, as a function of t (per step: no (T, B, N) array of it is made)."""
    W_out = w["W_out"]
    if fwd["readout"] == "per_step":
        if W_out.shape[0] == 1:  # one output: a product with k = 1 is slow in BLAS, broadcasting is not
            row = W_out[0]
            return lambda t: gy[t] * row
        return lambda t: gy[t] @ W_out
    ga, argmax = gy @ W_out, fwd["argmax"]
    return lambda t: ga * (argmax == t)


def run_adjoint(engine, fwd, gy, surrogate, ds):
    """Gradients (float64) of every weight and trainable parameter; see :meth:`Engine.backward`."""
    sur = get_surrogate(surrogate)
    model, prog, w, x = engine.model, engine.program, fwd["weights"], fwd["inputs"]
    dtype = x.dtype
    T, B, _ = x.shape
    N = w["W_in"].shape[0]
    gy = np.asarray(gy, dtype)
    external = {model.activity} | ({SPIKE} if ds is not None else set())
    if ds is not None:
        ds = np.asarray(ds, dtype)
    bstep, adj = engine.backward_step(external)
    C, values = engine.constants(N, dtype, fwd["params"])
    zero = np.zeros((B, N), dtype)
    getters = _getters(engine, fwd, adj.needed, zero)
    direct = _direct(fwd, gy, w)
    alias = adj.input == adj.recurrent
    GIin = np.zeros((T, B, N), dtype)
    GIrec = GIin if alias else np.zeros((T, B, N), dtype)
    GQ = np.empty((T, B, w["xi_in"].shape[1]), dtype) if w["modes"] else None
    seeded = [s for s in engine.states if s in adj.seeds]
    G = {s: 0 for s in engine.states}
    acc = [0] * len(prog.trainable_constants)
    for t in range(T - 1, -1, -1):
        seeds = []
        for s in seeded:
            g = G[s]
            if s == model.activity:  # a fresh array, summed into in place
                d = direct(t)
                if not (np.isscalar(g) and g == 0):
                    d += g
                g = d
                if t < T - 1:
                    g += (GQ[t + 1] * w["lam"]) @ w["xi_out_T"] if w["modes"] else GIrec[t + 1] @ w["W"]
            elif s == SPIKE and ds is not None:
                g = g + ds
            seeds.append(g)
        olds, g_in, g_rec, g_c = bstep(sur.grad, *seeds, *[get(t) for get in getters], *C)
        G = dict(zip(engine.states, olds))
        GIin[t] = g_in
        if not alias:
            GIrec[t] = g_rec
        if GQ is not None:
            np.matmul(GIrec[t], w["xi_in"], out=GQ[t])
        acc = [a + c for a, c in zip(acc, g_c)]
    grads = _weight_gradients(fwd, gy, w, x, GIin, GIrec, GQ)
    grads.update(_parameter_gradients(engine, acc, values, B, N))
    return grads


def _weight_gradients(fwd, gy, w, x, GIin, GIrec, GQ):
    T, B, N = GIin.shape
    R = fwd["tape"][fwd["activity"]]
    grads = {}
    if fwd["readout"] == "max":
        grads["W_out"] = gy.T @ fwd["amax"]
    else:
        grads["W_out"] = gy.reshape(T * B, -1).T @ R.reshape(T * B, N)
    grads["W_in"] = GIin.reshape(T * B, N).T @ x.reshape(T * B, -1)
    R_prev = R[:-1].reshape((T - 1) * B, N)
    if w["modes"]:
        K2 = fwd["K"].reshape(T * B, -1)
        GQ2 = GQ.reshape(T * B, -1)
        grads["xi_in"] = GIrec.reshape(T * B, N).T @ (K2 * w["lam"])
        grads["lam"] = np.einsum("ij,ij->j", GQ2, K2)
        grads["xi_out"] = R_prev.T @ (GQ[1:].reshape((T - 1) * B, -1) * w["lam"])
    else:
        grads["W"] = GIrec[1:].reshape((T - 1) * B, N).T @ R_prev
    return {name: np.asarray(g, dtype=np.float64) for name, g in grads.items()}


def _parameter_gradients(engine, acc, values, B, N):
    """dL/d(parameter) = sum over constants of dL/dc * dc/d(parameter)."""
    model, prog = engine.model, engine.program
    grads = {name: (np.zeros(N) if model.parameters[name].per_neuron else 0.0) for name in model.trainable}
    if not acc:
        return grads
    C64, _ = engine.constants(N, np.dtype(np.float64), {n: values[n] for n in model.parameters})
    by_name = dict(zip(engine.constant_names, C64))
    dLdc = {}
    for c, a in zip(prog.trainable_constants, acc):
        total = np.broadcast_to(np.asarray(a, np.float64), (B, N)).sum(axis=0)
        per_neuron = np.ndim(by_name[c.name]) == 1
        dLdc[c.name] = total if per_neuron else float(np.sum(total))
    fn, pairs = engine.constant_gradients()
    names = sorted(model.parameters)
    for (theta, c), d in zip(pairs, fn(engine.dt, *(values[n] for n in names))):
        contrib = dLdc[c] * np.asarray(d, np.float64)
        if model.parameters[theta].per_neuron:
            grads[theta] = grads[theta] + np.broadcast_to(contrib, (N,))
        else:
            grads[theta] += float(np.sum(contrib))
    return grads
