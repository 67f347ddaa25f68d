"""One preprocessing for model and data, and the comparison measures against known answers."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.data import (cca_similarity, compare_activity, comparison_figure, filter_like_model,
                             gaussian_rates, procrustes_similarity, psth, psth_correlation)


@pytest.mark.parametrize("discretization", ["brian2", "published"])
@pytest.mark.parametrize("filter", ["double", "double-ema", "single"])
def test_filter_like_model_equals_the_simulators_r(discretization, filter):
    net = ModeNetwork(N=20, P=2, N_in=3, N_out=1, readout="per_step", filter=filter,
                      discretization=discretization, seed=0)
    net.params["W_in"] *= 3
    res = simulate(net, np.random.default_rng(0).normal(size=(120, 4, 3)) + 0.5, record=("s", "r"),
                   dtype=np.float64)
    assert res.spikes.sum() > 50
    np.testing.assert_allclose(filter_like_model(res.spikes, net), res.r, atol=1e-12)


def test_gaussian_rates_and_psth():
    spikes = np.zeros((1000, 4, 2))
    spikes[::10] = 1  # 100 Hz at dt = 1 ms
    rates = gaussian_rates(spikes, 0.001, 0.02)
    np.testing.assert_allclose(rates[100:900], 100, rtol=0.02)
    labels, mean, sem = psth(rates, np.array([0, 1, 0, 1]))
    assert list(labels) == [0, 1] and mean.shape == (1000, 2, 2) and np.allclose(sem, 0)
    with pytest.raises(BrianModesError, match="sigma"):
        gaussian_rates(spikes, 0.001, 0)


def _trajectories(seed=0, T=100, C=4, N=30, k=3):
    rng = np.random.default_rng(seed)
    latent = np.cumsum(rng.normal(size=(T, C, k)), axis=0)
    return latent @ rng.normal(size=(k, N)), latent


def test_similarities_are_one_for_rotations_and_low_for_unrelated():
    X, latent = _trajectories()
    Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(30, 30)))
    assert cca_similarity(X, X @ Q)["mean"] == pytest.approx(1, abs=1e-6)
    assert procrustes_similarity(X, X @ Q) == pytest.approx(1, abs=1e-6)
    # a different embedding of the same 3-D latent dynamics, with other neurons
    Y = latent @ np.random.default_rng(2).normal(size=(3, 45))
    assert cca_similarity(X, Y, n_components=3)["mean"] == pytest.approx(1, abs=1e-6)
    Z, _ = _trajectories(seed=5)
    assert cca_similarity(X, Z, n_components=3)["mean"] < 0.9
    assert procrustes_similarity(X, Z) < procrustes_similarity(X, X @ Q)
    with pytest.raises(BrianModesError, match="different times"):
        cca_similarity(X, X[:50])


def test_psth_correlation_per_neuron():
    X, _ = _trajectories()
    corr = psth_correlation(X, 2 * X + 1)
    np.testing.assert_allclose(corr, 1)
    assert np.all(psth_correlation(X, -X) < -0.999)
    with pytest.raises(BrianModesError, match="neuron by neuron"):
        psth_correlation(X, X[..., :5])


def test_compare_model_with_itself_and_another_seed(tmp_path):
    net = ModeNetwork(N=25, P=2, N_in=3, N_out=1, readout="per_step", seed=0)
    net.params["W_in"] *= 3
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 40, 3)) + np.repeat([[0.8, 0, 0], [0, 0, 0.8]], 20, axis=0)
    conditions = np.repeat([0, 1], 20)
    a = simulate(net, x, record=("s",)).spikes
    b = simulate(net, x + 0.3 * rng.normal(size=x.shape), record=("s",)).spikes
    same = compare_activity(a, a, conditions, net.dt)
    assert same["cca"] == pytest.approx(1, abs=1e-6) and np.nanmin(same["psth_correlation"]) > 0.999
    other = compare_activity(a, b, conditions, net.dt)
    assert 0.5 < other["procrustes"] < 1
    fig = comparison_figure(other, net.dt)
    fig.savefig(tmp_path / "compare.png")
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"


def _ground_truth(T=60, B=48):
    from brianmodes.data import filter_like_model

    rng = np.random.default_rng(0)
    true = ModeNetwork(N=20, P=2, N_in=3, N_out=1, readout="per_step", filter="double-ema", seed=1)
    true.params["W_in"] *= 3
    true.params["lam"] *= 8
    cond = np.repeat(np.arange(4), B // 4)
    x = np.zeros((T, B, 3))
    x[10:40] = np.array([[1, 0, 0.5], [0, 1, 0.5], [1, 1, 0], [0.5, 0, 1.0]])[cond]
    x += 0.3 * rng.normal(size=x.shape)
    spikes = simulate(true, x, record=("s",), dtype=np.float64).spikes
    _, target, _ = psth(filter_like_model(spikes[:, :, :10], true), cond)
    return x, cond, target


def test_activity_task_and_fit():
    from brianmodes.data.fit import ActivityTask, choose_modes, fit_activity, selection_network

    x, cond, target = _ground_truth()
    task = ActivityTask(x, cond, target, test_fraction=0.25)
    assert task.test_idx.size == 12 and set(cond[task.test_idx]) == {0, 1, 2, 3}  # stratified
    batch = task.sample(5, np.random.default_rng(0))
    assert batch.inputs.shape == (60, 5, 3) and batch.targets.shape == (60, 5, 10)
    untrained = task.psth_error(selection_network(20, 2, 3, np.arange(10), seed=0, filter="double-ema"))
    net, metrics = fit_activity(task, N=20, P=2, n_batches=80, filter="double-ema")
    np.testing.assert_array_equal(net.W_out, np.eye(10, 20))  # the readout stays a selection
    assert metrics["psth_mse"] < 0.5 * untrained
    assert metrics["psth_mse"] < metrics["mse"]  # the trial-averaged error has no trial-noise floor
    curve = choose_modes(task, N=20, Ps=(1, 2), n_batches=20, filter="double-ema")
    assert curve["Ps"] == [1, 2] and curve["best_P"] in (1, 2) and curve["psth_mse"].shape == (2,)
    with pytest.raises(BrianModesError, match="targets must be"):
        ActivityTask(x, cond, target[:, :3])
