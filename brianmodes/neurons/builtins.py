"""The built-in neuron models, as :class:`~brianmodes.neurons.NeuronModel` instances.

- :func:`lif`: today's continuous-time LIF (the equations of
  :mod:`brianmodes.brian.equations`) with each of the three filters;
- :func:`adaptive_lif`: LIF with spike-frequency adaptation (an adaptation
  current or a threshold increment per spike, with its own time constant);
- :func:`published_lif`: the authors' discrete-time update (SPEC 1.1), with
  an exact step mask or their float32 clock (SPEC 1.4);
- :func:`tanh_rate`: the tanh rate unit of the baseline (no spikes);
- :func:`network_model`: the built-in a network's settings name;
- :func:`from_network`: the model a :class:`~brianmodes.ModeNetwork` runs.

Times are in seconds (or Brian2 quantities, or strings like ``"20 ms"``).
"""

from __future__ import annotations

import functools

from ..checks import choice, fail
from ..errors import BrianModesError
from .model import NeuronModel
from .parameters import Parameter

FILTERS = ("double", "double-ema", "single")

#: Continuous filters: equations of h and r, and their reset lines.
_FILTER_EQUATIONS = {
    "double": (["dh/dt = -h / tau_r : Hz", "dr/dt = h - r / tau_d : 1"], "h += dt_model / (tau_d * tau_r)"),
    "double-ema": (["dh/dt = -h / tau_r : 1", "dr/dt = (h - r) / tau_d : 1"], "h += 1"),
    "single": (["dr/dt = -r / tau_d : 1"], "r += dt_model / tau_d"),
}
#: Published filters (SPEC 1.1): statements of h and r, driven by the previous spikes s.
_FILTER_STATEMENTS = {
    "double": ["h = exp(-dt/tau_r)*h + dt/(tau_d*tau_r)*s", "r = exp(-dt/tau_d)*r + dt*h"],
    "double-ema": ["h = exp(-dt/tau_r)*h + s", "r = exp(-dt/tau_d)*r + (1 - exp(-dt/tau_d))*h"],
    "single": ["r = exp(-dt/tau_d)*r + dt/tau_d*s"],
}


def _filter(filter):
    aliases = {"double-classification": "double", "double-context": "double-ema", "exponential": "single"}
    filter = aliases.get(filter, filter)
    choice(filter, "filter", FILTERS)
    return filter


def _parameters(values, per_neuron, trainable):
    names = set(values)
    for option, given in (("per_neuron", per_neuron), ("trainable", trainable)):
        unknown = sorted(set(given) - names)
        if unknown:
            raise BrianModesError(f"{option}: no parameter {unknown[0]!r}; choose among {', '.join(sorted(names))}")
    def is_time(name):
        return name.startswith(("tau", "dt"))

    return {name: Parameter(value, per_neuron=name in per_neuron, trainable=name in trainable,
                            bound="positive" if is_time(name) else None, dim="s" if is_time(name) else None)
            for name, value in values.items()}


def _declarations(params, skip=()):
    """Brian2 declarations of the per-neuron parameters (``v_th : 1 (constant)``)."""
    return [f"{name} : {'second' if name.startswith(('tau', 'dt')) else '1'} (constant)"
            for name, p in params.items() if p.per_neuron and name not in skip]


def _unless(t_ref):
    """The refractoriness flag of the membrane (Brian2 refuses it without a refractory period)."""
    from .model import _refractory_seconds

    return " (unless refractory)" if _refractory_seconds(t_ref) > 0 else ""


def lif(filter="double", *, tau_s=10e-3, tau_m=20e-3, tau_d=30e-3, tau_r=2e-3, v_th=1.0, t_ref=10e-3,
        dt_model=2e-3, per_neuron=("v_th",), trainable=(), refractory_mode="clamp"):
    """The LIF neuron of the ``brian2`` discretization, in continuous time.

    ``dv/dt = (I - v)/tau_m`` (unless refractory), ``dI/dt = -I/tau_s +
    I_rec/dt_model``, and the filter of spikes into the activity ``r``;
    input spikes add to ``I``. ``dt_model`` is the step the network was
    trained with: it scales the recurrent drive and the filter jumps so that
    the same equations hold at any dt. ``refractory_mode='clamp'`` gives
    today's gradients (see :class:`~brianmodes.neurons.NeuronModel`).

    Examples
    --------
    >>> print(lif("single").equations)
    dv/dt = (I - v) / tau_m : 1 (unless refractory)
    dI/dt = -I / tau_s + I_rec / dt_model : 1
    I_rec : 1
    dr/dt = -r / tau_d : 1
    v_th : 1 (constant)
    """
    filter = _filter(filter)
    values = dict(tau_s=tau_s, tau_m=tau_m, tau_d=tau_d, dt_model=dt_model, v_th=v_th)
    if filter != "single":
        values["tau_r"] = tau_r
    params = _parameters(values, per_neuron, trainable)
    lines, filter_reset = _FILTER_EQUATIONS[filter]
    equations = [f"dv/dt = (I - v) / tau_m : 1{_unless(t_ref)}", "dI/dt = -I / tau_s + I_rec / dt_model : 1",
                 "I_rec : 1", *lines, *_declarations(params)]
    return NeuronModel("\n".join(equations), threshold="v > v_th", reset=f"v = 0\n{filter_reset}",
                       refractory=t_ref, refractory_mode=refractory_mode, input="I", activity="r",
                       parameters=params, name=f"lif-{filter}")


def adaptive_lif(filter="double", *, adaptation="current", tau_a=200e-3, beta=0.05, tau_s=10e-3, tau_m=20e-3,
                 tau_d=30e-3, tau_r=2e-3, v_th=1.0, t_ref=10e-3, dt_model=2e-3, per_neuron=("v_th",),
                 trainable=(), refractory_mode="clamp"):
    """LIF with spike-frequency adaptation: a variable ``a`` that jumps by ``beta`` per spike.

    ``a`` decays with its own time constant, ``da/dt = -a/tau_a``. With
    ``adaptation='current'`` it is subtracted from the membrane's drive,
    ``dv/dt = (I - a - v)/tau_m``; with ``adaptation='threshold'`` it raises
    the threshold, ``v > v_th + a`` (Bellec et al.'s ALIF).

    Examples
    --------
    >>> model = adaptive_lif("single", adaptation="threshold")
    >>> model.threshold, model.reset_text
    ('v > v_th + a', 'v = 0\\na += beta\\nr += dt_model / tau_d')
    """
    filter = _filter(filter)
    if adaptation not in ("current", "threshold"):
        fail("adaptation", "'current' or 'threshold'", adaptation)
    values = dict(tau_s=tau_s, tau_m=tau_m, tau_d=tau_d, tau_a=tau_a, beta=beta, dt_model=dt_model, v_th=v_th)
    if filter != "single":
        values["tau_r"] = tau_r
    params = _parameters(values, per_neuron, trainable)
    lines, filter_reset = _FILTER_EQUATIONS[filter]
    drive, threshold = ("I - a", "v > v_th") if adaptation == "current" else ("I", "v > v_th + a")
    equations = [f"dv/dt = ({drive} - v) / tau_m : 1{_unless(t_ref)}",
                 "dI/dt = -I / tau_s + I_rec / dt_model : 1", "da/dt = -a / tau_a : 1", "I_rec : 1", *lines,
                 *_declarations(params)]
    return NeuronModel("\n".join(equations), threshold=threshold, reset=f"v = 0\na += beta\n{filter_reset}",
                       refractory=t_ref, refractory_mode=refractory_mode, input="I", activity="r",
                       parameters=params, name=f"adaptive-lif-{adaptation}-{filter}")


def published_lif(filter="double", *, refractory_timing="steps", tau_s=10e-3, tau_m=20e-3, tau_d=30e-3,
                  tau_r=2e-3, v_th=1.0, t_ref=10e-3, per_neuron=("v_th",), trainable=()):
    """The authors' discrete-time update (SPEC 1.1) as per-step statements.

    ``s`` is the spikes of the previous step; ``not_refractory`` is 0 for
    ``t_ref/dt`` steps after a spike (``refractory_timing='steps'``) or
    follows the authors' float32 clock (``'float32'``, SPEC 1.4).

    Examples
    --------
    >>> print(published_lif("double-ema").statements)
    I = exp(-dt/tau_s)*I + I_in + I_rec
    v = not_refractory*(exp(-dt/tau_m)*v + (1 - exp(-dt/tau_m))*I)*(1 - s)
    h = exp(-dt/tau_r)*h + s
    r = exp(-dt/tau_d)*r + (1 - exp(-dt/tau_d))*h
    """
    filter = _filter(filter)
    values = dict(tau_s=tau_s, tau_m=tau_m, tau_d=tau_d, v_th=v_th)
    if filter != "single":
        values["tau_r"] = tau_r
    params = _parameters(values, per_neuron, trainable)
    from .model import _refractory_seconds

    mask = "not_refractory*" if _refractory_seconds(t_ref) > 0 else ""
    statements = ["I = exp(-dt/tau_s)*I + I_in + I_rec",
                  f"v = {mask}(exp(-dt/tau_m)*v + (1 - exp(-dt/tau_m))*I)*(1 - s)", *_FILTER_STATEMENTS[filter]]
    return NeuronModel(statements="\n".join(statements), threshold="v > v_th", refractory=t_ref,
                       refractory_timing=refractory_timing, input="I", activity="r", parameters=params,
                       name=f"published-lif-{filter}")


def tanh_rate(*, tau_m=20e-3, per_neuron=(), trainable=()):
    """The tanh rate unit: ``x <- a_m x + (1 - a_m)(W_in u + W r)``, ``r = tanh(x)`` (no spikes).

    Examples
    --------
    >>> tanh_rate().spiking
    False
    """
    params = _parameters({"tau_m": tau_m}, per_neuron, trainable)
    statements = "x = exp(-dt/tau_m)*x + (1 - exp(-dt/tau_m))*(I_in + I_rec)\nr = tanh(x)"
    return NeuronModel(statements=statements, input="x", activity="r", parameters=params, name="tanh")


BUILTINS = {"lif": lif, "adaptive_lif": adaptive_lif, "published_lif": published_lif, "tanh": tanh_rate}


def get_model(model, **options):
    """A NeuronModel as given, or a built-in by name (``lif``, ``adaptive_lif``, ...) with options.

    Examples
    --------
    >>> get_model("lif", filter="single").name
    'lif-single'
    """
    if isinstance(model, NeuronModel):
        if options:
            raise BrianModesError("options apply to a built-in model given by name, not to a NeuronModel")
        return model
    if model not in BUILTINS:
        raise BrianModesError(f"unknown neuron model {model!r}; built-ins: {', '.join(BUILTINS)}")
    return BUILTINS[model](**options)


@functools.lru_cache(maxsize=128)  # one model object per setting: networks and their copies share it
def network_model(neuron="lif", filter="double", discretization="brian2", refractory_timing="steps", *, dt=2e-3,
                  tau_s=10e-3, tau_m=20e-3, tau_d=30e-3, tau_r=2e-3, v_th=1.0, t_ref=10e-3):
    """The built-in model that a network's settings name (``ModeNetwork(neuron='lif', filter=...)``).

    Parameters
    ----------
    neuron : {'lif', 'adaptive_lif', 'published_lif', 'tanh'}
    filter : {'double', 'double-ema', 'single'}
    discretization : {'brian2', 'published'}
        ``brian2``: the continuous-time model, integrated as Brian2 integrates
        it; ``published``: the authors' discrete-time update (SPEC 1.1).
    refractory_timing : {'steps', 'float32'}
        The published update's refractory clock.
    dt : float
        The network's time step: ``dt_model`` of the continuous models.
    tau_s, tau_m, tau_d, tau_r, v_th, t_ref : float

    Examples
    --------
    >>> network_model("lif", "double-ema", "published", "float32").name
    'published-lif-double-ema'
    >>> network_model("adaptive_lif", "single").name
    'adaptive-lif-current-single'
    """
    taus = dict(tau_s=tau_s, tau_m=tau_m, tau_d=tau_d, tau_r=tau_r, v_th=v_th, t_ref=t_ref)
    if neuron == "published_lif":
        neuron, discretization = "lif", "published"
    if neuron not in BUILTINS:
        fail("neuron", f"one of {', '.join(BUILTINS)} or a NeuronModel", neuron)
    choice(discretization, "discretization", ("brian2", "published"))
    if refractory_timing != "steps" and (neuron != "lif" or discretization != "published"):
        raise BrianModesError("refractory_timing='float32' is the authors' clock of the published update: "
                              "it needs neuron='lif' and discretization='published'")
    if neuron == "tanh":
        return tanh_rate(tau_m=tau_m)
    if discretization == "published":
        if neuron != "lif":
            raise BrianModesError(f"the published discretization exists for neuron='lif' only, not {neuron!r}")
        return published_lif(filter, refractory_timing=refractory_timing, **taus)
    return BUILTINS[neuron](filter, dt_model=dt, **taus)


def from_network(net, refractory_timing=None):
    """The neuron model a :class:`~brianmodes.ModeNetwork` runs (its :attr:`~brianmodes.ModeNetwork.model`).

    ``refractory_timing`` replaces the clock of a network on the published
    update (``'steps'`` or ``'float32'``); None keeps the network's own.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> from_network(ModeNetwork(N=5, P=1, N_in=2, N_out=1, filter="single")).name
    'lif-single'
    """
    model = net.model
    if refractory_timing is None or refractory_timing == model.refractory_timing:
        return model
    if model.kind != "discrete":
        raise BrianModesError("refractory_timing='float32' exists only for the published discretization")
    return model.with_options(refractory_timing=refractory_timing)
