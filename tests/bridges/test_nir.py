"""NIR out and in: brianmodes -> NIR -> brianmodes is the identity; snnTorch's recurrent layout runs here and in Brian2."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.neurons import Parameter, adaptive_lif, lif

nir = pytest.importorskip("nir")
from brianmodes.nir import from_nir, to_nir  # noqa: E402


def _same(a, b):
    assert a.config() == b.config()
    assert sorted(a.params) == sorted(b.params)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)


@pytest.mark.parametrize("kwargs", [
    {"filter": "double"}, {"filter": "single", "readout": "per_step"},
    {"filter": "double-ema", "discretization": "published", "refractory_timing": "float32"},
    {"parametrization": "full"},
])
def test_round_trip_through_a_file_is_the_identity(tmp_path, kwargs):
    net = ModeNetwork(N=20, P=2, N_in=3, N_out=2, seed=1, **kwargs)
    graph = to_nir(net, recurrence="dense" if net.parametrization == "full" else "modes")
    nir.write(tmp_path / "net.nir", graph)
    back = from_nir(tmp_path / "net.nir")
    _same(back, net)
    x = np.random.default_rng(0).normal(1, 1, size=(40, 4, 3))
    np.testing.assert_array_equal(simulate(back, x).outputs, simulate(net, x).outputs)


def test_trained_time_constants_travel_in_the_nodes():
    model = lif("double").with_parameters(
        tau_m=Parameter(np.linspace(0.015, 0.025, 20), per_neuron=True, trainable=True, bound="positive"),
        tau_s=Parameter(0.01, trainable=True, bound="positive"))
    net = ModeNetwork(N=20, P=2, N_in=3, N_out=2, seed=1, neuron=model)
    net.params["log_tau_m"] += 0.1
    net.params["log_tau_s"] += 0.05
    graph = to_nir(net)
    np.testing.assert_allclose(graph.nodes["lif"].tau_mem, net.neuron_values()["tau_m"], rtol=1e-15)
    back = from_nir(graph)
    assert back.config() == net.config()
    for name in net.params:
        np.testing.assert_allclose(back.params[name], net.params[name], rtol=1e-15, atol=1e-15, err_msg=name)


def test_the_mapping_and_what_nir_cannot_express():
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, seed=0, filter="double-ema", discretization="published")
    graph = to_nir(net)
    lif_node = graph.nodes["lif"]
    np.testing.assert_allclose(lif_node.w_in, 0.01 / 0.002)          # tau_s / dt: a held value adds itself
    np.testing.assert_allclose(graph.nodes["h"].r, 0.002 / 0.002)     # double-ema: h += 1 per spike
    assert ("r", "xi_out") in graph.edges and ("xi_in", "lif") in graph.edges and ("lam", "xi_in") in graph.edges
    said = graph.metadata["not_expressed"]
    assert "refractory" in said and "maximum over time" in said["readout"] and "discrete update" in said["update"]
    assert graph.metadata["dt"] == 0.002 and "held for one step" in graph.metadata["convention"]
    with pytest.raises(BrianModesError, match="LIF only"):
        to_nir(ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=adaptive_lif("double")))
    with pytest.raises(BrianModesError, match="no modes"):
        to_nir(ModeNetwork(N=10, P=2, N_in=3, N_out=1, parametrization="full"))


# -- a recurrent layer as snnTorch writes it (its RSynaptic export: a nested subgraph) -------------------
def _snntorch_like_graph(N=12, N_in=3, N_out=2, seed=0, dt=1e-4, alpha=0.95, beta=0.9, threshold=1.0):
    rng = np.random.default_rng(seed)
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    layer = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([N])}),
        "lif": nir.CubaLIF(tau_syn=np.full(N, tau_syn), tau_mem=np.full(N, tau_mem), r=np.full(N, tau_mem / dt),
                           v_leak=np.zeros(N), v_threshold=np.full(N, threshold), v_reset=np.zeros(N),
                           w_in=np.full(N, tau_syn / dt)),
        "w_rec": nir.Affine(weight=rng.normal(0, 0.3, (N, N)), bias=np.zeros(N)),
        "output": nir.Output(output_type={"output": np.array([N])})},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([N_in])}),
        "fc1": nir.Affine(weight=rng.normal(0.3, 0.5, (N, N_in)), bias=np.zeros(N)), "rsyn": layer,
        "fc2": nir.Affine(weight=rng.normal(0, 1, (N_out, N)), bias=np.zeros(N_out)),
        "output": nir.Output(output_type={"output": np.array([N_out])})},
        edges=[("input", "fc1"), ("fc1", "rsyn"), ("rsyn", "fc2"), ("fc2", "output")])


def _rsynaptic(graph, x, alpha=0.95, beta=0.9, threshold=1.0):
    """snnTorch 1.0's RSynaptic (reset to zero), transcribed from its source, in float64."""
    W_in, W, W_out = graph.nodes["fc1"].weight, graph.nodes["rsyn"].nodes["w_rec"].weight, graph.nodes["fc2"].weight
    T, B, _ = x.shape
    syn, mem, spk = (np.zeros((B, W.shape[0])) for _ in range(3))
    spikes, outputs = np.zeros((T, B, W.shape[0]), bool), np.zeros((T, B, W_out.shape[0]))
    for t in range(T):
        reset = (mem - threshold > 0).astype(float)
        syn = alpha * syn + x[t] @ W_in.T + spk @ W.T
        mem = (beta * mem + syn) * (1 - reset)
        spk = (mem - threshold > 0).astype(float)
        spikes[t], outputs[t] = spk > 0, spk @ W_out.T
    return spikes, outputs


def test_an_snntorch_layer_reproduces_its_spikes_with_its_update():
    graph = _snntorch_like_graph()
    net = from_nir(graph, dt=1e-4, update="snntorch")
    x = np.random.default_rng(1).random((300, 4, 3))
    res = simulate(net, x, record=("s",), dtype=np.float64)
    spikes, outputs = _rsynaptic(graph, x)
    assert spikes.sum() > 300 and int((res.spikes != spikes).sum()) == 0
    np.testing.assert_allclose(res.outputs, outputs, atol=1e-12)
    with pytest.raises(BrianModesError, match="give dt"):
        from_nir(graph)
    graph.nodes["fc1"].bias[0] = 1.0
    with pytest.raises(BrianModesError, match="has a bias"):
        from_nir(graph, dt=1e-4)


def test_an_snntorch_layer_runs_in_brian2_as_its_continuous_equations():
    from brianmodes.brian import BrianCircuit

    graph = _snntorch_like_graph()
    graph.nodes["fc1"].weight[:] *= 0.01               # about 4 % of the steps spike, not every one
    graph.nodes["rsyn"].nodes["w_rec"].weight[:] /= 30
    x = np.random.default_rng(1).random((2000, 4, 3))
    snntorch_spikes, _ = _rsynaptic(graph, x)
    counts = {}
    for refractory in (None, 2e-4):   # snnTorch zeroes the membrane in the step after a spike: a one-step clamp,
        net = from_nir(graph, dt=1e-4, refractory=refractory)   # in Brian2's terms refractory = 2 dt
        assert net.model.kind == "continuous" and net.dt == 1e-4
        ours = simulate(net, x[:300], record=("s",), dtype=np.float64)
        brian = BrianCircuit(net, n_trials=4, input_kind="current").run(x[:300])
        assert ours.spikes.sum() > 50 and int((brian.spikes != ours.spikes).sum()) == 0   # Brian2 = the engine
        counts[refractory] = simulate(net, x, record=("s",), dtype=np.float64).spikes.sum() / snntorch_spikes.sum()
    # NIR's equations, integrated exactly, against snnTorch's Euler steps: with snnTorch's dead time the rates agree
    assert abs(counts[2e-4] - 1) < 0.05 and counts[None] > 1.1, counts


def test_an_rleaky_layer_and_its_update():
    """snnTorch's RLeaky (a LIF node, no synaptic current): mem <- (beta mem + input + V spk) (1 - reset)."""
    rng, N, dt, beta = np.random.default_rng(3), 10, 1e-4, 0.9
    tau = dt / (1 - beta)
    W_in, W, W_out = rng.normal(0.3, 0.3, (N, 3)), rng.normal(0, 0.2, (N, N)), rng.normal(size=(2, N))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([3])}), "fc1": nir.Linear(weight=W_in),
        "lif": nir.LIF(tau=np.full(N, tau), r=np.full(N, tau / dt), v_leak=np.zeros(N), v_threshold=np.ones(N),
                       v_reset=np.zeros(N)),
        "w_rec": nir.Linear(weight=W), "fc2": nir.Linear(weight=W_out),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc1"), ("fc1", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "fc2"), ("fc2", "output")])
    x = rng.random((400, 3, 3))
    mem, spk, expected = np.zeros((3, N)), np.zeros((3, N)), []
    for t in range(400):
        reset = (mem > 1).astype(float)
        mem = (beta * mem + x[t] @ W_in.T + spk @ W.T) * (1 - reset)
        spk = (mem > 1).astype(float)
        expected.append(spk > 0)
    res = simulate(from_nir(graph, dt=dt, update="snntorch"), x, record=("s",), dtype=np.float64)
    assert res.spikes.sum() > 100 and int((res.spikes != np.array(expected)).sum()) == 0
    continuous = from_nir(graph, dt=dt)
    assert continuous.model.input == "v" and continuous.model.kind == "continuous"
    assert simulate(continuous, x, record=("s",)).spikes.sum() > 100


@pytest.mark.parametrize("update", ["snntorch", "continuous"])
def test_a_layer_read_from_nir_is_written_back_as_it_was_read(tmp_path, update):
    graph = _snntorch_like_graph()
    net = from_nir(graph, dt=1e-4, update=update)
    written = to_nir(net)
    assert sorted(written.nodes) == ["fc1", "fc2", "input", "lif", "output", "w_rec"]
    np.testing.assert_allclose(written.nodes["fc1"].weight, graph.nodes["fc1"].weight, rtol=1e-12)
    np.testing.assert_allclose(written.nodes["w_rec"].weight, graph.nodes["rsyn"].nodes["w_rec"].weight, rtol=1e-12)
    np.testing.assert_allclose(written.nodes["lif"].tau_syn, graph.nodes["rsyn"].nodes["lif"].tau_syn)
    nir.write(tmp_path / "layer.nir", written)
    back = from_nir(tmp_path / "layer.nir", update=update)   # dt from the metadata brianmodes wrote
    assert back.config() == net.config()
    for name in net.params:
        np.testing.assert_allclose(back.params[name], net.params[name], rtol=1e-12, err_msg=name)
