"""Analyses against their definitions (SPEC 3) and known answers."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.analysis import (end_states_by_condition, firing_rates, fit_piecewise_power_law, isi_cv,
                                 mode_importance, mode_vs_pca_variance, orthogonalized_input_modes,
                                 participation_ratio, project_on_modes, project_on_orthogonalized_modes,
                                 pruning_curve, remove_modes, removal_order, variance_explained)
from brianmodes.tasks import make_task


def _net(**kw):
    net = ModeNetwork(N=40, P=4, N_in=3, N_out=1, readout="per_step", seed=0, **kw)
    net.params["W_in"] *= 3
    net.params["lam"] *= 5
    return net


def _activity(net, seed=0):
    x = np.random.default_rng(seed).normal(size=(150, 6, net.N_in)) + 0.3
    return simulate(net, x, record=("r",), dtype=np.float64).r


def test_projections_are_the_mode_overlaps():
    net = _net()
    r = _activity(net)
    kin, kout = project_on_modes(net, r, "in"), project_on_modes(net, r, "out")
    assert kin.shape == (150, 6, 4)
    np.testing.assert_allclose(kin[10, 2], net.xi_in.T @ r[10, 2])
    # the recurrent input is built from kappa_out: W r = xi_in (lam * kappa_out)
    np.testing.assert_allclose(r[10, 2] @ net.W.T, net.xi_in @ (net.lam * kout[10, 2]), atol=1e-12)
    with pytest.raises(BrianModesError, match="'in' or 'out'"):
        project_on_modes(net, r, "both")
    with pytest.raises(BrianModesError, match="N = 40"):
        project_on_modes(net, r[..., :10])


def test_orthogonalized_modes():
    net = _net()
    q = orthogonalized_input_modes(net)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(net.W_in.T @ q, 0, atol=1e-12)
    # together with W_in they span what W_in and xi_in span
    basis = np.concatenate([net.W_in, q], axis=1)
    coef, *_ = np.linalg.lstsq(basis, net.xi_in, rcond=None)
    np.testing.assert_allclose(basis @ coef, net.xi_in, atol=1e-10)
    assert project_on_orthogonalized_modes(net, _activity(net)).shape == (150, 6, 4)
    wide = ModeNetwork(N=10, P=4, N_in=8, N_out=1)
    with pytest.raises(BrianModesError, match="N_in \\+ P <= N"):
        orthogonalized_input_modes(wide)


def test_importance_formula():
    params = {"W_in": np.zeros((4, 1)), "W_out": np.zeros((1, 4)),
              "xi_in": np.array([[3.0, 0], [4, 0], [0, 1], [0, 0]]),
              "xi_out": np.array([[0, 0], [0, 0], [0, 0], [1.0, 2]]),
              "lam": np.array([2.0, -1.0])}
    net = ModeNetwork(N=4, P=2, N_in=1, N_out=1, params=params)
    norms = np.array([5 + 1, 1 + 2.0])
    gamma = 3.0 / norms.sum()
    np.testing.assert_allclose(mode_importance(net), gamma * norms + [2, 1])


def test_piecewise_power_law_recovers_slopes_and_breakpoint():
    rank = np.arange(1, 41)
    values = np.where(rank <= 12, 2.0 * rank ** -0.08, 2.0 * 12 ** 0.12 * rank ** -0.2)
    noisy = values * np.exp(np.random.default_rng(0).normal(0, 0.001, rank.size))
    fit = fit_piecewise_power_law(np.random.default_rng(1).permutation(noisy))
    assert fit["breakpoint"] == 12
    np.testing.assert_allclose(fit["slopes"], [-0.08, -0.2], atol=0.01)
    assert min(fit["r2"]) > 0.95 and fit["r2_total"] > 0.99
    assert fit_piecewise_power_law(values, max_rank=20)["ranks"][-1] == 20
    with pytest.raises(BrianModesError, match="positive"):
        fit_piecewise_power_law(np.array([1.0, 0.0, 2, 3, 4, 5]))
    with pytest.raises(BrianModesError, match="at least"):
        fit_piecewise_power_law(np.ones(4))


def test_removing_a_mode_equals_zeroing_its_score():
    net = _net()
    pruned = remove_modes(net, [1, 3])
    assert pruned.P == 2
    zeroed = net.copy()
    zeroed.params["lam"][[1, 3]] = 0
    np.testing.assert_allclose(pruned.W, zeroed.W, atol=1e-14)
    x = np.random.default_rng(1).normal(size=(100, 3, 3))
    np.testing.assert_array_equal(simulate(pruned, x, dtype=np.float64).spike_count,
                                  simulate(zeroed, x, dtype=np.float64).spike_count)
    none = remove_modes(net, [])
    np.testing.assert_array_equal(none.W, net.W)
    assert np.all(remove_modes(net, range(4)).W == 0)
    with pytest.raises(BrianModesError, match="0..3"):
        remove_modes(net, [4])


def test_removal_orders():
    net = _net()
    tau = mode_importance(net)
    asc = removal_order(net, "ascending")
    assert np.all(np.diff(tau[asc]) >= 0)
    np.testing.assert_array_equal(removal_order(net, "descending"), asc[::-1])
    assert sorted(removal_order(net, "random", 0)) == [0, 1, 2, 3]
    with pytest.raises(BrianModesError, match="order"):
        removal_order(net, "sideways")


def test_pruning_curve_structure():
    task = make_task("context", n_steps=120, stim_on=10, stim_off=80)
    net = task.make_network(N=30, P=3, seed=0)
    curve = pruning_curve(net, task, n_random=2, n_trials=10)
    full = task.evaluate(net, n_trials=10)["decision_accuracy"]
    assert list(curve["counts"]) == [0, 1, 2, 3]
    for order in ("ascending", "descending", "random"):
        assert curve[order]["mean"][0] == full
    # removing every mode gives the same network whatever the order
    assert curve["ascending"]["mean"][-1] == curve["descending"]["mean"][-1] == curve["random"]["mean"][-1]
    assert np.all(curve["ascending"]["sd"] == 0)


def test_participation_ratio_and_variance():
    rng = np.random.default_rng(0)
    iso = rng.normal(size=(20000, 8))
    assert participation_ratio(iso) == pytest.approx(8, rel=0.02)
    plane = rng.normal(size=(5000, 2)) @ rng.normal(size=(2, 8))
    assert variance_explained(plane + 5.0, np.linalg.qr(plane.T)[0][:, :2]) == pytest.approx(1.0)
    with pytest.raises(BrianModesError, match="does not vary"):
        participation_ratio(np.ones((10, 3)))


def test_mode_vs_pca_variance_bounds():
    net = _net()
    res = mode_vs_pca_variance(net, _activity(net))
    assert 0 < res["modes"] <= res["pca"] + 1e-12 <= 1 + 1e-12
    assert 1 <= res["participation_ratio"] <= net.N


def test_rates_and_isi_cv():
    rng = np.random.default_rng(0)
    bernoulli = rng.random((200000, 2, 3)) < 0.02  # geometric intervals: CV = sqrt(1 - p)
    np.testing.assert_allclose(firing_rates(bernoulli, 0.001), 20, rtol=0.02)
    np.testing.assert_allclose(isi_cv(bernoulli, 0.001), np.sqrt(0.98), atol=0.02)
    silent = np.zeros((100, 1, 2), bool)
    assert np.all(np.isnan(isi_cv(silent, 0.001)))


def test_end_states_by_condition():
    rng = np.random.default_rng(0)
    conditions = np.repeat(np.arange(4), 10)
    centres = np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5.0]])
    kappa = np.zeros((100, 40, 3))
    kappa[-60:] = centres[conditions] + rng.normal(0, 0.1, (60, 40, 3))
    res = end_states_by_condition(kappa, conditions)
    np.testing.assert_allclose(res["centres"], centres, atol=0.05)
    assert res["separation"] == pytest.approx(5, abs=0.1)
    assert res["separation_ratio"] > 20
    with pytest.raises(BrianModesError, match="two conditions"):
        end_states_by_condition(kappa, np.zeros(40))


def test_slow_points_of_a_settling_network():
    from brianmodes.analysis import slow_points

    net = _net()
    rng = np.random.default_rng(3)
    x = np.zeros((200, 6, 3))
    x[:100] = rng.normal(size=(100, 6, 3)) + np.repeat([[1.0, 0, 0], [0, 0, 1.0]], 3, axis=0)
    x[:, :, 1] = 0.5  # a constant cue, held afterwards
    res = slow_points(net, x, np.repeat([0, 1], 3), extra_steps=400)
    assert res["points"].shape == (2, 4) and res["kappa"].shape == (600, 6, 4)
    assert np.all(res["slowdown"] < 1)  # slower once the driving inputs are gone
    with pytest.raises(BrianModesError):
        slow_points(net, x[..., :2], np.repeat([0, 1], 3))


def test_shipped_context_model_has_separated_slow_points():
    from brianmodes import load
    from brianmodes.analysis import slow_points

    net = load("context-N100-P3")
    task = make_task(net.metadata["task"])
    batch = next(task.test_batches(batch_size=40, n_trials=40))
    conditions = 2 * batch.info["context"] + (batch.targets[-1, :, 0] > 0)
    res = slow_points(net, batch.inputs, conditions, extra_steps=500)
    ends = end_states_by_condition(res["kappa"], conditions, window=100)
    assert ends["separation_ratio"] > 1  # the decisions stay apart after the inputs are gone
