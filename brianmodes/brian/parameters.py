"""New parameters into an existing circuit, without rebuilding it.

What a network trains lives in these Brian2 objects of a :class:`BrianCircuit`
(B copies side by side, so every array is tiled B times):

=====================  ==================================================
``W_in``               the input jumps (``TimedArray``, computed from the
                       circuit's copy of the network at each run), or
                       ``input_synapses.w_in`` for the literal input circuit
``xi_out``             ``to_modes.loading``
``lam``                ``modes.lam``
``xi_in``              ``from_modes.loading``
``W`` (dense)          ``recurrent.w``
``W_out``              ``to_readout.w_out``
per-neuron parameters  variables of ``neurons`` (``tau_m``, ``v_th``)
shared parameters      the group's namespace (runtime devices) or shared
                       variables of ``neurons`` (standalone programs)
=====================  ==================================================

On a runtime device the values are assigned and stored as the circuit's
initial state; on the C++ standalone device they become the ``run_args`` of
the next runs of the compiled program (Brian2 2.9's ``device.run(run_args=...)``),
so nothing is recompiled.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .equations import neuron_model


def structure_differences(old, new, prefix=""):
    """What differs between two network configurations (``net.config()``), as short phrases.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> a = ModeNetwork(N=20, P=2, N_in=3, N_out=1).config()
    >>> structure_differences(a, ModeNetwork(N=30, P=2, N_in=3, N_out=1, readout="per_step").config())
    ['N is 20 in the circuit, 30 in the network', "readout is 'max' in the circuit, 'per_step' in the network"]
    """
    out = []
    for key in sorted(set(old) | set(new), key=lambda k: (k not in old, list(old).index(k) if k in old else 0)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += structure_differences(a, b, prefix=f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key} is {_short(a)} in the circuit, {_short(b)} in the network")
    return out


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_structure(circuit, net):
    """Raise :class:`BrianModesError` unless ``net`` has the structure ``circuit`` was built for."""
    from ..network import ModeNetwork

    if not isinstance(net, ModeNetwork):
        raise BrianModesError(f"set_parameters needs a ModeNetwork, got {type(net).__name__}")
    differences = structure_differences(circuit.net.config(), net.config())
    if differences:
        raise BrianModesError("set_parameters needs a network of the structure the circuit was built for; "
                              f"{'; '.join(differences)}; build a new circuit for it")


def circuit_values(circuit, net):
    """``(group, variable, values)`` for every trained number of ``net`` in ``circuit``.

    ``group`` is None for a shared parameter held in the namespace (runtime
    devices). Values are tiled over the circuit's trials and carry units.
    """
    B, N = circuit.B, net.N
    values = []
    if circuit.recurrence == "dense":
        values.append((circuit.recurrent, "w", np.tile(net.W.T.reshape(-1), B)))  # w[pre j, post i] = W[i, j]
    else:
        values += [(circuit.modes, "lam", np.tile(net.lam, B)),
                   (circuit.to_modes, "loading", np.tile(net.xi_out.reshape(-1), B)),
                   (circuit.from_modes, "loading", np.tile(net.xi_in.T.reshape(-1), B))]
    values.append((circuit.to_readout, "w_out", np.tile(net.W_out.T.reshape(-1), B)))
    if circuit.input_synapses is not None:
        values.append((circuit.input_synapses, "w_in", np.tile(net.W_in.T.reshape(-1), B)))
    model = neuron_model(net)
    for name, per_neuron in model["per_neuron"].items():
        unit = getattr(per_neuron, "dim", None)
        tiled = np.tile(np.asarray(per_neuron), B)
        values.append((circuit.neurons, name, tiled if unit is None else _with_unit(tiled, per_neuron)))
    for name in net.neuron_values():  # trained shared parameters
        if name in model["namespace"]:
            group = circuit.neurons if circuit.standalone else None
            values.append((group, name, model["namespace"][name]))
    return values


def _with_unit(values, like):
    from brian2 import Quantity

    return Quantity(values, dim=like.dim)


def set_parameters(circuit, net):
    """Write ``net``'s parameters into ``circuit``; see :meth:`BrianCircuit.set_parameters`."""
    check_structure(circuit, net)
    net = net.copy()
    values = circuit_values(circuit, net)
    if circuit.standalone:
        circuit.run_args = {getattr(group, name): value for group, name, value in values}
    else:
        circuit.network.restore("initial")
        for group, name, value in values:
            if group is None:
                circuit.namespace[name] = value
            else:
                setattr(group, name, value)
        circuit.network.store("initial")
    circuit.net = net
