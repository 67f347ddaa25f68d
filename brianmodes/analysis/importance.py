"""Mode importance and its power law in rank (SPEC 3)."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def mode_importance(net):
    """Importance of each mode, tau_mu = gamma (||xi_in_mu|| + ||xi_out_mu||) + |lambda_mu|.

    gamma = sum |lambda| / sum (||xi_in_mu|| + ||xi_out_mu||) puts the two
    terms on the same scale.

    Returns
    -------
    ndarray (P,)

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> mode_importance(ModeNetwork(N=50, P=4, N_in=2, N_out=1, seed=0)).shape
    (4,)
    """
    if net.parametrization != "modes":
        raise BrianModesError("a full-rank network has no modes")
    norms = np.linalg.norm(net.xi_in, axis=0) + np.linalg.norm(net.xi_out, axis=0)
    gamma = np.abs(net.lam).sum() / norms.sum()
    return gamma * norms + np.abs(net.lam)


def _line(x, y):
    A = np.stack([x, np.ones_like(x)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(A, y, rcond=None)
    fitted = slope * x + intercept
    ss_res = float(np.sum((y - fitted) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return slope, intercept, ss_res, (1.0 - ss_res / ss_tot) if ss_tot > 0 else 1.0


def fit_piecewise_power_law(values, max_rank=None, min_points=3):
    """Fit sorted values against rank with two power laws; the breakpoint is chosen by the fit.

    log(value) = slope_k log(rank) + c_k on ranks 1..b and b+1..max_rank,
    with the breakpoint b minimizing the total squared error.

    Parameters
    ----------
    values : array (P,)
        Positive values (e.g. :func:`mode_importance`); sorted descending here.
    max_rank : int, optional
        Fit ranks 1..max_rank only (default: all).
    min_points : int
        Fewest ranks per segment.

    Returns
    -------
    dict
        ``breakpoint`` (last rank of the first segment), ``slopes``,
        ``intercepts`` and ``r2`` (one per segment), ``r2_total``, and
        ``ranks``, ``values`` (sorted) for plotting.

    Examples
    --------
    >>> import numpy as np
    >>> rank = np.arange(1, 31)
    >>> v = np.where(rank <= 10, rank ** -0.1, 10 ** 0.2 * rank ** -0.3)
    >>> fit = fit_piecewise_power_law(v)
    >>> fit["breakpoint"], np.round(fit["slopes"], 3).tolist()
    (10, [-0.1, -0.3])
    """
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    if max_rank is not None:
        v = v[:int(max_rank)]
    if np.any(v <= 0):
        raise BrianModesError("a power law needs positive values")
    if len(v) < 2 * min_points:
        raise BrianModesError(f"need at least {2 * min_points} values for two segments, got {len(v)}")
    ranks = np.arange(1, len(v) + 1)
    x, y = np.log(ranks), np.log(v)
    best = None
    for b in range(min_points, len(v) - min_points + 1):
        first, second = _line(x[:b], y[:b]), _line(x[b:], y[b:])
        sse = first[2] + second[2]
        if best is None or sse < best[0]:
            best = (sse, b, first, second)
    sse, b, first, second = best
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {"breakpoint": int(b), "slopes": [float(first[0]), float(second[0])],
            "intercepts": [float(first[1]), float(second[1])], "r2": [float(first[3]), float(second[3])],
            "r2_total": 1.0 - sse / ss_tot if ss_tot > 0 else 1.0, "ranks": ranks, "values": v}
