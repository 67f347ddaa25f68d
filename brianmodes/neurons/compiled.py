"""The compiled engine: the derived statements in one fused C loop per trial, OpenMP over trials.

:class:`CompiledEngine` has the contract of the numpy :class:`~brianmodes.neurons.Engine`
(``forward``, ``backward``) and a fused :meth:`CompiledEngine.loss_and_grads`.

What is fused, and what stays in numpy:

- per trial, the forward steps (derived statements, recurrence in mode space,
  event-driven input projection, readout) and then the adjoint steps with the
  weight gradients, while the trial's tape is in cache;
- the loss stays in numpy. Its gradient seeds the backward pass, which is
  linear in the seed. For a per-step readout with ``sse``, ``mse`` or
  ``root_sse`` the seed is ``c * mask * (y - target)``, and for a max readout
  with ``cross_entropy`` it is ``c * (softmax(y_b) - onehot_b)`` (trial b's
  seed depends on trial b's output alone): the loop computes the unscaled
  seed of each trial right after its forward steps and the gradients are
  scaled by ``c`` afterwards. ``c`` comes from numpy's loss on the outputs,
  which is also checked to equal ``c`` times the seed (else the backward pass
  is run again with numpy's gradient);
- any other loss, or a rate regularizer (its gradient needs the spike counts
  of all trials), runs in two phases: the forward pass of all trials storing
  the tape, numpy's loss, then the backward pass reading the tape.

Examples
--------
>>> import numpy as np
>>> from brianmodes.neurons import lif
>>> rng = np.random.default_rng(0)
>>> w = {"W_in": 3 * rng.normal(size=(20, 3)), "xi_in": rng.normal(size=(20, 2)), "lam": np.ones(2),
...      "xi_out": rng.normal(size=(20, 2)), "W_out": rng.normal(size=(1, 20))}
>>> engine = CompiledEngine(lif("double"), dt=2e-3)                       # doctest: +SKIP
>>> fwd = engine.forward(w, rng.random((50, 4, 3)), readout="per_step", train=True)  # doctest: +SKIP
>>> sorted(engine.backward(fwd, np.ones_like(fwd["y"])))                  # doctest: +SKIP
['W_in', 'W_out', 'lam', 'xi_in', 'xi_out']
"""

from __future__ import annotations

import numpy as np

from ..checks import choice, positive_int
from ..errors import BrianModesError
from ..train import losses as _losses
from ..train.losses import get_loss
from ..train.surrogates import FastSigmoid, Sigmoid, Triangle, get_surrogate
from .adjoint_pass import _parameter_gradients
from .compiled_build import load_library
from .compiled_arrays import (EXTRA_INTEGERS, EXTRA_POINTERS, _cut, _error_scale, _padded, _seed_scale, aligned_empty,
                              slot_count)
from .compiled_kernel import generate_source
from .compiled_layout import (INTEGERS, POINTERS, SEED_ERROR, SEED_GIVEN, SEED_SOFTMAX, SURROGATE_KINDS,
                              TAPE_GLOBAL, TAPE_LOCAL, TAPE_NONE)
from .derive import program_for
from .engine import READOUTS, Engine, prepare_weights
from .refractory import brian2_steps
from .symbolic import SPIKE

_SOURCES = {}  # model structure -> (source, layout)
_SURROGATE_CLASSES = {FastSigmoid: 0, Sigmoid: 1, Triangle: 2}
BACKWARD_MODES = ("tape", "recompute")
LANES = 16  # the neuron dimension is padded to a multiple of this
def source_for(model):
    """The generated C source of ``model``'s fused loop and its layout (once per model structure)."""
    key = model.structure_key()
    if key not in _SOURCES:
        _SOURCES[key] = generate_source(program_for(model))
    return _SOURCES[key]


def _pointer(a):
    return None if a is None else a.ctypes.data


class CompiledEngine:
    """Runs a :class:`~brianmodes.neurons.NeuronModel` at time step ``dt`` in the compiled loop.

    Parameters
    ----------
    model : NeuronModel
    dt : float
        Time step in seconds.
    threads : int, optional
        OpenMP threads (trials are split among them). Default: OpenMP's own
        count (``OMP_NUM_THREADS``, a threadpoolctl limit, else the cores).
        Every result is the same, bit for bit, for any thread count: the
        trials are split into slots that depend on B alone (:func:`slot_count`),
        each slot sums its trials' gradients in trial order, and the slots'
        sums are added in slot order.
    backward : {'recompute', 'tape'}
        How :meth:`backward` gets the forward values of a two-phase step: the
        forward steps run again per trial, in cache, right before its adjoint
        (default: measured faster here, 40 vs 66 ms for the context step with
        a rate penalty), or the tape stored by :meth:`forward` (``train=True``;
        all trials' tapes, ~90 MB for the context task, bound by memory).

    Raises
    ------
    BrianModesError
        When the library cannot be built (the compiler's first error line).
    """

    def __init__(self, model, dt, *, threads=None, backward="recompute"):
        self.numpy = Engine(model, dt)
        self.model, self.dt, self.program = model, self.numpy.dt, self.numpy.program
        self.states, self.activity = self.numpy.states, self.numpy.activity
        choice(backward, "backward", BACKWARD_MODES)
        positive_int(threads, "threads", none=True)
        self.threads, self.backward_mode = threads, backward
        self.flush_subnormals = True
        self.source, self.layout = source_for(model)
        self.library = load_library(self.source, f"model {model.name!r}")
        self._tape, self._generation = None, 0
        self._slot_pool = {}  # (slots, L64, Lr, dtype) -> free gradient rows of the slots
        t_ref = model.refractory
        if t_ref <= 0:
            self._n_ref = 0
        else:
            self._n_ref = brian2_steps(t_ref, self.dt) if self.program.rule == "brian2" else int(round(t_ref / self.dt))

    # -- arguments -------------------------------------------------------------------
    def _threads(self, B):
        n = self.threads if self.threads is not None else self.library.max_threads()
        return max(1, min(int(n), B))

    def _inputs(self, weights, inputs, readout, dtype=None):
        """Inputs, weights (prepared and padded) and the compute dtype.

        Inputs are float32/float64 (the compute type), or bool/uint8 (0/1
        spikes: a quarter of the memory to scan; computed in ``dtype``,
        default float32).
        """
        choice(readout, "readout", READOUTS)
        x = np.asarray(inputs)
        if x.ndim != 3 or x.dtype not in (np.float32, np.float64, np.uint8, np.bool_):
            raise BrianModesError("inputs must be a float32, float64, uint8 or bool array (T, B, N_in); "
                                  f"got {x.dtype} {x.shape}")
        if x.dtype.kind == "f":
            if dtype is not None and np.dtype(dtype) != x.dtype:
                raise BrianModesError(f"dtype {np.dtype(dtype)} differs from the inputs' {x.dtype}")
            compute = x.dtype
        else:
            compute = np.dtype(np.float32 if dtype is None else dtype)
            if compute not in (np.float32, np.float64):
                raise BrianModesError(f"dtype must be float32 or float64, got {compute}")
            x = x.view(np.uint8)
        x = np.ascontiguousarray(x)
        w = prepare_weights(weights, compute)
        w["dtype"] = compute
        if w["W_in"].shape[1] != x.shape[2]:
            raise BrianModesError(f"inputs have {x.shape[2]} channels but W_in takes {w['W_in'].shape[1]}")
        N = w["W_in"].shape[0]
        Np = -(-N // LANES) * LANES
        # the loop's layout: neuron-minor rows padded with zeros to a multiple of 16 neurons
        w["c"] = {"W_in_T": _padded(w["W_in"].T, Np)}
        if w["modes"]:
            P = w["xi_in"].shape[1]
            # xi_out^T and W_out in one block: k[t+1] and y[t] are one pass over r[t]
            rows = _padded(np.vstack([w["xi_out"].T, w["W_out"]]), Np)
            w["c"].update(xi_in_T=_padded(w["xi_in"].T, Np), xi_out_T=rows[:P], W_out=rows[P:], lam=w["lam"])
        else:
            w["c"].update(W_out=_padded(w["W_out"], Np), W=_padded(w["W"], Np, Np), W_T=_padded(w["W_T"], Np, Np))
        return x, w

    def _arrays(self, x, w, readout, params):
        """Everything a call passes, by the names of ``POINTERS`` (outputs of the forward pass included)."""
        T, B, NI = x.shape
        N, K = w["W_in"].shape[0], w["W_out"].shape[0]
        Np = w["c"]["W_in_T"].shape[1]
        P = w["xi_in"].shape[1] if w["modes"] else 0
        values = self.numpy.parameter_values(N, params)
        par = np.empty((len(self.layout.parameters), Np))
        for j, name in enumerate(self.layout.parameters):
            par[j, :N] = values[name]
            par[j, N:] = par[j, 0]  # the padding runs a copy of neuron 0's dynamics, with zero weights
        dtype = w["dtype"]
        a = dict(x=x, params=par, consts=aligned_empty((len(self.layout.constants), Np), dtype),
                 y=np.empty((T, B, K) if readout == "per_step" else (B, K), dtype),
                 count=np.empty((B, Np), np.int32), **w["c"])
        if readout == "max":
            a.update(amax=np.empty((B, Np), dtype), argmax=np.empty((B, Np), np.int32))
        dims = dict(T=T, B=B, N=N, Np=Np, NI=NI, P=P, K=K, modes=int(w["modes"]), per_step=int(readout == "per_step"),
                    x_u8=int(x.dtype == np.uint8), dtype=dtype)
        return a, dims, values

    def _slot_sizes(self, dims):
        """Lengths of a slot's double and compute-type gradient rows, and the slot count."""
        Np, P, K, NI = dims["Np"], dims["P"], dims["K"], dims["NI"]
        L64 = K * Np + 2 * P * Np + P + len(self.layout.trainable) * Np
        Lr = NI * Np + (0 if dims["modes"] else Np * Np)
        return L64, Lr, slot_count(dims["B"], 8 * L64 + np.dtype(dims["dtype"]).itemsize * Lr)

    def _grad_buffers(self, dims):
        """The slots' gradient rows (reused between calls; the loop zeroes them) and fresh arrays for their sums."""
        L64, Lr, S = self._slot_sizes(dims)
        key = (S, L64, Lr, np.dtype(dims["dtype"]).str)
        if key not in self._slot_pool and len(self._slot_pool) >= 4:
            self._slot_pool.pop(next(iter(self._slot_pool)))  # keep the rows of the last few shapes only
        pool = self._slot_pool.setdefault(key, [])
        try:
            slots = pool.pop()  # atomic under the GIL: a second caller of this engine gets its own rows
        except IndexError:
            slots = (aligned_empty((S, max(L64, 1)), np.float64), aligned_empty((S, max(Lr, 1)), dims["dtype"]))
        Nt, NI = dims["N"], dims["NI"]
        return key, slots, np.empty(max(L64, 1)), np.empty(max(Nt * NI + Lr - NI * dims["Np"], 1))

    def _call(self, a, dims, *, do_fwd, do_bwd, tape_mode, seed=SEED_GIVEN, surrogate=None, record=False):
        threads = self._threads(dims["B"])
        key = slots = None
        if do_bwd:
            key, slots, a["g64"], a["gr"] = self._grad_buffers(dims)
        kind, slope = (0, 1.0) if surrogate is None else surrogate
        ints = dict(dims, N=dims["Np"], Nt=dims["N"], do_fwd=int(do_fwd), do_bwd=int(do_bwd), tape_mode=tape_mode,
                    seed=seed, sur=kind, threads=threads, n_ref=self._n_ref, record=int(record),
                    ftz=int(self.flush_subnormals), slots=self._slot_sizes(dims)[2])
        records = a.get("records")
        named = dict(a, g64=None if slots is None else slots[0], gr=None if slots is None else slots[1],
                     g64_out=a.get("g64"), gr_out=a.get("gr"))
        pointers = [_pointer(named.get(name)) for name in POINTERS[:-1]]
        pointers.append(None if records is None else records.ctypes.data)
        pointers += [_pointer(named.get(name)) for name in EXTRA_POINTERS]
        suffix = "f32" if dims["dtype"] == np.float32 else "f64"
        try:
            status = self.library.run(suffix, pointers, [int(ints[name]) for name in INTEGERS + EXTRA_INTEGERS],
                                      [self.dt, float(slope), float(self.model.refractory)])
        finally:
            if slots is not None:
                self._slot_pool[key].append(slots)
        if status == 2:
            raise BrianModesError("inputs contain NaN or infinite values")
        if status != 0:
            raise BrianModesError("the compiled engine could not allocate its per-thread memory "
                                  f"(B={dims['B']}, T={dims['T']}, N={dims['N']}); use fewer trials per batch")

    def _surrogate(self, surrogate):
        sur = get_surrogate(surrogate)
        kind = _SURROGATE_CLASSES.get(type(sur))
        if kind is None:
            raise BrianModesError(f"the compiled engine knows the surrogates {', '.join(SURROGATE_KINDS)}; "
                                  f"got {type(sur).__name__}: use engine='numpy' for it")
        return kind, sur.slope

    def _global_tape(self, dims, dtype):
        """The tape buffer, reused between calls (no page faults on every step)."""
        B, T, N, P = dims["B"], dims["T"], dims["Np"], dims["P"]
        shape = (B, T, N, P, np.dtype(dtype).str)
        if self._tape is None or self._tape[0] != shape:
            nr, nu = len(self.layout.real_slots), len(self.layout.byte_slots)
            self._tape = (shape, aligned_empty((B, T, max(nr, 1), N), dtype),
                          aligned_empty((B, T, max(nu, 1), N), np.uint8), aligned_empty((B, T, max(P, 1)), dtype))
        self._generation += 1
        return self._tape[1:], self._generation

    # -- forward ---------------------------------------------------------------------
    def _records(self, record, a, dims, dtype):
        """Output arrays for the recorded names and the pointer table of ``records``."""
        T, B, N = dims["T"], dims["B"], dims["N"]
        index = {name: j for j, (name, _) in enumerate(self.layout.records)}
        final = self.layout.final
        table = np.zeros(len(self.layout.records), np.uintp)
        traces = {}
        for name in record:
            if name == "k":
                if dims["modes"]:
                    a["ktrace"] = traces["k"] = np.empty((T, B, dims["P"]), dtype)
                continue
            key = final[name] if name in self.states and name != SPIKE else name
            if key not in index:
                continue  # 's' of a rate model, 'm' without refractoriness: as the numpy engine, not recorded
            j = index[key]
            if self.layout.records[j][1] == "byte":
                buf = np.empty((T, B, N), np.uint8)
                traces[name] = buf.view(bool)
            else:
                buf = traces[name] = np.empty((T, B, N), dtype)
            table[j] = buf.ctypes.data
        a["records"] = table
        return traces

    def forward(self, weights, inputs, *, readout="max", record=(), params=None, spike_fn=None, train=False,
                dtype=None):
        """Run the model on inputs ``(T, B, N_in)``: as :meth:`Engine.forward <brianmodes.neurons.Engine.forward>`.

        With ``train=True`` and ``backward='tape'`` the tape is kept for
        :meth:`backward` (in a buffer of this engine, reused by the next
        forward pass); with ``'recompute'`` only the outputs are. A smooth
        ``spike_fn`` (gradient checks) runs on the numpy engine. Inputs may
        also be bool or uint8 (0/1 spikes; computed in ``dtype``, default
        float32): the loop then reads a quarter of the memory.

        Returns
        -------
        dict
            ``y``, ``traces``, ``count``, ``amax``/``argmax`` (max readout),
            and what :meth:`backward` needs.
        """
        if spike_fn is not None:
            x = np.asarray(inputs)
            x = x if x.dtype.kind == "f" else x.astype(dtype or np.float32)
            out = self.numpy.forward(weights, x, readout=readout, record=record, params=params,
                                     spike_fn=spike_fn, train=train)
            out["engine"] = "numpy"
            return out
        x, w = self._inputs(weights, inputs, readout, dtype)
        record = tuple(record)
        self.numpy._plan(record, train, w["modes"])  # the numpy engine's checks of the names
        a, dims, _ = self._arrays(x, w, readout, params)
        traces = self._records(record, a, dims, w["dtype"])
        generation, keep = None, train and self.backward_mode == "tape"
        if keep:
            (a["tape_r"], a["tape_u"], a["tape_k"]), generation = self._global_tape(dims, w["dtype"])
        self._call(a, dims, do_fwd=True, do_bwd=False, tape_mode=TAPE_GLOBAL if keep else TAPE_NONE,
                   record=bool(traces))
        return {"engine": "compiled", "y": a["y"], "traces": traces, "count": self._count(a, dims), "s_sum": None,
                "amax": _cut(a.get("amax"), dims), "argmax": _cut(a.get("argmax"), dims), "readout": readout,
                "train": train,
                "weights": w, "inputs": x, "params": params, "generation": generation, "arrays": a, "dims": dims}

    # -- backward --------------------------------------------------------------------
    def _seed(self, gy, dims, readout, dtype):
        shape = (dims["T"], dims["B"], dims["K"]) if readout == "per_step" else (dims["B"], dims["K"])
        gy = np.asarray(gy)
        if gy.shape != shape:
            raise BrianModesError(f"dL/dy must have the outputs' shape {shape}, got {gy.shape}")
        return np.ascontiguousarray(gy, dtype=dtype)

    def _ds(self, ds, dims, dtype):
        if ds is None:
            return None
        out = np.zeros(dims["Np"], dtype)
        out[:dims["N"]] = np.broadcast_to(np.asarray(ds, dtype), (dims["N"],))
        return out

    def _count(self, a, dims):
        return np.ascontiguousarray(a["count"][:, :dims["N"]]) if self.model.spiking else None

    def backward(self, fwd, gy, surrogate="fast_sigmoid", ds=None):
        """Gradients of every weight and trainable parameter (float64), given dL/d(outputs) ``gy``.

        As :meth:`Engine.backward <brianmodes.neurons.Engine.backward>`;
        ``ds`` (N,) is a direct gradient on every spike (a rate penalty).
        """
        if fwd.get("engine") == "numpy":
            return self.numpy.backward(fwd, gy, surrogate, ds)
        if fwd.get("engine") != "compiled" or not fwd.get("train"):
            raise BrianModesError("backward needs the result of this engine's forward pass run with train=True")
        dims = fwd["dims"]
        if dims["T"] < 2:
            raise BrianModesError("the adjoint pass needs at least 2 time steps")
        dtype = dims["dtype"]
        a = {k: v for k, v in fwd["arrays"].items() if k not in ("records", "ktrace", "g64", "gr")}
        a["gy"], a["ds"] = self._seed(gy, dims, fwd["readout"], dtype), self._ds(ds, dims, dtype)
        sur = self._surrogate(surrogate)
        if self.backward_mode == "tape" and fwd["generation"] == self._generation:
            self._call(a, dims, do_fwd=False, do_bwd=True, tape_mode=TAPE_GLOBAL, surrogate=sur)
        else:  # the forward steps again, per trial, into the thread's own tape (its outputs into fresh arrays)
            for name in ("y", "count", "amax", "argmax"):
                if a.get(name) is not None:
                    a[name] = np.empty_like(a[name])
            a.pop("tape_r", None), a.pop("tape_u", None), a.pop("tape_k", None)
            self._call(a, dims, do_fwd=True, do_bwd=True, tape_mode=TAPE_LOCAL, surrogate=sur)
        values = self.numpy.parameter_values(dims["N"], fwd["params"])
        return self._gradients(a, dims, values)

    def _gradients(self, a, dims, values, scale=1.0):
        N, Np, P, K, NI = dims["N"], dims["Np"], dims["P"], dims["K"], dims["NI"]
        # the loop's sums over the slots, in slot order (float64, fresh arrays of this call): the small
        # gradients as (rows, Np); dL/dW_in already as (N, NI), then a dense W's (Np, Np) rows
        g64, gr = a["g64"], a["gr"]
        if scale != 1.0:
            g64 *= scale
            gr *= scale

        def rows(buf, start, n):
            return buf[start:start + n * Np].reshape(n, Np)[:, :N]

        grads = {"W_out": rows(g64, 0, K).copy(), "W_in": gr[:N * NI].reshape(N, NI)}
        o = K * Np
        if dims["modes"]:
            grads["xi_in"] = np.ascontiguousarray(rows(g64, o, P).T)
            grads["xi_out"] = np.ascontiguousarray(rows(g64, o + P * Np, P).T)
            grads["lam"] = g64[o + 2 * P * Np:o + 2 * P * Np + P].copy()
        else:
            grads["W"] = rows(gr, N * NI, Np)[:N].copy()
        o += 2 * P * Np + P
        acc = [rows(g64, o + j * Np, 1)[0] for j in range(len(self.layout.trainable))]
        grads.update(_parameter_gradients(self.numpy, acc, values, 1, N))
        return grads

    # -- the fused step ----------------------------------------------------------------
    @staticmethod
    def fused_seed(loss, readout, rate_regularizer=None):
        """The seed the loop computes for ``loss`` (``SEED_ERROR``, ``SEED_SOFTMAX``), or None (two phases).

        Examples
        --------
        >>> CompiledEngine.fused_seed("root_sse", "per_step"), CompiledEngine.fused_seed("mse", "max")
        (1, None)
        """
        if rate_regularizer is not None:
            return None
        fn = get_loss(loss)
        if readout == "per_step" and fn in (_losses.sse, _losses.mse, _losses.root_sse):
            return SEED_ERROR
        if readout == "max" and fn is _losses.cross_entropy:
            return SEED_SOFTMAX
        return None

    def loss_and_grads(self, weights, inputs, targets, mask=None, *, readout="max", loss="cross_entropy",
                       surrogate="fast_sigmoid", rate_regularizer=None, params=None, dtype=None):
        """One training step: outputs, numpy's loss, and the gradients (fused where the loss allows).

        Returns
        -------
        dict
            ``loss`` (task loss + penalty), ``task_loss``, ``penalty``,
            ``grads`` (float64, trainable parameters included), ``outputs``,
            ``count`` (spikes per trial and neuron) and ``path`` (``'fused'``
            or ``'two-phase'``).
        """
        fn = get_loss(loss)
        seed = self.fused_seed(fn, readout, rate_regularizer)
        if rate_regularizer is not None and not self.model.spiking:
            raise BrianModesError(f"model {self.model.name!r} has no spikes: a rate regularizer does not apply")
        if seed is None:
            fwd = self.forward(weights, inputs, readout=readout, params=params, train=True, dtype=dtype)
            if fwd["dims"]["T"] < 2:
                raise BrianModesError("training needs trials of at least 2 time steps")
            task_loss, gy = fn(fwd["y"], targets, mask)
            penalty, ds = 0.0, None
            if rate_regularizer is not None:
                penalty, ds = rate_regularizer(fwd["count"], fwd["dims"]["T"], self.dt)
            grads = self.backward(fwd, gy, surrogate, ds)
            return {"loss": task_loss + penalty, "task_loss": task_loss, "penalty": penalty, "grads": grads,
                    "outputs": fwd["y"], "count": fwd["count"], "path": "two-phase"}
        x, w = self._inputs(weights, inputs, readout, dtype)
        a, dims, values = self._arrays(x, w, readout, params)
        if dims["T"] < 2:
            raise BrianModesError("training needs trials of at least 2 time steps")
        self._loss_inputs(a, dims, seed, targets, mask, w["dtype"])
        sur = self._surrogate(surrogate)
        self._call(a, dims, do_fwd=True, do_bwd=True, tape_mode=TAPE_LOCAL, seed=seed, surrogate=sur)
        task_loss, gy = fn(a["y"], targets, mask)
        scale = _error_scale(fn, task_loss, a["y"].shape, mask) if seed == SEED_ERROR else \
            _seed_scale(np.asarray(gy, np.float64), a["gy"].astype(np.float64), w["dtype"])
        if scale is None:  # numpy's gradient is not a multiple of the seed: the backward pass with it
            b = {k: v for k, v in a.items() if k not in ("g64", "gr", "target", "tmask", "labels")}
            b["gy"] = np.ascontiguousarray(gy, dtype=w["dtype"])
            self._call(b, dims, do_fwd=True, do_bwd=True, tape_mode=TAPE_LOCAL, surrogate=sur)
            a, scale = b, 1.0
        grads = self._gradients(a, dims, values, scale)
        return {"loss": task_loss, "task_loss": task_loss, "penalty": 0.0, "grads": grads, "outputs": a["y"],
                "count": self._count(a, dims), "path": "fused"}

    @staticmethod
    def _loss_inputs(a, dims, seed, targets, mask, dtype):
        a["gy"] = np.empty_like(a["y"])
        if seed == SEED_ERROR:
            shape = a["y"].shape
            try:
                a["target"] = np.ascontiguousarray(np.broadcast_to(np.asarray(targets, dtype), shape))
                if mask is not None:
                    a["tmask"] = np.ascontiguousarray(np.broadcast_to(np.asarray(mask, dtype), shape))
            except ValueError:
                raise BrianModesError(f"targets and mask must have the outputs' shape {shape} (or broadcast to it); "
                                      f"got {np.shape(targets)} and {np.shape(mask)}") from None
            return
        labels = np.asarray(targets)
        if labels.shape != (dims["B"],) or not np.issubdtype(labels.dtype, np.integer):
            raise BrianModesError(f"labels must be {dims['B']} integers, got {labels.dtype} {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= dims["K"]):
            raise BrianModesError(f"labels must lie in 0..{dims['K'] - 1}, got {labels.min()}..{labels.max()}")
        a["labels"] = np.ascontiguousarray(labels, dtype=np.int64)
