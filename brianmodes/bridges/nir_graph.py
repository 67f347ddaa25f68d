"""NIR graphs out and in: a network as CubaLIF, LI, Linear and Scale nodes; recurrent LIF graphs as networks.

NIR (the Neuromorphic Intermediate Representation, the ``nir`` package) describes
networks in continuous time. brianmodes reads and writes it with one convention for
every signal: **a value held for one step of the graph's ``dt``**, a spike being 1 for
the step of its threshold crossing (snnTorch's convention; the ``dt`` is stored in the
graph's metadata). Under it a brianmodes LIF network is

======================  =====================================================================
node                    brianmodes
======================  =====================================================================
``w_in`` Linear         ``W_in``
``lif`` CubaLIF         ``tau_syn = tau_s``, ``tau_mem = tau_m``, ``r = 1``, ``v_leak = 0``,
                        ``v_threshold = v_th``, ``v_reset = 0``, ``w_in = tau_s / dt``
``h``, ``r`` LI         the activity filter: single ``LI(tau_d, r=1)``; double ``LI(tau_r,
                        r=1/tau_d) -> LI(tau_d, r=tau_d)``; double-ema ``LI(tau_r, r=tau_r/dt)
                        -> LI(tau_d, r=1)``
``xi_out`` Linear,      the recurrence in mode space, ``r -> xi_out^T -> lam -> xi_in -> lif``
``lam`` Scale,          (``recurrence="dense"``: one ``w_rec`` Linear holding W, for readers
``xi_in`` Linear        that expect a LIF -> Linear -> LIF cycle)
``w_out`` Linear        ``W_out``, reading ``r``
======================  =====================================================================

What NIR cannot express is written in the graph's metadata (``not_expressed``) and never
dropped silently: the refractory period, the max-over-time readout, the published
discrete update (exported as the continuous LIF it discretizes). The network's own
configuration travels in the metadata too, so that brianmodes -> NIR -> brianmodes
gives an identical network. See docs/interop.md.
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import BrianModesError

#: The filters' LI nodes: (name, tau parameter, r as a function of the model's values and dt).
_FILTER_NODES = {
    "single": [("r", "tau_d", lambda p, dt: np.ones_like(p["tau_d"]))],
    "double": [("h", "tau_r", lambda p, dt: 1 / p["tau_d"]), ("r", "tau_d", lambda p, dt: p["tau_d"])],
    "double-ema": [("h", "tau_r", lambda p, dt: p["tau_r"] / dt), ("r", "tau_d", lambda p, dt: np.ones_like(p["tau_d"]))],
}
CONVENTION = "every signal is a value held for one step of dt; a spike is 1 for the step of its threshold crossing"


def _nir():
    try:
        import nir
    except ImportError:
        raise BrianModesError("NIR graphs need the nir package: pip install 'brianmodes[nir]'") from None
    return nir


def _values(net):
    """The LIF's parameter values, one per neuron."""
    values = {name: np.asarray(p.value, float) for name, p in net.model.parameters.items()}
    return {name: np.broadcast_to(v, (net.N,)).copy() if v.ndim == 0 else v for name, v in values.items()}


def _lif_filter(net):
    """The filter of a network of the built-in LIF (by name, or a NeuronModel of the same equations)."""
    from ..neurons import lif

    if net.neuron == "lif" and net.filter in _FILTER_NODES:
        return net.filter
    for name in _FILTER_NODES:
        if net.engine_model.equations == lif(name).equations and net.engine_model.reset == lif(name).reset:
            return name
    raise BrianModesError(f"NIR has nodes for the LIF only (CubaLIF and LI); this network's neuron is "
                          f"{net.model.name!r}")


def to_nir(net, recurrence="modes"):
    """The network as a NIR graph (see the module's text for the mapping).

    Parameters
    ----------
    net : ModeNetwork
        A network of the built-in LIF (either discretization; the published
        update is exported as the continuous LIF it discretizes, and says so).
    recurrence : {'modes', 'dense'}
        The mode chain ``xi_out -> lam -> xi_in``, or one dense Linear W.

    Returns
    -------
    nir.NIRGraph
        Write it with ``nir.write(path, graph)``.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> graph = to_nir(ModeNetwork(N=20, P=2, N_in=3, N_out=1))   # doctest: +SKIP
    >>> sorted(graph.nodes)                                        # doctest: +SKIP
    ['h', 'input', 'lam', 'lif', 'output', 'r', 'w_in', 'w_out', 'xi_in', 'xi_out']
    """
    from ..checks import choice
    from ..brian.equations import continuous_model

    nir = _nir()
    choice(recurrence, "recurrence", ("modes", "dense"))
    if "nir_layer" in net.metadata:  # read from a NIR graph: written back as it was read
        from .nir_foreign import graph_of_layer

        return graph_of_layer(net)
    filter = _lif_filter(net)
    if recurrence == "modes" and net.parametrization == "full":
        raise BrianModesError("a full-rank network has no modes; use recurrence='dense'")
    dt = float(net.dt)
    lif = continuous_model(net)
    values = _values(net.with_config(discretization="brian2", refractory_timing="steps")
                     if net.discretization == "published" else net)
    N = net.N
    nodes = {"input": nir.Input(input_type={"input": np.array([net.N_in])}),
             "w_in": nir.Linear(weight=net.W_in.copy()),
             "lif": nir.CubaLIF(tau_syn=values["tau_s"], tau_mem=values["tau_m"], r=np.ones(N), v_leak=np.zeros(N),
                                v_threshold=values["v_th"], v_reset=np.zeros(N), w_in=values["tau_s"] / dt),
             "w_out": nir.Linear(weight=net.W_out.copy()),
             "output": nir.Output(output_type={"output": np.array([net.N_out])})}
    edges = [("input", "w_in"), ("w_in", "lif")]
    previous = "lif"
    for name, tau, r in _FILTER_NODES[filter]:
        nodes[name] = nir.LI(tau=values[tau], r=r(values, dt), v_leak=np.zeros(N))
        edges.append((previous, name))
        previous = name
    if recurrence == "modes":
        nodes.update(xi_out=nir.Linear(weight=net.xi_out.T.copy()), lam=nir.Scale(scale=net.lam.copy()),
                     xi_in=nir.Linear(weight=net.xi_in.copy()))
        edges += [("r", "xi_out"), ("xi_out", "lam"), ("lam", "xi_in"), ("xi_in", "lif")]
    else:
        nodes["w_rec"] = nir.Linear(weight=net.W.copy())
        edges += [("r", "w_rec"), ("w_rec", "lif")]
    edges += [("r", "w_out"), ("w_out", "output")]
    not_expressed = {"refractory": f"{lif.refractory * 1e3:g} ms after each spike the membrane is held at its "
                                   "reset value (NIR's LIF has no refractory period)",
                     "readout": "the output is W_out r at every step" if net.readout == "per_step" else
                     "the output is the maximum over time of W_out r (NIR has no max over time)"}
    if net.discretization == "published":
        not_expressed["update"] = ("trained with the authors' discrete update (SPEC 1.1); exported as the "
                                   "continuous-time LIF it discretizes")
    metadata = {"generator": "brianmodes", "dt": dt, "convention": CONVENTION, "not_expressed": not_expressed,
                "brianmodes_config": json.dumps(net.config())}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def from_nir(graph, dt=None, update="continuous", refractory=None):
    """A network from a NIR graph: one brianmodes wrote, or a recurrent CubaLIF / LIF graph of another library.

    Parameters
    ----------
    graph : nir.NIRGraph or path
        A graph, or a file written by ``nir.write``.
    dt : float, optional
        The graph's time step (default: its metadata's; snnTorch writes none
        and steps at 1e-4 s).
    update : {'continuous', 'snntorch'}
        For a foreign graph: ``continuous``: the NIR equations, written as a
        :class:`~brianmodes.neurons.NeuronModel` in Brian2 syntax (runs in
        Brian2); ``snntorch``: the discrete update snnTorch runs for the same
        graph (the current updated first, the membrane summing it, zeroed in
        the step after a spike), which reproduces its spikes.
    refractory : float or Brian2 quantity, optional
        For ``update='continuous'``: a refractory period NIR does not have
        (e.g. one step, snnTorch's dead time after a spike); default none.

    Returns
    -------
    ModeNetwork
        For a graph brianmodes wrote: the network it was written from.
        Otherwise a full-rank network of the graph's recurrent layer, with a
        per-step readout of ``W_out`` times the spikes.
    """
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        graph = nir.read(str(graph))
    config = graph.metadata.get("brianmodes_config")
    if config is not None:
        return _from_brianmodes(graph, json.loads(config if isinstance(config, str) else config.decode()))
    from .nir_foreign import network_from_graph

    return network_from_graph(graph, dt=dt if dt is not None else graph.metadata.get("dt"), update=update,
                              refractory=refractory)


def _from_brianmodes(graph, config):
    """The network a brianmodes graph was written from, its weights and time constants read from the nodes."""
    from ..network import ModeNetwork
    from ..network_neuron import parametrization as parametrization_of
    from ..network_neuron import storage_name

    nodes = graph.nodes
    arrays = {"W_in": nodes["w_in"].weight, "W_out": nodes["w_out"].weight}
    if "xi_in" in nodes:
        arrays.update(xi_in=nodes["xi_in"].weight, lam=nodes["lam"].scale, xi_out=nodes["xi_out"].weight.T)
    else:
        arrays["W"] = nodes["w_rec"].weight
    parametrization = config.get("parametrization", "modes")
    if parametrization == "full" and "W" not in arrays:
        raise BrianModesError("the graph's mode chain cannot hold a full-rank network's W")
    if parametrization == "modes" and "W" in arrays:
        raise BrianModesError("this graph holds a dense W; brianmodes wrote it from a mode network with "
                              "recurrence='dense', whose modes it no longer has: read it as a full-rank network")
    params = {name: np.asarray(value, float) for name, value in arrays.items()}
    in_nodes = _node_values(nodes)
    described = config.get("neuron") if isinstance(config.get("neuron"), dict) else {}
    for name, p in described.get("parameters", {}).items():  # trained values: the nodes hold them
        if p.get("trainable"):
            value = in_nodes[name] if p.get("per_neuron") else float(np.mean(in_nodes[name]))
            params[storage_name(name, p.get("bound"))] = np.asarray(parametrization_of(p.get("bound")).stored(value),
                                                                    np.float64)
    net = ModeNetwork(**config, params=params)
    values = _values(net)
    for name, node_value in in_nodes.items():
        if name in values and not np.allclose(values[name], node_value, rtol=1e-9, atol=0):
            raise BrianModesError(f"the graph's {name} differs from the network it says it was written from")
    return net


def _node_values(nodes):
    """The LIF's parameters as the graph's CubaLIF and LI nodes hold them."""
    lif = nodes["lif"]
    values = {"tau_s": lif.tau_syn, "tau_m": lif.tau_mem, "v_th": lif.v_threshold, "tau_d": nodes["r"].tau}
    if "h" in nodes:
        values["tau_r"] = nodes["h"].tau
    return {name: np.asarray(value, float) for name, value in values.items()}
