"""BPTT gradients against finite differences.

With a smooth spike function whose derivative *is* the surrogate (the
surrogate's primitive), the surrogate gradient is the exact gradient of the
loss, so central finite differences must match it to round-off.
"""

import numpy as np
import pytest

from brianmodes import ModeNetwork
from brianmodes.simulate import engine_params, forward
from brianmodes.train import RateRegularizer, backward, get_loss, get_surrogate, loss_and_grads
from helpers import small_problem as _problem

# 4-point stencil: truncation error ~ EPS**4 f^(5), round-off ~ 1e-16 |L| / EPS
EPS = 1e-4
EPS_STEEP = 3e-5  # for the logistic surrogate, whose higher derivatives grow as slope**5
TOL = 1e-6


def _structure(net, x, surrogate):
    """The piecewise-constant parts of the smooth forward: refractory masks and argmax."""
    fwd = forward(net, x, store=("m",), dtype=np.float64, spike_fn=surrogate.primitive,
                  params=engine_params(net, np.float64))
    parts = [fwd["m"]] if "m" in fwd else []
    if "argmax" in fwd:
        parts.append(fwd["argmax"])
    return parts


def _check_fd(net, x, targets, loss, surrogate="fast_sigmoid", regularizer=None, n_entries=12, seed=0,
              eps=None):
    eps = EPS if eps is None else eps
    sur = get_surrogate(surrogate)
    rng = np.random.default_rng(seed)

    def f():
        return loss_and_grads(net, x, targets, loss=loss, surrogate=sur, dtype=np.float64,
                              smooth=True, rate_regularizer=regularizer)

    analytic = f().grads
    base = _structure(net, x, sur)
    errors = {}
    for name, grad in analytic.items():
        array = net.params[name]
        fd, an = [], []
        for i in rng.permutation(array.size):
            old = array.flat[i]
            values, same = [], True
            for d in (2, 1, -1, -2):
                array.flat[i] = old + d * eps
                values.append(f().loss)
                same &= all(np.array_equal(a, b) for a, b in zip(base, _structure(net, x, sur)))
            array.flat[i] = old
            if not same:  # the perturbation crossed a discontinuity: FD undefined here
                continue
            fd.append((-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps))
            an.append(grad.flat[i])
            if len(fd) == n_entries:
                break
        assert len(fd) >= min(n_entries, array.size) // 2, f"too few smooth entries for {name}"
        fd, an = np.array(fd), np.array(an)
        assert np.linalg.norm(fd) > 0
        errors[name] = np.linalg.norm(fd - an) / np.linalg.norm(fd)
    return errors


@pytest.mark.parametrize("discretization", ["published", "brian2"])
@pytest.mark.parametrize("filter", ["single", "double", "double-ema"])
@pytest.mark.parametrize("readout", ["max", "per_step"])
@pytest.mark.parametrize("parametrization", ["modes", "full"])
def test_lif_gradients_match_finite_differences(filter, readout, parametrization, discretization):
    net, x, targets, loss = _problem(filter=filter, readout=readout, parametrization=parametrization,
                                     discretization=discretization)
    errors = _check_fd(net, x, targets, loss)
    expected = {"W_in", "W_out"} | ({"xi_in", "lam", "xi_out"} if parametrization == "modes" else {"W"})
    assert set(errors) == expected
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("readout", ["max", "per_step"])
@pytest.mark.parametrize("parametrization", ["modes", "full"])
def test_tanh_gradients_match_finite_differences(readout, parametrization):
    net, x, targets, loss = _problem(neuron="tanh", readout=readout, parametrization=parametrization)
    errors = _check_fd(net, x, targets, loss)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("discretization", ["published", "brian2"])
@pytest.mark.parametrize("surrogate", ["sigmoid", "triangle"])
def test_other_surrogates_match_finite_differences(surrogate, discretization):
    net, x, targets, loss = _problem(filter="double", readout="max", discretization=discretization)
    errors = _check_fd(net, x, targets, loss, surrogate=surrogate, eps=EPS_STEEP)
    assert max(errors.values()) < TOL, errors


def test_double_softmax_loss_matches_finite_differences():
    net, x, targets, _ = _problem(filter="double", readout="max")
    errors = _check_fd(net, x, targets, "double_softmax_cross_entropy")
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("loss", ["root_sse", "sse"])
def test_squared_error_losses_match_finite_differences(loss):
    net, x, targets, _ = _problem(filter="double-ema", readout="per_step")
    errors = _check_fd(net, x, targets, loss)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("discretization", ["published", "brian2"])
def test_rate_regularizer_gradient_matches_finite_differences(discretization):
    net, x, targets, loss = _problem(filter="double", readout="max", discretization=discretization)
    errors = _check_fd(net, x, targets, loss, regularizer=RateRegularizer(0.5, 20.0))
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("discretization", ["published", "brian2"])
def test_trained_neuron_arrays_match_finite_differences(discretization):
    """A model's trainable parameters are arrays of the network in their parametrization
    (log_tau_m, ...): their gradients pass the same check as the weights'."""
    from brianmodes.neurons import lif, published_lif

    model = (lif("double", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "v_th"))
             if discretization == "brian2" else
             published_lif("double", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_d")))
    net, x, targets, loss = _problem(filter="double", readout="max")
    net = ModeNetwork(N=net.N, P=net.P, N_in=net.N_in, N_out=net.N_out, neuron=model, params=net.params)
    rng = np.random.default_rng(1)
    net.params["log_tau_m"] += 0.2 * rng.uniform(-1, 1, net.N)  # heterogeneous time constants
    errors = _check_fd(net, x, targets, loss)
    assert set(errors) == set(net.params)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_backward_of_a_recorded_forward_equals_loss_and_grads(engine):
    """On one engine, forward + backward is loss_and_grads (the compiled step fuses the two and scales the
    gradients by the loss's constant afterwards: equal to float64 rounding)."""
    net, x, targets, loss = _problem(filter="double-ema", readout="per_step", discretization="brian2")
    fwd = forward(net, x, dtype=np.float64, train=True, engine=engine)
    assert fwd.get("engine", "numpy") == engine
    _, gy = get_loss(loss)(fwd["y"], targets, None)
    grads = backward(net, fwd, gy)
    reference = loss_and_grads(net, x, targets, loss=loss, dtype=np.float64, engine=engine).grads
    for name in reference:
        if engine == "numpy":
            np.testing.assert_array_equal(grads[name], reference[name])
        else:
            np.testing.assert_allclose(grads[name], reference[name], rtol=0, atol=1e-13 * np.abs(reference[name]).max())


def test_float32_gradients_close_to_float64():
    net, x, targets, loss = _problem(filter="double", readout="max")
    g32 = loss_and_grads(net, x, targets, loss=loss, dtype=np.float32, smooth=True).grads
    g64 = loss_and_grads(net, x, targets, loss=loss, dtype=np.float64, smooth=True).grads
    for name in g64:
        err = np.linalg.norm(g32[name] - g64[name]) / np.linalg.norm(g64[name])
        assert err < 1e-4, (name, err)


def test_surrogate_object_takes_the_requested_slope():
    from brianmodes import BrianModesError
    from brianmodes.train.surrogates import FastSigmoid, Triangle

    given = Triangle(1.0)
    steeper = get_surrogate(given, slope=4.0)
    assert type(steeper) is Triangle and steeper.slope == 4.0 and steeper is not given
    assert given.slope == 1.0  # the caller's object is not changed
    np.testing.assert_allclose(steeper.grad(np.array([0.0, 0.1, 0.3])), [1.0, 0.6, 0.0])
    assert get_surrogate(given) is given  # no slope: the object as it is
    assert get_surrogate(FastSigmoid(25.0), 10.0).grad(np.array([0.1]))[0] == pytest.approx(0.25)
    with pytest.raises(BrianModesError, match="slope must be a positive number, got -1.0"):
        get_surrogate(given, slope=-1.0)
    with pytest.raises(BrianModesError, match="slope must be a positive number"):
        get_surrogate("sigmoid", slope="steep")
    with pytest.raises(BrianModesError, match="surrogate must be one of"):
        get_surrogate("relu")
    with pytest.raises(BrianModesError, match="a name"):
        get_surrogate(3.0)
