"""Choosing the engine: ``engine='auto' | 'numpy' | 'compiled'``, and the fused training step.

- :func:`compiled_available`: whether this machine builds the compiled loop
  (a small probe library, built once and cached like any other);
- :func:`engine_for`: the compiled engine of a model when it builds, else the
  numpy :class:`~brianmodes.neurons.Engine` with **one** warning per process
  (``'auto'``); ``'numpy'`` always the reference; ``'compiled'`` raises
  :class:`~brianmodes.BrianModesError` with the compiler's first error line;
- :func:`engine_step`: :func:`brianmodes.train.bptt.engine_step` with the
  fused path of :meth:`CompiledEngine.loss_and_grads` when the engine is
  compiled (the same :class:`~brianmodes.train.bptt.StepResult`).

Engines are kept per model object, dt and thread count, so that a trainer
calling :func:`engine_for` every step reuses one engine (and its tape buffer).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np

from ..checks import choice
from ..analysis.stats import mean_rate
from ..errors import BrianModesError
from .compiled import CompiledEngine
from .compiled_build import load_library
from .engine import Engine

ENGINES = ("auto", "numpy", "compiled")
_PROBE = """int bm_run_f32(void **p, const long long *i, const double *d) { (void)p; (void)i; (void)d; return 0; }
int bm_run_f64(void **p, const long long *i, const double *d) { (void)p; (void)i; (void)d; return 0; }
int bm_openmp(void) { return 0; }
int bm_max_threads(void) { return 1; }
"""
_STATE = {"available": None, "warned": False, "reason": None}
_ENGINES = OrderedDict()  # (id(model), dt, threads, backward) -> (model, engine)
_KEEP = 16


class CompiledFallbackWarning(RuntimeWarning):
    """The compiled engine could not be built; the numpy engine runs instead (said once per process)."""


def compiled_available():
    """Whether the compiled engine can be built here (memoised for the process).

    Examples
    --------
    >>> isinstance(compiled_available(), bool)  # doctest: +SKIP
    True
    """
    if _STATE["available"] is None:
        try:
            load_library(_PROBE, "the probe library")
            _STATE["available"] = True
        except BrianModesError as err:
            _STATE["available"], _STATE["reason"] = False, str(err)
    return _STATE["available"]


def _check_engine(engine):
    choice(engine, "engine", ENGINES)


def engine_for(model, dt, engine="auto", *, threads=None, backward="recompute"):
    """The engine that runs ``model`` at time step ``dt``.

    Parameters
    ----------
    model : NeuronModel
    dt : float
        Time step in seconds.
    engine : {'auto', 'numpy', 'compiled'}
        ``'auto'``: the compiled engine when it builds, else numpy (one
        :class:`CompiledFallbackWarning` per process); ``'numpy'``: the
        reference; ``'compiled'``: the compiled engine or a
        :class:`~brianmodes.BrianModesError`.
    threads : int, optional
        OpenMP threads of the compiled engine (default: OpenMP's count).
    backward : {'recompute', 'tape'}
        How the compiled engine's two-phase backward pass gets the forward
        values (see :class:`CompiledEngine`).

    Returns
    -------
    Engine or CompiledEngine

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> type(engine_for(lif("double"), 2e-3, engine="numpy")).__name__
    'Engine'
    >>> engine_for(lif("double"), 2e-3, engine="gpu")
    Traceback (most recent call last):
    ...
    brianmodes.errors.BrianModesError: engine must be one of auto, numpy, compiled, got 'gpu'
    """
    _check_engine(engine)
    if engine == "numpy":
        return Engine(model, dt)
    key = (id(model), float(dt), threads, backward)
    if key in _ENGINES:
        _ENGINES.move_to_end(key)
        return _ENGINES[key][1]
    try:
        compiled = CompiledEngine(model, dt, threads=threads, backward=backward)
    except BrianModesError as err:
        if engine == "compiled":
            raise
        _fallback_warning(err)
        return Engine(model, dt)
    _ENGINES[key] = (model, compiled)  # the model is held: its id stays its own
    while len(_ENGINES) > _KEEP:
        _ENGINES.popitem(last=False)
    return compiled


def _fallback_warning(err):
    if not _STATE["warned"]:
        _STATE["warned"] = True
        warnings.warn(f"the compiled engine is not available ({err}); running the numpy engine instead "
                      "(engine='numpy' says so without this warning)", CompiledFallbackWarning, stacklevel=3)


def reset_for_tests():
    """Forget the memoised availability, the warning already given and the kept engines."""
    _STATE.update(available=None, warned=False, reason=None)
    _ENGINES.clear()


def engine_step(net, inputs, targets, mask=None, *, engine, params, loss="cross_entropy", surrogate="fast_sigmoid",
                rate_regularizer=None, dtype=np.float32, smooth=False):
    """One training step on ``engine``: :func:`brianmodes.train.bptt.engine_step`, fused when compiled.

    A smooth spike function (``smooth=True``, gradient checks) and the numpy
    engine take the reference path; gradients are by parameter name. Inputs
    given as bool or uint8 (0/1 spikes) reach the compiled loop as bytes.

    Returns
    -------
    StepResult
    """
    from ..simulate import check_dtype, check_inputs, engine_params
    from ..train.bptt import StepResult, engine_step as numpy_step

    if not isinstance(engine, CompiledEngine) or smooth:
        return numpy_step(net, inputs, targets, mask, engine=engine, params=params, loss=loss, surrogate=surrogate,
                          rate_regularizer=rate_regularizer, dtype=dtype, smooth=smooth)
    raw, want = np.asarray(inputs), check_dtype(dtype)
    if raw.ndim == 3 and raw.shape[2] == net.N_in and min(raw.shape) >= 1 and raw.flags.c_contiguous and \
            raw.dtype in (np.bool_, np.uint8, want):
        # already in the loop's layout: no copy and no pass over it here (0/1 spikes may stay bytes, a quarter
        # of the memory); the loop's scan of the inputs refuses NaN and inf
        x = raw
    else:
        from ..threads import blas_limit

        with blas_limit(1):  # its finiteness check is a BLAS dot: woken OpenBLAS threads would spin beside the loop
            x = check_inputs(net, inputs, check_dtype(dtype))
    if x.shape[0] < 2:
        raise BrianModesError("training needs trials of at least 2 time steps")
    if params is None and engine.model is getattr(net, "engine_model", None):
        params = net.neuron_values()
    if not engine.model.spiking:
        rate_regularizer = None  # as the numpy step: a rate model has no spikes to penalise
    compute = check_dtype(dtype) if x.dtype.kind != "f" else x.dtype
    step = engine.loss_and_grads(engine_params(net, compute), x, targets, mask, readout=net.readout, loss=loss,
                                 surrogate=surrogate, rate_regularizer=rate_regularizer, params=params, dtype=compute)
    rate = None
    if engine.model.spiking:
        T, B = x.shape[:2]
        rate = mean_rate(step["count"], T, net.dt)
    return StepResult(loss=step["loss"], task_loss=step["task_loss"], grads=step["grads"], outputs=step["outputs"],
                      rate_hz=rate, penalty=step["penalty"])
