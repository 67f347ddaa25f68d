"""Recurrent CubaLIF and LIF graphs of other libraries (snnTorch, Norse) as brianmodes networks.

The graph must be one recurrent layer: ``Input -> Linear|Affine -> CubaLIF|LIF``, a cycle
``CubaLIF|LIF -> Linear|Affine -> CubaLIF|LIF``, and the layer's spikes read out by a
``Linear|Affine`` (or directly) into ``Output``; snnTorch's nesting of the recurrent layer
in a subgraph is flattened first. Biases must be zero (brianmodes' networks have none).
Signals are values held for one step of ``dt`` (see :mod:`brianmodes.bridges.nir_graph`).
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def _flatten(graph):
    """Nodes and edges with nested graphs spliced in and their Input/Output nodes removed."""
    import nir

    nodes, edges = dict(graph.nodes), list(graph.edges)
    for name, node in list(nodes.items()):
        if not isinstance(node, nir.NIRGraph):
            continue
        inner_nodes, inner_edges = _flatten(node)
        del nodes[name]
        nodes.update({f"{name}.{k}": v for k, v in inner_nodes.items()})
        inner_edges = [(f"{name}.{a}", f"{name}.{b}") for a, b in inner_edges]
        ins = [f"{name}.{k}" for k, v in inner_nodes.items() if isinstance(v, nir.Input)]
        outs = [f"{name}.{k}" for k, v in inner_nodes.items() if isinstance(v, nir.Output)]
        edges = [(a, b) for a, b in edges if name not in (a, b)] + \
            [(a, i) for a, b in graph.edges if b == name for i in ins] + \
            [(o, b) for a, b in graph.edges if a == name for o in outs] + inner_edges
        for passthrough in ins + outs:  # splice out the subgraph's own Input and Output nodes
            before = [a for a, b in edges if b == passthrough]
            after = [b for a, b in edges if a == passthrough]
            edges = [(a, b) for a, b in edges if passthrough not in (a, b)] + [(a, b) for a in before for b in after]
            del nodes[passthrough]
    return nodes, edges


def _weight(node, what):
    import nir

    if not isinstance(node, (nir.Linear, nir.Affine)):
        raise BrianModesError(f"the {what} must be a Linear or Affine node, got {type(node).__name__}")
    if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
        raise BrianModesError(f"the {what} has a bias; brianmodes' networks have none")
    return np.asarray(node.weight, float)


def _layer(nodes, edges):
    """The names of the input, neuron, recurrent, readout (or None) and output nodes."""
    import nir

    kinds = {name: type(node).__name__ for name, node in nodes.items()}
    neurons = [name for name, node in nodes.items() if isinstance(node, (nir.CubaLIF, nir.LIF))]
    inputs = [name for name, node in nodes.items() if isinstance(node, nir.Input)]
    outputs = [name for name, node in nodes.items() if isinstance(node, nir.Output)]
    if len(neurons) != 1 or len(inputs) != 1 or len(outputs) != 1:
        raise BrianModesError(f"brianmodes reads graphs of one recurrent CubaLIF or LIF layer with one input and "
                              f"one output; this one has {dict(sorted(kinds.items()))}")
    lif = neurons[0]
    into = {b: [a for a, c in edges if c == b] for b in nodes}
    out_of = {a: [c for b, c in edges if b == a] for a in nodes}
    recurrent = [w for w in out_of[lif] if lif in out_of.get(w, [])]
    feed = [w for w in into[lif] if w not in recurrent]
    if len(recurrent) != 1 or len(feed) != 1 or into[feed[0]] != inputs:
        raise BrianModesError("expected Input -> Linear -> LIF with one LIF -> Linear -> LIF cycle "
                              f"(edges: {sorted(edges)})")
    readout = [w for w in out_of[lif] if w not in recurrent]
    if len(readout) != 1:
        raise BrianModesError(f"expected one readout of the LIF layer, got {readout}")
    readout = readout[0]
    if readout == outputs[0]:
        return inputs[0], feed[0], lif, recurrent[0], None, outputs[0]
    if out_of[readout] != outputs:
        raise BrianModesError(f"the readout {readout!r} must lead to the output")
    return inputs[0], feed[0], lif, recurrent[0], readout, outputs[0]


def _per_neuron(value, N):
    return np.broadcast_to(np.asarray(value, float), (N,)).copy()


def _parameter(values, dim=None):
    """A fixed parameter: a number when every neuron has the same value, else per neuron."""
    from ..neurons import Parameter

    uniform = np.all(values == values[0])
    return Parameter(float(values[0]) if uniform else values, per_neuron=not uniform, **({"dim": dim} if dim else {}))


def _continuous(node, N, dt, cuba, refractory=None):
    """The NIR equations in Brian2 syntax; the activity ``a`` is the spike held for the next step."""
    from ..neurons import NeuronModel

    p = {"v_leak": _parameter(_per_neuron(node.v_leak, N)), "r_m": _parameter(_per_neuron(node.r, N)),
         "v_th": _parameter(_per_neuron(node.v_threshold, N)),
         "v_reset": _parameter(_per_neuron(0 if node.v_reset is None else node.v_reset, N)),
         "tau_pulse": _parameter(np.full(N, dt / 50), "s")}
    if cuba:
        p.update(tau_mem=_parameter(_per_neuron(node.tau_mem, N), "s"),
                 tau_syn=_parameter(_per_neuron(node.tau_syn, N), "s"), w_in=_parameter(_per_neuron(node.w_in, N)))
        equations = """
        dv/dt = (v_leak - v + r_m * I) / tau_mem : 1
        dI/dt = (-I + w_in * I_rec) / tau_syn : 1
        I_rec : 1
        da/dt = -a / tau_pulse : 1
        """
        variable = "I"
    else:
        p["tau_mem"] = _parameter(_per_neuron(node.tau, N), "s")
        equations = """
        dv/dt = (v_leak - v + r_m * I_rec) / tau_mem : 1
        I_rec : 1
        da/dt = -a / tau_pulse : 1
        """
        variable = "v"
    unless = " (unless refractory)" if refractory else ""
    equations = equations.replace("dv/dt = (v_leak - v + r_m * I) / tau_mem : 1\n",
                                  f"dv/dt = (v_leak - v + r_m * I) / tau_mem : 1{unless}\n")
    equations = equations.replace("dv/dt = (v_leak - v + r_m * I_rec) / tau_mem : 1\n",
                                  f"dv/dt = (v_leak - v + r_m * I_rec) / tau_mem : 1{unless}\n")
    return NeuronModel(equations, threshold="v > v_th", reset="v = v_reset\na = 1", input=variable, activity="a",
                       parameters=p, refractory=refractory, name="nir-cubalif" if cuba else "nir-lif")


def _snntorch(node, N, dt, cuba):
    """snnTorch's discrete update of the same node (its Euler step at dt, the membrane zeroed after a spike)."""
    from ..neurons import NeuronModel

    tau_mem = _per_neuron(node.tau_mem if cuba else node.tau, N)
    p = {"beta": _parameter(1 - dt / tau_mem), "v_th": _parameter(_per_neuron(node.v_threshold, N)),
         "c_v": _parameter(_per_neuron(node.r, N) * dt / tau_mem),
         "c_leak": _parameter(_per_neuron(node.v_leak, N) * dt / tau_mem)}
    if cuba:
        p["alpha"] = _parameter(1 - dt / _per_neuron(node.tau_syn, N))
        statements = "I = alpha*I + I_in + I_rec\nv = (beta*v + c_v*I + c_leak)*(1 - s)\na = 0*a"
        variable = "I"
    else:
        statements = "v = (beta*v + c_v*(I_in + I_rec) + c_leak)*(1 - s)\na = 0*a"
        variable = "v"
    return NeuronModel(statements=statements, threshold="v > v_th", reset="a = 1", input=variable, activity="a",
                       parameters=p, name="snntorch-rsynaptic" if cuba else "snntorch-rleaky")


def network_from_graph(graph, dt, update="continuous", refractory=None):
    """See :func:`brianmodes.bridges.nir_graph.from_nir`."""
    import nir

    from ..checks import choice, positive_seconds
    from ..network import ModeNetwork

    choice(update, "update", ("continuous", "snntorch"))
    if dt is None:
        raise BrianModesError("the graph does not say its time step: give dt (snnTorch's graphs step at 1e-4 s)")
    dt = positive_seconds(dt, "dt")
    nodes, edges = _flatten(graph)
    input_name, feed, lif, recurrent, readout, _ = _layer(nodes, edges)
    node = nodes[lif]
    cuba = isinstance(node, nir.CubaLIF)
    W_in, W = _weight(nodes[feed], "input projection"), _weight(nodes[recurrent], "recurrent weight")
    N = W.shape[0]
    W_out = np.eye(N) if readout is None else _weight(nodes[readout], "readout")
    if cuba:  # a value held for one step adds w_in dt / tau_syn of itself to I
        in_scale = _per_neuron(node.w_in, N) * dt / _per_neuron(node.tau_syn, N)
    else:
        in_scale = _per_neuron(node.r, N) * dt / _per_neuron(node.tau, N)
    if update == "snntorch":
        model = _snntorch(node, N, dt, cuba)
        W = W * (in_scale[:, None] if cuba else 1.0)
        W_in = W_in * (in_scale[:, None] if cuba else 1.0)
    else:
        model = _continuous(node, N, dt, cuba, refractory)
        W_in = W_in * in_scale[:, None]
    scaled = {"W_in": cuba or update == "continuous", "W": cuba and update == "snntorch"}
    layer = {"node": type(node).__name__, "dt": dt, "in_scale": in_scale.tolist(), "scaled": scaled,
             **{name: _per_neuron(getattr(node, name), N).tolist() for name in _NODE_FIELDS[type(node).__name__]
                if getattr(node, name, None) is not None}}
    metadata = {"imported_from": "NIR", "nir_update": update, "nir_layer": layer,
                "nir_metadata": {k: str(v) for k, v in graph.metadata.items()}}
    return ModeNetwork.from_arrays(W_in=W_in, W_out=W_out, W=W, neuron=model, readout="per_step", dt=dt,
                                   metadata=metadata)


#: The fields of the neuron nodes, kept in the metadata so that the layer can be written back.
_NODE_FIELDS = {"CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
                "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset")}


def graph_of_layer(net):
    """The NIR graph of a network read from one (:func:`network_from_graph`), in snnTorch's flat layout."""
    import nir

    from .nir_graph import CONVENTION

    layer = net.metadata["nir_layer"]
    scale = np.asarray(layer["in_scale"])[:, None]
    fields = {name: np.asarray(layer[name], float) for name in _NODE_FIELDS[layer["node"]] if name in layer}
    W_in = net.W_in / scale if layer["scaled"]["W_in"] else net.W_in
    W = net.W / scale if layer["scaled"]["W"] else net.W
    nodes = {"input": nir.Input(input_type={"input": np.array([net.N_in])}), "fc1": nir.Linear(weight=W_in),
             "lif": getattr(nir, layer["node"])(**fields), "w_rec": nir.Linear(weight=W),
             "fc2": nir.Linear(weight=net.W_out.copy()), "output": nir.Output(output_type={"output": np.array([net.N_out])})}
    edges = [("input", "fc1"), ("fc1", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "fc2"), ("fc2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"generator": "brianmodes, a layer read from NIR",
                                                            "dt": layer["dt"], "convention": CONVENTION})
