"""NeuronModel: the representation, its checks, and derived gradients against finite differences.

With a smooth spike function whose derivative is the surrogate (its
primitive), the derived adjoint is the exact gradient of the loss, so central
finite differences must match it to round-off: for the adaptive LIF, for
trainable time constants (per neuron and shared), for the published update
and for a neuron written in Brian2 syntax here.
"""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork
from brianmodes.neurons import (NeuronModel, Parameter, adaptive_lif, derive, get_model, lif, published_lif,
                                tanh_rate)
from brianmodes.neurons.engine import Engine
from brianmodes.neurons.run import loss_and_grads, simulate
from helpers import small_problem as _problem
from brianmodes.train import get_surrogate
from helpers import USER_MODEL

# 4-point stencil: truncation ~ EPS**4 f^(5), round-off ~ 1e-16 |L| / EPS; the step is absolute for
# the weights and relative for the neuron's parameters (a time constant is ~1e-2 s)
EPS = 3e-4
TOL = 1e-6




def _initial_params(model, N, rng):
    """Trainable parameters as arrays (per neuron: spread around the model's value)."""
    values = model.parameter_values(N)
    out = {}
    for name in model.trainable:
        v = np.asarray(values[name], float)
        out[name] = v * (1 + 0.2 * rng.uniform(-1, 1, v.shape)) if v.ndim else np.array(float(v))
    return out


def _check_fd(net, x, targets, loss, model, n_entries=8, seed=0):
    """Relative error |fd - analytic| / |fd| for every weight and trainable parameter."""
    sur = get_surrogate("fast_sigmoid")
    rng = np.random.default_rng(seed)
    params = _initial_params(model, net.N, rng)
    engine = Engine(model, net.dt)

    def loss_value():
        return loss_and_grads(net, x, targets, loss=loss, model=model, params=params, dtype=np.float64,
                              smooth=True)

    def structure():  # the piecewise-constant parts: refractory masks and argmax
        fwd = engine.forward(net.params, x, readout=net.readout, record=("m",), params=params,
                             spike_fn=sur.primitive)
        return [a for a in (fwd["traces"].get("m"), fwd.get("argmax")) if a is not None]

    analytic = loss_value().grads
    assert set(analytic) == set(net.params) | set(model.trainable)
    base = structure()
    errors = {}
    for name, grad in analytic.items():
        array = net.params[name] if name in net.params else params[name]
        fd, an = [], []
        for i in rng.permutation(array.size):
            old = float(array.flat[i])
            eps = EPS * (1.0 if name in net.params else abs(old))
            values, same = [], True
            for d in (2, 1, -1, -2):
                array.flat[i] = old + d * eps
                values.append(loss_value().loss)
                same &= all(np.array_equal(a, b) for a, b in zip(base, structure()))
            array.flat[i] = old
            if not same:  # the perturbation crossed a discontinuity: FD undefined here
                continue
            fd.append((-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps))
            an.append(np.asarray(grad).flat[i])
            if len(fd) == n_entries:
                break
        assert len(fd) >= min(n_entries, array.size) // 2, f"too few smooth entries for {name}"
        fd, an = np.array(fd), np.array(an)
        assert np.linalg.norm(fd) > 0, name
        errors[name] = np.linalg.norm(fd - an) / np.linalg.norm(fd)
    return errors


# -- gradients against finite differences ------------------------------------------------------
@pytest.mark.parametrize("adaptation,filter,readout,parametrization", [
    ("current", "double", "max", "modes"), ("threshold", "single", "per_step", "full"),
    ("current", "double-ema", "per_step", "modes")])
def test_adaptive_lif_gradients_match_finite_differences(adaptation, filter, readout, parametrization):
    net, x, targets, loss = _problem(filter=filter, readout=readout, parametrization=parametrization)
    model = adaptive_lif(filter, adaptation=adaptation, tau_a=0.1, beta=0.3, trainable=("tau_a", "beta"))
    spikes = simulate(net, x, model=model, dtype=np.float64).spike_count.sum()
    assert spikes > 20
    errors = _check_fd(net, x, targets, loss, model)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("filter,readout", [("double", "max"), ("double-ema", "per_step"), ("single", "max")])
def test_trainable_per_neuron_time_constants_match_finite_differences(filter, readout):
    net, x, targets, loss = _problem(filter=filter, readout=readout)
    model = lif(filter, per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_s", "v_th"))
    errors = _check_fd(net, x, targets, loss, model)
    assert set(errors) >= {"tau_m", "tau_s", "v_th"}
    assert max(errors.values()) < TOL, errors


def test_published_update_tau_gradients_match_finite_differences():
    net, x, targets, loss = _problem(filter="double", readout="max", discretization="published")
    model = published_lif("double", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_d"))
    errors = _check_fd(net, x, targets, loss, model)
    assert max(errors.values()) < TOL, errors


def test_hold_refractoriness_gradients_match_finite_differences():
    """Brian2's 'hold': the gradient flows through the held value (it differs from 'clamp')."""
    net, x, targets, loss = _problem(filter="double", readout="per_step")
    hold = lif("double", refractory_mode="hold", trainable=("tau_m",))
    errors = _check_fd(net, x, targets, loss, hold)
    assert max(errors.values()) < TOL, errors
    # hard spikes: the same spikes as 'clamp', other gradients
    clamp = lif("double", trainable=("tau_m",))
    a, b = (loss_and_grads(net, x, targets, loss=loss, model=m, dtype=np.float64) for m in (hold, clamp))
    np.testing.assert_array_equal(a.outputs, b.outputs)
    assert not np.allclose(a.grads["tau_m"], b.grads["tau_m"])


def test_user_written_model_derives_runs_and_has_exact_gradients():
    net, x, targets, loss = _problem(filter="single", readout="per_step")
    program = derive(USER_MODEL)
    text = str(program)
    assert "tanh" in text and "Select(not_refractory" in text and "v__0)" in text  # held, not clamped
    res = simulate(net, x, record=("v", "s", "m"), model=USER_MODEL, dtype=np.float64)
    assert res.spike_count.sum() > 20 and (~res.m).sum() > 0
    # while refractory the membrane holds its reset value, as in Brian2
    held = ~res.m
    np.testing.assert_array_equal(res.v[held], -0.2)
    errors = _check_fd(net, x, targets, loss, USER_MODEL)
    assert {"tau_m", "v_reset"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_user_model_with_euler_method_and_nonlinear_membrane():
    model = NeuronModel(
        "dv/dt = (v*v/4 - v + I) / tau_m : 1 (unless refractory)\n"
        "dI/dt = -I / tau_s + I_rec / dt_model : 1\nda/dt = (v - a) / tau_d : 1\nI_rec : 1",
        threshold="v > 1", reset="v = 0", refractory="4 ms", refractory_mode="hold", activity="a",
        parameters={"tau_m": Parameter(0.02, trainable=True), "tau_s": 0.01, "tau_d": 0.03, "dt_model": 0.002},
        method="euler")
    net, x, targets, loss = _problem(readout="per_step")
    errors = _check_fd(net, x, targets, loss, model)
    assert max(errors.values()) < TOL, errors


def test_tanh_rate_gradients_with_trainable_tau():
    net, x, targets, loss = _problem(neuron="tanh", readout="per_step")
    errors = _check_fd(net, x, targets, loss, tanh_rate(trainable=("tau_m",)))
    assert max(errors.values()) < TOL, errors


# -- the representation -------------------------------------------------------------------------
def test_lif_builtins_are_todays_brian2_equations():
    from brianmodes.brian.equations import neuron_model

    for filter in ("single", "double", "double-ema"):
        net = ModeNetwork(N=3, P=1, N_in=1, N_out=1, filter=filter)
        today = neuron_model(net)
        model = lif(filter)
        lines = [line.split("#")[0].strip() for line in today["equations"].splitlines()]
        assert model.equations.splitlines()[:3] == lines[:3]
        assert set(model.equations.splitlines()) <= set(lines)
        assert (model.threshold, model.reset_text) == (today["threshold"], today["reset"])


def test_parameters_units_and_bounds():
    model = lif("double", tau_m="15 ms", per_neuron=("v_th", "tau_m"))
    assert model.parameters["tau_m"] == Parameter(0.015, per_neuron=True, bound="positive", dim="s")
    assert "tau_m : second (constant)" in model.brian2_equations()
    assert model.parameter_values(4)["tau_m"].shape == (4,)
    with pytest.raises(BrianModesError, match="must be positive"):
        lif("double", tau_m=-0.01)
    with pytest.raises(BrianModesError, match="has no parameter 'tau_x'"):
        lif("double").with_parameters(tau_x=0.01)
    with pytest.raises(BrianModesError, match="trainable: no parameter 'tau_r'"):
        lif("single", trainable=("tau_r",))
    assert get_model("adaptive_lif", adaptation="threshold").threshold == "v > v_th + a"


def test_derived_program_prints_and_generates_readable_code():
    weights = {"W_in": np.ones((3, 1)), "W": np.zeros((3, 3)), "W_out": np.ones((1, 3))}
    for mode, held in (("hold", "numpy.where(not_refractory, _c1*v__0 + I__0*_c0, v__0)"),
                       ("clamp", "(_c1*v__0 + I__0*_c0)*not_refractory")):  # a clamp to 0: times the mask
        engine = Engine(lif("double-ema", refractory_mode=mode), 2e-3)
        engine.forward(weights, np.ones((5, 1, 1)))
        sources = [f.source for f in engine.program.compiled.values() if hasattr(f, "source")]
        assert any(f"v__1 = {held}" in s for s in sources), sources


def _continuous(**kw):
    args = dict(threshold="v > 1", reset="v = 0", refractory="2 ms", parameters={"tau": 0.02})
    args.update(kw)
    eqs = args.pop("equations", "dv/dt = (I - v) / tau : 1 (unless refractory)\ndI/dt = -I/tau + I_rec/ms : 1\n"
                                "dr/dt = -r/tau : 1\nI_rec : 1")
    return NeuronModel(eqs, **args)


@pytest.mark.parametrize("kw,message", [
    (dict(parameters={}), "unknown variable 'tau'"),
    (dict(activity="rate"), "activity variable 'rate' .* not one of its state variables"),
    (dict(input="J"), "input variable 'J'"),
    (dict(equations="dv/dt = (floor(I) - v)/tau : 1\ndI/dt = -I/tau + I_rec/ms : 1\ndr/dt = -r/tau : 1\n"
                    "I_rec : 1"), "floor\\(\\), a construct that cannot be differentiated"),
    (dict(equations="dv/dt = (I - v)/tau + xi/sqrt(tau) : 1\ndI/dt = -I/tau + I_rec/ms : 1\ndr/dt = -r/tau : 1\n"
                    "I_rec : 1"), "stochastic"),
    (dict(equations="dv/dt = -v/tau : 1\ndI/dt = -I/tau : 1\ndr/dt = -r/tau : 1"), "declare its recurrent input"),
    (dict(equations="dv/dt = -v/tau : 1\ndI/dt = -I/tau + I_rec/ms : 1\ndr/dt = -r/tau : 1\nI_rec : 1\nq : 1"),
     "declares 'q' .* neither the recurrent input"),
    (dict(equations="dv/dt = (I - v)/tau : 1 (unless refractory)\ndI/dt = -I/tau + I_rec/ms : 1\n"
                    "ds/dt = -s/tau : 1\nI_rec : 1", activity="s"), "reserved name"),
    (dict(threshold="v"), "must be one comparison"),
    (dict(threshold="v > 1 and r > 0"), "must be one comparison"),
    (dict(reset="w = 0"), "assigns 'w', which is not a state variable"),
    (dict(reset="v = 0\nv *= 2"), "cannot read 'v \\*= 2'"),
    (dict(refractory=None), "has no refractory period"),
    (dict(refractory_mode="clamp", reset="v = r"), "must be one 'v = <constant>' line"),
    (dict(refractory_timing="float32"), "float32"),
    (dict(refractory_mode="freeze"), "refractory_mode must be one of"),
    (dict(statements="v = 0"), "either equations .* or statements"),
    (dict(equations="dv/dt = (I - v : 1"), "cannot read the equations"),
])
def test_bad_models_are_refused_with_a_clear_message(kw, message):
    with pytest.raises(BrianModesError, match=message):
        _continuous(**kw)


def test_bad_discrete_models_and_derivations_are_refused():
    with pytest.raises(BrianModesError, match="must read I_in"):
        NeuronModel(statements="x = I_rec\nr = tanh(x)", input="x")
    with pytest.raises(BrianModesError, match="reads the recurrent input"):
        NeuronModel(statements="x = I_in\nr = tanh(x)", input="x")
    with pytest.raises(BrianModesError, match="unknown variable 'tau'"):
        NeuronModel(statements="x = exp(-dt/tau)*x + I_in + I_rec\nr = tanh(x)", input="x")
    nonlinear = _continuous(equations="dv/dt = (v*v - v + I)/tau : 1 (unless refractory)\n"
                                      "dI/dt = -I/tau + I_rec/ms : 1\ndr/dt = -r/tau : 1\nI_rec : 1")
    with pytest.raises(BrianModesError, match="state updater cannot integrate"):
        derive(nonlinear)


def test_engine_refuses_bad_requests():
    net, x, targets, loss = _problem()
    with pytest.raises(BrianModesError, match="cannot record 'w'"):
        simulate(net, x, record=("w",))
    with pytest.raises(BrianModesError, match="must have shape"):
        simulate(net, x, model=lif("double", per_neuron=("v_th",)), params={"v_th": np.ones(3)})
    with pytest.raises(BrianModesError, match="has no spikes"):
        from brianmodes.train import RateRegularizer

        loss_and_grads(net, x, targets, loss=loss, model=tanh_rate(), rate_regularizer=RateRegularizer())
    engine = Engine(lif("double"), net.dt)
    fwd = engine.forward(net.params, x, record=())
    with pytest.raises(BrianModesError, match="train=True"):
        engine.backward(fwd, np.zeros_like(fwd["y"]))


def test_a_model_is_built_and_run_in_a_thread_that_imports_brian2_first(tmp_path):
    """Brian2 installs a Ctrl-C handler on import, which Python allows only in the main thread;
    sweeps train in worker threads, where Brian2 may be imported first (a fresh interpreter)."""
    import subprocess
    import sys

    script = (
        "import threading\n"
        "import numpy as np\n"
        "from brianmodes import ModeNetwork, simulate\n"
        "from brianmodes.train import loss_and_grads\n"
        "out = {}\n"
        "def work():\n"
        "    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, readout='per_step')\n"
        "    x = np.ones((5, 2, 3))\n"
        "    out['shape'] = simulate(net, x).outputs.shape\n"
        "    out['grads'] = sorted(loss_and_grads(net, x, np.zeros((5, 2, 1)), loss='mse').grads)\n"
        "thread = threading.Thread(target=work)\n"
        "thread.start(); thread.join()\n"
        "import signal, brian2\n"
        "print(out['shape'], out['grads'], signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(5, 2, 1) ['W_in', 'W_out', 'lam', 'xi_in', 'xi_out'] True"


def test_a_parameter_replaced_by_plain_numbers_keeps_its_unit_and_runs_in_brian2():
    """Times given as plain numbers are seconds everywhere in brianmodes, also when they replace a
    parameter of a model (Brian2 would otherwise see a dimensionless time constant and refuse to run)."""
    from brianmodes.brian import BrianCircuit

    model = USER_MODEL.with_parameters(tau_m=np.linspace(0.012, 0.018, 12), v_reset=-0.1)
    assert model.parameters["tau_m"].dim == "s" and model.parameters["tau_m"].per_neuron
    assert model.parameters["v_reset"].dim is None
    net = ModeNetwork(N=12, P=2, N_in=3, N_out=1, readout="per_step", seed=0, neuron=model)
    net.params["W_in"] *= 4
    x = np.random.default_rng(0).random((40, 2, 3)) * 1.5
    result = BrianCircuit(net, n_trials=2, input_kind="current").run(x)
    reference = simulate(net, x, dtype=np.float64, engine="numpy")
    assert reference.spikes.sum() > 10
    np.testing.assert_array_equal(result.spikes, reference.spikes)
