"""Backpropagation through time: the derived adjoint of the network's neuron model.

The forward pass is :func:`brianmodes.simulate.forward` with what the
backward pass needs kept; the backward pass runs the adjoint step that
:mod:`brianmodes.neurons` derives from the model (reverse-mode symbolic
differentiation of the per-step update, the threshold's derivative replaced
by a surrogate), from the last step back to the first. The recurrence's
transpose ``W^T g`` is computed in mode space; the gradients of W_in, the
modes and W_out are large matrix products over all (T*B) rows after the loop;
a trainable neuron parameter gets the sum over steps and trials of its
constants' adjoints. The refractory mask is a constant of the forward pass
and carries no gradient; the reset carries it through ``(1 - s)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.stats import mean_rate, rates_from_counts
from ..errors import BrianModesError
from .losses import get_loss
from .surrogates import get_surrogate


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
        rate = rates_from_counts(count, n_steps, dt)
        dev = (rate - self.target_hz) / self.target_hz
        value = self.strength * float(np.mean(dev * dev))
        grad = self.strength * 2.0 * dev / self.target_hz / N / (B * n_steps * dt)
        return value, grad


@dataclass
class StepResult:
    """Outcome of :func:`loss_and_grads`."""

    loss: float
    task_loss: float
    grads: dict
    outputs: np.ndarray
    rate_hz: float | None
    penalty: float = 0.0


def backward(net, fwd, gy, surrogate="fast_sigmoid", ds=None):
    """Gradients of the network's arrays given dL/d(outputs) ``gy``.

    Parameters
    ----------
    net : ModeNetwork
    fwd : dict
        :func:`brianmodes.simulate.forward` run with ``train=True``.
    gy : ndarray
        dL/d outputs, ``(B, N_out)`` (max readout) or ``(T, B, N_out)``.
    surrogate : str or Surrogate
    ds : ndarray (N,), optional
        A direct gradient on every spike (firing-rate penalty).

    Returns
    -------
    dict of float64 arrays, one per array of ``net.params``.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> from brianmodes.simulate import forward
    >>> net = ModeNetwork(N=20, P=2, N_in=3, N_out=1, readout="per_step", seed=0)
    >>> fwd = forward(net, np.ones((10, 2, 3), np.float32), train=True)
    >>> sorted(backward(net, fwd, np.ones_like(fwd["y"])))
    ['W_in', 'W_out', 'lam', 'xi_in', 'xi_out']
    """
    from ..neurons.run import engine_for

    engine = engine_for(net, engine=fwd.get("engine", "numpy"))  # the engine that ran the forward pass
    return net.array_gradients(engine.backward(fwd, gy, get_surrogate(surrogate), ds))


def engine_step(net, inputs, targets, mask=None, *, engine, params, loss="cross_entropy",
                surrogate="fast_sigmoid", rate_regularizer=None, dtype=np.float32, smooth=False):
    """:func:`loss_and_grads` on a given engine and parameter values; gradients by parameter name."""
    from ..simulate import check_dtype, check_inputs, run

    x = check_inputs(net, inputs, check_dtype(dtype))
    if x.shape[0] < 2:
        raise BrianModesError("training needs trials of at least 2 time steps")
    sur = get_surrogate(surrogate)
    fwd = run(net, x, engine=engine, params=params, spike_fn=sur.primitive if smooth else None, train=True)
    task_loss, gy = get_loss(loss)(fwd["y"], targets, mask)
    penalty, ds, rate = 0.0, None, None
    if engine.model.spiking:
        T, B = x.shape[:2]
        # smooth spikes (gradient checks) count through the spike values themselves
        count = fwd["s_sum"] if smooth else fwd["count"]
        rate = mean_rate(count, T, net.dt)
        if rate_regularizer is not None:
            penalty, ds = rate_regularizer(count, T, net.dt)
    grads = engine.backward(fwd, gy, sur, ds)
    return StepResult(loss=task_loss + penalty, task_loss=task_loss, grads=grads, outputs=fwd["y"],
                      rate_hz=rate, penalty=penalty)


def loss_and_grads(net, inputs, targets, mask=None, *, loss="cross_entropy",
                   surrogate="fast_sigmoid", rate_regularizer=None, dtype=np.float32,
                   smooth=False, engine="auto"):
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
        Ignored for a rate (non-spiking) model.
    dtype : float32 or float64
    smooth : bool
        Use the surrogate's primitive as the spike function, so that the
        returned gradient is the exact gradient of the returned loss (tests;
        always on the numpy engine).
    engine : {'auto', 'numpy', 'compiled'}
        ``'auto'`` (default): the fused compiled step when it builds here,
        else the numpy engine with one warning; ``'numpy'``: the reference;
        ``'compiled'``: fail loudly if it cannot build. See
        :func:`brianmodes.neurons.run.engine_for`.

    Returns
    -------
    StepResult
        ``grads`` has one float64 array per array of ``net.params``: the
        weights and the model's trainable parameters in their
        parametrization (``log_tau_m`` for a trainable ``tau_m``).

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
    from ..neurons.compiled_run import engine_step as fused_or_numpy_step
    from ..neurons.run import engine_for

    engine = engine_for(net, engine="numpy" if smooth else engine)
    if not engine.model.spiking:
        rate_regularizer = None
    step = fused_or_numpy_step(net, inputs, targets, mask, engine=engine, params=net.neuron_values(), loss=loss,
                       surrogate=surrogate, rate_regularizer=rate_regularizer, dtype=dtype, smooth=smooth)
    step.grads = net.array_gradients(step.grads)
    return step
