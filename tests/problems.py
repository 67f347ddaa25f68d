"""Small problems shared by the gradient and engine tests (importable: tests/ is on sys.path via conftest.py)."""

import numpy as np

from brianmodes import ModeNetwork


def small_problem(seed=2, T=25, **kw):
    """A small network (N=12, P=3) driven hard enough to spike and be refractory, its inputs and targets
    (the gradient tests of train/, neurons/)."""
    rng = np.random.default_rng(seed)
    N, P, N_in, N_out, B = 12, 3, 5, 3, 3
    net = ModeNetwork(N=N, P=P, N_in=N_in, N_out=N_out, seed=seed, **kw)
    net.params["W_in"] *= 4  # enough drive for spikes and refractory periods
    if "lam" in net.params:
        net.params["lam"] *= 10  # recurrence strong enough for its gradient to stand above round-off
    else:
        net.params["W"] *= 3
    x = rng.random((T, B, N_in)) * 1.5
    if net.readout == "max":
        return net, x, np.array([0, 1, 2]), "cross_entropy"
    return net, x, 0.1 * rng.normal(size=(T, B, N_out)), "mse"  # small loss, small FD round-off
