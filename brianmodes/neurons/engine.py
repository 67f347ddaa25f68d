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

from ..checks import choice, number
from ..errors import BrianModesError
from .codegen import (compile_backward, compile_constant_gradients, compile_constants, compile_forward,
                      constant_names)
from .derive import program_for
from .refractory import make_clock
from .symbolic import INPUT, MASK, SPIKE

READOUTS = ("max", "per_step")


def prepare_weights(weights, dtype):
    """The network's arrays in the compute dtype, with the transposes the loop uses.

    Examples
    --------
    >>> w = prepare_weights({"W_in": np.ones((3, 2)), "W": np.eye(3), "W_out": np.ones((1, 3))}, np.float32)
    >>> w["modes"], w["W_T"].dtype
    (False, dtype('float32'))
    """
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
        self.model, self.dt = model, number(dt, "dt", positive=True)
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
    def _plan(self, record, train, modes):
        """What the loop keeps: single-assignment values, the mask, the recurrent input, k."""
        prog, rec_name = self.program, self.model.recurrent
        finals = [str(prog.final[x]) for x in self.states]
        specials = {SPIKE, "m", "k", rec_name}
        wanted = {n if n in specials or n not in self.states else finals[self.states.index(n)] for n in record}
        needed = set(prog.adjoint().needed) if train else set()
        wanted |= {str(prog.final[x]) for x in self.states if str(prog.old[x]) in needed}
        wanted |= {n for n in needed if n not in {INPUT, MASK, rec_name} and not n.endswith("__0")}
        wanted.add(finals[self.activity])
        known = set(finals) | {st.target.name for st in prog.statements} | specials
        unknown = sorted(wanted - known)
        if unknown:
            raise BrianModesError(f"cannot record {unknown[0]!r}; model {self.model.name!r} has "
                                  f"{', '.join(self.states)}, m, k, {rec_name} and the program's "
                                  f"names ({', '.join(sorted(known - set(self.states)))})")
        kept = sorted(wanted - specials)
        return {"finals": finals, "kept": kept, "extras": tuple(n for n in kept if n not in finals),
                "m": prog.masked and ("m" in record or MASK in needed),
                "rec": rec_name in record or rec_name in needed, "k": modes and ("k" in record or train),
                "s": SPIKE in record and self.model.spiking}

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
        choice(readout, "readout", READOUTS)
        x, record = np.asarray(inputs), tuple(record)
        if x.ndim != 3 or x.dtype not in (np.float32, np.float64):
            raise BrianModesError(f"inputs must be a float32 or float64 array (T, B, N_in); got {x.dtype} {x.shape}")
        T, B, _ = x.shape
        w = prepare_weights(weights, x.dtype)
        N = w["W_in"].shape[0]
        if w["W_in"].shape[1] != x.shape[2]:
            raise BrianModesError(f"inputs have {x.shape[2]} channels but W_in takes {w['W_in'].shape[1]}")
        plan = self._plan(record, train, w["modes"])
        smooth = spike_fn is not None
        fstep = self._cached(("forward", plan["extras"], smooth),
                             lambda: compile_forward(self.program, plan["extras"], smooth))
        C, _ = self.constants(N, x.dtype, params)
        drive = (x.reshape(T * B, -1) @ w["W_in"].T).reshape(T, B, N)
        out = {"readout": readout, "activity": plan["finals"][self.activity], "train": train, "weights": w,
               "inputs": x, "drive": drive, "params": params}
        out["tape"] = self._loop(fstep, (spike_fn,) if smooth else (), C, w, drive, plan, readout, out)
        out["y"] = self._readout(out, w, T, B, N)
        out["traces"] = self._traces(record, out, plan["finals"])
        return out

    def _loop(self, fstep, pre, C, w, drive, plan, readout, out):
        """The time loop; fills ``out`` (count, masks, k, readout) and returns the per-step values."""
        T, B, N = drive.shape
        prog, modes, ia = self.program, w["modes"], self.activity
        index = {n: i for i, n in enumerate(plan["finals"])}
        # preallocated: copying into warm buffers beats keeping each step's fresh arrays (page faults)
        tape = {n: np.empty((T, B, N), drive.dtype) for n in plan["kept"]}
        finals = [(tape[n], index[n]) for n in plan["kept"] if n in index]
        extras = [(tape[n], i) for i, n in enumerate(plan["extras"])]
        keep = {key: np.empty((T, B, N), bool if key != "rec" else drive.dtype)
                for key in ("m", "rec", "s") if plan[key]}
        K = np.zeros((T, B, w["xi_in"].shape[1]), drive.dtype) if plan["k"] else None
        clock = make_clock(prog.rule, self.model.refractory_timing, self.model.refractory, self.dt, (B, N))
        spiking, smooth = self.model.spiking, bool(pre)
        count = np.zeros((B, N), np.int32) if spiking else None
        s_sum = np.zeros((B, N), drive.dtype) if spiking and smooth else None
        amax, argmax = (np.full((B, N), -np.inf, drive.dtype), np.zeros((B, N), np.int32)) if readout == "max" \
            else (None, None)
        zero = np.zeros((B, N), drive.dtype)
        prev = [zero] * len(self.states)
        for t in range(T):
            if t == 0:
                rec = zero
            elif modes:
                kt = np.matmul(prev[ia], w["xi_out"], out=K[t]) if K is not None else prev[ia] @ w["xi_out"]
                kt = kt * w["lam"]
                rec = kt @ w["xi_in_T"]
            else:
                rec = prev[ia] @ w["W_T"]
            args = [*prev, drive[t], rec]
            if prog.masked:
                args.append(clock.mask(t, out=keep["m"][t] if "m" in keep else None))
            new, extra, spk = fstep(*pre, *args, *C)
            for buf, i in finals:
                buf[t] = new[i]
            for buf, i in extras:
                buf[t] = extra[i]
            if "rec" in keep:
                keep["rec"][t] = rec
            if spk is not None:
                count += spk
                if clock is not None:
                    clock.update(t, spk)
                if "s" in keep:
                    keep["s"][t] = spk
                if s_sum is not None:
                    s_sum += new[self.states.index(SPIKE)]
            if readout == "max":
                np.putmask(argmax, new[ia] > amax, t)
                np.maximum(amax, new[ia], out=amax)
            prev = new
        out.update(count=count, s_sum=s_sum, K=K, amax=amax, argmax=argmax, M=keep.get("m"), REC=keep.get("rec"),
                   S=keep.get("s"))
        return tape

    def _readout(self, out, w, T, B, N):
        if out["readout"] == "max":
            return out["amax"] @ w["W_out_T"]
        R = out["tape"][out["activity"]]
        return (R.reshape(T * B, N) @ w["W_out_T"]).reshape(T, B, -1)

    def _traces(self, record, out, finals):
        special = {SPIKE: "S", "m": "M", "k": "K", self.model.recurrent: "REC"}
        traces = {}
        for name in record:
            if name in special:
                value = out[special[name]]
            elif name in self.states:
                value = out["tape"][finals[self.states.index(name)]]
            else:
                value = out["tape"].get(name)
            if value is not None:
                traces[name] = value
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
