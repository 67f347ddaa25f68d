"""The mini-batch training loop: progress bar, history, checkpoints, resume."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from ..checks import choice, number, positive_int
from ..errors import BrianModesError
from ..estimator import Estimator
from ..io import SCHEMA_VERSION, read_npz_checked, write_npz_atomic, write_text_atomic
from ..network import ModeNetwork
from ..threads import blas_threads
from .brian2_forward import Brian2Forward, brian2_device
from .bptt import RateRegularizer, loss_and_grads
from .optim import Adam, clip_by_global_norm
from .surrogates import get_surrogate

CHECKPOINT_SCHEMA = "brianmodes.checkpoint"
#: Columns of ``history_`` and history.csv, in this order (evaluation columns follow, sorted).
HISTORY_COLUMNS = ("batch", "loss", "task_loss", "grad_norm", "rate_hz", "seconds")


class Trainer(Estimator):
    """Train a network on a task with surrogate-gradient BPTT and Adam.

    Parameters
    ----------
    n_batches : int
        Training budget in mini-batches.
    batch_size : int, optional
        Trials per batch (default: the task's, 256 for MNIST).
    lr : float
        Adam learning rate (published: 1e-3).
    clip_norm : float or None
        Gradient-norm clipping (published: 20).
    surrogate : str
        ``fast_sigmoid`` (published, slope 25), ``sigmoid`` or ``triangle``.
    surrogate_slope : float, optional
    loss : str, optional
        Default: the task's (cross-entropy; root of summed squared error for
        the context task).
    rate_regularizer : RateRegularizer or (strength, target_hz), optional
    seed : int
        Seeds the batches: the same seed, network and task give the same run.
    dtype : 'float32' or 'float64'
    eval_every : int, optional
        Evaluate on ``eval_trials`` held-out trials every so many batches.
    eval_trials : int, optional
    checkpoint : path, optional
        File for periodic atomic checkpoints; ``fit(..., resume=True)``
        continues from it.
    checkpoint_every : int
    progress : bool
        Show a tqdm progress bar.
    frozen : iterable of str, or dict
        Arrays left as they are (e.g. ``("W_out",)`` to fit activity through
        a fixed readout), or a dict from array name to a boolean mask of the
        entries left as they are (``{"W_out": rows}``; ``None`` for all).
    engine : {'auto', 'numpy', 'compiled'}
        What runs each step and each evaluation: ``'auto'`` (default) the
        compiled engine when it builds here, else the numpy engine with one
        warning; ``'numpy'`` the reference; ``'compiled'`` fails loudly if it
        cannot build (see :func:`brianmodes.neurons.run.engine_for`). Both
        give the same spikes; float32 sums differ by rounding.
    forward : {'engine', 'brian2', 'brian2:cpp_standalone', 'brian2:cython', 'brian2:numpy'}
        Where each batch's forward pass runs. ``'engine'`` (default): the
        ``engine``. ``'brian2'`` (fidelity mode,
        :mod:`brianmodes.train.brian2_forward`): in a Brian2 circuit of
        ``batch_size`` copies of the network, built once (``'brian2'`` is a
        C++ standalone program, the fastest for repeated runs; ``:cython``
        and ``:numpy`` use Brian2's runtime device with that target), which
        records what the adjoint reads; the adjoint runs on the numpy engine
        and the new parameters are written back into the Brian2 objects after
        each optimizer step. Needs ``dtype='float64'`` and a continuous
        spiking model (not the published update); evaluation still runs on
        ``engine``. The parameters equal those of ``forward='engine'``,
        ``engine='numpy'`` to rounding.

    Attributes
    ----------
    history_ : list of dict
        One row per batch: ``batch, loss, task_loss, grad_norm, rate_hz,
        seconds``; evaluation rows add the task's metrics prefixed ``test_``.
    network_ : ModeNetwork
        The trained network (the one passed to :meth:`fit`, trained in place).
    resumed_from_ : int
        The batch the last :meth:`fit` resumed from (0 when it started afresh).

    Examples
    --------
    >>> from brianmodes.tasks import make_task
    >>> task = make_task("digits", n_steps=20)
    >>> net = task.make_network(N=40, P=2, seed=0)
    >>> trainer = Trainer(n_batches=3, batch_size=16, progress=False).fit(net, task)
    >>> len(trainer.history_)
    3
    """

    _brian2 = None  # the Brian2Forward of a fit with forward='brian2...'

    def __init__(self, n_batches=500, batch_size=None, lr=1e-3, clip_norm=20.0,
                 surrogate="fast_sigmoid", surrogate_slope=None, loss=None, rate_regularizer=None,
                 seed=0, dtype="float32", eval_every=None, eval_trials=None, checkpoint=None,
                 checkpoint_every=100, progress=True, frozen=(), engine="auto", forward="engine"):
        self.n_batches = n_batches
        self.batch_size = batch_size
        self.lr = lr
        self.clip_norm = clip_norm
        self.surrogate = surrogate
        self.surrogate_slope = surrogate_slope
        self.loss = loss
        self.rate_regularizer = rate_regularizer
        self.seed = seed
        self.dtype = dtype
        self.eval_every = eval_every
        self.eval_trials = eval_trials
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self.frozen = frozen
        self.engine = engine
        self.forward = forward

    def _frozen(self):
        """``frozen`` as a dict from array name to its mask (None: the whole array)."""
        return dict(self.frozen) if isinstance(self.frozen, dict) else dict.fromkeys(self.frozen)

    def settings(self):
        """The settings as a JSON-serializable dict (what checkpoints, model metadata and run folders record)."""
        params = {k: getattr(self, k) for k in (
            "n_batches", "batch_size", "lr", "clip_norm", "surrogate", "surrogate_slope", "loss",
            "seed", "dtype", "eval_every", "eval_trials", "checkpoint_every", "engine", "forward")}
        params["frozen"] = list(self._frozen())
        for key in ("loss", "surrogate"):  # callables and objects are recorded by name
            if params[key] is not None and not isinstance(params[key], str):
                params[key] = getattr(params[key], "__name__", repr(params[key]))
        reg = self._regularizer()
        params["rate_regularizer"] = None if reg is None else [reg.strength, reg.target_hz]
        params["checkpoint"] = None if self.checkpoint is None else str(self.checkpoint)
        return params

    def validate(self):
        """Check the settings; raise :class:`BrianModesError` naming the first bad one.

        :meth:`fit` calls it; call it yourself to check settings before
        preparing anything else (the command line does, before it creates
        the output folder).
        """
        positive_int(self.n_batches, "n_batches")
        positive_int(self.batch_size, "batch_size", none=True)
        number(self.lr, "lr", positive=True)
        number(self.clip_norm, "clip_norm", positive=True, none=True)
        from ..neurons.compiled_run import ENGINES

        choice(self.engine, "engine", ENGINES)
        choice(str(self.dtype), "dtype", ("float32", "float64"))
        if brian2_device(self.forward) is not None and str(self.dtype) != "float64":
            raise BrianModesError(f"forward={self.forward!r} needs dtype='float64' (Brian2 computes in float64), "
                                  f"got {self.dtype!r}")
        for name in ("eval_every", "checkpoint_every"):
            positive_int(getattr(self, name), name, none=True)
        if isinstance(self.frozen, str) or not (isinstance(self.frozen, dict) or hasattr(self.frozen, "__iter__")):
            raise BrianModesError(f"frozen must be array names or a dict from array name to mask, got {self.frozen!r}")

    def _regularizer(self):
        reg = self.rate_regularizer
        if reg is None or isinstance(reg, RateRegularizer):
            return reg
        return RateRegularizer(*reg)

    # -- checkpoints -------------------------------------------------------
    def _save_checkpoint(self, net, optimizer, rng, step):
        arrays = {f"param/{k}": v for k, v in net.params.items()}
        arrays.update(optimizer.state_arrays())
        header = {"schema": CHECKPOINT_SCHEMA, "schema_version": SCHEMA_VERSION, "step": step,
                  "adam_t": optimizer.t, "rng_state": rng.bit_generator.state,
                  "network": net.config(), "trainer": self.settings(), "history": self.history_,
                  "bit_exactness": _bit_exactness(self.engine_used_)}
        try:
            write_npz_atomic(self.checkpoint, arrays, json.loads(json.dumps(header, default=_json_default)))
        except OSError as err:
            kept = "the previous checkpoint is kept" if Path(self.checkpoint).exists() else "no checkpoint is kept"
            raise BrianModesError(f"cannot write the checkpoint {self.checkpoint} at batch {step} "
                                  f"({err.strerror or err}); {kept}") from None

    def _load_checkpoint(self, net, optimizer, rng):
        header, arrays = read_npz_checked(self.checkpoint, schema=CHECKPOINT_SCHEMA)
        _check_checkpoint_header(header, self.checkpoint)
        params = {k.split("/", 1)[1]: a for k, a in arrays.items() if k.startswith("param/")}
        if _network_config(header["network"], params) != net.config():
            raise BrianModesError(f"checkpoint {self.checkpoint} is of a different network "
                                  f"({header['network']}); resume with the network it was made for")
        net.params = ModeNetwork(**net.config(), params=params).params
        optimizer.load_state(header["adam_t"], arrays)
        try:
            rng.bit_generator.state = header["rng_state"]
        except (TypeError, ValueError, KeyError):
            raise BrianModesError(f"checkpoint {self.checkpoint} holds no valid random-generator state; "
                                  "train again without --resume") from None
        self.history_ = header["history"]
        _warn_if_not_bit_exact(header.get("bit_exactness"), self.checkpoint, self.engine_used_)
        return int(header["step"])

    # -- the loop ------------------------------------------------------------
    def fit(self, net, task, resume=False):
        """Train ``net`` on ``task`` in place; return ``self``.

        Parameters
        ----------
        net : ModeNetwork
        task : Task
        resume : bool
            Continue from ``checkpoint`` if that file exists.

        Raises
        ------
        BrianModesError
            On bad settings, a network that does not fit the task, or a
            non-finite loss (the parameters keep their last good values and
            the last checkpoint is left as it was).
        """
        self.validate()
        task.check_network(net)
        unknown = set(self._frozen()) - set(net.params)
        if unknown:
            raise BrianModesError(f"cannot freeze {', '.join(sorted(unknown))}: the network's arrays are "
                                  f"{', '.join(net.params)}")
        for name, entries in self._frozen().items():
            if entries is not None and np.shape(entries) != net.params[name].shape:
                raise BrianModesError(f"the frozen mask of {name} has shape {np.shape(entries)}, the array "
                                      f"{net.params[name].shape}")
        dtype = np.dtype(str(self.dtype))
        batch_size = int(self.batch_size or task.default_batch_size)
        surrogate = get_surrogate(self.surrogate, self.surrogate_slope)
        loss = self.loss or task.loss
        regularizer = self._regularizer()
        optimizer = Adam(lr=self.lr)
        rng = np.random.default_rng(self.seed)
        self.engine_used_ = _engine_kind(net, self.engine)
        self._brian2 = None
        device = brian2_device(self.forward)
        if device is not None:  # built at the first batch, from the parameters it starts with
            self._brian2 = Brian2Forward(net, device=device, input_kind=task.input_kind)
        self.history_ = []
        self.network_ = net
        start = 0
        if resume and self.checkpoint is not None and Path(self.checkpoint).exists():
            start = self._load_checkpoint(net, optimizer, rng)
        self.resumed_from_ = start
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.n_batches, initial=start, desc=f"train {task.name}", unit="batch")
        t0 = time.perf_counter() - (self.history_[-1]["seconds"] if self.history_ else 0.0)
        step = start
        try:
            with _stop_at_the_end_of_a_batch_on_ctrl_c() as stop:
                for step in range(start + 1, self.n_batches + 1):
                    self._train_one_batch(net, task, step, rng, batch_size, loss, surrogate, regularizer,
                                          optimizer, dtype, t0, bar)
                    if stop.requested:
                        break
            if stop.requested:
                just_written = step % self.checkpoint_every == 0 or step == self.n_batches
                if self.checkpoint is not None and not just_written:
                    self._save_checkpoint(net, optimizer, rng, step)
                raise KeyboardInterrupt(f"training interrupted after batch {step}")
        finally:
            if bar is not None:
                bar.close()
            if self._brian2 is not None:
                self._brian2.close()
                self._brian2 = None
        return self

    def _train_one_batch(self, net, task, step, rng, batch_size, loss, surrogate, regularizer, optimizer,
                         dtype, t0, bar):
        """One mini-batch: gradients, a step of Adam, a history row, a checkpoint when due."""
        batch = task.sample(batch_size, rng)
        if self._brian2 is not None:  # the forward pass in Brian2, the adjoint in numpy
            result = self._brian2.loss_and_grads(net, batch.inputs, batch.targets, batch.mask, loss=loss,
                                                 surrogate=surrogate, rate_regularizer=regularizer)
        else:
            result = loss_and_grads(net, batch.inputs, batch.targets, batch.mask, loss=loss, surrogate=surrogate,
                                    rate_regularizer=regularizer, dtype=dtype, engine=self.engine_used_)
        for name, entries in self._frozen().items():
            if entries is None:
                del result.grads[name]
            else:  # Adam leaves entries whose gradients are always 0 as they are
                result.grads[name][entries] = 0.0
        norm = clip_by_global_norm(result.grads, self.clip_norm)
        if not (math.isfinite(result.loss) and math.isfinite(norm)):
            where = self._what_checkpoint_is_kept()
            raise BrianModesError(
                f"training diverged at batch {step}: loss {result.loss}, gradient norm {norm}; "
                f"the parameters keep their last good values{where}; try a lower learning rate "
                "or stronger clipping")
        optimizer.step(net.params, result.grads)
        if self._brian2 is not None:  # the new weights into the Brian2 synapses
            self._brian2.set_parameters(net)
        row = {"batch": step, "loss": result.loss, "task_loss": result.task_loss,
               "grad_norm": norm, "rate_hz": result.rate_hz,
               "seconds": time.perf_counter() - t0}
        if self.eval_every and (step % self.eval_every == 0 or step == self.n_batches):
            metrics = task.evaluate(net, n_trials=self.eval_trials, dtype=dtype, runner=self.engine_used_)
            row.update({f"test_{k}": v for k, v in metrics.items()})
        self.history_.append(row)
        if bar is not None:
            post = {"loss": f"{result.loss:.3f}"}
            key = f"test_{task.main_metric}"
            last = next((r[key] for r in reversed(self.history_) if key in r), None)
            if last is not None:
                post[task.main_metric] = f"{last:.3f}"
            bar.set_postfix(post, refresh=False)
            bar.update(1)
        if self.checkpoint is not None and (step % self.checkpoint_every == 0
                                            or step == self.n_batches):
            self._save_checkpoint(net, optimizer, rng, step)

    def _what_checkpoint_is_kept(self):
        if self.checkpoint is None:
            return ""
        if not Path(self.checkpoint).exists():
            return "; no checkpoint had been written yet"
        try:
            step = read_npz_checked(self.checkpoint, schema=CHECKPOINT_SCHEMA)[0]["step"]
        except BrianModesError:
            return f"; the checkpoint file {self.checkpoint} is damaged"
        return f"; the last checkpoint ({self.checkpoint}, batch {step}) is kept"


def write_history_csv(path, history):
    """Write a trainer's ``history_`` (list of dicts) as CSV, one row per batch, atomically.

    Columns: :data:`HISTORY_COLUMNS` in that order, then any others (the
    evaluation metrics) sorted by name, so a resumed run keeps the order.
    """
    present = set().union(*map(set, history)) if history else set()
    keys = [k for k in HISTORY_COLUMNS if k in present] + sorted(present - set(HISTORY_COLUMNS))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(path, text.getvalue())


def _network_config(config, params):
    """A checkpoint's network configuration as this brianmodes writes it (older ones lack
    ``refractory_timing``), or as it is when it names no network this brianmodes can build."""
    try:
        return ModeNetwork(**config, params=params).config()
    except (BrianModesError, TypeError):
        return config


def _check_checkpoint_header(header, path):
    """Types of a checkpoint header (a version-1 file's header carries no checksum of its own)."""
    expected = {"step": int, "adam_t": int, "rng_state": dict, "network": dict, "history": list}
    for key, kind in expected.items():
        if isinstance(header.get(key), bool) or not isinstance(header.get(key), kind):
            raise BrianModesError(f"checkpoint {path} is damaged ({key!r} is not a {kind.__name__}); "
                                  "train again without --resume")
    if not all(isinstance(row, dict) for row in header["history"]):
        raise BrianModesError(f"checkpoint {path} is damaged (its history is not a list of rows); "
                              "train again without --resume")


def _engine_kind(net, engine):
    """``'compiled'`` or ``'numpy'``: what ``engine`` runs for this network here."""
    from ..neurons.compiled import CompiledEngine
    from ..neurons.run import engine_for

    return "compiled" if isinstance(engine_for(net, engine=engine), CompiledEngine) else "numpy"


def _bit_exactness(engine):
    """What a float32 run's bits depend on besides its inputs: the engine, numpy and its BLAS threads."""
    from threadpoolctl import threadpool_info

    blas = sorted({f"{pool.get('internal_api')} {pool.get('version')}" for pool in threadpool_info()
                   if pool.get("user_api") == "blas"})
    return {"engine": engine, "blas_threads": blas_threads(), "blas": blas, "numpy": np.__version__}


def _warn_if_not_bit_exact(recorded, checkpoint, engine):
    if not recorded:
        return
    now = _bit_exactness(engine)
    changed = [f"{key} {recorded.get(key)} then, {now[key]} now" for key in now
               if key in recorded and recorded[key] != now[key]]
    if changed:
        hint = (f"engine={recorded['engine']!r}, " if recorded.get("engine", engine) != engine else "") + \
            f"OPENBLAS_NUM_THREADS={recorded.get('blas_threads')} (or OMP_NUM_THREADS)"
        warnings.warn(f"resuming from {checkpoint} under other conditions ({'; '.join(changed)}): the run will "
                      "not be bit-identical to an uninterrupted one (float32 sums depend on the engine and "
                      f"on the BLAS thread count); for that, use {hint} as it was", UserWarning, stacklevel=3)


@contextlib.contextmanager
def _stop_at_the_end_of_a_batch_on_ctrl_c():
    """First Ctrl-C (SIGINT): finish the current batch, then stop; a second one stops at once.

    Only in the main thread (where Python delivers signals); elsewhere it changes nothing.
    """
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


class _StopRequest:
    requested = False


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON-serializable: {type(obj).__name__}")
