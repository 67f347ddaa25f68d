"""The derived engine against the authors' update and Brian2's state updater.

The hand-written engine it replaced was checked equal to it on every configuration before it
was removed (3 filters x 2 readouts x modes/full x both discretizations, the tanh baseline,
t_ref = 0, rate penalty: spikes identical, float64 states within 1e-12, gradients within 1e-10);
the transcriptions in tests/test_simulate.py and the finite differences in tests/train/test_bptt.py
are the oracles now. Here:

- Brian2's exponential Euler of the LIF equations gives the coefficients written out by hand;
- the float32 refractory clock against a literal float32 transcription of SPEC 1.1 + 1.4,
  spike for spike, on digits-like and context-like inputs, through ``ModeNetwork(...,
  discretization="published", refractory_timing="float32")``.

Brian2 runs the derived models spike for spike: tests/brian/test_brian.py.
"""

import math

import numpy as np
import pytest

from brianmodes import ModeNetwork
from brianmodes import simulate as simulate_network
from brianmodes.neurons import derive, lif, published_lif
from brianmodes.neurons.engine import Engine
from brianmodes.neurons.run import loss_and_grads, simulate
from helpers import small_problem


def _problem(seed=2, T=40, **kw):
    return small_problem(seed, T, **kw)


def test_brian2_state_updater_gives_the_coefficients_written_out_by_hand():
    """exponential_euler of the LIF equations: a_m, 1 - a_m, a_s, the recurrent drive
    tau_s (1 - a_s) / dt, a_r, a_d, the filter's tau_d (1 - a_d) and its jump dt / (tau_d tau_r)."""
    net = ModeNetwork(N=4, P=1, N_in=1, N_out=1, filter="double", discretization="brian2")
    engine = Engine(net.model, net.dt)
    values, _ = engine.constants(net.N, np.dtype(np.float64))
    got = sorted(float(np.ravel(v)[0]) for v in values)
    dt = net.dt
    a_s, a_m, a_d, a_r = (math.exp(-dt / tau) for tau in (net.tau_s, net.tau_m, net.tau_d, net.tau_r))
    for expected in (a_m, 1 - a_m, a_s, net.tau_s * (1 - a_s) / dt, a_r, a_d, net.tau_d * (1 - a_d),
                     dt / (net.tau_d * net.tau_r)):
        assert min(abs(g - expected) for g in got) < 1e-15 * max(1.0, abs(expected)), expected


def test_brian2_membrane_before_reset_is_recorded_as_u():
    net, x, _, _ = _problem(filter="double", readout="max", discretization="brian2")
    res = simulate_network(net, x, record=("u", "v", "s"), dtype=np.float64)
    np.testing.assert_array_equal(res.u, simulate(net, x, record=("v__1",), dtype=np.float64).traces["v__1"])
    np.testing.assert_array_equal(res.v[~res.s], res.u[~res.s])
    assert np.all(res.u[res.s] > net.v_th) and np.all(res.v[res.s] == 0)


# -- the authors' float32 clock --------------------------------------------------------------
def _authors_update(x, p, filter, dt=2e-3, tau_s=10e-3, tau_m=20e-3, tau_d=30e-3, tau_r=2e-3, v_th=1.0,
                    t_ref=10e-3):
    """SPEC 1.1 + 1.4, literally, in float32: constants are Python floats, the clock counts seconds.

    The two products share the engine's form (one input projection over all
    rows, the recurrence in mode space), so that BLAS rounds them alike.
    """
    f32 = np.float32
    T, B, _ = x.shape
    N = p["W_in"].shape[0]
    a_s, a_m, a_d, a_r = (math.exp(-dt / tau) for tau in (tau_s, tau_m, tau_d, tau_r))
    drive = (x.reshape(T * B, -1) @ p["W_in"].T).reshape(T, B, N)
    xi_in_T = np.ascontiguousarray(p["xi_in"].T)
    I, v, h, r, s = (np.zeros((B, N), f32) for _ in range(5))
    t_last = np.full((B, N), -1.0, f32)
    spikes = np.zeros((T, B, N), bool)
    for i in range(T):
        rec = ((r @ p["xi_out"]) * p["lam"]) @ xi_in_T
        I = a_s * I + drive[i] + rec
        notref = f32(dt * i) > t_last + f32(t_ref)
        v = notref * (a_m * v + (1 - a_m) * I) * (1 - s)
        if filter == "double":
            h = a_r * h + dt / (tau_d * tau_r) * s
            r = a_d * r + dt * h
        elif filter == "double-ema":
            h = a_r * h + s
            r = a_d * r + (1 - a_d) * h
        else:
            r = a_d * r + dt / tau_d * s
        s = (v > v_th).astype(f32)
        t_last = t_last + (f32(dt * i) - t_last) * s
        spikes[i] = s > 0
    return spikes


def _digits_like(rng, T=50, B=16, N_in=196):
    pixels = rng.random((B, N_in)) * (rng.random((B, N_in)) < 0.3)
    return (rng.random((T, B, N_in)) < pixels).astype(np.float32), "double"


def _context_like(rng, T=500, B=6):
    offsets = rng.choice([-0.5, 0.5], size=(B, 2))
    x = np.zeros((T, B, 4), np.float32)
    x[50:250, :, :2] = offsets + rng.normal(size=(200, B, 2))
    x[:, np.arange(B), 2 + rng.integers(0, 2, B)] = 1.0
    return x, "double-ema"


@pytest.mark.parametrize("task", [_digits_like, _context_like])
def test_float32_clock_equals_literal_float32_transcription(task):
    rng = np.random.default_rng(7)
    x, filter = task(rng)
    steps = ModeNetwork(N=40, P=3, N_in=x.shape[2], N_out=1, filter=filter, discretization="published", seed=3)
    steps.params["W_in"] *= 4 if filter == "double" else 1
    net = ModeNetwork.from_arrays(**steps.params, filter=filter, discretization="published",
                                  refractory_timing="float32")
    derived = simulate_network(net, x, record=("s", "m"))
    p = {name: np.ascontiguousarray(a, np.float32) for name, a in net.params.items()}
    expected = _authors_update(x, p, filter)
    assert expected.sum() > 200
    np.testing.assert_array_equal(derived.spikes, expected)
    np.testing.assert_array_equal(simulate(steps, x, record=("s",), model=net.model).spikes, expected)
    # the clock matters: an exact 5-step mask gives other spikes, and some clamps last 4 steps
    assert (simulate_network(steps, x, record=("s",)).spikes != expected).any()
    T = x.shape[0]
    t, b, i = np.nonzero(derived.spikes[: T - 7])
    lengths = sum((~derived.m[t + d, b, i]).astype(int) for d in range(1, 7))
    assert {4, 5} == set(lengths.tolist())


def test_float32_clock_gradients_run():
    net, x, targets, loss = _problem(filter="double", readout="max", discretization="published",
                                     refractory_timing="float32")
    step = loss_and_grads(net, x, targets, loss=loss)
    assert net.model.refractory_timing == "float32"
    assert all(np.all(np.isfinite(g)) for g in step.grads.values())
    same = loss_and_grads(net, x, targets, loss=loss, model=published_lif("double", refractory_timing="float32"))
    for name, grad in step.grads.items():
        np.testing.assert_array_equal(grad, same.grads[name])


def test_one_program_per_model_structure():
    assert derive(lif("double")).statements is not None
    engine_a = Engine(lif("double", tau_m=0.01), 2e-3)
    engine_b = Engine(lif("double"), 1e-3)
    assert engine_a.program is engine_b.program
