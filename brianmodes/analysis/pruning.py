"""Removing modes and measuring what is lost (SPEC 3)."""

from __future__ import annotations

import numpy as np

from ..checks import choice
from ..errors import BrianModesError
from ..surgery import remove_modes
from .importance import mode_importance

ORDERS = ("ascending", "descending", "random")


def removal_order(net, order, rng=None):
    """Modes in the order they are removed: least important first (``ascending``),
    most important first (``descending``) or ``random``."""
    choice(order, "order", ORDERS)
    if order == "random":
        return np.random.default_rng(rng).permutation(net.P)
    ranking = np.argsort(mode_importance(net))
    return ranking if order == "ascending" else ranking[::-1]


def pruning_curve(net, task, counts=None, orders=ORDERS, n_random=5, n_trials=None, seed=0,
                  metric=None):
    """The task metric after removing k modes, for each removal order.

    Parameters
    ----------
    net : ModeNetwork
    task : Task
    counts : iterable of int, optional
        Numbers of modes removed (default: 0..P).
    orders : iterable of str
        Among ``ascending``, ``descending``, ``random``.
    n_random : int
        Random orders averaged (mean and sd).
    n_trials : int, optional
        Held-out trials per evaluation (default: the task's whole test set).
    metric : str, optional
        Default: the task's main metric.

    Returns
    -------
    dict
        ``counts`` and, per order, ``mean`` and ``sd`` arrays (sd is 0 for
        the deterministic orders).
    """
    metric = metric or task.main_metric
    counts = list(range(net.P + 1)) if counts is None else [int(k) for k in counts]
    if any(k < 0 or k > net.P for k in counts):
        raise BrianModesError(f"counts must be in 0..{net.P}")
    result = {"counts": np.array(counts), "metric": metric, "n_random": n_random}
    rng = np.random.default_rng(seed)
    for order in orders:
        repeats = n_random if order == "random" else 1
        values = np.empty((repeats, len(counts)))
        for rep in range(repeats):
            sequence = removal_order(net, order, rng)
            for j, k in enumerate(counts):
                values[rep, j] = task.evaluate(remove_modes(net, sequence[:k]), n_trials=n_trials,
                                               seed=seed)[metric]
        result[order] = {"mean": values.mean(axis=0), "sd": values.std(axis=0)}
    return result
