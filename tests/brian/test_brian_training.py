"""Brian2 in the training loop: new parameters into existing circuits, training tapes recorded in Brian2,
and Trainer(forward='brian2') against the numpy engine."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.brian import BrianCircuit, TapeRecorder
from brianmodes.neurons.run import engine_for
from brianmodes.tasks import make_task
from brianmodes.train.trainer import Trainer

#: Parameters after training with the forward pass in Brian2 and in the numpy engine (float64). Both run
#: the same derived update in float64 and agree spike for spike; their states differ by rounding
#: (~1e-14: Brian2 sums synapses one by one, numpy with BLAS), so the gradients agree to ~1e-14 relative
#: and Adam's steps (at most lr = 1e-3 each) to rounding. Seen: 2e-15 after 5 batches, 4e-15 after 50;
#: a single spike that came out differently would move a parameter by ~lr.
PARAMETER_ATOL = 1e-10


pytestmark = pytest.mark.usefixtures("numpy_code_generation")  # see conftest.py


def _model(name="trained"):
    from brianmodes.neurons import adaptive_lif, lif

    return {"trained": lif("double-ema", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_s")),
            "adaptive": adaptive_lif("double", beta=0.3, tau_a=0.1),
            "hold": lif("single", refractory_mode="hold"),
            "lif": lif("double")}[name]


def _network(seed, model="trained", parametrization="modes", readout="per_step", N=30):
    """A network with trained-like weights and, for the 'trained' model, per-neuron tau_m and a shared tau_s."""
    rng = np.random.default_rng(seed)
    net = ModeNetwork(N=N, P=2, N_in=4, N_out=2, readout=readout, seed=seed, neuron=_model(model),
                      parametrization=parametrization)
    net.params["W_in"] *= 3
    if parametrization == "modes":
        net.params["lam"] *= 5
    else:
        net.params["W"] *= 2
    if "log_tau_m" in net.params:
        net.params["log_tau_m"] += rng.uniform(-0.4, 0.4, net.N)
        net.params["log_tau_s"] += 0.1 * seed
    return net


def _inputs(seed, T=120, B=3):
    return np.random.default_rng(seed).normal(size=(T, B, 4)) + 0.5


def _assert_same_run(res, ref):
    assert ref.spikes.sum() > 200
    assert int((res.spikes != ref.spikes).sum()) == 0, "spike mismatches"
    np.testing.assert_array_equal(res.outputs, ref.outputs)
    for name in ref.traces:
        np.testing.assert_array_equal(res.traces[name], ref.traces[name])


# -- set_parameters -------------------------------------------------------------------------------

@pytest.mark.parametrize("parametrization, recurrence", [("modes", "modes"), ("modes", "dense"), ("full", "dense")])
def test_set_parameters_equals_a_circuit_built_from_the_new_network(parametrization, recurrence):
    old, new = _network(1, parametrization=parametrization), _network(2, parametrization=parametrization)
    x = _inputs(0)
    circuit = BrianCircuit(old, n_trials=3, recurrence=recurrence, record=("v",))
    before = circuit.run(x)
    circuit.set_parameters(new)
    after = circuit.run(x)
    fresh = BrianCircuit(new, n_trials=3, recurrence=recurrence, record=("v",)).run(x)
    assert int((before.spikes != fresh.spikes).sum()) > 0  # the new parameters matter
    _assert_same_run(after, fresh)
    assert circuit.namespace["tau_s"] == pytest.approx(new.neuron_values()["tau_s"])
    np.testing.assert_array_equal(np.asarray(circuit.neurons.tau_m_[:30]), new.neuron_values()["tau_m"])
    # the circuit keeps a copy: changing the network afterwards changes nothing until set_parameters
    new.params["W_in"] *= 0
    _assert_same_run(circuit.run(x), fresh)


def test_set_parameters_of_the_literal_input_circuit():
    task = make_task("digits", n_steps=40)
    old, new = (task.make_network(N=30, P=3, seed=s) for s in (3, 4))
    for net in (old, new):
        net.params["W_in"] *= 3
        net.params["lam"] *= 5
    x = task.sample(4, np.random.default_rng(0)).inputs
    circuit = BrianCircuit(old, n_trials=4, input_kind="spikes", input_synapses=True)
    circuit.run(x)
    circuit.set_parameters(new)
    np.testing.assert_array_equal(np.asarray(circuit.input_synapses.w_in[:30 * 64]), new.W_in.T.reshape(-1))
    fresh = BrianCircuit(new, n_trials=4, input_kind="spikes", input_synapses=True).run(x)
    _assert_same_run(circuit.run(x), fresh)
    assert int((fresh.spikes != simulate(new, x, dtype=np.float64).spikes).sum()) == 0


@pytest.mark.parametrize("other, message", [
    (dict(N=40), "N is 30 in the circuit, 40 in the network"),
    (dict(readout="max"), "readout is 'per_step' in the circuit, 'max' in the network"),
    (dict(parametrization="full"), "parametrization is 'modes' in the circuit, 'full' in the network"),
    (dict(model="adaptive"), "neuron"),
])
def test_set_parameters_refuses_another_structure(other, message):
    circuit = BrianCircuit(_network(1), n_trials=2)
    with pytest.raises(BrianModesError, match="structure the circuit was built for.*" + message):
        circuit.set_parameters(_network(2, **other))
    with pytest.raises(BrianModesError, match="needs a ModeNetwork"):
        circuit.set_parameters({"W_in": 0})


# -- the training tape, recorded in Brian2 --------------------------------------------------------

@pytest.mark.parametrize("model, readout", [("lif", "max"), ("trained", "per_step"), ("adaptive", "per_step"),
                                            ("hold", "max")])
def test_tape_recorded_in_brian2_is_the_engines(model, readout):
    from brianmodes.simulate import forward

    net = _network(5, model=model, readout=readout)
    x = _inputs(5, T=80, B=4)
    engine = engine_for(net, engine="numpy")
    recorder = TapeRecorder(engine, modes=True)
    circuit = BrianCircuit(net, n_trials=4)
    recorder.setup(circuit)
    fwd = recorder.forward(circuit, circuit.run(x), x)
    ref = forward(net, x, dtype=np.float64, train=True, engine="numpy")
    assert sorted(fwd["tape"]) == sorted(ref["tape"])
    for name, values in ref["tape"].items():
        np.testing.assert_allclose(fwd["tape"][name], values, rtol=0, atol=1e-12, err_msg=name)
    for key in ("M", "count", "argmax"):
        if ref[key] is not None:
            np.testing.assert_array_equal(fwd[key], ref[key], err_msg=key)
    for key in ("K", "REC", "amax", "y", "drive"):
        if ref[key] is not None:
            np.testing.assert_allclose(fwd[key], ref[key], rtol=0, atol=1e-12, err_msg=key)
    gy = np.random.default_rng(0).normal(size=ref["y"].shape)
    grads, expected = engine.backward(fwd, gy), engine.backward(ref, gy)
    for name, g in expected.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-10, atol=1e-12 * np.abs(g).max(), err_msg=name)


def test_tape_recorder_refuses_models_brian2_cannot_train():
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, discretization="published")
    with pytest.raises(BrianModesError, match="only continuous spiking models"):
        TapeRecorder(engine_for(net, engine="numpy"), modes=True)


# -- Trainer(forward='brian2') --------------------------------------------------------------------

def _train_both(task, forward, n_batches, **net_kwargs):
    nets = [task.make_network(seed=0, **net_kwargs) for _ in range(2)]
    kwargs = dict(n_batches=n_batches, dtype="float64", progress=False, seed=0)
    brian2 = Trainer(forward=forward, engine="numpy", **kwargs).fit(nets[0], task)
    engine = Trainer(engine="numpy", **kwargs).fit(nets[1], task)
    return nets, brian2, engine


def _assert_same_training(nets, brian2, engine):
    assert [row["batch"] for row in brian2.history_] == [row["batch"] for row in engine.history_]
    for a, b in zip(brian2.history_, engine.history_):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-12)
        assert a["rate_hz"] == b["rate_hz"]  # the same spikes
    for name, value in nets[1].params.items():
        np.testing.assert_allclose(nets[0].params[name], value, rtol=0, atol=PARAMETER_ATOL, err_msg=name)


def test_trainer_forward_in_brian2_numpy_target_equals_the_numpy_engine():
    task = make_task("digits", n_steps=30)
    nets, brian2, engine = _train_both(task, "brian2:numpy", 5, N=40, P=3)
    _assert_same_training(nets, brian2, engine)
    assert brian2.settings()["forward"] == "brian2:numpy" and engine.settings()["forward"] == "engine"
    assert brian2._brian2 is None  # closed at the end of fit


def test_trainer_forward_in_brian2_trains_neuron_parameters():
    task = make_task("context", n_steps=120, stim_on=10, stim_off=80)
    model = _model("trained")
    nets, brian2, engine = _train_both(task, "brian2:numpy", 3, N=30, P=2, neuron=model)
    assert np.ptp(nets[0].params["log_tau_m"]) > 0
    _assert_same_training(nets, brian2, engine)


@pytest.mark.parametrize("kwargs, message", [
    (dict(forward="brian"), "forward must be one of engine, brian2, brian2:cpp_standalone"),
    (dict(forward="brian2"), "forward='brian2' needs dtype='float64'"),
])
def test_trainer_forward_settings_are_checked(kwargs, message):
    with pytest.raises(BrianModesError, match=message):
        Trainer(**kwargs).validate()


@pytest.mark.parametrize("net_kwargs, message", [
    (dict(discretization="published"), "cannot train the published update"),
    (dict(neuron="tanh"), "needs a spiking network"),
])
def test_trainer_forward_in_brian2_refuses_models_brian2_cannot_run(net_kwargs, message):
    task = make_task("digits", n_steps=20)
    net = task.make_network(N=20, P=2, seed=0, **net_kwargs)
    with pytest.raises(BrianModesError, match=message):
        Trainer(n_batches=1, dtype="float64", forward="brian2:numpy", progress=False).fit(net, task)


# -- compiled targets -----------------------------------------------------------------------------

@pytest.mark.compiled
def test_set_parameters_cython_target():
    old, new = _network(1), _network(2)
    x = _inputs(0)
    circuit = BrianCircuit(old, n_trials=3, record=("v",))
    circuit.run(x, target="cython")
    circuit.set_parameters(new)
    fresh = BrianCircuit(new, n_trials=3, record=("v",)).run(x)  # numpy target
    after = circuit.run(x, target="cython")
    assert int((after.spikes != fresh.spikes).sum()) == 0
    np.testing.assert_allclose(after.traces["v"], fresh.traces["v"], rtol=0, atol=1e-12)


@pytest.mark.compiled
def test_set_parameters_cpp_standalone_without_recompiling(monkeypatch):
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    from brianmodes.brian import StandaloneProgram

    compiles = []
    original = CPPStandaloneDevice.compile_source
    monkeypatch.setattr(CPPStandaloneDevice, "compile_source",
                        lambda self, *a, **k: (compiles.append(1), original(self, *a, **k))[1])
    nets = [_network(s) for s in (1, 2, 3)]
    x = _inputs(0)
    order = nets[1:] + nets[:1]
    with StandaloneProgram(nets[0], n_trials=3, n_steps=x.shape[0], record=("v",)) as runner:
        main = runner.directory / "main"
        built = main.stat().st_mtime_ns
        assert compiles == [1]
        results = []
        for net in order:
            runner.set_parameters(net)
            results.append(runner.run(x))
        assert compiles == [1] and runner.builds == 1 and main.stat().st_mtime_ns == built
        assert not [p for p in (runner.directory / "static_arrays").iterdir() if p.name.startswith("init_")]
    for net, result in zip(order, results):  # against circuits built afresh (numpy target, after the runner)
        fresh = BrianCircuit(net, n_trials=3, record=("v",)).run(x)
        assert fresh.spikes.sum() > 200
        assert int((result.spikes != fresh.spikes).sum()) == 0
        np.testing.assert_allclose(result.traces["v"], fresh.traces["v"], rtol=0, atol=1e-12)


@pytest.mark.slow
@pytest.mark.compiled
def test_trainer_forward_in_brian2_50_digits_batches_equals_the_numpy_engine():
    """The task's defaults (batch size 64, 50 steps), N = 100, P = 3, float64, in a C++ standalone program."""
    task = make_task("digits")
    nets, brian2, engine = _train_both(task, "brian2", 50, N=100, P=3)
    _assert_same_training(nets, brian2, engine)
