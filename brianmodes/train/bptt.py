"""Backpropagation through time for the published update, written by hand.

The forward pass is :func:`brianmodes.simulate.forward` with the variables the
backward pass needs recorded. Writing ``g_X`` for dL/dX, the adjoint recursion
of one LIF step, from the last step back to the first, is::

    g_s[t] = c_h g_h[t+1] - g_v[t+1] m[t+1] u[t+1]       (double filters)
           = c_r g_r[t+1] - g_v[t+1] m[t+1] u[t+1]       (single filter)
    g_r[t] = dL/dr[t] + a_d g_r[t+1] + W^T g_I[t+1]
    g_h[t] = c_r g_r[t] + a_r g_h[t+1]
    g_v[t] = H'(v[t] - v_th) g_s[t] + a_m g_u[t+1]       (H': the surrogate)
    g_u[t] = g_v[t] m[t] (1 - s[t-1])
    g_I[t] = (1 - a_m) g_u[t] + a_s g_I[t+1]

with u = a_m v + (1 - a_m) I the membrane before reset and mask m. W^T g is
computed in mode space; the gradients of W_in and of the modes are large
matrix products over all (T*B) rows after the loop. The refractory mask is a
constant of the forward pass and carries no gradient; the reset factor
(1 - s) does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BrianModesError
from ..simulate import check_inputs, engine_constants, engine_params, forward, reset_in_mask
from .losses import get_loss
from .surrogates import get_surrogate

_LIF_STORE = ("u", "v", "s", "r", "m", "k")
_LIF_STORE_HARD = ("v", "r", "m", "k")
_LIF_STORE_BRIAN2 = ("u", "s", "r", "m", "k")
_TANH_STORE = ("r", "k")


@dataclass
class RateRegularizer:
    """Penalty on mean firing rates: ``strength * mean_i ((rate_i - target) / target)^2``.

    ``rate_i`` is neuron i's rate in Hz over the batch and the trial; the
    gradient reaches the spikes through the surrogate.
    """

    strength: float = 1.0
    target_hz: float = 20.0

    def __post_init__(self):
        if not (self.strength >= 0 and self.target_hz > 0):
            raise BrianModesError("rate regularizer needs strength >= 0 and target_hz > 0, "
                                  f"got {self.strength!r}, {self.target_hz!r}")

    def __call__(self, count, n_steps, dt):
        """Penalty and its gradient with respect to each spike s[t, b, i], shape (N,)."""
        B, N = count.shape
        rate = count.sum(axis=0) / (B * n_steps * dt)
        dev = (rate - self.target_hz) / self.target_hz
        value = self.strength * float(np.mean(dev * dev))
        grad = self.strength * 2.0 * dev / self.target_hz / N / (B * n_steps * dt)
        return value, grad


def _rec_transpose_into(p, c, g_next, gq_next, out):
    """out <- b_rec W^T g_next (mode space: xi_out (lam * gq_next), gq_next = xi_in^T g_next)."""
    if c.parametrization == "modes":
        gk = gq_next * p["lam"]
        if c.b_rec != 1.0:
            gk *= c.b_rec
        np.matmul(gk, p["xi_out_T"], out=out)
    else:
        np.matmul(g_next, p["W"], out=out)
        if c.b_rec != 1.0:
            out *= c.b_rec


def _activity_adjoint(p, c, t, gr, direct, GI, GQ, tmp):
    """g_r[t] = dL/dr[t] + a_d g_r[t+1] + b_rec W^T g_I[t+1], in place (gr holds g_r[t+1])."""
    gr *= c.a_d
    direct.add_into(t, gr, tmp)
    if t < GI.shape[0] - 1:
        _rec_transpose_into(p, c, GI[t + 1], GQ[t + 1] if GQ is not None else None, tmp)
        gr += tmp


class _DirectReadoutGrad:
    """dL/dr[t] from the readout: per step, or at the argmax for the max readout."""

    def __init__(self, p, c, fwd, gy):
        self.max = c.readout == "max"
        if self.max:
            self.ga = gy @ p["W_out"]
            self.argmax = fwd["argmax"]
            self.eq = np.empty(self.argmax.shape, bool)
        else:
            T, B, K = gy.shape
            self.Dr = (gy.reshape(T * B, K) @ p["W_out"]).reshape(T, B, -1)

    def add_into(self, t, gr, tmp):
        if self.max:
            np.equal(self.argmax, t, out=self.eq)
            np.multiply(self.ga, self.eq, out=tmp)
            gr += tmp
        else:
            gr += self.Dr[t]


def _backward_lif(p, c, fwd, direct, surrogate, ds, GI, GQ, hard):
    T, B, N = GI.shape
    dtype = GI.dtype
    v, m = fwd["v"], fwd["m"]
    u, s = (None, None) if hard else (fwd["u"], fwd["s"])
    gr, gh, gu, gv = (np.zeros((B, N), dtype) for _ in range(4))
    gs, fp, keep, tmp = (np.empty((B, N), dtype) for _ in range(4))
    a_s, a_m, a_r, c_h, c_r = c.a_s, c.a_m, c.a_r, c.c_h, c.c_r
    double = c.filter != "single"
    modes = c.parametrization == "modes"
    for t in range(T - 1, -1, -1):
        last = t == T - 1
        # g_s[t]: s[t] resets v[t+1] and drives the filter at t+1
        if ds is None:
            gs.fill(0.0)
        else:
            gs[...] = ds
        if not last:
            # dv[t+1]/ds[t] = -m[t+1] u[t+1], which is -v[t+1] on the hard path
            if hard:
                np.multiply(v[t + 1], gv, out=tmp)
            else:
                np.multiply(m[t + 1], u[t + 1], out=tmp)
                tmp *= gv
            gs -= tmp
            np.multiply(gh if double else gr, c_h if double else c_r, out=tmp)
            gs += tmp
        # g_r[t]
        _activity_adjoint(p, c, t, gr, direct, GI, GQ, tmp)
        if double:
            gh *= a_r
            np.multiply(gr, c_r, out=tmp)
            gh += tmp
        # g_v[t] = H'(v - v_th) g_s + a_m g_u[t+1]
        np.subtract(v[t], c.v_th, out=fp)
        surrogate.grad(fp, out=fp)
        fp *= gs
        np.multiply(gu, a_m, out=gv)
        gv += fp
        # g_u[t] = g_v[t] m[t] (1 - s[t-1])
        if t > 0 and not hard:
            np.subtract(1.0, s[t - 1], out=keep)
            keep *= m[t]
            np.multiply(gv, keep, out=gu)
        else:
            np.multiply(gv, m[t], out=gu)
        GIt = GI[t]
        np.multiply(gu, 1.0 - a_m, out=GIt)
        if not last:
            np.multiply(GI[t + 1], a_s, out=tmp)
            GIt += tmp
        if modes:
            np.matmul(GIt, p["xi_in"], out=GQ[t])


def _backward_lif_brian2(p, c, fwd, direct, surrogate, ds, GI, GQ):
    """Adjoints of :func:`~brianmodes.simulate.run_lif_brian2`, from the last step back::

        g_h[t] = a_r g_h[t+1] + c_r g_r[t+1]                 (double filters)
        g_r[t] = dL/dr[t] + a_d g_r[t+1] + b_rec W^T g_I[t+1]
        g_v[t] = a_m g_u[t+1]
        g_s[t] = c_h g_h[t] (single: c_r g_r[t]) - g_v[t] w[t]
        g_w[t] = g_v[t] (1 - s[t]) + H'(w[t] - v_th) g_s[t]
        g_I[t] = (1 - a_m) g_u[t+1] + a_s g_I[t+1]
        g_u[t] = m[t] g_w[t]

    with w the membrane before the reset and g_u the adjoint of the
    unmasked membrane update.
    """
    T, B, N = GI.shape
    dtype = GI.dtype
    w, s, m = fwd["u"], fwd["s"], fwd["m"]
    gr, gh, gu = (np.zeros((B, N), dtype) for _ in range(3))
    gs, gv, gw, tmp = (np.empty((B, N), dtype) for _ in range(4))
    a_s, a_m, a_r, c_h, c_r = c.a_s, c.a_m, c.a_r, c.c_h, c.c_r
    double = c.filter != "single"
    modes = c.parametrization == "modes"
    for t in range(T - 1, -1, -1):
        last = t == T - 1
        if double:  # h[t] drives r[t+1] and decays into h[t+1]
            gh *= a_r
            np.multiply(gr, c_r, out=tmp)
            gh += tmp
        # g_r[t]
        _activity_adjoint(p, c, t, gr, direct, GI, GQ, tmp)
        # v[t] = w[t] (1 - s[t]) feeds u[t+1]
        np.multiply(gu, a_m, out=gv)
        # g_s[t]: the filter jump and the reset
        if ds is None:
            gs.fill(0.0)
        else:
            gs[...] = ds
        np.multiply(gh if double else gr, c_h if double else c_r, out=tmp)
        gs += tmp
        np.multiply(gv, w[t], out=tmp)
        gs -= tmp
        # g_w[t]
        np.subtract(w[t], c.v_th, out=gw)
        surrogate.grad(gw, out=gw)
        gw *= gs
        np.subtract(1.0, s[t], out=tmp)
        tmp *= gv
        gw += tmp
        # g_I[t]: I[t] feeds u[t+1] and I[t+1]
        GIt = GI[t]
        np.multiply(gu, 1.0 - a_m, out=GIt)
        if not last:
            np.multiply(GI[t + 1], a_s, out=tmp)
            GIt += tmp
        np.multiply(gw, m[t], out=gu)
        if modes:
            np.matmul(GIt, p["xi_in"], out=GQ[t])


def _backward_tanh(p, c, fwd, direct, GI, GQ):
    T, B, N = GI.shape
    r = fwd["r"]
    gr, gx, tmp = (np.zeros((B, N), GI.dtype) for _ in range(3))
    modes = c.parametrization == "modes"
    for t in range(T - 1, -1, -1):
        gr.fill(0.0)
        direct.add_into(t, gr, tmp)
        if t < T - 1:
            _rec_transpose_into(p, c, GI[t + 1], GQ[t + 1] if modes else None, tmp)
            gr += tmp
        # g_x[t] = g_r (1 - r^2) + a_m g_x[t+1]
        np.multiply(r[t], r[t], out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        tmp *= gr
        gx *= c.a_m
        gx += tmp
        np.multiply(gx, 1.0 - c.a_m, out=GI[t])
        if modes:
            np.matmul(GI[t], p["xi_in"], out=GQ[t])


def backward(p, c, x, fwd, gy, surrogate, ds=None, hard=False):
    """Gradients of all trainable arrays given dL/d(outputs) ``gy``.

    Parameters
    ----------
    p, c : engine parameters and constants (see :mod:`brianmodes.simulate`)
    x : ndarray (T, B, N_in)
        The inputs of the forward pass.
    fwd : dict
        Forward pass with ``u, v, s, r, m, k`` (LIF) or ``r, k`` (tanh) stored.
    gy : ndarray
        dL/d outputs, ``(B, N_out)`` (max readout) or ``(T, B, N_out)``.
    surrogate : Surrogate
    ds : ndarray (N,), optional
        A direct gradient on every spike (firing-rate penalty).
    hard : bool
        The forward pass used hard spikes and ``n_ref >= 1``
        (:func:`~brianmodes.simulate.reset_in_mask`): the backward pass then
        uses ``m (1 - s_prev) = m`` and ``m u = v``, and needs only ``v, r,
        m, k`` stored. Both paths give the same gradients.

    Returns
    -------
    dict of float64 arrays, one per trainable array.
    """
    T, B, _ = x.shape
    N = p["W_in"].shape[0]
    dtype = x.dtype
    gy = np.asarray(gy, dtype=dtype)
    grads = {}
    if c.readout == "max":
        grads["W_out"] = gy.T @ fwd["amax"]
    else:
        grads["W_out"] = gy.reshape(T * B, -1).T @ fwd["r"].reshape(T * B, N)
    direct = _DirectReadoutGrad(p, c, fwd, gy)
    GI = np.empty((T, B, N), dtype)
    modes = c.parametrization == "modes"
    GQ = np.empty((T, B, p["xi_in"].shape[1]), dtype) if modes else None
    if c.neuron == "tanh":
        _backward_tanh(p, c, fwd, direct, GI, GQ)
    elif c.discretization == "brian2":
        _backward_lif_brian2(p, c, fwd, direct, surrogate, ds, GI, GQ)
    else:
        _backward_lif(p, c, fwd, direct, surrogate, ds, GI, GQ, hard)
    GI2 = GI.reshape(T * B, N)
    R_prev = fwd["r"][:-1].reshape((T - 1) * B, N)
    if modes:
        K2 = fwd["k"].reshape(T * B, -1)
        GQ2 = GQ.reshape(T * B, -1)
        grads["xi_in"] = GI2.T @ (K2 * p["lam"])
        grads["lam"] = np.einsum("ij,ij->j", GQ2, K2)
        grads["xi_out"] = R_prev.T @ (GQ[1:].reshape((T - 1) * B, -1) * p["lam"])
        recurrent = ("xi_in", "lam", "xi_out")
    else:
        grads["W"] = GI[1:].reshape((T - 1) * B, N).T @ R_prev
        recurrent = ("W",)
    grads["W_in"] = GI2.T @ x.reshape(T * B, -1)
    grads = {name: np.asarray(g, dtype=np.float64) for name, g in grads.items()}
    if c.b_rec != 1.0:
        for name in recurrent:
            grads[name] *= c.b_rec
    return grads


@dataclass
class StepResult:
    """Outcome of :func:`loss_and_grads`."""

    loss: float
    task_loss: float
    grads: dict
    outputs: np.ndarray
    rate_hz: float | None
    penalty: float = 0.0


def loss_and_grads(net, inputs, targets, mask=None, *, loss="cross_entropy",
                   surrogate="fast_sigmoid", rate_regularizer=None, dtype=np.float32,
                   smooth=False):
    """Loss on a batch and the BPTT gradients of every trainable array.

    Parameters
    ----------
    net : ModeNetwork
    inputs : array (T, B, N_in)
    targets : array
        Labels ``(B,)`` for ``cross_entropy``; targets ``(T, B, N_out)`` for
        the squared-error losses.
    mask : array, optional
        Which target entries count (squared-error losses).
    loss : str or callable
        ``cross_entropy``, ``mse``, ``sse`` or ``root_sse``; a callable
        ``(outputs, targets, mask) -> (value, d value / d outputs)``.
    surrogate : str or Surrogate
        Spike-derivative surrogate (default: fast sigmoid, slope 25).
    rate_regularizer : RateRegularizer, optional
    dtype : float32 or float64
    smooth : bool
        Use the surrogate's primitive as the spike function, so that the
        returned gradient is the exact gradient of the returned loss (tests).

    Returns
    -------
    StepResult

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=30, P=2, N_in=5, N_out=3, seed=0)
    >>> x = (np.random.default_rng(0).random((20, 4, 5)) < 0.3).astype(np.float32)
    >>> step = loss_and_grads(net, x, np.array([0, 1, 2, 0]))
    >>> sorted(step.grads)
    ['W_in', 'W_out', 'lam', 'xi_in', 'xi_out']
    """
    x = check_inputs(net, inputs, dtype)
    if x.shape[0] < 2:
        raise BrianModesError("training needs trials of at least 2 time steps")
    sur = get_surrogate(surrogate)
    loss_fn = get_loss(loss)
    p = engine_params(net, dtype)
    c = engine_constants(net)
    spike_fn = sur.primitive if smooth else None
    hard = reset_in_mask(c, spike_fn)
    if net.neuron == "tanh":
        store = _TANH_STORE
    elif c.discretization == "brian2":
        store = _LIF_STORE_BRIAN2
    else:
        store = _LIF_STORE_HARD if hard else _LIF_STORE
        if rate_regularizer is not None and smooth:
            store = store + ("s",)
    fwd = forward(net, x, store=store, dtype=dtype, spike_fn=spike_fn, params=p)
    task_loss, gy = loss_fn(fwd["y"], targets, mask)
    penalty, ds, rate = 0.0, None, None
    if net.neuron == "lif":
        T, B = x.shape[:2]
        # smooth spikes (gradient checks) count through the spike trace itself
        count = fwd["s"].sum(axis=0) if smooth else fwd["count"]
        rate = float(count.sum() / (B * net.N * T * net.dt))
        if rate_regularizer is not None:
            penalty, ds = rate_regularizer(count, T, net.dt)
            ds = ds.astype(dtype)
    grads = backward(p, c, x, fwd, gy, sur, ds, hard=hard)
    return StepResult(loss=task_loss + penalty, task_loss=task_loss, grads=grads,
                      outputs=fwd["y"], rate_hz=rate, penalty=penalty)
