"""The numpy simulator: the published discrete-time update, batched over trials.

One step of the ``published`` scheme (SPEC 1.1), with ``s`` the spikes of the
previous step and all state starting at zero::

    I <- a_s I + W_in x_t + W r            (r of the previous step; I is never reset)
    v <- notref * (a_m v + (1 - a_m) I) * (1 - s)
    h, r <- filter(h, r, s)                 (previous s)
    s <- H(v - v_th)                        (strict: v > v_th)

``notref`` is 0 for ``n_ref = t_ref / dt`` steps after a spike. The recurrent
input is computed in mode space, ``xi_in (lam * (xi_out^T r))``: O(N P) per
step, the N x N matrix is never formed.

Arrays are time-major: inputs are ``(T, B, N_in)`` (steps, trials, inputs) and
recorded variables ``(T, B, N)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import BrianModesError

RECORDABLE = ("I", "u", "v", "s", "r", "h", "m", "k")
_DESCRIPTIONS = {"I": "synaptic current", "u": "membrane potential before reset and refractory mask",
                 "v": "membrane potential", "s": "spikes", "r": "filtered spike train (activity)",
                 "h": "filter's rise variable", "m": "not-refractory mask",
                 "k": "activity projected on the output modes, xi_out^T r of the previous step"}


@dataclass(frozen=True)
class EngineConstants:
    """Per-step decay factors and filter coefficients (plain floats)."""

    a_s: float
    a_m: float
    a_d: float
    a_r: float
    c_h: float  # drive of h by a spike (double filters)
    c_r: float  # drive of r by h (double filters) or by a spike (single filter)
    v_th: float
    n_ref: int
    filter: str
    neuron: str
    parametrization: str
    readout: str
    discretization: str = "published"
    b_rec: float = 1.0  # weight of W r in the current update


def engine_constants(net):
    """Discrete-time constants of a network for its discretization.

    ``published`` (SPEC 1.1): per step I += W r, and the filter coefficients
    of the published code. ``brian2``: exponential Euler of the continuous
    equations (see :mod:`brianmodes.brian.equations`), in which W r drives
    the current as dI/dt = -I/tau_s + W r / dt_model, so that one step adds
    ``b_rec = tau_s (1 - a_s) / dt`` times W r; spikes drive the filter by
    jumps in the reset.
    """
    dt = net.dt
    a_s = math.exp(-dt / net.tau_s)
    a_d, a_r = math.exp(-dt / net.tau_d), math.exp(-dt / net.tau_r)
    brian2 = net.discretization == "brian2"
    if net.filter == "double":
        # h jumps by dt/(tau_d tau_r) per spike; dr/dt = h - r/tau_d
        c_h, c_r = dt / (net.tau_d * net.tau_r), (net.tau_d * (1.0 - a_d) if brian2 else dt)
    elif net.filter == "double-ema":
        c_h, c_r = 1.0, 1.0 - a_d
    else:  # single: r jumps by dt/tau_d per spike
        c_h, c_r = 0.0, dt / net.tau_d
    return EngineConstants(a_s=a_s, a_m=math.exp(-dt / net.tau_m),
                           a_d=a_d, a_r=a_r, c_h=c_h, c_r=c_r, v_th=net.v_th, n_ref=net.n_ref,
                           filter=net.filter, neuron=net.neuron,
                           parametrization=net.parametrization, readout=net.readout,
                           discretization=net.discretization,
                           b_rec=net.tau_s * (1.0 - a_s) / dt if brian2 and net.neuron == "lif" else 1.0)


def engine_params(net, dtype):
    """The network's arrays in the compute dtype, with the transposes the loop uses."""
    p = {name: np.ascontiguousarray(a, dtype=dtype) for name, a in net.params.items()}
    p["W_out_T"] = np.ascontiguousarray(p["W_out"].T)
    if net.parametrization == "modes":
        p["xi_in_T"] = np.ascontiguousarray(p["xi_in"].T)
        p["xi_out_T"] = np.ascontiguousarray(p["xi_out"].T)
    else:
        p["W_T"] = np.ascontiguousarray(p["W"].T)
    return p


def check_inputs(net, inputs, dtype=np.float32):
    """Validate and convert inputs to a C-contiguous ``(T, B, N_in)`` array.

    A 2-D array ``(T, N_in)`` is taken as a single trial.
    """
    x = np.asarray(inputs)
    if x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3 or x.shape[2] != net.N_in:
        raise BrianModesError(
            f"inputs must have shape (T, B, N_in) = (steps, trials, {net.N_in}); got {np.shape(inputs)}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise BrianModesError(f"inputs must hold at least one step and one trial; got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise BrianModesError(f"inputs must be real numbers, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=dtype)
    flat = x.reshape(-1)
    # one BLAS dot product is finite iff every entry is (barring overflow, which the exact
    # check then clears): ~3x cheaper than isfinite() on a (50, 256, 784) batch
    if not np.isfinite(np.dot(flat, flat)) and not np.all(np.isfinite(x)):
        raise BrianModesError("inputs contain NaN or infinite values")
    return x


class _Trace:
    """Storage of one state variable: every step if recorded, else two rolling slots."""

    __slots__ = ("data", "every_step", "zero")

    def __init__(self, T, shape, dtype, every_step):
        self.every_step = every_step
        self.data = np.zeros(((T if every_step else 2),) + shape, dtype)
        self.zero = np.zeros(shape, dtype)

    def at(self, t):
        if t < 0:
            return self.zero
        return self.data[t] if self.every_step else self.data[t & 1]


def input_drive(p, x):
    """W_in x for every step and trial: one (T*B, N_in) x (N_in, N) product."""
    T, B, _ = x.shape
    return (x.reshape(T * B, -1) @ p["W_in"].T).reshape(T, B, -1)


def _recurrent_into(p, c, r_prev, out, k_out):
    """out <- b_rec W r_prev, in mode space when possible; k_out <- xi_out^T r_prev."""
    if c.parametrization == "modes":
        np.matmul(r_prev, p["xi_out"], out=k_out)
        q = k_out * p["lam"]
        if c.b_rec != 1.0:
            q *= c.b_rec
        np.matmul(q, p["xi_in_T"], out=out)
    else:
        np.matmul(r_prev, p["W_T"], out=out)
        if c.b_rec != 1.0:
            out *= c.b_rec


def _readout_step(p, c, t, rt, out):
    if c.readout == "per_step":
        if "y" in out:  # else done after the loop from the stored r
            np.matmul(rt, p["W_out_T"], out=out["y"][t])
    else:  # running max and its (first) time index
        better = np.greater(rt, out["amax"], out=out["_better"])
        np.putmask(out["argmax"], better, t)
        np.maximum(out["amax"], rt, out=out["amax"])


def _new_readout(c, T, B, N, N_out, dtype, r_stored):
    if c.readout == "per_step":
        return {} if r_stored else {"y": np.empty((T, B, N_out), dtype)}
    return {"amax": np.full((B, N), -np.inf, dtype), "argmax": np.zeros((B, N), np.int32),
            "_better": np.empty((B, N), bool)}


def _finish_readout(p, c, out, r):
    if c.readout == "max":
        out.pop("_better")
        out["y"] = out["amax"] @ p["W_out_T"]
    elif "y" not in out:
        T, B, N = r.shape
        out["y"] = (r.reshape(T * B, N) @ p["W_out_T"]).reshape(T, B, -1)
    return out


def _threshold(w, c, spike_fn, spk, st):
    """spk <- w > v_th (the hard spikes); st <- the spikes the dynamics use (hard or smooth)."""
    np.greater(w, c.v_th, out=spk)
    if spike_fn is None:
        np.copyto(st, spk)
    else:
        st[...] = spike_fn(w - c.v_th)


def _lif_buffers(p, c, drive, store):
    """State traces (recorded or rolling), the mode projection trace and the readout buffers."""
    T, B, N = drive.shape
    P = p["xi_out"].shape[1] if c.parametrization == "modes" else 0
    traces = {name: _Trace(T, (B, N), drive.dtype, name in store) for name in ("u", "v", "s", "r", "h", "m")}
    k = _Trace(T, (B, P), drive.dtype, "k" in store)
    out = _new_readout(c, T, B, N, p["W_out"].shape[0], drive.dtype, traces["r"].every_step)
    return traces, k, out


def _lif_result(p, c, traces, k, I, store, count, out):
    """The recorded traces, spike counts and readout of a LIF run."""
    result = {name: tr.data for name, tr in traces.items() if tr.every_step}
    if "I" in store:
        result["I"] = I
    if "k" in store and k.data.shape[-1]:
        result["k"] = k.data
    result["count"] = count
    result.update(_finish_readout(p, c, out, traces["r"].data))
    return result


def reset_in_mask(c, spike_fn):
    """True when the reset factor (1 - s_prev) is implied by the refractory mask.

    With hard (0/1) spikes and a refractory period of at least one step, a
    spike at t-1 sets notref[t] = 0, so ``notref (1 - s_prev) = notref`` and
    ``v = notref * u``; the engine then skips those products.
    """
    return spike_fn is None and c.n_ref >= 1


def run_lif(p, c, drive, store=(), spike_fn=None):
    """The published LIF update over all steps (SPEC 1.1).

    Parameters
    ----------
    p : dict
        :func:`engine_params` output.
    c : EngineConstants
    drive : ndarray (T, B, N)
        W_in x for every step; **overwritten** with the synaptic current I.
    store : iterable of str
        Variables to keep for every step (see :data:`RECORDABLE`); the
        others are kept for two steps only.
    spike_fn : callable, optional
        Smooth spike function of ``v - v_th`` (a surrogate's primitive) used
        instead of the Heaviside step, for gradient checks. The refractory
        mask still follows the hard threshold.

    Returns
    -------
    dict
        Recorded traces ``(T, B, N)``, the readout (``y``; and ``amax``,
        ``argmax`` for the max readout) and the spike ``count`` per neuron
        and trial.
    """
    T, B, N = drive.shape
    dtype = drive.dtype
    traces, k, out = _lif_buffers(p, c, drive, store)
    u, v, s, r, h, m = (traces[n] for n in ("u", "v", "s", "r", "h", "m"))
    I = drive
    tmp = np.empty((B, N), dtype)
    keep = np.empty((B, N), dtype)
    spk = np.empty((B, N), bool)
    hard_reset_in_mask = reset_in_mask(c, spike_fn)
    count = np.zeros((B, N), np.int32)
    last_spike = np.full((B, N), -(c.n_ref + 1), np.int64)
    a_s, a_m, a_d, a_r, c_h, c_r = c.a_s, c.a_m, c.a_d, c.a_r, c.c_h, c.c_r
    double = c.filter != "single"
    for t in range(T):
        It = I[t]
        if t > 0:
            np.multiply(I[t - 1], a_s, out=tmp)
            It += tmp
            _recurrent_into(p, c, r.at(t - 1), tmp, k.at(t))
            It += tmp
        s_prev = s.at(t - 1)
        # membrane: v = notref * (a_m v + (1 - a_m) I) * (1 - s_prev)
        ut = u.at(t)
        np.multiply(v.at(t - 1), a_m, out=ut)
        np.multiply(It, 1.0 - a_m, out=tmp)
        ut += tmp
        mt = m.at(t)
        vt = v.at(t)
        if c.n_ref > 0:
            np.less(last_spike, t - c.n_ref, out=mt)
        else:
            mt.fill(1.0)
        if hard_reset_in_mask:
            # a spike at t-1 makes notref 0 at t, so (1 - s_prev) adds nothing
            np.multiply(ut, mt, out=vt)
        else:
            np.subtract(1.0, s_prev, out=keep)
            keep *= mt
            np.multiply(ut, keep, out=vt)
        # filter, driven by the previous step's spikes
        rt = r.at(t)
        np.multiply(r.at(t - 1), a_d, out=rt)
        if double:
            ht = h.at(t)
            np.multiply(h.at(t - 1), a_r, out=ht)
            np.multiply(s_prev, c_h, out=tmp)
            ht += tmp
            np.multiply(ht, c_r, out=tmp)
        else:
            np.multiply(s_prev, c_r, out=tmp)
        rt += tmp
        # spikes
        st = s.at(t)
        _threshold(vt, c, spike_fn, spk, st)
        np.putmask(last_spike, spk, t)
        count += spk
        _readout_step(p, c, t, rt, out)
    return _lif_result(p, c, traces, k, I, store, count, out)


def run_lif_brian2(p, c, drive, store=(), spike_fn=None):
    """The ``brian2`` discretization: one Brian2 time step of the LIF equations.

    Exponential Euler of the continuous equations, in Brian2's schedule
    (groups, thresholds, synapses, resets); every state update reads the
    values at the end of the previous step::

        u = a_m v + (1 - a_m) I                      (I of the previous step)
        w = m u                                      (m = 0 for n_ref - 1 steps after a spike)
        I = a_s I + b_rec W r + W_in x_t             (input: a jump in the synapses slot)
        h = a_r h ;  r = a_d r + c_r h               (double filters; old h)
        s = H(w - v_th)
        reset: v = w (1 - s);  h += c_h s            (single filter: r += c_r s)

    ``w`` (stored as ``u``) is the membrane potential before the reset, what
    Brian2's threshold sees; ``v`` the potential after it. Arguments and
    return value as :func:`run_lif`.
    """
    T, B, N = drive.shape
    dtype = drive.dtype
    traces, k, out = _lif_buffers(p, c, drive, store)
    u, v, s, r, h, m = (traces[n] for n in ("u", "v", "s", "r", "h", "m"))
    I = drive
    tmp = np.empty((B, N), dtype)
    spk = np.empty((B, N), bool)
    count = np.zeros((B, N), np.int32)
    last_spike = np.full((B, N), -(c.n_ref + 1), np.int64)
    a_s, a_m, a_d, a_r, c_h, c_r = c.a_s, c.a_m, c.a_d, c.a_r, c.c_h, c.c_r
    double = c.filter != "single"
    zero = np.zeros((B, N), dtype)
    for t in range(T):
        I_prev = I[t - 1] if t > 0 else zero
        r_prev, h_prev = r.at(t - 1), h.at(t - 1)
        # membrane, with the current of the previous step
        ut = u.at(t)
        np.multiply(v.at(t - 1), a_m, out=ut)
        np.multiply(I_prev, 1.0 - a_m, out=tmp)
        ut += tmp
        mt = m.at(t)
        np.less_equal(last_spike, t - c.n_ref, out=mt)
        ut *= mt
        # current: decay, recurrent drive, this step's input jump (already in I[t])
        It = I[t]
        if t > 0:
            np.multiply(I_prev, a_s, out=tmp)
            It += tmp
            _recurrent_into(p, c, r_prev, tmp, k.at(t))
            It += tmp
        # filter: decay, driven by the previous h
        rt = r.at(t)
        np.multiply(r_prev, a_d, out=rt)
        if double:
            np.multiply(h_prev, c_r, out=tmp)
            rt += tmp
        # threshold, reset
        st = s.at(t)
        _threshold(ut, c, spike_fn, spk, st)
        vt = v.at(t)
        np.subtract(1.0, st, out=vt)
        vt *= ut
        if double:
            ht = h.at(t)
            np.multiply(h_prev, a_r, out=ht)
            np.multiply(st, c_h, out=tmp)
            ht += tmp
        else:
            np.multiply(st, c_r, out=tmp)
            rt += tmp
        np.putmask(last_spike, spk, t)
        count += spk
        _readout_step(p, c, t, rt, out)
    return _lif_result(p, c, traces, k, I, store, count, out)


def run_tanh(p, c, drive, store=()):
    """The tanh rate network with the same recurrence (baseline).

    x <- a_m x + (1 - a_m) J,  J = W_in u_t + W r (previous r),  r = tanh(x).
    ``drive`` is overwritten with J; stored names: ``I`` (J), ``u`` (x),
    ``r``, ``k``.
    """
    T, B, N = drive.shape
    dtype = drive.dtype
    P = p["xi_out"].shape[1] if c.parametrization == "modes" else 0
    x = _Trace(T, (B, N), dtype, "u" in store)
    r = _Trace(T, (B, N), dtype, "r" in store)
    k = _Trace(T, (B, P), dtype, "k" in store)
    out = _new_readout(c, T, B, N, p["W_out"].shape[0], dtype, r.every_step)
    tmp = np.empty((B, N), dtype)
    for t in range(T):
        Jt = drive[t]
        if t > 0:
            _recurrent_into(p, c, r.at(t - 1), tmp, k.at(t))
            Jt += tmp
        xt = x.at(t)
        np.multiply(x.at(t - 1), c.a_m, out=xt)
        np.multiply(Jt, 1.0 - c.a_m, out=tmp)
        xt += tmp
        rt = r.at(t)
        np.tanh(xt, out=rt)
        _readout_step(p, c, t, rt, out)
    result = {}
    if "I" in store:
        result["I"] = drive
    if "u" in store:
        result["u"] = x.data
    if "r" in store:
        result["r"] = r.data
    if "k" in store and P:
        result["k"] = k.data
    result.update(_finish_readout(p, c, out, r.data))
    return result


def forward(net, x, store=(), dtype=np.float32, spike_fn=None, params=None):
    """Run the engine on validated inputs ``x`` (T, B, N_in); see :func:`simulate`."""
    p = engine_params(net, dtype) if params is None else params
    c = engine_constants(net)
    drive = input_drive(p, x)
    if net.neuron == "tanh":
        return run_tanh(p, c, drive, store)
    if c.discretization == "brian2":
        return run_lif_brian2(p, c, drive, store, spike_fn)
    return run_lif(p, c, drive, store, spike_fn)


@dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    outputs : ndarray
        The readout: ``(B, N_out)`` for the max readout, ``(T, B, N_out)``
        per step.
    dt : float
        Time step in seconds.
    traces : dict
        Recorded variables, each ``(T, B, N)`` (``k``: ``(T, B, P)``);
        spikes ``s`` are boolean.
    spike_count : ndarray or None
        Spikes per trial and neuron ``(B, N)`` (LIF only).
    """

    outputs: np.ndarray
    dt: float
    n_steps: int
    traces: dict = field(default_factory=dict)
    spike_count: np.ndarray | None = None

    def __getattr__(self, name):
        traces = self.__dict__.get("traces", {})
        if name in traces:
            return traces[name]
        if name == "spikes" and "s" in traces:
            return traces["s"]
        raise AttributeError(name)

    @property
    def time(self):
        """Times of the steps in seconds, ``(T,)``."""
        return np.arange(self.n_steps) * self.dt

    def rates(self):
        """Mean firing rate of each neuron over trials and time, in Hz ``(N,)``."""
        if self.spike_count is None:
            raise BrianModesError("firing rates exist only for spiking (lif) networks")
        return self.spike_count.mean(axis=0) / (self.n_steps * self.dt)

    def population_rate(self):
        """Mean population rate in Hz (one number)."""
        return float(self.rates().mean())


def simulate(net, inputs, record=("s", "r"), dtype=np.float32):
    """Simulate a network on a batch of trials with the numpy engine.

    Parameters
    ----------
    net : ModeNetwork
    inputs : array (T, B, N_in) or (T, N_in)
        Input per step: spikes (0/1) or analog values, one column per input.
    record : iterable of str
        Variables to keep for every step: ``I`` (current), ``v`` (membrane),
        ``s`` (spikes), ``r`` (filtered activity), ``h``, ``u``, ``m``
        (not-refractory), ``k`` (output-mode projection). Recording nothing
        keeps memory at O(B N).
    dtype : numpy dtype
        ``float32`` (default, fast) or ``float64``.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork, simulate
    >>> net = ModeNetwork(N=50, P=2, N_in=4, N_out=1, readout="per_step", seed=0)
    >>> x = np.random.default_rng(0).normal(size=(100, 8, 4))
    >>> res = simulate(net, x, record=("s", "v"))
    >>> res.outputs.shape, res.spikes.shape, res.spikes.dtype
    ((100, 8, 1), (100, 8, 50), dtype('bool'))
    """
    record = tuple(record)
    bad = [name for name in record if name not in RECORDABLE]
    if bad:
        raise BrianModesError(f"cannot record {bad}; choose among {', '.join(RECORDABLE)}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise BrianModesError(f"dtype must be float32 or float64, got {dtype}")
    x = check_inputs(net, inputs, dtype)
    res = forward(net, x, store=record, dtype=dtype)
    traces = {name: res[name] for name in record if name in res}
    if "s" in traces:
        traces["s"] = traces["s"].astype(bool)
    if "m" in traces:
        traces["m"] = traces["m"].astype(bool)
    return SimulationResult(outputs=res["y"], dt=net.dt, n_steps=x.shape[0], traces=traces,
                            spike_count=res.get("count"))
