"""The LIF mode network as Brian2 equations with units.

Continuous-time model (v, I, r dimensionless; times in physical units)::

    dv/dt = (I - v) / tau_m                 (unless refractory; reset to 0 above v_th)
    dI/dt = -I / tau_s + I_rec / dt_model   I_rec = W r  (summed over synapses)
    filter 'double':      dh/dt = -h / tau_r,  dr/dt = h - r / tau_d,   spike: h += dt_model / (tau_d tau_r)
    filter 'double-ema':  dh/dt = -h / tau_r,  dr/dt = (h - r) / tau_d, spike: h += 1
    filter 'single':      dr/dt = -r / tau_d,                           spike: r += dt_model / tau_d

``dt_model`` is the network's time step (the step it was trained with); it sets
the scale of the recurrent drive and of the filter jumps so that the same
equations hold at any simulation dt. Inputs arrive as jumps of I: an input
spike adds its weight W_in[i, k]; an analog input x(t) adds W_in x dt/dt_model
per step (a current). Integrated with ``method='exponential_euler'`` in Brian2's
schedule (groups, thresholds, synapses, resets) at dt = dt_model, these are
exactly the numpy engine's ``brian2`` discretization, spike for spike.
"""

from __future__ import annotations


def neuron_model(net):
    """Equations, threshold, reset, refractory period and namespace of the neurons.

    Returns
    -------
    dict
        ``equations`` (str), ``threshold``, ``reset``, ``refractory``
        (Brian2 quantity) and ``namespace`` (constants with units).

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> print(neuron_model(ModeNetwork(N=10, P=2, N_in=3, N_out=1))["equations"])  # doctest: +ELLIPSIS
    dv/dt = (I - v) / tau_m : 1 (unless refractory)
    ...
    """
    from brian2 import second

    filt = net.filter
    lines = [
        "dv/dt = (I - v) / tau_m : 1 (unless refractory)",
        "dI/dt = -I / tau_s + I_rec / dt_model : 1",
        "I_rec : 1  # recurrent input W r (summed over the recurrent synapses)",
    ]
    if filt == "double":
        lines += ["dh/dt = -h / tau_r : Hz", "dr/dt = h - r / tau_d : 1"]
        reset = "v = 0\nh += dt_model / (tau_d * tau_r)"
    elif filt == "double-ema":
        lines += ["dh/dt = -h / tau_r : 1", "dr/dt = (h - r) / tau_d : 1"]
        reset = "v = 0\nh += 1"
    else:
        lines += ["dr/dt = -r / tau_d : 1"]
        reset = "v = 0\nr += dt_model / tau_d"
    lines += [
        "rmax : 1  # running maximum of r (max readout)",
        "v_th : 1 (constant)  # threshold, per neuron: set it to inf to silence a neuron",
        "trial : integer (constant)  # which copy of the network (one per trial)",
        "neuron : integer (constant)  # index of the neuron within its copy",
    ]
    namespace = {name: getattr(net, name) * second for name in ("tau_m", "tau_s", "tau_d", "tau_r")}
    namespace["dt_model"] = net.dt * second
    return {"equations": "\n".join(lines), "threshold": "v > v_th", "reset": reset,
            "refractory": net.t_ref * second, "namespace": namespace}
