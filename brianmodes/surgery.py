"""Network surgery: new networks made from a mode network by removing, adding or reading out modes and neurons.

- :func:`remove_modes`: a copy without some modes (silencing a mode for good; pruning curves);
- :func:`grow_modes`: a copy with more modes, its own first (nested fits over P);
- :func:`selection_network`: a fresh network whose first readout rows pick given neurons' activity
  (fitting recorded neurons through a fixed readout).
"""

from __future__ import annotations

import numpy as np

from .errors import BrianModesError
from .network import ModeNetwork


def remove_modes(net, modes):
    """A copy of ``net`` without the given modes (P shrinks; nothing else changes).

    Removing every mode leaves one mode with lambda = 0 (no recurrence).
    """
    modes = np.unique(np.asarray(modes, dtype=int))
    if net.parametrization != "modes":
        raise BrianModesError("a full-rank network has no modes")
    if modes.size and (modes.min() < 0 or modes.max() >= net.P):
        raise BrianModesError(f"mode indices must be in 0..{net.P - 1}, got {modes.tolist()}")
    keep = np.setdiff1d(np.arange(net.P), modes)
    params = {k: v.copy() for k, v in net.params.items()}
    if keep.size == 0:
        params.update(xi_in=params["xi_in"][:, :1], xi_out=params["xi_out"][:, :1], lam=np.zeros(1))
    else:
        params.update(xi_in=params["xi_in"][:, keep], xi_out=params["xi_out"][:, keep], lam=params["lam"][keep])
    config = net.config()
    config["P"] = len(params["lam"])
    return ModeNetwork(**config, params=params, metadata=dict(net.metadata))


def selection_network(N, P, N_in, recorded, n_task=0, seed=None, **kwargs):
    """A network whose first readout rows pick the r of the model neurons ``recorded`` (fixed).

    With ``n_task > 0``, ``n_task`` ordinary (trainable) readout rows follow.
    """
    recorded = np.asarray(recorded, dtype=int)
    if recorded.ndim != 1 or recorded.size == 0 or recorded.min() < 0 or recorded.max() >= N \
            or np.unique(recorded).size != recorded.size:
        raise BrianModesError(f"recorded must be distinct model neuron indices in [0, {N}), got {recorded}")
    net = ModeNetwork(N=N, P=P, N_in=N_in, N_out=recorded.size + n_task, readout="per_step", seed=seed, **kwargs)
    W_out = net.params["W_out"].copy()
    W_out[:recorded.size] = 0.0
    W_out[np.arange(recorded.size), recorded] = 1.0
    net.params["W_out"] = W_out
    return net


def grow_modes(net, P, seed=None):
    """A copy of a mode network with ``P >= net.P`` modes: its own modes first, then fresh ones.

    The new modes are drawn as in a fresh network (``lambda`` of order
    1/sqrt(N), so they start weak); every other array is copied. Fitting
    the grown network continues from the smaller fit, so each added mode is
    pulled towards what the others leave unexplained.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> small = ModeNetwork(N=20, P=1, N_in=2, N_out=1, seed=0)
    >>> big = grow_modes(small, 3, seed=1)
    >>> big.P, bool(np.all(big.xi_in[:, :1] == small.xi_in))
    (3, True)
    """
    if net.parametrization != "modes":
        raise BrianModesError("only mode networks (parametrization='modes') can grow modes")
    if P < net.P:
        raise BrianModesError(f"cannot grow a network of {net.P} modes to {P}")
    config = dict(net.config(), P=P)
    fresh = ModeNetwork(**config, seed=seed).params
    params = {name: np.array(array, copy=True) for name, array in net.params.items()}
    for name in ("xi_in", "xi_out"):
        params[name] = np.concatenate([params[name], fresh[name][:, net.P:]], axis=1)
    params["lam"] = np.concatenate([params["lam"], fresh["lam"][net.P:]])
    return ModeNetwork(**config, params=params)
