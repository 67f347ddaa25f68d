"""The same behavioural tests on every runner, as Brian2 runs its tests on every target.

The reference is the numpy engine in float64; every runner must give its spikes
exactly and its outputs to float tolerance, at the model's time step, for every
filter and readout, for a silenced subpopulation, for batches of any size and
for new weights without a rebuild.
"""

import numpy as np
import pytest

from brianmodes import ModeNetwork, simulate
from brianmodes.errors import BrianModesError
from brianmodes.neurons import lif
from brianmodes.runners import RUNNERS, Runner, make_runner

RUNNER_CASES = [
    pytest.param(("numpy", {"dtype": np.float64}), id="numpy"),
    pytest.param(("compiled", {"dtype": np.float64}), id="compiled"),
    pytest.param(("brian2_runtime", {"target": "numpy"}), id="brian2_runtime-numpy"),
    pytest.param(("brian2_runtime", {"target": "cython"}), id="brian2_runtime-cython", marks=pytest.mark.compiled),
    pytest.param(("cpp_standalone", {}), id="cpp_standalone", marks=pytest.mark.compiled),
]
T, B, N = 60, 6, 24


@pytest.fixture(params=RUNNER_CASES)
def runner(request):
    """Every runner, with spikes recorded; closed after the test."""
    name, options = request.param
    with make_runner(name, record=("s",), **options) as made:
        yield made


pytestmark = pytest.mark.usefixtures("numpy_code_generation")  # see conftest.py


def _network(readout="per_step", filter="double", seed=0, v_th=1.0):
    net = ModeNetwork(N=N, P=2, N_in=3, N_out=2, readout=readout, seed=seed, neuron=lif(filter, v_th=v_th))
    net.params["W_in"] *= 3
    net.params["lam"] *= 5
    return net


def _inputs(seed=0, n_trials=B):
    return np.random.default_rng(seed).normal(0.6, 1.0, size=(T, n_trials, 3))


def _assert_same_as_reference(result, net, x):
    ref = simulate(net, x, record=("s",), dtype=np.float64, engine="numpy")
    assert ref.spikes.sum() > 20, "too few spikes for a meaningful comparison"
    assert result.outputs.shape == ref.outputs.shape
    assert result.spikes.shape == (x.shape[0], x.shape[1], net.N) and result.spikes.dtype == bool
    assert result.spike_count.shape == (x.shape[1], net.N)
    assert result.dt == net.dt and result.n_steps == x.shape[0]
    assert int((result.spikes != ref.spikes).sum()) == 0, "spike mismatches"
    np.testing.assert_array_equal(result.spike_count, ref.spike_count)
    np.testing.assert_allclose(result.outputs, ref.outputs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.rates(), ref.rates(), rtol=1e-12)


def test_every_runner_is_registered_by_name():
    assert set(RUNNERS) == {"auto", "numpy", "compiled", "brian2_runtime", "cpp_standalone"}
    assert all(issubclass(cls, Runner) and cls.name == name for name, cls in RUNNERS.items())
    made = make_runner("numpy")
    assert make_runner(made) is made
    with pytest.raises(BrianModesError, match="options .* go to make_runner with a runner's name"):
        make_runner(made, dtype=np.float64)
    with pytest.raises(BrianModesError, match="target must be one of numpy, cython, got 'cpp'"):
        make_runner("brian2_runtime", target="cpp")
    with pytest.raises(BrianModesError, match="Brian2 simulates in float64"):
        make_runner("cpp_standalone", dtype=np.float32)


@pytest.mark.parametrize("filter", ["single", "double", "double-ema"])
@pytest.mark.parametrize("readout", ["per_step", "max"])
def test_filters_and_readouts(runner, filter, readout):
    net, x = _network(readout, filter), _inputs()
    _assert_same_as_reference(runner.run(net, x), net, x)


def test_silenced_neurons_never_spike(runner):
    silenced = np.arange(N) % 3 == 0
    net, x = _network(v_th=np.where(silenced, 1e6, 1.0)), _inputs(1)
    result = runner.run(net, x)
    assert not result.spikes[:, :, silenced].any() and result.spikes[:, :, ~silenced].any()
    _assert_same_as_reference(result, net, x)


def test_smaller_batches_and_new_weights_reuse_what_was_built(runner):
    net, other = _network(seed=0), _network(seed=1)
    runner.run(net, _inputs(2))
    built = runner.build_seconds
    small = _inputs(3, n_trials=2)  # padded with silent trials where a circuit was built for more
    _assert_same_as_reference(runner.run(net, small), net, small)
    x = _inputs(4)
    _assert_same_as_reference(runner.run(other, x), other, x)  # new weights, same structure
    assert runner.build_seconds == built, "a batch of another size or new weights rebuilt the circuit"


@pytest.mark.parametrize("name, options", [("brian2_runtime", {"target": "numpy"}),
                                           pytest.param("cpp_standalone", {}, marks=pytest.mark.compiled)])
def test_brian2_at_a_finer_dt_returns_the_model_steps(name, options):
    net, x = _network(), _inputs(5)
    with make_runner(name, dt=net.dt / 4, record=("s", "v"), **options) as runner:
        result = runner.run(net, x)
    ref = simulate(net, x, record=("s",), dtype=np.float64)
    assert result.outputs.shape == ref.outputs.shape and result.spikes.shape == ref.spikes.shape
    assert result.traces["v"].shape == (T, B, N) and result.dt == net.dt
    np.testing.assert_array_equal(result.spike_count.sum(axis=0) > 0, result.spikes.any(axis=(0, 1)))
    # the same dead time as at the model's dt: a refractory period of t_ref - dt_model + dt
    assert runner._refractory(net, net.dt / 4, 4) == pytest.approx(net.t_ref - net.dt * 3 / 4)
    rel = abs(result.spike_count.sum() - ref.spike_count.sum()) / ref.spike_count.sum()
    assert rel < 0.25, f"spike count at dt/4 differs by {rel:.0%}"


def test_a_published_network_warns_when_brian2_runs_its_continuous_form():
    net = ModeNetwork(N=10, P=1, N_in=3, N_out=2, readout="per_step", seed=0, discretization="published")
    with make_runner("brian2_runtime") as runner, pytest.warns(UserWarning, match="published discrete update"):
        runner.run(net, _inputs(6, n_trials=2))
