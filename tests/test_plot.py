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
