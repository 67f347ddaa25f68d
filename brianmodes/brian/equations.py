"""The neurons of a Brian2 circuit, from the network's own neuron model.

The equations, threshold, reset and refractory period are those of the
network's :class:`~brianmodes.neurons.NeuronModel` (:attr:`ModeNetwork.model`),
in Brian2 syntax with units, as the numpy engine derives its update from them.
For the built-in LIF (``brianmodes.neurons.lif``)::

    dv/dt = (I - v) / tau_m                 (unless refractory; reset to 0 above v_th)
    dI/dt = -I / tau_s + I_rec / dt_model   I_rec = W r  (summed over synapses)
    filter 'double':      dh/dt = -h / tau_r,  dr/dt = h - r / tau_d,   spike: h += dt_model / (tau_d tau_r)
    filter 'double-ema':  dh/dt = -h / tau_r,  dr/dt = (h - r) / tau_d, spike: h += 1
    filter 'single':      dr/dt = -r / tau_d,                           spike: r += dt_model / tau_d

``dt_model`` is the network's time step (the step it was trained with); it sets
the scale of the recurrent drive and of the filter jumps so that the same
equations hold at any simulation dt. Inputs arrive as jumps of the model's input
variable (``I``): an input spike adds its weight W_in[i, k]; an analog input x(t)
adds W_in x dt/dt_model per step (a current). Integrated with the model's state
updater (``exponential_euler``) in Brian2's schedule (groups, thresholds,
synapses, resets) at dt = dt_model, these are exactly what the numpy engine
computes, spike for spike.

A network on the published update (``discretization='published'``), which has
no continuous-time form, runs as the continuous LIF with the same constants.
Per-neuron parameters (``v_th`` always, so that a neuron can be silenced;
trained time constants) are variables of the ``NeuronGroup``, shared ones
constants of its namespace.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError

_BASE_UNITS = {"m": "metre", "kg": "kilogram", "s": "second", "A": "amp", "K": "kelvin", "mol": "mole",
               "cd": "candela"}


def brian2_unit(dim):
    """The Brian2 unit of a parameter's dimension text (``'s'``, ``'m^2 kg s^-3 A^-1'``; None: 1).

    Examples
    --------
    >>> from brian2 import mV
    >>> brian2_unit("s"), brian2_unit(None), 20 * mV / brian2_unit("m^2 kg s^-3 A^-1")
    (second, 1, 0.02)
    """
    if dim is None:
        return 1
    import brian2

    unit = None
    for token in str(dim).split():
        base, _, power = token.partition("^")
        if base not in _BASE_UNITS:
            raise BrianModesError(f"cannot read the dimension {dim!r} of a parameter for Brian2")
        factor = getattr(brian2, _BASE_UNITS[base])
        if power:
            factor = factor ** (int(power) if power.lstrip("-").isdigit() else float(power))
        unit = factor if unit is None else unit * factor
    return 1 if unit is None else unit


def continuous_model(net):
    """The continuous-time model a network runs as in Brian2 (see the module's text).

    Raises
    ------
    BrianModesError
        For a rate model (no spikes) or a discrete model other than the
        published update.
    """
    model = net.model
    if not model.spiking:
        raise BrianModesError(f"only spiking networks run in Brian2; model {model.name!r} (the tanh baseline "
                              "or another rate model) has no spikes")
    if model.kind == "continuous":
        return model
    if net.discretization == "published":  # the published built-in: the LIF it discretizes
        return net.with_config(discretization="brian2", refractory_timing="steps").model
    raise BrianModesError(f"model {model.name!r} is a discrete update: it has no continuous-time equations for "
                          "Brian2; write it as equations (NeuronModel(equations=...))")


def neuron_model(net):
    """Equations, threshold, reset, refractory period, namespace and per-neuron values of the neurons.

    Returns
    -------
    dict
        ``equations`` (str), ``threshold``, ``reset``, ``refractory``
        (Brian2 quantity), ``method`` (the state updater), ``namespace``
        (shared constants with units), ``per_neuron`` (name to an (N,)
        Brian2 quantity or array, set on the group), and the names of the
        model's ``input``, ``recurrent`` and ``activity`` variables.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> print(neuron_model(ModeNetwork(N=10, P=2, N_in=3, N_out=1))["equations"])  # doctest: +ELLIPSIS
    dv/dt = (I - v) / tau_m : 1 (unless refractory)
    ...
    """
    from brian2 import second

    model = continuous_model(net)
    lines = [model.brian2_equations()]
    values = model.parameter_values(net.N)
    per_neuron = {name for name, p in model.parameters.items() if p.per_neuron}
    if "v_th" in model.parameters and "v_th" not in per_neuron:
        lines.append("v_th : 1 (constant)  # threshold, per neuron: set it to inf to silence a neuron")
        per_neuron.add("v_th")
    lines += [
        f"rmax : 1  # running maximum of {model.activity} (max readout)",
        "trial : integer (constant)  # which copy of the network (one per trial)",
        "neuron : integer (constant)  # index of the neuron within its copy",
    ]
    units = {name: brian2_unit(p.dim) for name, p in model.parameters.items()}
    namespace = {name: values[name] * units[name] for name in model.parameters if name not in per_neuron}
    return {"equations": "\n".join(lines), "threshold": model.threshold, "reset": model.reset_text,
            "refractory": model.refractory * second, "method": model.method, "namespace": namespace,
            "per_neuron": {name: np.broadcast_to(values[name], (net.N,)) * units[name] for name in per_neuron},
            "input": model.input, "recurrent": model.recurrent, "activity": model.activity}
