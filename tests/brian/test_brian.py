"""Brian2 against the numpy engine, spike for spike: the circuit's neurons are the network's own model."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.brian import BrianCircuit, neuron_model
from brianmodes.tasks import make_task

N_TRIALS = 20


pytestmark = pytest.mark.usefixtures("numpy_code_generation")  # see conftest.py


def _strong(net):
    """Trained-like weights: enough drive and recurrence for plenty of spikes."""
    net.params["W_in"] *= 3
    if "lam" in net.params:
        net.params["lam"] *= 5
    else:
        net.params["W"] *= 2
    return net


def _assert_parity(net, x, res, atol=1e-9):
    ref = simulate(net, x, record=("s", "v", "I", "r", "h"), dtype=np.float64)
    assert ref.spikes.sum() > 100
    assert int((res.spikes != ref.spikes).sum()) == 0, "spike mismatches"
    np.testing.assert_allclose(res.outputs, ref.outputs, rtol=0, atol=1e-5)
    for name, trace in res.traces.items():
        np.testing.assert_allclose(trace, ref.traces[name], rtol=0, atol=atol)


@pytest.mark.parametrize("recurrence", ["modes", "dense"])
def test_digits_parity_numpy_target(recurrence):
    task = make_task("digits")
    net = _strong(task.make_network(N=40, P=3, seed=0, discretization="brian2"))
    batch = task.sample(N_TRIALS, np.random.default_rng(0))
    circuit = BrianCircuit(net, n_trials=N_TRIALS, recurrence=recurrence, input_kind="spikes", record=("v", "r"))
    _assert_parity(net, batch.inputs, circuit.run(batch.inputs))


@pytest.mark.parametrize("recurrence", ["modes", "dense"])
def test_context_parity_numpy_target(recurrence):
    task = make_task("context", n_steps=300, stim_off=200, switch_prob=0.5, switch_step=250)
    net = _strong(task.make_network(N=40, P=3, seed=1, discretization="brian2"))
    batch = task.sample(N_TRIALS, np.random.default_rng(1))
    circuit = BrianCircuit(net, n_trials=N_TRIALS, recurrence=recurrence, input_kind="current", record=("v", "I"))
    _assert_parity(net, batch.inputs, circuit.run(batch.inputs))


@pytest.mark.parametrize("filter", ["single", "double", "double-ema"])
@pytest.mark.parametrize("readout", ["max", "per_step"])
def test_filters_and_readouts_parity(filter, readout):
    rng = np.random.default_rng(2)
    net = _strong(ModeNetwork(N=25, P=2, N_in=5, N_out=3, seed=2, filter=filter, readout=readout,
                              discretization="brian2"))
    x = (rng.random((80, 4, 5)) < 0.3).astype(float)
    record = ("v", "r") if filter == "single" else ("v", "r", "h")
    _assert_parity(net, x, BrianCircuit(net, n_trials=4, input_kind="spikes", record=record).run(x))


def test_input_synapses_literal_circuit_parity():
    rng = np.random.default_rng(3)
    net = _strong(ModeNetwork(N=25, P=2, N_in=6, N_out=2, seed=3, discretization="brian2"))
    x = (rng.random((60, 3, 6)) < 0.3).astype(float)
    circuit = BrianCircuit(net, n_trials=3, input_kind="spikes", input_synapses=True, record=("v",))
    assert circuit.inputs.name == "inputs" and len(circuit.input_synapses) == 6 * 25 * 3
    _assert_parity(net, x, circuit.run(x))


def test_full_rank_network_runs_dense_only():
    rng = np.random.default_rng(4)
    net = _strong(ModeNetwork(N=20, P=20, N_in=4, N_out=1, parametrization="full", seed=4,
                              readout="per_step", discretization="brian2"))
    x = rng.normal(size=(80, 2, 4))
    _assert_parity(net, x, BrianCircuit(net, n_trials=2, recurrence="dense").run(x))
    with pytest.raises(BrianModesError, match="no modes"):
        BrianCircuit(net, recurrence="modes")
    assert BrianCircuit(net, n_trials=1).recurrence == "dense"   # a full-rank network's own form by default


def _rerun_problem():
    rng = np.random.default_rng(5)
    net = _strong(ModeNetwork(N=20, P=2, N_in=4, N_out=1, seed=5, readout="per_step", discretization="brian2"))
    return net, BrianCircuit(net, n_trials=2, record=("v",)), rng.normal(size=(50, 2, 4)), rng.normal(size=(70, 2, 4))


def test_circuit_can_be_rerun_and_reused():
    """Each run starts afresh from t = 0 and gives the engine's spikes for its own inputs."""
    net, circuit, x1, x2 = _rerun_problem()
    results = []
    for x in (x1, x2, x1):
        result = circuit.run(x)
        ref = simulate(net, x, record=("s", "v"), dtype=np.float64)  # an independent run of the same input
        assert result.spikes.shape == (x.shape[0], 2, 20) and ref.spikes.sum() > 20
        np.testing.assert_array_equal(result.spikes, ref.spikes)
        np.testing.assert_allclose(result.traces["v"], ref.v, rtol=0, atol=1e-9)
        np.testing.assert_allclose(result.outputs, ref.outputs, rtol=0, atol=1e-5)
        results.append(result)
    a, b, a_again = results
    assert a is not a_again and a.spikes is not a_again.spikes
    np.testing.assert_array_equal(a.spikes, a_again.spikes)
    assert not np.array_equal(a.spikes, b.spikes[:50])  # other inputs, other spikes


def test_a_result_survives_later_runs_of_the_circuit():
    net, circuit, x1, x2 = _rerun_problem()
    first = circuit.run(x1)
    kept = {"spikes": first.spikes.copy(), "v": first.traces["v"].copy(), "outputs": first.outputs.copy()}
    circuit.run(x2)
    np.testing.assert_array_equal(first.spikes, kept["spikes"])
    np.testing.assert_array_equal(first.outputs, kept["outputs"])
    np.testing.assert_array_equal(first.traces["v"], kept["v"])


def test_objects_are_named_and_equations_printable():
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=2, discretization="brian2")
    circuit = BrianCircuit(net, n_trials=2, record=("v",))
    names = {obj.name for obj in circuit.network.objects}
    assert {"neurons", "modes", "to_modes", "from_modes", "readout", "to_readout", "spike_monitor",
            "state_monitor"} <= names
    assert "dv/dt = (I - v) / tau_m" in circuit.equations
    assert neuron_model(net)["reset"].startswith("v = 0")
    assert str(circuit.neurons.namespace["tau_m"]) == "20. ms"


@pytest.mark.parametrize("kwargs, message", [
    ({"recurrence": "sparse"}, "recurrence must be"), ({"input_kind": "rates"}, "input_kind must be"),
    ({"n_trials": 0}, "n_trials"), ({"input_synapses": True, "input_kind": "current"}, "needs input_kind='spikes'"),
    ({"recurrence": "dense", "max_memory": 1000}, "use recurrence='modes'"), ({"dt": "-1 ms"}, "dt must be a positive time")])
def test_bad_circuit_arguments(kwargs, message):
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1)
    with pytest.raises(BrianModesError, match=message):
        BrianCircuit(net, **kwargs)


def test_wrong_number_of_trials_and_tanh_refused():
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, readout="per_step")
    circuit = BrianCircuit(net, n_trials=2)
    with pytest.raises(BrianModesError, match="built for 2"):
        circuit.run(np.zeros((10, 3, 3)))
    with pytest.raises(BrianModesError, match="target"):
        circuit.run(np.zeros((10, 2, 3)), target="gpu")
    with pytest.raises(BrianModesError, match="tanh"):
        BrianCircuit(ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron="tanh"))


# -- the network's own neuron model in Brian2 ------------------------------------------------------

def _models():
    from brianmodes.neurons import adaptive_lif, lif
    from helpers import USER_MODEL

    return {"adaptive-current": adaptive_lif("double", beta=0.3, tau_a=0.1),
            "adaptive-threshold": adaptive_lif("single", adaptation="threshold", beta=0.3, tau_a=0.1),
            "trained-tau-m": lif("double-ema", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_s")),
            "hold": lif("double-ema", refractory_mode="hold"), "user": USER_MODEL}


@pytest.mark.parametrize("recurrence", ["modes", "dense"])
@pytest.mark.parametrize("name", ["adaptive-current", "adaptive-threshold", "trained-tau-m", "hold", "user"])
def test_neuron_models_parity(name, recurrence):
    """Adaptive LIF, heterogeneous trained time constants, Brian2's hold and a user's neuron: the circuit
    is built from the network's model (equations, per-neuron values set before store('initial'))."""
    rng = np.random.default_rng(1)
    net = _strong(ModeNetwork(N=30, P=2, N_in=4, N_out=1, readout="per_step", seed=1, neuron=_models()[name]))
    if "log_tau_m" in net.params:  # trained: one time constant per neuron
        net.params["log_tau_m"] += rng.uniform(-0.4, 0.4, net.N)
    if "log_tau_s" in net.params:  # and a shared one
        net.params["log_tau_s"] += 0.2
    x = rng.normal(size=(200, 3, 4)) + 0.5
    circuit = BrianCircuit(net, n_trials=3, recurrence=recurrence, input_kind="current", record=("v",))
    if "log_tau_m" in net.params:
        np.testing.assert_allclose(np.asarray(circuit.neurons.tau_m_[:60]),
                                   np.tile(np.exp(net.params["log_tau_m"]), 2))
    if "log_tau_s" in net.params:
        assert float(circuit.namespace["tau_s"]) == pytest.approx(np.exp(net.params["log_tau_s"]))
    res = circuit.run(x)
    ref = simulate(net, x, record=("s", "v"), dtype=np.float64)
    assert ref.spikes.sum() > 500
    assert int((res.spikes != ref.spikes).sum()) == 0, "spike mismatches"
    np.testing.assert_allclose(res.traces["v"], ref.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.outputs, ref.outputs, rtol=0, atol=1e-5)


@pytest.mark.compiled
@pytest.mark.parametrize("recurrence", ["modes", "dense"])
@pytest.mark.parametrize("device", ["cython", "cpp_standalone"])
@pytest.mark.parametrize("name", ["adaptive-trained-tau-m", "user"])
def test_neuron_models_parity_compiled(name, device, recurrence):
    """Adaptive LIF with trained per-neuron time constants, and a user's neuron (trainable per-neuron tau_m
    and v_reset, a saturating drive, Brian2's hold): 0 spike mismatches on Cython and C++ standalone."""
    from brianmodes.brian import StandaloneProgram
    from brianmodes.neurons import adaptive_lif
    from helpers import USER_MODEL

    model = USER_MODEL if name == "user" else adaptive_lif("double", beta=0.3, tau_a=0.1,
                                                           per_neuron=("v_th", "tau_m"), trainable=("tau_m",))
    rng = np.random.default_rng(13)
    net = _strong(ModeNetwork(N=30, P=2, N_in=4, N_out=1, readout="per_step", seed=13, neuron=model))
    net.params["log_tau_m"] += rng.uniform(-0.4, 0.4, net.N)
    x = rng.normal(size=(150, N_TRIALS, 4)) + 0.5
    if device == "cython":
        result = BrianCircuit(net, n_trials=N_TRIALS, record=("v",), recurrence=recurrence).run(x, target="cython")
    else:
        with StandaloneProgram(net, n_trials=N_TRIALS, n_steps=150, record=("v",), recurrence=recurrence) as runner:
            result = runner.run(x)
    _assert_parity(net, x, result)


def test_published_network_runs_as_its_continuous_lif_and_discrete_models_are_refused():
    from brianmodes.neurons import NeuronModel

    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, discretization="published", filter="single", tau_m="15 ms")
    assert neuron_model(net)["equations"] == neuron_model(net.with_config(discretization="brian2"))["equations"]
    assert float(neuron_model(net)["namespace"]["tau_m"]) == pytest.approx(0.015)
    rate = NeuronModel(statements="x = 0.9*x + I_in + I_rec\nr = tanh(x)", input="x", threshold="x > 1",
                       refractory="2 ms")
    with pytest.raises(BrianModesError, match="is a discrete update: it has no continuous-time equations"):
        BrianCircuit(ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=rate))
    with pytest.warns(UserWarning, match="trained with the published discrete update; Brian2 simulates"):
        BrianCircuit(net)   # said in Python, not only on the command line


def test_training_at_a_finer_dt_runs_in_brian2_spike_for_spike():
    """The update is derived from the equations for any dt: a network trained at dt = 0.5 ms (with
    trained per-neuron time constants) learns there and runs in Brian2 at that dt spike for spike."""
    from brianmodes.neurons import lif
    from brianmodes.train.trainer import Trainer

    task = make_task("context", n_steps=160, stim_on=20, stim_off=100)  # 80 ms trials at 0.5 ms
    model = lif("double-ema", per_neuron=("v_th", "tau_m"), trainable=("tau_m",), dt_model="0.5 ms")
    net = _strong(task.make_network(N=30, P=2, seed=12, neuron=model, dt="0.5 ms"))
    assert net.dt == 0.0005 and net.n_ref == 20
    before = task.evaluate(net, n_trials=40, dtype=np.float64)["mse"]
    Trainer(n_batches=25, batch_size=16, lr=1e-2, progress=False, seed=0).fit(net, task)
    after = task.evaluate(net, n_trials=40, dtype=np.float64)["mse"]
    assert after < 0.7 * before
    assert np.ptp(net.params["log_tau_m"]) > 0  # the time constants were trained too
    batch = task.sample(6, np.random.default_rng(3))
    _assert_parity(net, batch.inputs, BrianCircuit(net, n_trials=6, input_kind="current", record=("v",))
                   .run(batch.inputs))


@pytest.mark.compiled
def test_context_parity_cython_target():
    task = make_task("context", n_steps=200, stim_off=150)
    net = _strong(task.make_network(N=30, P=3, seed=6))
    batch = task.sample(N_TRIALS, np.random.default_rng(6))
    circuit = BrianCircuit(net, n_trials=N_TRIALS, input_kind="current", record=("v",))
    _assert_parity(net, batch.inputs, circuit.run(batch.inputs, target="cython"))


@pytest.mark.compiled
@pytest.mark.parametrize("recurrence", ["modes", "dense"])
def test_parity_cpp_standalone_build_once_run_many(recurrence):
    from brianmodes.brian import StandaloneProgram

    task = make_task("digits", n_steps=40)
    net = _strong(task.make_network(N=30, P=3, seed=7))
    rng = np.random.default_rng(7)
    with StandaloneProgram(net, n_trials=N_TRIALS, n_steps=40, recurrence=recurrence, input_kind="spikes",
                          record=("v",)) as runner:
        build_dir = runner.directory
        for _ in range(2):  # new inputs, same compiled program
            batch = task.sample(N_TRIALS, rng)
            _assert_parity(net, batch.inputs, runner.run(batch.inputs))
        assert not [p for p in build_dir.iterdir() if p.name.startswith("results-")]
    assert not build_dir.exists()
    # the runtime device works again afterwards
    x = task.sample(2, rng).inputs
    _assert_parity(net, x, BrianCircuit(net, n_trials=2, input_kind="spikes").run(x))


def test_evaluate_in_brian2_equals_numpy_engine():
    from brianmodes.brian import evaluate_brian2

    task = make_task("context", n_steps=200, stim_off=150)
    net = _strong(task.make_network(N=30, P=2, seed=8))
    ours = evaluate_brian2(net, task, device="runtime", n_trials=30, batch_size=12)
    engine = task.evaluate(net, n_trials=30, batch_size=12, dtype=np.float64)
    assert ours["n_trials"] == 30
    for key in ("mse", "decision_accuracy", "rate_hz"):
        assert ours[key] == pytest.approx(engine[key], abs=1e-9)
    with pytest.raises(BrianModesError, match="device must be"):
        evaluate_brian2(net, task, device="gpu")


def test_resample_inputs_keeps_counts_and_charge():
    from brianmodes.brian.inputs import resample_inputs, substeps

    rng = np.random.default_rng(9)
    spikes = (rng.random((50, 4, 6)) < 0.3).astype(float)
    fine = resample_inputs(spikes, 5, "spikes", rng)
    assert fine.shape == (250, 4, 6)
    np.testing.assert_array_equal(fine.reshape(50, 5, 4, 6).sum(axis=1), spikes)
    current = rng.normal(size=(50, 4, 6))
    np.testing.assert_array_equal(resample_inputs(current, 4, "current")[::4], current)
    assert substeps(0.002, 0.0001) == 20
    with pytest.raises(BrianModesError, match="whole number"):
        substeps(0.002, 0.0003)


def test_finer_dt_keeps_context_performance_close():
    """The same equations at dt/4: the trained behaviour carries over (not spike for spike)."""
    from brianmodes.brian import evaluate_brian2

    task = make_task("context", n_steps=200, stim_off=150)
    net = _strong(task.make_network(N=30, P=2, seed=10))
    coarse = evaluate_brian2(net, task, device="runtime", n_trials=20, batch_size=20)
    fine = evaluate_brian2(net, task, device="runtime", n_trials=20, batch_size=20, dt="0.5 ms")
    assert fine["dt"] == pytest.approx(0.0005)
    assert abs(fine["rate_hz"] - coarse["rate_hz"]) < 0.25 * coarse["rate_hz"]


def test_user_monitor_and_silencing_in_segments():
    from brian2 import StateMonitor, ms

    rng = np.random.default_rng(11)
    net = _strong(ModeNetwork(N=20, P=2, N_in=4, N_out=1, seed=11, readout="per_step"))
    x = rng.normal(size=(150, 2, 4)) + 0.5
    circuit = BrianCircuit(net, n_trials=2)
    monitor = StateMonitor(circuit.neurons, "v", record=[0, 1], when="end", name="my_monitor")
    circuit.add(monitor)
    intact = circuit.run(x)
    assert np.array(monitor.v_).shape == (2, 150)
    assert intact.spikes[50:100, 0].sum() > 0
    n_steps = circuit.prepare(x)
    circuit.network.run(100 * ms)
    circuit.neurons.v_th[:20] = np.inf  # silence every neuron of trial 0
    circuit.network.run(100 * ms)
    circuit.neurons.v_th[:20] = net.v_th
    circuit.network.run(100 * ms)
    silenced = circuit.collect(n_steps)
    assert silenced.spikes[50:100, 0].sum() == 0
    np.testing.assert_array_equal(silenced.spikes[:50], intact.spikes[:50])  # same trials before
    np.testing.assert_array_equal(silenced.spikes[:, 1], intact.spikes[:, 1])  # trial 1 untouched


@pytest.mark.compiled
def test_failed_standalone_compile_names_the_alternative():
    import brian2
    from brianmodes.brian import StandaloneProgram

    net = ModeNetwork(N=5, P=1, N_in=2, N_out=1, readout="per_step")
    make_args = brian2.prefs.devices.cpp_standalone.extra_make_args_unix
    brian2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args + ["CXX=/nonexistent/compiler"]
    try:
        with pytest.raises(BrianModesError, match=r"standalone compilation failed.*numpy target.*needs no compiler"):
            StandaloneProgram(net, n_trials=1, n_steps=5)
    finally:
        brian2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args
    # and the runtime device still works
    BrianCircuit(net).run(np.zeros((5, 1, 2)))


def test_refused_inputs_leave_no_brian2_warnings(tmp_path):
    """NaN inputs raise one BrianModesError; the circuit that never ran is deleted without
    Brian2's many-line "object is getting deleted" warnings (here and at interpreter exit)."""
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from brianmodes import BrianModesError, ModeNetwork\n"
        "from brianmodes.brian import BrianCircuit\n"
        "net = ModeNetwork(N=10, P=1, N_in=2, N_out=1, readout='per_step', seed=0)\n"
        "x = np.zeros((5, 2, 2)); x[1, 0, 0] = np.nan\n"
        "try:\n"
        "    BrianCircuit(net, n_trials=2).run(x)\n"
        "except BrianModesError as err:\n"
        "    print('refused:', err)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "refused: inputs contain NaN or infinite values"
    assert "getting deleted" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
