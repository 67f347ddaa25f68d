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
    with pytest.raises(BrianModesError, match="cannot read"):
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
