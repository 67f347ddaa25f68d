"""One preprocessing for model and data, and the comparison measures against known answers."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.data import (cca_similarity, compare_activity, filter_like_model,
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
    from brianmodes.plot import comparison_figure

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
    return x, cond, filter_like_model(spikes[:, :, :10], true)


def test_activity_task_splits_trials_and_scores_against_held_out_psths():
    from brianmodes.tasks import ActivityTask

    x, cond, activity = _ground_truth()
    task = ActivityTask(x, cond, activity, test_fraction=0.25)
    assert task.test_idx.size == 12 and set(cond[task.test_idx]) == {0, 1, 2, 3}  # stratified
    assert not set(task.test_idx) & set(task.train_idx)
    _, train_psth, _ = psth(activity[:, task.train_idx], cond[task.train_idx])
    _, test_psth, _ = psth(activity[:, task.test_idx], cond[task.test_idx])
    np.testing.assert_allclose(task.train_targets, train_psth, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(task.test_targets, test_psth, rtol=1e-6, atol=1e-7)
    batch = task.sample(5, np.random.default_rng(0))
    assert batch.inputs.shape == (60, 5, 3) and batch.targets.shape == (60, 5, 10)
    np.testing.assert_array_equal(batch.targets, task.train_targets[:, batch.info["condition"]])
    held_out = next(task.test_batches())
    np.testing.assert_array_equal(held_out.targets, task.test_targets[:, held_out.info["condition"]])
    with pytest.raises(BrianModesError, match="inputs must be"):
        ActivityTask(x[:, :10], cond, activity)
    with pytest.raises(BrianModesError, match="no training trials"):
        ActivityTask(x, cond, activity, test_trials=np.flatnonzero(cond == 2))
    with pytest.raises(BrianModesError, match="return"):
        ActivityTask(lambda c, rng: np.zeros((5, len(c), 3)), cond, activity)


def test_noise_floor_is_the_sampling_error_of_the_held_out_psths():
    from brianmodes.tasks import ActivityTask

    rng = np.random.default_rng(1)
    cond = np.repeat([0, 1], 200)
    mean = rng.random((40, 2, 6))
    activity = mean[:, cond] + 0.3 * rng.normal(size=(40, 400, 6))
    task = ActivityTask(np.zeros((40, 400, 1)), cond, activity, test_fraction=0.1)
    assert task.noise_floor() == pytest.approx(0.09 / 20, rel=0.1)
    assert np.mean((task.test_targets - mean) ** 2) == pytest.approx(task.noise_floor(), rel=0.15)


def test_fit_reduces_the_cross_validated_error_through_a_fixed_selection():
    from brianmodes.data.fit import fit_activity
    from brianmodes.surgery import selection_network
    from brianmodes.tasks import ActivityTask

    x, cond, activity = _ground_truth()
    task = ActivityTask(x, cond, activity, test_fraction=0.25)
    untrained = task.psth_error(selection_network(20, 2, 3, np.arange(10), seed=0, filter="double-ema"))
    net, metrics = fit_activity(task, N=20, P=2, n_batches=80, filter="double-ema")
    np.testing.assert_array_equal(net.W_out, np.eye(10, 20))  # the readout stays a selection
    assert metrics["psth_mse"] < 0.5 * untrained
    assert metrics["psth_mse"] < metrics["mse"]  # the trial-averaged error has no trial-noise floor
    with pytest.raises(BrianModesError, match="recorded"):
        fit_activity(task, N=20, P=2, recorded=[0, 1], n_batches=1)
    with pytest.raises(BrianModesError, match="distinct"):
        selection_network(20, 2, 3, [0, 0, 1])


def test_fit_with_a_task_loss_trains_the_task_rows_only():
    from brianmodes.data.fit import fit_activity
    from brianmodes.tasks import ActivityTask

    x, cond, activity = _ground_truth()
    task_targets = np.zeros((60, 48, 1))
    task_targets[40:, :, 0] = np.where(cond % 2, 1.0, -1.0)
    task = ActivityTask(x, cond, activity, task_targets=task_targets, task_weight=2.0)
    assert task.n_out == 11 and task.sample(3, np.random.default_rng(0)).targets.shape == (60, 3, 11)
    net, metrics = fit_activity(task, N=20, P=2, n_batches=60, filter="double-ema")
    np.testing.assert_array_equal(net.W_out[:10], np.eye(10, 20))
    assert np.any(net.W_out[10] != 0) and {"mse", "task_mse", "psth_mse"} <= set(metrics)


def test_weighted_mse_gradient_matches_finite_differences():
    from brianmodes.train.losses import WeightedMSE

    rng = np.random.default_rng(0)
    y, target = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    loss = WeightedMSE(3, task_weight=0.7)
    value, grad = loss(y, target)
    assert value == pytest.approx(np.mean((y - target)[..., :3] ** 2) + 0.7 * np.mean((y - target)[..., 3:] ** 2))
    eps, idx = 1e-6, [(0, 0, 0), (3, 2, 4), (1, 1, 3)]
    for i in idx:
        up, down = y.copy(), y.copy()
        up[i] += eps
        down[i] -= eps
        assert grad[i] == pytest.approx((loss(up, target)[0] - loss(down, target)[0]) / (2 * eps), rel=1e-6)


def test_trainer_freezes_masked_entries():
    from brianmodes.tasks import make_task
    from brianmodes.train.trainer import Trainer

    task = make_task("digits")
    net = task.make_network(N=20, P=2, seed=0)
    before = net.params["W_out"].copy()
    rows = np.zeros(before.shape, bool)
    rows[:4] = True
    Trainer(n_batches=5, lr=1e-2, progress=False, frozen={"W_out": rows}).fit(net, task)
    np.testing.assert_array_equal(net.params["W_out"][:4], before[:4])
    assert np.mean(net.params["W_out"][4:] != before[4:]) > 0.5  # (silent neurons get no gradient)
    with pytest.raises(BrianModesError, match="frozen mask"):
        Trainer(n_batches=1, progress=False, frozen={"W_out": rows[:2]}).fit(net, task)


def test_choose_modes_cross_validates_over_folds():
    from brianmodes.data.fit import choose_modes

    x, cond, activity = _ground_truth()
    curve = choose_modes(x, cond, activity, N=20, Ps=(1, 2), n_folds=2, n_batches=20, filter="double-ema")
    assert curve["Ps"] == [1, 2] and curve["fold_errors"].shape == (2, 2)
    assert curve["best_P"] in (1, 2) and curve["min_P"] in (1, 2) and set(curve["networks"]) == {1, 2}
    assert np.all(curve["mean"] > curve["noise_floor"] * 0.5)
    assert curve["best_P"] == curve["stepwise_P"] and {curve["one_se_P"], curve["min_P"]} <= {1, 2}
    with pytest.raises(BrianModesError, match="folds"):
        choose_modes(x, cond, activity, N=20, Ps=(1,), n_folds=20)
    with pytest.raises(BrianModesError, match="rule"):
        choose_modes(x, cond, activity, N=20, Ps=(1,), rule="aic")
    with pytest.raises(BrianModesError, match="increasing"):
        choose_modes(x, cond, activity, N=20, Ps=(2, 1))


def test_mode_fit_is_an_estimator_with_the_same_fit_as_choose_modes():
    from sklearn.base import clone

    from brianmodes.data import ModeFit
    from brianmodes.data.fit import choose_modes

    x, cond, activity = _ground_truth()
    fit = ModeFit(N=20, Ps=(1, 2), n_folds=2, n_batches=20, net_kwargs={"filter": "double-ema"})
    assert fit.get_params()["Ps"] == (1, 2) and not hasattr(fit, "best_P_")  # stored as given, nothing learnt
    copy = clone(fit).set_params(Ps=[1, 2])
    assert copy.get_params()["Ps"] == [1, 2] and copy.N == 20 and copy is not fit
    assert fit.fit(x, cond, activity) is fit
    curve = choose_modes(x, cond, activity, N=20, Ps=(1, 2), n_folds=2, n_batches=20, filter="double-ema")
    np.testing.assert_array_equal(fit.cv_errors_, curve["fold_errors"])  # one implementation, same seeds
    assert fit.best_P_ == curve["best_P"] and fit.network_ is fit.networks_[fit.best_P_]
    assert fit.cv_mean_.shape == fit.cv_sem_.shape == (2,) and fit.noise_floor_ == curve["noise_floor"]
    with pytest.raises(BrianModesError, match="rule must be one of stepwise, one-se, min"):
        ModeFit(N=20, rule="aic").fit(x, cond, activity)
    with pytest.raises(BrianModesError, match="ModeFit has no setting 'P'"):
        fit.set_params(P=3)


def test_stepwise_choice_stops_where_one_more_mode_is_within_noise():
    from brianmodes.data.fit import one_standard_error_choice, stepwise_choice

    Ps, mean = [1, 2, 3, 4], [7.16, 1.45, 1.42, 1.34]
    sem = [0.13, 0.08, 0.06, 0.07]
    assert stepwise_choice(Ps, mean, sem) == 2 and one_standard_error_choice(Ps, mean, sem) == 4
    assert stepwise_choice(Ps, [5, 4, 3, 2], [0.1] * 4) == 4  # every mode helps clearly
    assert stepwise_choice(Ps, [5, 5.1, 3, 2], [0.1] * 4) == 1


def test_mode_subspace_angles():
    from brianmodes.data.fit import mode_subspace_angles

    a = ModeNetwork(N=30, P=2, N_in=1, N_out=1, seed=0)
    b = ModeNetwork(N=30, P=2, N_in=1, N_out=1, seed=1)
    assert np.all(mode_subspace_angles(a, b, np.arange(30)) > 20)  # random 2-D subspaces of 30-D
    b.params["xi_in"] = a.params["xi_in"] @ np.array([[2.0, 1.0], [0.0, -1.0]])
    np.testing.assert_allclose(mode_subspace_angles(a, b, np.arange(30)), 0, atol=1e-5)
    with pytest.raises(BrianModesError, match="which"):
        mode_subspace_angles(a, b, np.arange(30), which="both")
    with pytest.raises(BrianModesError, match="parametrization"):
        mode_subspace_angles(a, ModeNetwork(N=30, P=2, N_in=1, N_out=1, parametrization="full"), np.arange(30))


def test_grow_modes_keeps_the_fitted_modes_and_nested_fits_start_from_them():
    from brianmodes.data.fit import fit_activity
    from brianmodes.surgery import grow_modes
    from brianmodes.tasks import ActivityTask

    small = ModeNetwork(N=20, P=1, N_in=3, N_out=2, seed=0)
    big = grow_modes(small, 3, seed=1)
    for name in ("W_in", "W_out"):
        np.testing.assert_array_equal(big.params[name], small.params[name])
    np.testing.assert_array_equal(big.lam[:1], small.lam)
    assert big.P == 3 and big.xi_in.shape == (20, 3)
    with pytest.raises(BrianModesError, match="cannot grow"):
        grow_modes(big, 2)
    with pytest.raises(BrianModesError, match="mode networks"):
        grow_modes(ModeNetwork(N=20, P=1, N_in=3, N_out=2, parametrization="full"), 2)
    x, cond, activity = _ground_truth()
    task = ActivityTask(x, cond, activity)
    one, _ = fit_activity(task, N=20, P=1, n_batches=5, filter="double-ema")
    two, _ = fit_activity(task, N=20, P=2, n_batches=0 + 1, init=one, filter="double-ema", lr=1e-12)
    np.testing.assert_allclose(two.xi_in[:, :1], one.xi_in, atol=1e-9)  # started from the smaller fit
    with pytest.raises(BrianModesError, match="init has"):
        fit_activity(task, N=30, P=2, n_batches=1, init=one)
