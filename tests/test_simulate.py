"""The simulator against plain step-by-step transcriptions: of SPEC 1.1 (the published update),
of the continuous-time LIF integrated as Brian2 integrates it (the ``brian2`` discretization),
and of the tanh rate unit. They are written out here independently of the derived engine."""

import math

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate


def transcription(net, x):
    """SPEC 1.1 written out literally, with the dense W and a refractory counter."""
    dt = net.dt
    a_s, a_m = math.exp(-dt / net.tau_s), math.exp(-dt / net.tau_m)
    a_d, a_r = math.exp(-dt / net.tau_d), math.exp(-dt / net.tau_r)
    W, W_in, W_out = net.W, net.W_in, net.W_out
    T, B, _ = x.shape
    I = np.zeros((B, net.N))
    v, s, r, h = (np.zeros((B, net.N)) for _ in range(4))
    refractory_left = np.zeros((B, net.N), int)
    out = {"s": [], "v": [], "I": [], "r": []}
    for t in range(T):
        I = a_s * I + x[t] @ W_in.T + r @ W.T
        notref = (refractory_left == 0).astype(float)
        v = notref * (a_m * v + (1 - a_m) * I) * (1 - s)
        if net.filter == "single":
            r = a_d * r + (dt / net.tau_d) * s
        elif net.filter == "double":
            h = a_r * h + dt / (net.tau_d * net.tau_r) * s
            r = a_d * r + dt * h
        else:  # double-ema
            h = a_r * h + s
            r = a_d * r + (1 - a_d) * h
        s = (v > net.v_th).astype(float)
        refractory_left = np.where(s > 0, net.n_ref, np.maximum(refractory_left - 1, 0))
        for name, value in (("s", s), ("v", v), ("I", I), ("r", r)):
            out[name].append(value)
    out = {k: np.array(v) for k, v in out.items()}
    if net.readout == "max":
        out["y"] = out["r"].max(axis=0) @ W_out.T
    else:
        out["y"] = out["r"] @ W_out.T
    return out


def transcription_brian2(net, x):
    """The LIF equations of brianmodes.brian.equations, one Brian2 time step after another.

    Exponential Euler (each variable's linear equation solved exactly over the step with the
    others held), in Brian2's schedule: state update from the previous step's values (v held
    while refractory), threshold (``v > v_th and not_refractory``), input jumps (the synapses
    slot), reset (which also makes the filter jump); a neuron integrates again at step t when
    ``t - lastspike >= t_ref / dt``.
    """
    dt = net.dt
    a_s, a_m = math.exp(-dt / net.tau_s), math.exp(-dt / net.tau_m)
    a_d, a_r = math.exp(-dt / net.tau_d), math.exp(-dt / net.tau_r)
    W, W_in, W_out = net.W, net.W_in, net.W_out
    T, B, _ = x.shape
    I, v, r, h = (np.zeros((B, net.N)) for _ in range(4))
    lastspike = np.full((B, net.N), -10 ** 9)
    out = {"s": [], "v": [], "I": [], "r": [], "h": []}
    for t in range(T):
        not_refractory = t - lastspike >= net.n_ref
        I_rec = r @ W.T  # r of the previous step
        v_new = np.where(not_refractory, a_m * v + (1 - a_m) * I, v)
        I_new = a_s * I + net.tau_s * (1 - a_s) / dt * I_rec  # dI/dt = -I/tau_s + I_rec/dt_model
        if net.filter == "double":  # dh/dt = -h/tau_r; dr/dt = h - r/tau_d
            h_new, r_new = a_r * h, a_d * r + net.tau_d * (1 - a_d) * h
        elif net.filter == "double-ema":  # dr/dt = (h - r)/tau_d
            h_new, r_new = a_r * h, a_d * r + (1 - a_d) * h
        else:  # dr/dt = -r/tau_d
            h_new, r_new = h, a_d * r
        v, I, r, h = v_new, I_new, r_new, h_new
        s = (v > net.v_th) & not_refractory
        I = I + x[t] @ W_in.T
        v = np.where(s, 0.0, v)
        if net.filter == "double":
            h = h + s * dt / (net.tau_d * net.tau_r)
        elif net.filter == "double-ema":
            h = h + s * 1.0
        else:
            r = r + s * dt / net.tau_d
        lastspike = np.where(s, t, lastspike)
        for name, value in (("s", s), ("v", v), ("I", I), ("r", r), ("h", h)):
            out[name].append(value)
    out = {k: np.array(v) for k, v in out.items()}
    out["y"] = out["r"].max(axis=0) @ W_out.T if net.readout == "max" else out["r"] @ W_out.T
    return out


def transcription_tanh(net, x):
    """The tanh rate unit: x <- a_m x + (1 - a_m)(W_in u + W r), r = tanh(x)."""
    a_m = math.exp(-net.dt / net.tau_m)
    T, B, _ = x.shape
    state, r = np.zeros((B, net.N)), np.zeros((B, net.N))
    rs = []
    for t in range(T):
        state = a_m * state + (1 - a_m) * (x[t] @ net.W_in.T + r @ net.W.T)
        r = np.tanh(state)
        rs.append(r)
    rs = np.array(rs)
    return {"r": rs, "y": rs.max(axis=0) @ net.W_out.T if net.readout == "max" else rs @ net.W_out.T}


def _random_case(seed, **kw):
    rng = np.random.default_rng(seed)
    kw.setdefault("discretization", "published")
    net = ModeNetwork(N=40, P=4, N_in=6, N_out=3, seed=seed, **kw)
    net.params["W_in"] *= 3
    if "lam" in net.params:
        net.params["lam"] *= 5
    else:
        net.params["W"] *= 2
    x = (rng.random((120, 5, 6)) < 0.4).astype(float)
    return net, x


@pytest.mark.parametrize("filter", ["single", "double", "double-ema"])
@pytest.mark.parametrize("readout", ["max", "per_step"])
@pytest.mark.parametrize("t_ref", [10e-3, 0.0, 2e-3])
def test_engine_equals_transcription(filter, readout, t_ref, engine):
    net, x = _random_case(3, filter=filter, readout=readout, t_ref=t_ref)
    ref = transcription(net, x)
    res = simulate(net, x, record=("s", "v", "I", "r"), dtype=np.float64, engine=engine)
    assert ref["s"].sum() > 100  # the networks spike
    np.testing.assert_array_equal(res.spikes, ref["s"].astype(bool))
    for name in ("v", "I", "r"):
        np.testing.assert_allclose(res.traces[name], ref[name], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, ref["y"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.spike_count, ref["s"].sum(axis=0))


@pytest.mark.parametrize("filter", ["single", "double", "double-ema"])
@pytest.mark.parametrize("readout", ["max", "per_step"])
@pytest.mark.parametrize("t_ref", [10e-3, 0.0, 2e-3])
def test_brian2_discretization_equals_transcription(filter, readout, t_ref, engine):
    net, x = _random_case(3, filter=filter, readout=readout, t_ref=t_ref, discretization="brian2")
    ref = transcription_brian2(net, x)
    names = ("s", "v", "I", "r") + (("h",) if filter != "single" else ())
    res = simulate(net, x, record=names, dtype=np.float64, engine=engine)
    assert ref["s"].sum() > 100
    np.testing.assert_array_equal(res.spikes, ref["s"])
    for name in names[1:]:
        np.testing.assert_allclose(res.traces[name], ref[name], rtol=0, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(res.outputs, ref["y"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.spike_count, ref["s"].sum(axis=0))


@pytest.mark.parametrize("readout", ["max", "per_step"])
@pytest.mark.parametrize("parametrization", ["modes", "full"])
def test_tanh_unit_equals_transcription(readout, parametrization, engine):
    net, x = _random_case(4, neuron="tanh", readout=readout, parametrization=parametrization)
    ref = transcription_tanh(net, x)
    res = simulate(net, x, record=("r",), dtype=np.float64, engine=engine)
    np.testing.assert_allclose(res.r, ref["r"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, ref["y"], rtol=0, atol=1e-12)


def test_refractory_period_is_five_silent_steps(engine):
    net = ModeNetwork(N=1, P=1, N_in=1, N_out=1, discretization="published", params={
        "W_in": np.array([[50.0]]), "xi_in": np.zeros((1, 1)), "lam": np.zeros(1),
        "xi_out": np.zeros((1, 1)), "W_out": np.ones((1, 1))})
    res = simulate(net, np.ones((40, 1, 1)), record=("s", "v"), dtype=np.float64, engine=engine)
    spike_steps = np.flatnonzero(res.spikes[:, 0, 0])
    # strong constant drive: fires as soon as the refractory period (5 steps) ends
    assert np.all(np.diff(spike_steps) == 6)
    first = spike_steps[0]
    assert np.all(res.v[first + 1:first + 6, 0, 0] == 0.0)


def test_record_nothing_gives_same_outputs(engine):
    net, x = _random_case(5, readout="per_step")
    full = simulate(net, x, record=("s", "v", "I", "r", "h", "u", "m", "k"), engine=engine)
    bare = simulate(net, x, record=(), engine=engine)
    # per-step readout vs one matrix product after the loop: float32 rounding only
    np.testing.assert_allclose(full.outputs, bare.outputs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(full.spike_count, bare.spike_count)
    assert bare.traces == {}
    assert full.k.shape == (120, 5, 4)
    assert full.outputs.dtype == np.float32


def test_float32_default_close_to_float64(engine):
    net, x = _random_case(6, readout="per_step", filter="double-ema")
    r32 = simulate(net, x, record=("r",), engine=engine)
    r64 = simulate(net, x, record=("r",), dtype=np.float64, engine=engine)
    assert r32.r.dtype == np.float32
    # early steps agree closely; spikes may later diverge by round-off
    np.testing.assert_allclose(r32.r[:20], r64.r[:20], atol=1e-5)


def test_recurrent_input_never_builds_dense_matrix(monkeypatch):
    net, x = _random_case(7)
    monkeypatch.setattr(ModeNetwork, "W", property(lambda self: (_ for _ in ()).throw(AssertionError)))
    simulate(net, x)


def test_result_helpers(engine):
    net, x = _random_case(8)
    res = simulate(net, x, engine=engine)
    assert res.time.shape == (120,) and res.time[1] == pytest.approx(0.002)
    rates = res.rates()
    assert rates.shape == (40,)
    assert res.population_rate() == pytest.approx(res.spikes.sum() / (5 * 40 * 120 * 0.002))


def test_tanh_network_runs_and_has_no_rates(engine):
    net, x = _random_case(9, neuron="tanh")
    res = simulate(net, x, record=("r",), engine=engine)
    assert np.all(np.abs(res.r) < 1)
    with pytest.raises(BrianModesError, match="spiking"):
        res.rates()


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 2, 5)), "shape"),
    (np.zeros((10,)), "shape"),
    (np.zeros((0, 2, 6)), "at least one step"),
    (np.full((10, 2, 6), np.nan), "NaN"),
    (np.array([["a"] * 6] * 3), "real numbers"),
])
def test_bad_inputs_are_refused(bad, message, engine):
    net, _ = _random_case(1)
    with pytest.raises(BrianModesError, match=message):
        simulate(net, bad, engine=engine)


def test_bad_record_and_dtype_are_refused(engine):
    net, x = _random_case(1)
    with pytest.raises(BrianModesError, match="cannot record"):
        simulate(net, x, record=("voltage",), engine=engine)
    with pytest.raises(BrianModesError, match="dtype"):
        simulate(net, x, dtype=np.int32, engine=engine)
    with pytest.raises(BrianModesError, match="engine must be one of auto, numpy, compiled"):
        simulate(net, x, engine="gpu")
