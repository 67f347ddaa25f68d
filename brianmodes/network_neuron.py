"""The neuron of a network: the settings of a built-in model, or a NeuronModel, and its trained arrays.

A :class:`~brianmodes.ModeNetwork` runs one :class:`~brianmodes.neurons.NeuronModel`.
It is given either by name with the settings of the built-ins (``neuron='lif'``,
``filter``, ``discretization``, ``refractory_timing`` and the published constants;
see :func:`brianmodes.neurons.network_model`) or as a model (a
:class:`~brianmodes.neurons.NeuronModel`, or its JSON description from a file).

A model's **trainable** parameters live beside the weights, as arrays of the
network (``net.params``), so that the trainer treats them like weights. A bound
is kept by the parametrization of the array
(:data:`~brianmodes.neurons.parameters.BOUND_PARAMETRIZATIONS`): a positive
``tau_m`` is trained as ``log_tau_m`` (``tau_m = exp(log_tau_m)``), a
non-negative one as ``sqrt_<name>``, an unbounded one under its own name;
shape ``(N,)`` per neuron, ``()`` shared.
"""

from __future__ import annotations

import math

import numpy as np

from .checks import choice, fail, real
from .errors import BrianModesError

#: Built-in neuron models by name (:func:`brianmodes.neurons.network_model`).
NEURONS = ("lif", "tanh", "adaptive_lif", "published_lif")
#: Spike-train filters. ``double`` is the classification models' filter
#: (h += dt/(tau_d tau_r) s; r += dt h), ``double-ema`` the context-task
#: models' filter (two exponential moving averages: h = a_r h + s;
#: r = a_d r + (1 - a_d) h), ``single`` a one-exponential filter.
FILTERS = ("single", "double", "double-ema")
FILTER_ALIASES = {"double-classification": "double", "double-context": "double-ema", "exponential": "single"}
#: Discrete-time updates of the built-in LIF: ``published`` (SPEC 1.1, the
#: authors' code) and ``brian2`` (the continuous-time equations integrated as
#: Brian2 integrates them: what Brian2 simulates spike for spike).
DISCRETIZATIONS = ("published", "brian2")
#: Refractory clocks of the published update: exact steps, or the authors' float32 clock (SPEC 1.4).
REFRACTORY_TIMINGS = ("steps", "float32")
#: Published neuron constants (SPEC 1), in seconds / dimensionless.
DEFAULT_CONSTANTS = {"dt": 2e-3, "tau_s": 10e-3, "tau_m": 20e-3, "tau_d": 30e-3, "tau_r": 2e-3, "v_th": 1.0,
                     "t_ref": 10e-3}
TIME_CONSTANTS = ("dt", "tau_s", "tau_m", "tau_d", "tau_r", "t_ref")
#: The settings of a network built by name, in the order of its configuration.
SETTINGS = ("neuron", "filter", "discretization", "refractory_timing")


def _check_constants(c):
    for name in TIME_CONSTANTS:
        value = c[name]
        positive = value > 0 if name != "t_ref" else value >= 0
        if not math.isfinite(value) or not positive:
            raise BrianModesError(
                f"{name} must be a finite {'positive' if name != 't_ref' else 'non-negative'} "
                f"time, got {value!r} s")
    if not math.isfinite(c["v_th"]) or c["v_th"] <= 0:
        raise BrianModesError(f"v_th must be a positive finite number (reset is 0), got {c['v_th']!r}")
    steps = c["t_ref"] / c["dt"]
    if abs(steps - round(steps)) > 1e-6:
        raise BrianModesError(
            f"t_ref ({c['t_ref'] * 1e3:g} ms) must be a whole number of time steps "
            f"(dt = {c['dt'] * 1e3:g} ms)")


def _is_model(neuron):
    if isinstance(neuron, str):
        return False
    from .neurons import NeuronModel

    return isinstance(neuron, (NeuronModel, dict))


class NetworkNeuron:
    """The neuron model of a network and how its trainable parameters are stored.

    Parameters
    ----------
    neuron : str, NeuronModel or dict
        A built-in name (:data:`NEURONS`), a model, or a model's JSON description.
    filter, discretization, refractory_timing : str or None
        Settings of a built-in given by name (None: the default).
    constants : dict
        ``dt`` and, for a built-in given by name, the published constants.
    params : dict, optional
        The network's arrays, from which a description's trainable values are read.

    Examples
    --------
    >>> neuron = NetworkNeuron("lif", "single", None, None, {"tau_m": "15 ms"})
    >>> neuron.settings["filter"], neuron.constants["tau_m"], neuron.model.name
    ('single', 0.015, 'lif-single')
    """

    def __init__(self, neuron, filter, discretization, refractory_timing, constants, params=None):
        from .checks import as_seconds

        unknown = set(constants) - set(DEFAULT_CONSTANTS)
        if unknown:
            raise BrianModesError(
                f"unknown argument(s) {', '.join(sorted(unknown))}; neuron constants are "
                f"{', '.join(DEFAULT_CONSTANTS)}")
        self._model = None
        if _is_model(neuron):
            given = [name for name, value in (("filter", filter), ("discretization", discretization),
                                              ("refractory_timing", refractory_timing)) if value is not None]
            given += sorted(set(constants) - {"dt"})
            if given:
                raise BrianModesError(
                    f"{', '.join(given)} set up a built-in neuron given by name; a NeuronModel carries its own "
                    "(change them with model.with_parameters(...) or model.with_options(...))")
            self.settings, self.constants = None, {}
            self.dt = as_seconds(constants.get("dt", DEFAULT_CONSTANTS["dt"]), "dt")
            if not (math.isfinite(self.dt) and self.dt > 0):
                raise BrianModesError(f"dt must be a finite positive time, got {self.dt!r} s")
            self._model = neuron if not isinstance(neuron, dict) else self._from_description(neuron, params)
            return
        if not isinstance(neuron, str) or neuron not in NEURONS:
            fail("neuron", f"one of {', '.join(NEURONS)} or a NeuronModel", neuron)
        if neuron == "published_lif":
            if discretization not in (None, "published"):
                raise BrianModesError("neuron='published_lif' is the published discretization; "
                                      f"got discretization={discretization!r}")
            neuron, discretization = "lif", "published"
        self.settings = {"neuron": neuron, "filter": choice(filter or "double", "filter", FILTERS, FILTER_ALIASES),
                         "discretization": choice(discretization or "brian2", "discretization", DISCRETIZATIONS),
                         "refractory_timing": choice(refractory_timing or "steps", "refractory_timing",
                                                     REFRACTORY_TIMINGS)}
        merged = {**DEFAULT_CONSTANTS, **constants}
        for name in TIME_CONSTANTS:
            merged[name] = as_seconds(merged[name], name)
        merged["v_th"] = real(merged["v_th"], "v_th")
        _check_constants(merged)
        self.dt = merged.pop("dt")
        self.constants = merged
        s = self.settings
        if s["refractory_timing"] != "steps" and (s["neuron"] != "lif" or s["discretization"] != "published"):
            raise BrianModesError("refractory_timing='float32' is the authors' clock of the published update: "
                                  "it needs neuron='lif' and discretization='published'")
        if s["discretization"] == "published" and s["neuron"] == "adaptive_lif":
            raise BrianModesError("the published discretization exists for neuron='lif' only, not 'adaptive_lif'")

    @staticmethod
    def _from_description(description, params):
        from .neurons import NeuronModel

        values, described = {}, description.get("parameters")
        for name, p in (described.items() if isinstance(described, dict) and params is not None else ()):
            if isinstance(p, dict) and p.get("trainable") and p.get("bound") in (None, "positive", "nonnegative"):
                array = storage_name(name, p.get("bound"))
                if array in params:
                    try:
                        stored = np.asarray(params[array], np.float64)
                    except (TypeError, ValueError):
                        raise BrianModesError(f"{array} must hold real numbers") from None
                    values[name] = parametrization(p.get("bound")).value(stored)
        return NeuronModel.from_dict(description, values)

    @property
    def model(self):
        """The base model (the values of trainable parameters are the network's arrays)."""
        if self._model is None:
            from .neurons.builtins import network_model

            self._model = network_model(**self.settings, dt=self.dt, **self.constants)
        return self._model

    def config(self):
        """The configuration entries of the neuron (JSON)."""
        if self.settings is None:
            return {"neuron": self.model.to_dict(values=False), "dt": self.dt}
        return {**self.settings, "dt": self.dt, **self.constants}

    # -- trainable parameters as arrays ------------------------------------------
    def trainable(self):
        """``(parameter, array name, parametrization)`` of each trainable parameter of a given model."""
        if self.settings is not None:
            return []
        return [(name, storage_name(name, p.bound), parametrization(p.bound))
                for name, p in self.model.parameters.items() if p.trainable]

    def array_shapes(self, N):
        """Shapes of the trainable parameters' arrays: ``(N,)`` per neuron, ``()`` shared."""
        params = self.model.parameters if self.settings is None else {}
        return {array: ((N,) if params[name].per_neuron else ()) for name, array, _ in self.trainable()}

    def initial_arrays(self, N):
        """The arrays of the trainable parameters at the model's values."""
        values = self.model.parameter_values(N) if self.settings is None else {}
        return {array: np.asarray(p.stored(values[name]), np.float64) for name, array, p in self.trainable()}

    def values(self, params):
        """The trainable parameters' values (name to float or (N,) array) from the arrays ``params``."""
        out = {}
        for name, array, p in self.trainable():
            value = p.value(params[array])
            out[name] = float(value) if np.ndim(value) == 0 else value
        return out

    def array_gradients(self, grads, params):
        """Gradients by parameter name (the engine's) turned into gradients of the arrays (chain rule)."""
        out = dict(grads)
        for name, array, p in self.trainable():
            g = np.asarray(out.pop(name), np.float64)
            out[array] = np.asarray(g * p.derivative(params[array]), np.float64).reshape(np.shape(params[array]))
        return out

    def current_model(self, params):
        """The model with the trained values of its trainable parameters."""
        trainable = self.trainable()
        if not trainable:
            return self.model
        from dataclasses import replace

        values = self.values(params)
        return self.model.with_parameters(**{name: replace(self.model.parameters[name], value=values[name])
                                             for name, _, _ in trainable})


def storage_name(name, bound):
    """The array name of a trainable parameter (``log_tau_m`` for a positive ``tau_m``)."""
    return parametrization(bound).array_name(name)


def parametrization(bound):
    """The :class:`~brianmodes.neurons.parameters.BoundParametrization` of a bound."""
    from .neurons.parameters import BOUND_PARAMETRIZATIONS

    if bound not in BOUND_PARAMETRIZATIONS:
        raise BrianModesError(f"unknown bound {bound!r}; bounds are {', '.join(map(str, BOUND_PARAMETRIZATIONS))}")
    return BOUND_PARAMETRIZATIONS[bound]
