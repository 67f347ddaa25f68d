import numpy as np

from brianmodes.plot import population_rate, raster_figure


def test_population_rate_values():
    spikes = np.zeros((100, 2, 5), bool)
    spikes[::10, :, :] = True  # every neuron fires once per 10 steps of 2 ms: 50 Hz
    times, rate = population_rate(spikes, 0.002, bin_ms=20)
    np.testing.assert_allclose(rate, 50.0)
    np.testing.assert_allclose(times[:2], [10.0, 30.0])


def test_raster_figure_renders_png(tmp_path):
    spikes = np.random.default_rng(0).random((200, 3, 30)) < 0.03
    fig = raster_figure(spikes, 0.002, title="test")
    path = tmp_path / "raster.png"
    fig.savefig(path)
    assert path.stat().st_size > 5000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _png(fig, path):
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_every_analysis_plot_renders(tmp_path):
    import matplotlib.pyplot as plt

    from brianmodes import ModeNetwork, simulate
    from brianmodes.analysis import fit_piecewise_power_law, mode_importance, project_on_modes
    from brianmodes.plot import (plot_accuracy_vs_modes, plot_importance, plot_membrane_traces,
                                 plot_mode_trajectories, plot_outputs_by_condition, plot_pruning)

    rng = np.random.default_rng(0)
    net = ModeNetwork(N=30, P=12, N_in=3, N_out=1, readout="per_step", seed=0)
    net.params["W_in"] *= 3
    res = simulate(net, rng.normal(size=(100, 8, 3)), record=("v", "r"))
    conditions = np.repeat([0, 1], 4)

    fig, ax = plt.subplots()
    plot_membrane_traces(res.v, 0.002, ax=ax)
    _png(fig, tmp_path / "v.png")
    fig, ax = plt.subplots()
    plot_outputs_by_condition(res.outputs, conditions, 0.002, labels={0: "a", 1: "b"}, ax=ax)
    _png(fig, tmp_path / "out.png")
    fig = plt.figure()
    plot_mode_trajectories(project_on_modes(net, res.r), conditions, ax=fig.add_subplot(projection="3d"))
    _png(fig, tmp_path / "modes.png")
    fig, ax = plt.subplots()
    plot_importance(fit_piecewise_power_law(mode_importance(net)), ax=ax)
    _png(fig, tmp_path / "importance.png")
    curve = {"counts": np.arange(4), "metric": "accuracy",
             "ascending": {"mean": np.array([0.9, 0.9, 0.8, 0.5]), "sd": np.zeros(4)},
             "descending": {"mean": np.array([0.9, 0.6, 0.5, 0.5]), "sd": np.zeros(4)},
             "random": {"mean": np.array([0.9, 0.8, 0.7, 0.5]), "sd": np.full(4, 0.05)}}
    fig, ax = plt.subplots()
    plot_pruning(curve, ax=ax)
    _png(fig, tmp_path / "pruning.png")
    fig, ax = plt.subplots()
    plot_accuracy_vs_modes({100: {1: 96.0, 3: 95.9, 10: 95.5}}, published={100: {1: 96.2, 3: 96.0, 10: 95.3}}, ax=ax)
    _png(fig, tmp_path / "accuracy.png")
    plt.close("all")


def test_plots_without_axes_make_their_own_figure():
    import matplotlib.pyplot as plt

    from brianmodes.analysis import fit_piecewise_power_law
    from brianmodes.plot import plot_importance, plot_mode_trajectories

    plot_mode_trajectories(np.random.default_rng(0).normal(size=(20, 4, 3)), [0, 0, 1, 1])
    ax = plot_importance(fit_piecewise_power_law(np.linspace(2, 1, 10)))  # after a 3-D plot
    assert ax.name == "rectilinear"
    plt.close("all")
