"""Figures a scientist would accept, read back from the axes: labels in words, integer ticks, named legends."""

import importlib.util
import re
import types
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from brianmodes import BrianModesError
from brianmodes.figure_style import CONTEXT_CONDITION_NAMES
from brianmodes.plot import (plot_accuracy_vs_modes, plot_importance, plot_membrane_traces, plot_mode_trajectories,
                             plot_outputs_by_condition, plot_pruning, raster_figure)

DT = 0.002


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _drawn(fig):
    fig.canvas.draw()
    return fig


def _texts(labels):
    return [t.get_text() for t in labels if t.get_text()]


def _legend(ax):
    assert ax.get_legend() is not None, "no legend"
    return _texts(ax.get_legend().get_texts())


def _in_words(label):
    return bool(label) and "_" not in label and re.search(r"[a-z]{3}", label) is not None


def _labelled(ax, z=False):
    labels = [ax.get_xlabel(), ax.get_ylabel()] + ([ax.get_zlabel()] if z else [])
    assert all(_in_words(label) for label in labels), labels


def _integers(labels):
    texts = _texts(labels)
    return bool(texts) and all(re.fullmatch(r"[−-]?\d+", t) for t in texts)


def _plain_numbers(labels):
    """Tick texts that read as plain numbers: no "2×10⁰", no mathtext."""
    texts = _texts(labels)
    return bool(texts) and all(re.fullmatch(r"[−-]?\d+(\.\d+)?", t) for t in texts)


def _inside(fig, tolerance=1.0):
    """Every axes (labels, ticks, title, legend) and the suptitle are drawn inside the figure."""
    renderer = _drawn(fig).canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    boxes += [t.get_window_extent(renderer) for t in fig.texts if t.get_text()]
    if fig._suptitle is not None:
        boxes.append(fig._suptitle.get_window_extent(renderer))
    page = fig.bbox
    return all(b.x0 >= page.x0 - tolerance and b.y0 >= page.y0 - tolerance and b.x1 <= page.x1 + tolerance
               and b.y1 <= page.y1 + tolerance for b in boxes)


def _band_limits(collection):
    y = np.concatenate([p.vertices[:, 1] for p in collection.get_paths()])
    return y.min(), y.max()


def test_the_clipping_check_sees_a_clipped_label():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_ylabel("a label far too large for its figure", fontsize=40)
    assert not _inside(fig)
    fig, ax = plt.subplots(figsize=(3, 2), constrained_layout=True)
    ax.set_ylabel("rate (Hz)")
    assert _inside(fig)


# -- spikes, membrane potential and outputs ----------------------------------

def _spikes(T=100, B=3, N=20, p=0.05):
    return np.random.default_rng(0).random((T, B, N)) < p


def test_raster_figure_keeps_the_two_panel_call():
    fig = _drawn(raster_figure(_spikes(), DT, title="digits-N100-P3"))
    raster, rate = fig.axes
    assert fig._suptitle.get_text() == "digits-N100-P3" and raster.get_title() == "trial 0 of 3"
    assert raster.get_ylabel() == "neuron" and _integers(raster.get_yticklabels())
    assert rate.get_xlabel() == "time (ms)" and "rate (Hz)" in rate.get_ylabel()
    assert raster.get_xlabel() == ""  # shared time axis: labelled once, at the bottom
    assert _inside(fig)


def test_raster_figure_shows_output_against_target_of_the_trial():
    rng = np.random.default_rng(1)
    outputs, targets = rng.normal(size=(100, 3, 1)), np.zeros((100, 3, 1))
    targets[50:] = 1.0
    fig = _drawn(raster_figure(_spikes(), DT, title="context-N30-P2", trial=2, outputs=outputs, targets=targets))
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "trial 2 of 3"
    panel = fig.axes[2]
    _labelled(panel)
    assert panel.get_xlabel() == "time (ms)" and _legend(panel) == ["output", "target"]
    output_line, target_line = panel.get_lines()
    np.testing.assert_array_equal(output_line.get_ydata(), outputs[:, 2, 0])
    np.testing.assert_array_equal(target_line.get_ydata(), targets[:, 2, 0])
    assert _inside(fig)


def test_raster_figure_places_outputs_at_their_own_time_step():
    fig = raster_figure(_spikes(T=100), 0.001, outputs=np.zeros((50, 3, 2)), output_dt=0.002)
    x = fig.axes[2].get_lines()[0].get_xdata()
    assert x[1] == pytest.approx(2.0) and x[-1] == pytest.approx(98.0)
    assert _legend(fig.axes[2]) == ["output 0", "output 1"]
    with pytest.raises(BrianModesError, match="output_dt"):
        raster_figure(_spikes(T=100), 0.001, outputs=np.zeros((50, 3, 1)))
    with pytest.raises(BrianModesError, match="targets must have"):
        raster_figure(_spikes(), DT, outputs=np.zeros((100, 3, 1)), targets=np.zeros((100, 3, 2)))
    with pytest.raises(BrianModesError, match="trial 5 does not exist"):
        raster_figure(_spikes(), DT, trial=5)


def test_membrane_traces_name_neurons_and_mark_threshold():
    v = np.random.default_rng(0).random((50, 2, 5))
    fig, ax = plt.subplots(constrained_layout=True)
    plot_membrane_traces(v, DT, neurons=(1, 4), trial=1, ax=ax)
    _drawn(fig)
    _labelled(ax)
    assert _legend(ax) == ["neuron 1", "neuron 4", "threshold"]
    assert _texts(ax.get_yticklabels()) == ["0", "1", "0", "1"]  # reset and threshold of each trace
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), v[:, 1, 4] + 1.5)
    assert _inside(fig)


def test_outputs_by_condition_name_the_conditions_and_the_band():
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(40, 8, 1))
    conditions = np.repeat([0, 1, 2, 3], 2)
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    plot_outputs_by_condition(outputs, conditions, DT, labels=CONTEXT_CONDITION_NAMES, ax=ax)
    _labelled(ax)
    assert _legend(ax) == ["context 1, choice −", "context 1, choice +", "context 2, choice −",
                           "context 2, choice +", "±1 s.d. over trials"]
    y = outputs[:, :2, 0]
    low, high = _band_limits(ax.collections[0])
    assert low == pytest.approx((y.mean(1) - y.std(1)).min()) and high == pytest.approx((y.mean(1) + y.std(1)).max())
    assert _inside(fig)
    ax = plot_outputs_by_condition(outputs, conditions, DT)
    assert _legend(ax)[:2] == ["condition 0", "condition 1"]
    with pytest.raises(BrianModesError, match="one condition per trial"):
        plot_outputs_by_condition(outputs, conditions[:5], DT)
    with pytest.raises(BrianModesError, match="one name per condition"):
        plot_outputs_by_condition(outputs, conditions, DT, labels=["a", "b"])


def test_mode_trajectories_label_modes_and_name_conditions():
    kappa = np.random.default_rng(0).normal(size=(30, 8, 4)).cumsum(axis=0)
    fig = plt.figure(figsize=(5, 4.5), constrained_layout=True)
    ax = plot_mode_trajectories(kappa, np.repeat([0, 1, 2, 3], 2), modes=(0, 1, 3), ax=fig.add_subplot(projection="3d"),
                                labels=CONTEXT_CONDITION_NAMES)
    _drawn(fig)
    _labelled(ax, z=True)
    assert [ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()] == ["mode 1", "mode 2", "mode 4"]
    assert _legend(ax) == list(CONTEXT_CONDITION_NAMES.values()) + ["end of trial"]
    assert _inside(fig)


# -- mode analyses -------------------------------------------------------------

@pytest.mark.parametrize("values", [np.geomspace(2.0, 0.05, 30), np.linspace(1.9, 1.2, 9)])
def test_importance_reads_plain_numbers_on_log_axes(values):
    from brianmodes.analysis import fit_piecewise_power_law

    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    plot_importance(fit_piecewise_power_law(values), ax=ax)
    _drawn(fig)
    _labelled(ax)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    ranks = _texts(ax.get_xticklabels())
    assert _integers(ax.get_xticklabels()) and "1" in ranks and len(ranks) >= 2
    assert _plain_numbers(ax.get_yticklabels()) and len(_texts(ax.get_yticklabels())) >= 2
    assert not _texts(ax.get_yticklabels(minor=True)) and not _texts(ax.get_xticklabels(minor=True))
    legend = _legend(ax)
    assert legend[0] == "modes" and all(text.startswith("power law, ranks ") for text in legend[1:])
    assert _inside(fig)


def _curve(metric):
    return {"counts": np.array([0, 2, 4, 6]), "metric": metric,
            "ascending": {"mean": np.array([1.0, 1.0, 0.9, 0.6]), "sd": np.zeros(4)},
            "descending": {"mean": np.array([1.0, 0.7, 0.5, 0.5]), "sd": np.zeros(4)},
            "random": {"mean": np.array([1.0, 0.8, 0.7, 0.55]), "sd": np.array([0.0, 0.05, 0.1, 0.05])}}


def test_pruning_counts_modes_in_integers_and_explains_the_band():
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    plot_pruning(_curve("decision_accuracy"), ax=ax)
    _drawn(fig)
    assert ax.get_xlabel() == "number of modes removed" and ax.get_ylabel() == "decision accuracy (%)"
    assert _integers(ax.get_xticklabels())
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [100, 100, 90, 60])
    assert _legend(ax) == ["least important first", "most important first", "random order",
                           "random order: ±1 s.d. over orders"]
    low, high = _band_limits(ax.collections[0])
    assert (low, high) == pytest.approx((50.0, 100.0))
    assert _inside(fig)
    curve = dict(_curve("mse"), n_random=5)
    ax = plot_pruning(curve)
    assert ax.get_ylabel() == "mean squared error" and _legend(ax)[-1] == "random order: ±1 s.d. over 5 orders"
    assert plot_pruning(_curve("psth_mse")).get_ylabel() == "PSTH mean squared error"


def test_accuracy_against_P_has_integer_ticks_at_the_Ps():
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    plot_accuracy_vs_modes({100: {1: 96.0, 3: 95.9, 10: 95.5, 30: 97.1}},
                           published={100: {1: 96.2, 3: 96.0, 10: 95.3, 30: 94.9}}, ax=ax)
    _drawn(fig)
    _labelled(ax)
    assert _texts(ax.get_xticklabels()) == ["1", "3", "10", "30"] and not _texts(ax.get_xticklabels(minor=True))
    assert _legend(ax) == ["N = 100", "N = 100 (published)"]
    assert _inside(fig)
    ax = plot_accuracy_vs_modes({30: {P: 90.0 for P in range(1, 31)}})  # too many Ps to tick each
    ax.figure.canvas.draw()
    assert _integers(ax.get_xticklabels()) and _texts(ax.get_xticklabels()) == ["1", "3", "10", "30"]


def test_sweep_figure_reads_the_same(tmp_path, monkeypatch):
    from brianmodes.plot import plot_sweep

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)
    rows = [{"task": "mnist", "status": "done", "seed": s, "parametrization": "modes", "N": 100, "P": P,
             "accuracy": 0.9 + 0.001 * P} for s in (0, 1) for P in (1, 3, 10)]
    assert plot_sweep(rows, tmp_path) == [tmp_path / "accuracy_vs_P.png"]
    ax, = _drawn(kept[0]).axes
    assert _texts(ax.get_xticklabels()) == ["1", "3", "10"] and ax.get_xlabel() == "number of modes P"
    assert ax.get_ylabel() == "held-out accuracy (%)" and ax.get_title() == "MNIST: mean over 2 seeds"
    assert _legend(ax) == ["N = 100", "N = 100 (published)"]
    assert _inside(kept[0])


# -- model against data ----------------------------------------------------------

def _comparison(n_model=6):
    from brianmodes.data import compare_activity

    rng = np.random.default_rng(0)
    rates = np.where(np.arange(8) < 4, 0.03, 0.08)[None, :, None] * np.linspace(0.5, 1.5, 6)[None, None, :]
    data = rng.random((150, 8, 6)) < rates
    model = rng.random((150, 8, n_model)) < 0.05 * (1 + np.arange(8)[None, :, None] % 2)
    return compare_activity(model, data, np.repeat([0, 1], 4), DT)


def test_comparison_figure_labels_every_axis_and_names_every_line():
    from brianmodes.plot import comparison_figure

    fig = _drawn(comparison_figure(_comparison(), DT, condition_names={0: "stimulus A", 1: "stimulus B"}))
    for ax in fig.axes:
        _labelled(ax)
    psth, pcs, rates, cv = fig.axes
    assert psth.get_title() == "PSTHs, stimulus A"
    assert _legend(psth) == ["neuron 0", "neuron 1", "neuron 2", "data", "model"]
    assert (pcs.get_xlabel(), pcs.get_ylabel()) == ("data PC 1 (Hz)", "data PC 2 (Hz)")
    assert _legend(pcs) == ["stimulus A", "stimulus B", "data", "model, rotated onto data"]
    for ax in (rates, cv):
        assert ax.get_ylabel() == "number of neurons" and _integers(ax.get_yticklabels())
        assert _legend(ax) == ["data", "model"]
    assert _inside(fig)


def test_comparison_figure_with_unmatched_neurons_does_not_pair_them():
    from brianmodes.plot import comparison_figure

    fig = comparison_figure(_comparison(n_model=9), DT)
    assert _legend(fig.axes[0])[:2] == ["data unit 0", "model neuron 0"]
    assert _legend(fig.axes[1])[:2] == ["condition 0", "condition 1"]   # the user's own condition values
    with pytest.raises(BrianModesError, match="one name per condition"):
        comparison_figure(_comparison(), DT, condition_names=["only one"])


@pytest.mark.parametrize("phase", range(10))
def test_rates_have_no_edge_jump_for_a_regular_train(phase):
    from brianmodes.data import gaussian_rates

    spikes = np.zeros((1000 + phase, 1, 1))
    spikes[::10] = 1  # 100 Hz at dt = 1 ms; the last spike `phase` steps before the end
    rates = gaussian_rates(spikes, 0.001, 0.02)[:, 0, 0]
    assert rates[500] == pytest.approx(100, rel=0.01)
    # padding with the edge bin gives 550 Hz or 45 Hz here; mirrored, the train's phase moves it < 20 %
    assert rates[0] == pytest.approx(100, rel=0.01) and rates[-1] == pytest.approx(100, rel=0.2)


def test_rates_of_poisson_like_trains_are_as_steady_at_the_edges_as_in_the_middle():
    from brianmodes.data import gaussian_rates

    spikes = np.random.default_rng(0).random((500, 100, 20)) < 0.02  # 20 Hz, 2000 trains
    rates = gaussian_rates(spikes, 0.001, 0.02)
    mean, sd = rates.mean(axis=(1, 2)), rates.std(axis=(1, 2))
    middle = mean[200:300].mean()
    assert middle == pytest.approx(20, rel=0.03)
    assert mean[0] == pytest.approx(middle, rel=0.05) and mean[-1] == pytest.approx(middle, rel=0.05)
    assert sd[0] < 1.6 * sd[250] and sd[-1] < 1.6 * sd[250]  # edge padding: 4-5 times the middle's spread


def test_comparison_psth_has_no_jump_at_the_last_time_point():
    from brianmodes.data import compare_activity

    spikes = np.zeros((301, 6, 4), bool)
    spikes[::10] = True  # 50 Hz at dt = 2 ms, a spike in the last bin of every trial
    result = compare_activity(spikes, spikes, np.repeat([0, 1], 3), DT)
    np.testing.assert_allclose(result["data_psth"], 50, rtol=0.02)


# -- benchmark figures -----------------------------------------------------------

def test_ground_truth_benchmark_figure_is_labelled():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "ground_truth.py"
    spec = importlib.util.spec_from_file_location("ground_truth_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    rng = np.random.default_rng(0)
    kt = rng.normal(size=(50, 8, 2)).cumsum(axis=0)
    mt = rng.random((50, 8, 12))
    curve = {"Ps": [1, 2, 3], "mean": np.array([3e-4, 1e-4, 0.9e-4]), "sem": np.full(3, 1e-5),
             "noise_floor": 5e-5, "best_P": 2}
    fig = _drawn(benchmark.draw_figure(curve, mt, mt[..., [1, 4, 7]], kt, kt + 0.1, np.array([1, 4, 7]),
                                       types.SimpleNamespace(P=2, dt=DT)))
    for ax in fig.axes:
        _labelled(ax)
    errors, modes, neurons = fig.axes
    assert _texts(errors.get_xticklabels()) == ["1", "2", "3"] and errors.get_xlabel() == "number of modes P"
    assert "s.e.m." in " ".join(_legend(errors))
    assert _legend(modes)[0] == "context 1, stim. 1 −, stim. 2 −" and _legend(modes)[-2:] == ["true", "fitted"]
    assert _legend(neurons) == ["neuron 1", "neuron 4", "neuron 7", "true", "fitted"]
    assert _inside(fig)


def test_backend_is_headless():
    assert matplotlib.get_backend().lower() == "agg"
