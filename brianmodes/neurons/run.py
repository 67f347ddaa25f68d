"""A :class:`~brianmodes.ModeNetwork` on the derived engine: simulate, loss and gradients.

The same signatures as :func:`brianmodes.simulate.simulate` and
:func:`brianmodes.train.bptt.loss_and_grads`, with a ``model`` (the network's
own by default, :func:`~brianmodes.neurons.from_network`) and ``params``
(values of the model's parameters, e.g. trained per-neuron time constants).
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from ..simulate import SimulationResult, check_inputs
from ..train.bptt import StepResult
from ..train.losses import get_loss
from ..train.surrogates import get_surrogate
from .builtins import from_network, get_model
from .engine import Engine


def engine_for(net, model=None):
    """The :class:`Engine` of a network: its own model, or ``model`` (a NeuronModel or a built-in name).

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=5, P=1, N_in=2, N_out=1, discretization="published")
    >>> engine_for(net).model.name, engine_for(net, "tanh").model.name
    ('published-lif-double', 'tanh')
    """
    model = from_network(net) if model is None else get_model(model)
    return Engine(model, net.dt)


def _dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise BrianModesError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def simulate(net, inputs, record=("s", "r"), dtype=np.float32, *, model=None, params=None):
    """Simulate a network on a batch of trials with the derived engine.

    Parameters
    ----------
    net : ModeNetwork
    inputs : array (T, B, N_in) or (T, N_in)
    record : iterable of str
        The model's state variables, ``s``, ``m``, ``k``, the recurrent
        input, or single-assignment names of the program.
    dtype : float32 or float64
    model : NeuronModel or str, optional
        Default: the network's own (:func:`~brianmodes.neurons.from_network`).
    params : dict, optional
        Parameter values overriding the model's.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=30, P=2, N_in=4, N_out=1, readout="per_step", seed=0)
    >>> x = np.random.default_rng(0).normal(size=(40, 3, 4))
    >>> res = simulate(net, x, record=("s", "v"), model="adaptive_lif")
    >>> res.outputs.shape, res.spikes.shape
    ((40, 3, 1), (40, 3, 30))
    """
    dtype = _dtype(dtype)
    x = check_inputs(net, inputs, dtype)
    engine = engine_for(net, model)
    fwd = engine.forward(net.params, x, readout=net.readout, record=record, params=params)
    return SimulationResult(outputs=fwd["y"], dt=net.dt, n_steps=x.shape[0], traces=fwd["traces"],
                            spike_count=fwd["count"])


def loss_and_grads(net, inputs, targets, mask=None, *, model=None, params=None, loss="cross_entropy",
                   surrogate="fast_sigmoid", rate_regularizer=None, dtype=np.float32, smooth=False):
    """Loss on a batch and the gradients of every weight and trainable neuron parameter.

    As :func:`brianmodes.train.bptt.loss_and_grads`, on the derived engine;
    ``grads`` also holds the gradients of the model's trainable parameters
    (a per-neuron ``tau_m``: an (N,) array).

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> from brianmodes.neurons import Parameter, lif
    >>> net = ModeNetwork(N=30, P=2, N_in=5, N_out=3, seed=0)
    >>> model = lif("double").with_parameters(tau_m=Parameter(0.02, per_neuron=True, trainable=True))
    >>> x = (np.random.default_rng(0).random((20, 4, 5)) < 0.3).astype(np.float32)
    >>> step = loss_and_grads(net, x, np.array([0, 1, 2, 0]), model=model)
    >>> sorted(step.grads), step.grads["tau_m"].shape
    (['W_in', 'W_out', 'lam', 'tau_m', 'xi_in', 'xi_out'], (30,))
    """
    dtype = _dtype(dtype)
    x = check_inputs(net, inputs, dtype)
    if x.shape[0] < 2:
        raise BrianModesError("training needs trials of at least 2 time steps")
    sur = get_surrogate(surrogate)
    engine = engine_for(net, model)
    spike_fn = sur.primitive if smooth else None
    fwd = engine.forward(net.params, x, readout=net.readout, params=params, spike_fn=spike_fn, train=True)
    task_loss, gy = get_loss(loss)(fwd["y"], targets, mask)
    penalty, ds, rate = 0.0, None, None
    if engine.model.spiking:
        T, B = x.shape[:2]
        count = fwd["s_sum"] if smooth else fwd["count"]
        rate = float(count.sum() / (B * net.N * T * net.dt))
        if rate_regularizer is not None:
            penalty, ds = rate_regularizer(count, T, net.dt)
    elif rate_regularizer is not None:
        raise BrianModesError(f"model {engine.model.name!r} has no spikes: a rate regularizer does not apply")
    grads = engine.backward(fwd, gy, sur, ds)
    return StepResult(loss=task_loss + penalty, task_loss=task_loss, grads=grads, outputs=fwd["y"],
                      rate_hz=rate, penalty=penalty)


__all__ = ["simulate", "loss_and_grads", "engine_for"]
