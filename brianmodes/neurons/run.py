"""A :class:`~brianmodes.ModeNetwork` on the derived engine with another model or parameter values.

The same signatures as :func:`brianmodes.simulate.simulate` and
:func:`brianmodes.train.bptt.loss_and_grads` (which run the network's own
model), with a ``model`` (a NeuronModel or a built-in name; default: the
network's own) and ``params`` (values of the model's parameters, e.g.
per-neuron time constants). Gradients are by parameter name (``tau_m``), not
by the network's arrays (``log_tau_m``).
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .builtins import get_model


def engine_for(net, model=None, engine="auto"):
    """The engine that runs a network: its own model, or ``model`` (a NeuronModel or a built-in name).

    Parameters
    ----------
    net : ModeNetwork
    model : NeuronModel or str, optional
    engine : {'auto', 'numpy', 'compiled'}
        ``'auto'`` (the default everywhere): the compiled engine when it
        builds here, else the numpy :class:`Engine` with one
        :class:`~brianmodes.neurons.compiled_run.CompiledFallbackWarning` per
        process; ``'numpy'``: the reference; ``'compiled'``: the compiled
        engine or a :class:`~brianmodes.BrianModesError`. An engine object is
        returned as it is.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=5, P=1, N_in=2, N_out=1, discretization="published")
    >>> engine_for(net, engine="numpy").model.name, engine_for(net, "tanh", engine="numpy").model.name
    ('published-lif-double', 'tanh')
    """
    if not isinstance(engine, str):
        return engine
    from .compiled_run import engine_for as choose

    return choose(net.engine_model if model is None else get_model(model), net.dt, engine)


def _params(net, engine, params):
    """The network's trained values when it runs its own model and no values are given."""
    if params is None and engine.model is net.engine_model:
        return net.neuron_values()
    return params


def simulate(net, inputs, record=("s", "r"), dtype=np.float32, *, model=None, params=None, engine="auto"):
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
    engine : {'auto', 'numpy', 'compiled'}
        See :func:`engine_for`.

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
    from ..simulate import SimulationResult, check_dtype, check_inputs

    dtype = check_dtype(dtype)
    x = check_inputs(net, inputs, dtype)
    engine = engine_for(net, model, engine)
    fwd = engine.forward(net.params, x, readout=net.readout, record=record, params=_params(net, engine, params))
    return SimulationResult(outputs=fwd["y"], dt=net.dt, n_steps=x.shape[0], traces=fwd["traces"],
                            spike_count=fwd["count"])


def loss_and_grads(net, inputs, targets, mask=None, *, model=None, params=None, loss="cross_entropy",
                   surrogate="fast_sigmoid", rate_regularizer=None, dtype=np.float32, smooth=False, engine="auto"):
    """Loss on a batch and the gradients of every weight and trainable neuron parameter.

    As :func:`brianmodes.train.bptt.loss_and_grads`, with another ``model``
    or parameter values; ``grads`` holds the gradients of the model's
    trainable parameters by name (a per-neuron ``tau_m``: an (N,) array).

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
    from .compiled_run import engine_step

    engine = engine_for(net, model, engine)
    if not engine.model.spiking and rate_regularizer is not None:
        raise BrianModesError(f"model {engine.model.name!r} has no spikes: a rate regularizer does not apply")
    return engine_step(net, inputs, targets, mask, engine=engine, params=_params(net, engine, params), loss=loss,
                       surrogate=surrogate, rate_regularizer=rate_regularizer, dtype=dtype, smooth=smooth)


__all__ = ["simulate", "loss_and_grads", "engine_for"]
