"""A task's held-out trials evaluated in Brian2, many trials per run."""

from __future__ import annotations

import time

import numpy as np

from ..checks import choice
from ..tasks.base import TrialAverages
from .circuit import BrianCircuit
from .standalone import StandaloneRunner

DEVICES = ("numpy", "cython", "cpp_standalone")


def evaluate_brian2(net, task, device="cpp_standalone", n_trials=None, batch_size=500, seed=0,
                    recurrence="modes", dt=None, refractory=None, progress=False):
    """Metrics of ``net`` on ``task``'s held-out trials, simulated in Brian2.

    ``batch_size`` copies of the network run side by side in one group (one
    per trial), inputs through a ``TimedArray``; with ``cpp_standalone`` the
    program is compiled once and re-run for every batch. The held-out trials
    (and their input spikes) are the same as :meth:`Task.evaluate` draws for
    the same ``seed``, so the two are directly comparable. With a ``dt``
    finer than the model's, inputs are resampled by :func:`resample_inputs`
    and per-step outputs are read at the end of every model step.

    Returns
    -------
    dict
        The task's metrics, ``n_trials``, ``rate_hz``, ``seconds`` (all),
        ``build_seconds`` and ``trials_per_second`` (excluding the build).

    Examples
    --------
    >>> from brianmodes.tasks import make_task
    >>> task = make_task("context")
    >>> net = task.make_network(N=50, P=2, seed=0)
    >>> evaluate_brian2(net, task, device="numpy", n_trials=4)["n_trials"]   # doctest: +SKIP
    4
    """
    from ..checks import as_seconds
    from .inputs import resample_inputs, substeps

    choice(device, "device", DEVICES)
    task.check_network(net)
    dt = net.dt if dt is None else as_seconds(dt, "dt")
    k = substeps(net.dt, dt)
    rng = np.random.default_rng(seed + 1)
    t_start = time.perf_counter()
    n_total = task.n_test_trials(n_trials)
    B = int(min(batch_size, n_total))
    kwargs = {"recurrence": recurrence, "input_kind": task.input_kind, "dt": dt, "refractory": refractory}
    runner = StandaloneRunner(net, n_trials=B, n_steps=task.n_steps * k, **kwargs) if device == "cpp_standalone" \
        else BrianCircuit(net, n_trials=B, **kwargs)
    build_seconds = time.perf_counter() - t_start
    averages = TrialAverages()
    batches = task.test_batches(batch_size=B, n_trials=n_trials, seed=seed)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=-(-n_total // B), desc=f"brian2 {device}", unit="batch", leave=False)
    t_run = time.perf_counter()
    try:
        for batch in batches:
            x = resample_inputs(batch.inputs, k, task.input_kind, rng)
            if batch.size < B:  # pad the last batch with silent trials, dropped below
                x = np.concatenate([x, np.zeros((x.shape[0], B - batch.size, x.shape[2]), x.dtype)], axis=1)
            result = runner.run(x) if device == "cpp_standalone" else runner.run(x, target=device)
            if net.readout == "per_step":  # the output at the end of each model step
                outputs = result.outputs[k - 1::k, :batch.size]
            else:
                outputs = result.outputs[:batch.size]
            averages.add(task.trial_metrics(outputs, batch), batch.size, result.spikes[:, :batch.size].sum())
    finally:
        if device == "cpp_standalone":
            runner.close()
    run_seconds = time.perf_counter() - t_run
    metrics = averages.result(net, task.n_steps)
    metrics.update(dt=dt, seconds=time.perf_counter() - t_start, build_seconds=build_seconds,
                   trials_per_second=metrics["n_trials"] / run_seconds)
    return metrics
