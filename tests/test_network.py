import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork
from brianmodes.network import as_seconds, param_shapes


def test_defaults_are_the_published_constants():
    net = ModeNetwork(N=100, P=3, N_in=784, N_out=10)
    assert (net.dt, net.tau_s, net.tau_m, net.tau_d, net.tau_r, net.t_ref) == (
        0.002, 0.010, 0.020, 0.030, 0.002, 0.010)
    assert net.v_th == 1.0 and net.n_ref == 5
    assert net.filter == "double" and net.readout == "max" and net.discretization == "brian2"


def test_parameter_counts_and_repr():
    net = ModeNetwork(N=100, P=3, N_in=784, N_out=10, seed=0)
    assert net.n_recurrent_params == 2 * 100 * 3 + 3
    assert net.n_params == 100 * 784 + 603 + 10 * 100
    text = repr(net)
    assert "603 recurrent parameters (2NP+P) instead of 10,000 (N²)" in text
    full = ModeNetwork(N=100, P=3, N_in=784, N_out=10, parametrization="full")
    assert full.n_recurrent_params == 10000 and "full rank" in repr(full)


def test_W_is_the_mode_product():
    net = ModeNetwork(N=30, P=4, N_in=2, N_out=1, seed=1)
    W = sum(net.lam[mu] * np.outer(net.xi_in[:, mu], net.xi_out[:, mu]) for mu in range(4))
    np.testing.assert_allclose(net.W, W, atol=1e-14)


def test_overcomplete_modes_allowed():
    net = ModeNetwork(N=100, P=200, N_in=4, N_out=1, seed=0)
    assert net.xi_in.shape == (100, 200)


def test_initialization_statistics():
    net = ModeNetwork(N=400, P=300, N_in=900, N_out=50, seed=0)
    expected = {"W_in": 1 / 30, "xi_in": 1 / np.sqrt(300), "xi_out": 1 / np.sqrt(300),
                "lam": 1 / 20, "W_out": 1 / np.sqrt(50)}
    for name, std in expected.items():
        a = net.params[name]
        assert abs(a.mean()) < 4 * std / np.sqrt(a.size)
        assert a.std() == pytest.approx(std, rel=0.1)


def test_seed_reproducible():
    a = ModeNetwork(N=20, P=2, N_in=3, N_out=1, seed=7)
    b = ModeNetwork(N=20, P=2, N_in=3, N_out=1, seed=7)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


def test_from_arrays_modes_and_full():
    rng = np.random.default_rng(0)
    net = ModeNetwork.from_arrays(W_in=rng.normal(size=(10, 3)), W_out=rng.normal(size=(2, 10)),
                                  xi_in=rng.normal(size=(10, 2)), lam=[1.0, 2.0],
                                  xi_out=rng.normal(size=(10, 2)), dt="1 ms", t_ref="2 ms")
    assert (net.N, net.P, net.N_in, net.N_out, net.dt, net.n_ref) == (10, 2, 3, 2, 0.001, 2)
    full = ModeNetwork.from_arrays(W_in=np.zeros((10, 3)), W_out=np.zeros((2, 10)), W=np.eye(10))
    assert full.parametrization == "full" and np.array_equal(full.W, np.eye(10))
    with pytest.raises(BrianModesError, match="not both"):
        ModeNetwork.from_arrays(W_in=np.zeros((10, 3)), W_out=np.zeros((2, 10)), W=np.eye(10), lam=[1.0])
    with pytest.raises(BrianModesError, match="needs xi_in"):
        ModeNetwork.from_arrays(W_in=np.zeros((10, 3)), W_out=np.zeros((2, 10)), lam=[1.0])


def test_brian2_quantities_and_strings_accepted():
    from brian2 import ms, mV

    net = ModeNetwork(N=5, P=1, N_in=1, N_out=1, dt=0.5 * ms, tau_m="15 ms", t_ref=1 * ms)
    assert net.dt == pytest.approx(0.0005) and net.tau_m == pytest.approx(0.015) and net.n_ref == 2
    with pytest.raises(BrianModesError, match="must be a time"):
        ModeNetwork(N=5, P=1, N_in=1, N_out=1, tau_m=10 * mV)
    assert as_seconds("250us") == pytest.approx(250e-6)
    with pytest.raises(BrianModesError, match="time must be a time such as .2 ms."):
        as_seconds("ten ms")


@pytest.mark.parametrize("kwargs, message", [
    ({"P": 0}, "P .the number of modes. must be a positive integer"),
    ({"N": -5}, "N .the number of neurons"),
    ({"N": 2.5}, "N .the number of neurons"),
    ({"tau_m": 0.0}, "tau_m must be a finite positive time"),
    ({"tau_s": -0.01}, "tau_s must be a finite positive time"),
    ({"dt": float("nan")}, "dt must be a finite positive time"),
    ({"t_ref": -0.001}, "t_ref must be a finite non-negative"),
    ({"t_ref": 0.003}, "whole number of time steps"),
    ({"v_th": 0.0}, "v_th must be a positive"),
    ({"v_th": "abc"}, "v_th must be a number, got 'abc'"),
    ({"v_th": None}, "v_th must be a number, got None"),
    ({"tau_m": None}, "tau_m must be a number of seconds"),
    ({"filter": "triple"}, "filter must be one of"),
    ({"readout": "mean"}, "readout must be one of"),
    ({"parametrization": "sparse"}, "parametrization must be one of"),
    ({"tau_x": 0.01}, "unknown argument"),
])
def test_bad_configuration_is_refused(kwargs, message):
    args = {"N": 10, "P": 2, "N_in": 3, "N_out": 1, **kwargs}
    with pytest.raises(BrianModesError, match=message):
        ModeNetwork(**args)


def test_bad_params_are_refused():
    good = {k: np.zeros(s) for k, s in param_shapes(10, 2, 3, 1).items()}
    with pytest.raises(BrianModesError, match="xi_in must have shape"):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, params={**good, "xi_in": np.zeros((10, 3))})
    with pytest.raises(BrianModesError, match="missing lam"):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, params={k: v for k, v in good.items() if k != "lam"})
    with pytest.raises(BrianModesError, match="NaN"):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, params={**good, "W_out": np.full((1, 10), np.nan)})
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, params={**{k: v for k, v in good.items() if k != "lam"},
                                                         "lambda": np.ones(2)})
    assert np.array_equal(net.lam, np.ones(2))


def test_copy_is_deep():
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, seed=0, metadata={"a": [1]})
    other = net.copy()
    other.params["lam"][:] = 0
    other.metadata["a"].append(2)
    assert np.all(net.lam != 0) and net.metadata == {"a": [1]}


# -- the neuron model --------------------------------------------------------------------------

def test_settings_name_a_built_in_model():
    from brianmodes.neurons import lif, published_lif

    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, filter="single", tau_m="15 ms")
    assert net.model.name == "lif-single" and net.model.parameters["tau_m"].value == 0.015
    assert net.model.structure_key() == lif("single").structure_key()
    assert net.model is ModeNetwork(N=20, P=1, N_in=3, N_out=1, filter="single", tau_m="15 ms").model  # shared
    pub = ModeNetwork.from_arrays(**net.params, filter="double-ema", discretization="published",
                                  refractory_timing="float32")
    assert pub.model.structure_key() == published_lif("double-ema", refractory_timing="float32").structure_key()
    assert pub.config()["refractory_timing"] == "float32" and pub.refractory_timing == "float32"
    assert ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron="published_lif").discretization == "published"
    assert ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron="adaptive_lif").model.name == "adaptive-lif-current-double"
    assert ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron="tanh").model.spiking is False


def test_a_given_model_and_its_trained_arrays():
    from brianmodes.neurons import Parameter, adaptive_lif

    model = adaptive_lif("single", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_a", "beta"),
                         tau_a="100 ms")
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=model, dt="1 ms", seed=0)
    assert list(net.params)[5:] == ["log_tau_m", "log_tau_a", "beta"]
    assert net.params["log_tau_m"].shape == (10,) and net.params["log_tau_a"].shape == ()
    np.testing.assert_allclose(net.neuron_values()["tau_m"], 0.02)
    net.params["log_tau_m"][:] = np.log(np.linspace(0.01, 0.03, 10))
    np.testing.assert_allclose(net.model.parameters["tau_m"].value, np.linspace(0.01, 0.03, 10))
    assert net.tau_m is None and net.tau_s == 0.01 and net.t_ref == 0.01 and net.n_ref == 10
    assert (net.neuron, net.filter, net.discretization, net.dt) == ("adaptive-lif-current-single", None, None, 0.001)
    assert "neuron model 'adaptive-lif-current-single' (continuous; trained: tau_m, tau_a, beta)" in repr(net)
    config = net.config()
    assert set(config) == {"N", "P", "N_in", "N_out", "parametrization", "neuron", "readout", "dt"}
    assert config["neuron"]["parameters"]["tau_m"]["value"] is None  # trained values are arrays
    import json

    again = ModeNetwork(**json.loads(json.dumps(config)), params=net.params)
    assert again.config() == config and again.model.to_dict() == net.model.to_dict()
    other = net.copy()
    other.params["log_tau_m"][:] = 0
    assert net.params["log_tau_m"][0] != 0 and other.model.parameters["tau_m"].value[0] == 1.0
    # fixed per-neuron values and bounds
    fixed = model.with_parameters(tau_s=Parameter(np.full(10, 0.012), per_neuron=True))
    assert ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=fixed).model.parameters["tau_s"].value.shape == (10,)
    sq = model.with_parameters(beta=Parameter(0.25, trainable=True, bound="nonnegative"))
    assert ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=sq).params["sqrt_beta"] == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, message", [
    ({"neuron": "izhikevich"}, "neuron must be one of lif, tanh, adaptive_lif, published_lif or a NeuronModel"),
    ({"refractory_timing": "float32"}, "needs neuron='lif' and discretization='published'"),
    ({"refractory_timing": "float64", "discretization": "published"}, "refractory_timing must be one of"),
    ({"neuron": "adaptive_lif", "discretization": "published"}, "published discretization exists for neuron='lif'"),
    ({"neuron": "published_lif", "discretization": "brian2"}, "is the published discretization"),
    ({"discretization": "euler"}, "discretization must be one of"),
])
def test_bad_neuron_settings_are_refused(kwargs, message):
    with pytest.raises(BrianModesError, match=message):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, **kwargs)


def test_a_given_model_takes_no_built_in_settings():
    from brianmodes.neurons import Parameter, lif

    model = lif("double", trainable=("tau_m",))
    with pytest.raises(BrianModesError, match="filter, tau_m set up a built-in neuron given by name"):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=model, filter="single", tau_m=0.01)
    with pytest.raises(BrianModesError, match="holds 3 values for 10 neurons"):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=model.with_parameters(tau_s=Parameter(np.ones(3) * 0.01)))
    with pytest.raises(BrianModesError, match="log_tau_m must have shape \\(\\) "):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=model,
                    params={**ModeNetwork(N=10, P=2, N_in=3, N_out=1).params, "log_tau_m": np.zeros(10)})
    unbounded = lif("double").with_parameters(tau_m=Parameter(0.02, trainable=True))  # no bound: its own name
    assert "tau_m" in ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=unbounded).params
    from brianmodes.neurons import NeuronModel

    clash = NeuronModel(statements="x = exp(-dt/W)*x + I_in + I_rec\nr = tanh(x)", input="x",
                        parameters={"W": Parameter(0.02, trainable=True)})
    with pytest.raises(BrianModesError, match="array 'W' of the neuron model has the name of a weight"):
        ModeNetwork(N=10, P=2, N_in=3, N_out=1, neuron=clash)


def test_with_config_changes_settings_and_keeps_arrays():
    net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, seed=0, metadata={"a": 1})
    other = net.with_config(discretization="published", filter="single")
    assert other.model.name == "published-lif-single" and other.metadata == {"a": 1}
    for name in net.params:
        np.testing.assert_array_equal(other.params[name], net.params[name])
    with pytest.raises(AttributeError):
        net.discretization = "published"  # the model follows the settings: change them with with_config
