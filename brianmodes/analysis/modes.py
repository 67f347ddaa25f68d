"""Activity in mode space: kappa_in = xi_in^T r and kappa_out = xi_out^T r (SPEC 3)."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def _check_activity(net, r):
    r = np.asarray(r)
    if r.shape[-1] != net.N:
        raise BrianModesError(f"activity must end with the N = {net.N} neurons, got shape {r.shape}")
    if net.parametrization != "modes":
        raise BrianModesError("a full-rank network has no modes")
    return r


def project_on_modes(net, r, which="in"):
    """Project filtered activity onto the input or output modes.

    Parameters
    ----------
    net : ModeNetwork
    r : array (..., N)
        Filtered activity, e.g. ``simulate(net, x, record=("r",)).r`` of
        shape (T, B, N).
    which : {'in', 'out'}
        ``in``: kappa_in = xi_in^T r; ``out``: kappa_out = xi_out^T r (what
        drives the recurrence: W r = xi_in (lam * kappa_out)).

    Returns
    -------
    ndarray (..., P)

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=20, P=3, N_in=2, N_out=1, seed=0)
    >>> project_on_modes(net, np.ones((5, 4, 20))).shape
    (5, 4, 3)
    """
    r = _check_activity(net, r)
    if which not in ("in", "out"):
        raise BrianModesError(f"which must be 'in' or 'out', got {which!r}")
    return r @ (net.xi_in if which == "in" else net.xi_out)


def orthogonalized_input_modes(net):
    """Input modes made orthonormal and orthogonal to the input weights (Gram–Schmidt).

    The columns of W_in come first, then those of xi_in; the returned
    vectors are the part of each input mode that the inputs do not explain.

    Returns
    -------
    ndarray (N, P), orthonormal columns
    """
    if net.parametrization != "modes":
        raise BrianModesError("a full-rank network has no modes")
    if net.N_in + net.P > net.N:
        raise BrianModesError(
            f"the {net.N_in} input weight vectors and {net.P} modes do not fit in {net.N} dimensions; "
            "orthogonalization against W_in needs N_in + P <= N")
    q, _ = np.linalg.qr(np.concatenate([net.W_in, net.xi_in], axis=1))
    return q[:, net.N_in:]


def project_on_orthogonalized_modes(net, r):
    """Activity projected on :func:`orthogonalized_input_modes`, (..., P)."""
    return _check_activity(net, r) @ orthogonalized_input_modes(net)
