"""A neuron model as plain JSON data, and back: what a model file's header holds.

The description keeps everything the model was built from (its equations or
statements, threshold, reset, refractoriness, the three interface names, the
state updater and every parameter with its value, dimension and flags), so
that the model of a file is read without running anything but the checks of
:class:`~brianmodes.neurons.NeuronModel`. Values are SI floats, or lists of
floats for per-neuron values; a trainable parameter's value may be left out
(``None``) when it is kept elsewhere (a network's arrays).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import BrianModesError
from .model import NeuronModel
from .parameters import Parameter

#: The fields of a description and the JSON types each may have.
_FIELDS = {"name": (str,), "equations": (str, type(None)), "statements": (str, type(None)),
           "threshold": (str, type(None)), "reset": (str, type(None)), "refractory": (float, int),
           "refractory_mode": (str,), "refractory_timing": (str,), "input": (str,), "recurrent": (str,),
           "activity": (str,), "method": (str,), "parameters": (dict,)}
_PARAMETER_FIELDS = {"value": (float, int, list, type(None)), "per_neuron": (bool, type(None)),
                     "trainable": (bool,), "bound": (str, type(None)), "dim": (str, type(None))}


def _json_value(value):
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else [float(v) for v in array]


def model_to_dict(model, values=True):
    """The JSON description of a model.

    Parameters
    ----------
    model : NeuronModel
    values : bool
        False leaves the values of trainable parameters out (``None``).

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> d = model_to_dict(lif("single"))
    >>> d["threshold"], d["reset"], d["parameters"]["tau_m"]
    ('v > v_th', 'v = 0\\nr += dt_model / tau_d', {'value': 0.02, 'per_neuron': False, 'trainable': False, \
'bound': 'positive', 'dim': 's'})
    >>> model_from_dict(d).structure_key() == lif("single").structure_key()
    True
    """
    params = {}
    for name, p in model.parameters.items():
        keep = values or not p.trainable
        params[name] = {"value": _json_value(p.value) if keep else None, "per_neuron": p.per_neuron,
                        "trainable": p.trainable, "bound": p.bound, "dim": p.dim}
    return {"name": model.name, "equations": model.equations, "statements": model.statements,
            "threshold": model.threshold, "reset": model.reset_text, "refractory": float(model.refractory),
            "refractory_mode": model.refractory_mode, "refractory_timing": model.refractory_timing,
            "input": model.input, "recurrent": model.recurrent, "activity": model.activity,
            "method": model.method, "parameters": params}


def _checked(d, fields, where):
    if not isinstance(d, dict):
        raise BrianModesError(f"{where} must be a JSON object, got {type(d).__name__}")
    missing = [k for k in fields if k not in d]
    unknown = sorted(set(d) - set(fields))
    if missing or unknown:
        raise BrianModesError(f"{where} " + (f"lacks {', '.join(missing)}" if missing else "")
                              + ("; it " if missing and unknown else "")
                              + (f"has unknown field(s) {', '.join(unknown)}" if unknown else ""))
    for key, kinds in fields.items():
        value = d[key]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise BrianModesError(f"{where}: field {key} must be "
                                  f"{' or '.join('null' if k is type(None) else k.__name__ for k in kinds)}, "
                                  f"got {value!r}")


def model_from_dict(d, values=None, where="the neuron model"):
    """The model of a description (see :func:`model_to_dict`).

    Parameters
    ----------
    d : dict
    values : dict, optional
        Values of parameters left out of ``d`` (name to float or array).
    where : str
        Names the description in error messages.

    Raises
    ------
    BrianModesError
        If a field is missing, unknown or of the wrong type, a value is
        missing, or the model itself is refused.
    """
    _checked(d, _FIELDS, where)
    values = values or {}
    params = {}
    for name, p in d["parameters"].items():
        _checked(p, _PARAMETER_FIELDS, f"{where}, parameter {name!r}")
        value = values.get(name, p["value"])
        if value is None:
            raise BrianModesError(f"{where}: parameter {name!r} has no value")
        if isinstance(value, list) and not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                               for v in value):
            raise BrianModesError(f"{where}: parameter {name!r} must hold numbers")
        value = np.asarray(value, dtype=np.float64) if isinstance(value, list) else value
        params[name] = Parameter(value, per_neuron=p["per_neuron"], trainable=p["trainable"], bound=p["bound"],
                                 dim=p["dim"])
    try:
        return NeuronModel(d["equations"], statements=d["statements"], threshold=d["threshold"], reset=d["reset"],
                           refractory=float(d["refractory"]), refractory_mode=d["refractory_mode"],
                           refractory_timing=d["refractory_timing"], input=d["input"], recurrent=d["recurrent"],
                           activity=d["activity"], parameters=params, method=d["method"], name=d["name"])
    except BrianModesError as err:
        raise BrianModesError(f"{where} is refused: {err}") from None


def model_text(model):
    """The model in words, as ``brianmodes info`` prints it.

    Examples
    --------
    >>> from brianmodes.neurons import published_lif
    >>> print(model_text(published_lif("single")))  # doctest: +NORMALIZE_WHITESPACE
    neuron model 'published-lif-single' (discrete update, one step):
        I = exp(-dt/tau_s)*I + I_in + I_rec
        v = not_refractory*(exp(-dt/tau_m)*v + (1 - exp(-dt/tau_m))*I)*(1 - s)
        r = exp(-dt/tau_d)*r + dt/tau_d*s
      threshold: v > v_th; refractory: 10 ms (steps)
      input I, recurrent input I_rec, activity r
      parameters: tau_s = 10 ms, tau_m = 20 ms, tau_d = 30 ms, v_th = 1 (per neuron)
    """
    body = model.equations if model.kind == "continuous" else model.statements
    kind = f"continuous, {model.method}" if model.kind == "continuous" else "discrete update, one step"
    lines = [f"neuron model {model.name!r} ({kind}):"]
    lines += [f"    {line.strip()}" for line in body.strip().splitlines() if line.strip()]
    reset = "; ".join(line.strip() for line in (model.reset_text or "").splitlines() if line.strip())
    parts = [f"threshold: {model.threshold}" if model.threshold else "no spikes"]
    if reset:
        parts.append(f"reset: {reset}")
    if model.refractory > 0:
        how = model.refractory_timing if model.kind == "discrete" else model.refractory_mode
        parts.append(f"refractory: {model.refractory * 1e3:g} ms ({how})")
    lines.append("  " + "; ".join(parts))
    lines.append(f"  input {model.input}, recurrent input {model.recurrent}, activity {model.activity}")
    params = []
    for name, p in model.parameters.items():
        value = np.asarray(p.value, dtype=np.float64)
        scale, unit = (1e3, " ms") if p.dim == "s" else (1.0, "")
        shown = (f"{float(value) * scale:g}{unit}" if value.ndim == 0 else
                 f"{value.min() * scale:g}..{value.max() * scale:g}{unit}")
        flags = [flag for flag, on in (("per neuron", p.per_neuron), ("trained", p.trainable)) if on]
        params.append(f"{name} = {shown}" + (f" ({', '.join(flags)})" if flags else ""))
    lines.append("  parameters: " + ", ".join(params))
    return "\n".join(lines)
