"""How many dimensions the activity uses, and how much of it the modes capture (SPEC 3)."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError


def _samples(r):
    r = np.asarray(r, dtype=float)
    X = r.reshape(-1, r.shape[-1])
    return X - X.mean(axis=0)


def participation_ratio(r):
    """(sum of PCA variances)^2 / sum of squared variances: ~1 for a line, N for isotropic activity.

    Parameters
    ----------
    r : array (..., N)
        Activity; all leading axes (time, trials) are samples.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(2000, 1)) * np.ones((1, 10))
    >>> round(participation_ratio(x), 3)
    1.0
    """
    X = _samples(r)
    variances = np.linalg.eigvalsh(X.T @ X / max(len(X) - 1, 1))
    variances = np.clip(variances, 0, None)
    total = variances.sum()
    if total == 0:
        raise BrianModesError("the activity does not vary")
    return float(total ** 2 / np.sum(variances ** 2))


def variance_explained(r, directions):
    """Fraction of the activity's variance in the span of ``directions`` (N, k)."""
    X = _samples(r)
    q, _ = np.linalg.qr(np.asarray(directions, dtype=float))
    total = np.sum(X * X)
    if total == 0:
        raise BrianModesError("the activity does not vary")
    return float(np.sum((X @ q) ** 2) / total)


def mode_vs_pca_variance(net, r, which="in"):
    """Variance of r explained by the P mode directions and by the top-P principal components.

    Returns
    -------
    dict
        ``modes`` (fraction in span(xi_in) or span(xi_out)), ``pca`` (top-P
        PCs: the most any P directions can explain), their ratio and the
        participation ratio.
    """
    if net.parametrization != "modes":
        raise BrianModesError("a full-rank network has no modes")
    X = _samples(r)
    P = min(net.P, net.N)
    directions = net.xi_in if which == "in" else net.xi_out
    variances = np.sort(np.clip(np.linalg.eigvalsh(X.T @ X), 0, None))[::-1]
    pca = float(variances[:P].sum() / variances.sum())
    modes = variance_explained(r, directions[:, :P] if net.P > net.N else directions)
    return {"modes": modes, "pca": pca, "ratio": modes / pca, "participation_ratio": participation_ratio(r)}
