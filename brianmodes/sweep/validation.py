"""Brian2 validation of a sweep's networks, with one compiled C++ standalone program per network structure."""

from __future__ import annotations

import time


def validate_brian2(net, task, builds, n_trials=None, batch_size=500, seed=0):
    """Metrics of ``net`` on ``task``'s held-out trials in Brian2, with a shared compiled program.

    :meth:`Task.evaluate` with the ``'cpp_standalone'`` runner in its
    shared-build mode: the same held-out trials and input spikes as
    :meth:`Task.evaluate` and :func:`brianmodes.brian.evaluate_brian2` draw
    for ``seed``, simulated at the model's ``dt`` with the mode recurrence
    (dense for full-rank networks) by a C++ standalone program in
    ``builds/KEY`` that every run of the same structure shares (see
    :func:`~brianmodes.brian.structure_key`).

    Returns
    -------
    dict
        The task's metrics, ``n_trials``, ``rate_hz``, ``seconds``,
        ``build_seconds`` and ``program`` (``'compiled'`` or ``'reused'``).

    Examples
    --------
    >>> metrics = validate_brian2(net, task, "runs/sweep/brian2-builds")   # doctest: +SKIP
    """
    from ..runners import make_runner

    t0 = time.perf_counter()
    with make_runner("cpp_standalone", shared_root=builds, seed=seed + 1) as runner:
        metrics = task.evaluate(net, n_trials=n_trials, batch_size=batch_size, seed=seed, runner=runner)
    metrics.update(seconds=round(time.perf_counter() - t0, 3), build_seconds=round(runner.build_seconds, 3),
                   program="reused" if runner.reused else "compiled")
    return metrics
