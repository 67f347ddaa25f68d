"""The numpy executor of a derived program: forward over time, and the adjoint pass.

Arrays are time-major as in :mod:`brianmodes.simulate`: inputs ``(T, B,
N_in)``, traces ``(T, B, N)``. Each step runs the generated forward step on
``(B, N)`` arrays; the recurrent input is computed in mode space,
``I_rec = xi_in (lam * (xi_out^T r))`` from the activity of the previous step
(O(N P) per step), or as ``W r`` for a dense ``W``. The input projection and
the weight gradients are single products over all ``T*B`` rows.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .codegen import (compile_backward, compile_constant_gradients, compile_constants, compile_forward,
                      constant_names)
from .derive import program_for
from .refractory import make_clock
from .symbolic import INPUT, MASK, SPIKE

READOUTS = ("max", "per_step")


def prepare_weights(weights, dtype):
    """The network's arrays in the compute dtype, with the transposes the loop uses."""
    w = {name: np.ascontiguousarray(a, dtype=dtype) for name, a in weights.items()}
    missing = {"W_in", "W_out"} - set(w)
    modes = {"xi_in", "lam", "xi_out"} <= set(w)
    if missing or not (modes or "W" in w):
        raise BrianModesError("weights must hold W_in, W_out and either xi_in, lam, xi_out (modes) or W (dense); "
                              f"got {', '.join(sorted(w))}")
    w["W_out_T"] = np.ascontiguousarray(w["W_out"].T)
    if modes:
        w["xi_in_T"] = np.ascontiguousarray(w["xi_in"].T)
        w["xi_out_T"] = np.ascontiguousarray(w["xi_out"].T)
    else:
        w["W_T"] = np.ascontiguousarray(w["W"].T)
    w["modes"] = modes
    return w


class Engine:
    """Runs a :class:`~brianmodes.neurons.NeuronModel` at time step ``dt`` with numpy.

    Parameters
    ----------
    model : NeuronModel
    dt : float
        Time step in seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes.neurons import lif
    >>> rng = np.random.default_rng(0)
    >>> N, P, N_in = 20, 2, 3
    >>> weights = {"W_in": 3 * rng.normal(size=(N, N_in)), "xi_in": rng.normal(size=(N, P)),
    ...            "lam": np.ones(P), "xi_out": rng.normal(size=(N, P)), "W_out": rng.normal(size=(1, N))}
    >>> engine = Engine(lif("double"), dt=2e-3)
    >>> fwd = engine.forward(weights, rng.random((50, 4, N_in)), readout="per_step", record=("v", "s"), train=True)
    >>> fwd["y"].shape, fwd["traces"]["s"].dtype
    ((50, 4, 1), dtype('bool'))
    >>> grads = engine.backward(fwd, np.ones_like(fwd["y"]), surrogate="fast_sigmoid")
    >>> sorted(grads)
    ['W_in', 'W_out', 'lam', 'xi_in', 'xi_out']
    """

    def __init__(self, model, dt):
        self.model, self.dt = model, float(dt)
        if not self.dt > 0:
            raise BrianModesError(f"dt must be positive, got {dt!r}")
        self.program = program_for(model)
        self.states = self.program.states
        self.activity = self.states.index(model.activity)

    # -- compiled pieces, cached on the program (one per model structure) ----------
    def _cached(self, key, make):
        store = self.program.compiled
        if key not in store:
            store[key] = make()
        return store[key]

    def constants(self, N, dtype, params=None):
        """The step's constants in ``dtype`` (scalars, or (N,) arrays per neuron), and the parameter values."""
        values = self.parameter_values(N, params)
        fn, names = self._cached("constants", lambda: compile_constants(self.program))
        raw = fn(self.dt, *(values[n] for n in names))
        cast = [np.asarray(v, dtype) if np.ndim(v) else dtype.type(v) for v in raw]
        return cast, values

    def parameter_values(self, N, params=None):
        """The model's parameter values, with ``params`` (name to value) overriding them."""
        values = self.model.parameter_values(N)
        for name, value in (params or {}).items():
            if name not in values:
                raise BrianModesError(f"model {self.model.name!r} has no parameter {name!r}")
            value = np.asarray(value, dtype=np.float64)
            if value.shape not in ((), np.shape(values[name])):
                raise BrianModesError(f"parameter {name!r} must have shape {np.shape(values[name])}, got {value.shape}")
            values[name] = float(value) if value.ndim == 0 else value
        return values

    # -- forward ---------------------------------------------------------------
    def _buffers(self, names, T, B, N, dtype):
        return {name: np.empty((T, B, N), dtype) for name in names}

    def forward(self, weights, inputs, *, readout="max", record=(), params=None, spike_fn=None, train=False):
        """Run the model on inputs ``(T, B, N_in)``.

        Parameters
        ----------
        weights : dict
            ``W_in``, ``W_out`` and ``xi_in, lam, xi_out`` or ``W``.
        inputs : ndarray (T, B, N_in)
            In the compute dtype (float32 or float64).
        readout : {'max', 'per_step'}
        record : iterable of str
            State variables (their value at the end of each step), ``s``,
            ``m`` (not refractory), ``k`` (``xi_out^T r`` of the previous
            step), ``I_rec`` or any single-assignment name of the program.
        params : dict, optional
            Parameter values overriding the model's (trainable ones).
        spike_fn : callable, optional
            Smooth spike function of ``a - b`` used in the dynamics (gradient
            checks); the refractory mask still follows the hard threshold.
        train : bool
            Keep what :meth:`backward` needs.

        Returns
        -------
        dict
            ``y`` (outputs), ``traces``, ``count`` (spikes per trial and
            neuron), ``amax``/``argmax`` (max readout) and the tape.
        """
        if readout not in READOUTS:
            raise BrianModesError(f"readout must be one of {', '.join(READOUTS)}; got {readout!r}")
        x = inputs
        dtype = x.dtype
        T, B, _ = x.shape
        w = prepare_weights(weights, dtype)
        N = w["W_in"].shape[0]
        prog = self.program
        record = tuple(record)
        finals = [str(prog.final[s]) for s in self.states]
        wanted = {str(prog.final[s]) if s in self.states and s != SPIKE else s for s in record}
        if train:
            adjoint = prog.adjoint()
            needed = set(adjoint.needed)
            wanted |= {str(prog.final[x]) for x in self.states if str(prog.old[x]) in needed}
            wanted |= {n for n in needed if n not in {INPUT, MASK, self.model.recurrent} and not n.endswith("__0")}
            wanted.add(finals[self.activity])
        if readout == "per_step":
            wanted.add(finals[self.activity])
        known = set(finals) | {st.target.name for st in prog.statements} | {"s", "m", "k", self.model.recurrent}
        unknown = sorted(wanted - known)
        if unknown:
            raise BrianModesError(f"cannot record {unknown[0]!r}; model {self.model.name!r} has "
                                  f"{', '.join(self.states)}, m, k, {self.model.recurrent} and the program's "
                                  f"names ({', '.join(sorted(known - set(self.states)))})")
        keep_mask = "m" in record or (train and MASK in prog.adjoint().needed)
        keep_rec = self.model.recurrent in record or (train and self.model.recurrent in prog.adjoint().needed)
        keep_k = w["modes"] and ("k" in record or train)
        ssa = sorted(n for n in wanted if n in known and n not in ("s", "m", "k", self.model.recurrent))
        extras = tuple(n for n in ssa if n not in finals)
        smooth = spike_fn is not None
        fstep = self._cached(("forward", extras, smooth),
                             lambda: compile_forward(self.program, extras, smooth))
        C, _ = self.constants(N, dtype, params)
        bufs = self._buffers(ssa, T, B, N, dtype)
        final_bufs = [(i, bufs[n]) for i, n in enumerate(finals) if n in bufs]
        extra_bufs = [(i, bufs[n]) for i, n in enumerate(extras)]
        M = np.empty((T, B, N), bool) if keep_mask and prog.masked else None
        REC = np.empty((T, B, N), dtype) if keep_rec else None
        K = np.zeros((T, B, w["xi_in"].shape[1]), dtype) if keep_k else None
        drive = (x.reshape(T * B, -1) @ w["W_in"].T).reshape(T, B, N)
        spiking = self.model.spiking
        record_s = SPIKE in record and spiking
        S = np.empty((T, B, N), bool) if record_s else None
        clock = make_clock(prog.rule, self.model.refractory_timing, self.model.refractory, self.dt, (B, N))
        if prog.masked and clock is None:  # a period shorter than one step: never refractory
            ones = np.ones((B, N), bool)
        count = np.zeros((B, N), np.int32) if spiking else None
        s_sum = np.zeros((B, N), dtype) if spiking and smooth else None
        if readout == "max":
            amax, argmax = np.full((B, N), -np.inf, dtype), np.zeros((B, N), np.int32)
        zero = np.zeros((B, N), dtype)
        prev = [zero] * len(self.states)
        pre = (spike_fn,) if smooth else ()
        for t in range(T):
            if t == 0:
                rec = zero
            elif w["modes"]:
                kt = prev[self.activity] @ w["xi_out"]
                if K is not None:
                    K[t] = kt
                rec = (kt * w["lam"]) @ w["xi_in_T"]
            else:
                rec = prev[self.activity] @ w["W_T"]
            args = [*prev, drive[t], rec]
            if prog.masked:
                m = clock.mask(t) if clock is not None else ones
                args.append(m)
                if M is not None:
                    M[t] = m
            new, extra, spk = fstep(*pre, *args, *C)
            for i, buf in final_bufs:
                buf[t] = new[i]
            for i, buf in extra_bufs:
                buf[t] = extra[i]
            if REC is not None:
                REC[t] = rec
            if spk is not None:
                count += spk
                if clock is not None:
                    clock.update(t, spk)
                if S is not None:
                    S[t] = spk
                if s_sum is not None:
                    s_sum += new[self.states.index(SPIKE)]
            if readout == "max":
                r = new[self.activity]
                np.putmask(argmax, r > amax, t)
                np.maximum(amax, r, out=amax)
            prev = new
        out = {"count": count, "readout": readout, "activity": finals[self.activity], "train": train,
               "weights": w, "inputs": x, "drive": drive, "params": params, "bufs": bufs, "M": M, "REC": REC,
               "K": K, "s_sum": s_sum}
        if readout == "max":
            out.update(amax=amax, argmax=argmax, y=amax @ w["W_out_T"])
        else:
            R = bufs[finals[self.activity]]
            out["y"] = (R.reshape(T * B, N) @ w["W_out_T"]).reshape(T, B, -1)
        out["traces"] = self._traces(record, bufs, finals, S, M, K, REC)
        return out

    def _traces(self, record, bufs, finals, S, M, K, REC):
        traces = {}
        for name in record:
            if name == SPIKE and S is not None:
                traces[name] = S
            elif name == "m" and M is not None:
                traces[name] = M
            elif name == "k" and K is not None:
                traces[name] = K
            elif name == self.model.recurrent and REC is not None:
                traces[name] = REC
            elif name in self.states:
                traces[name] = bufs[finals[self.states.index(name)]]
            elif name in bufs:
                traces[name] = bufs[name]
        return traces

    # -- backward --------------------------------------------------------------
    def backward(self, fwd, gy, surrogate="fast_sigmoid", ds=None):
        """Gradients of every weight and trainable parameter, given dL/d(outputs) ``gy``.

        ``ds`` (N,) is a direct gradient on every spike (a rate penalty).
        Returns float64 arrays by name.
        """
        from .adjoint_pass import run_adjoint

        if not fwd.get("train"):
            raise BrianModesError("backward needs the tape of a forward pass run with train=True")
        if fwd["inputs"].shape[0] < 2:
            raise BrianModesError("the adjoint pass needs at least 2 time steps")
        return run_adjoint(self, fwd, gy, surrogate, ds)

    def backward_step(self, external):
        """The compiled adjoint step for the given external seeds, and its adjoint."""
        adjoint = self.program.adjoint(external)
        fn = self._cached(("backward", frozenset(external)), lambda: compile_backward(self.program, adjoint))
        return fn, adjoint

    def constant_gradients(self):
        """The compiled d(constant)/d(parameter) function and its (parameter, constant) pairs."""
        return self._cached("constant_gradients", lambda: compile_constant_gradients(self.program))

    @property
    def constant_names(self):
        return constant_names(self.program)
