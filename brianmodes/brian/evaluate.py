"""A task's held-out trials evaluated in Brian2: :meth:`Task.evaluate` with a Brian2 runner, timed."""

from __future__ import annotations

import time
import warnings

from ..checks import choice

#: Brian2's devices, and the code-generation targets of its runtime device.
DEVICES = ("runtime", "cpp_standalone")
TARGETS = ("numpy", "cython")
#: The runner of each device (brianmodes.runners).
_DEVICE_RUNNERS = {"runtime": "brian2_runtime", "cpp_standalone": "cpp_standalone"}


def brian2_runner(device="cpp_standalone", target=None, default_target="numpy", **options):
    """The runner of Brian2's ``device`` (and, for the runtime device, its code-generation ``target``).

    ``device`` ``'numpy'`` or ``'cython'`` (brianmodes 0.1, which mixed the
    two) still work with a ``FutureWarning``: they mean the runtime device
    with that target. The runtime device's target defaults to ``default_target``.

    Examples
    --------
    >>> brian2_runner("runtime", target="cython")
    Runner('brian2_runtime', target='cython')
    """
    from ..errors import BrianModesError
    from ..runners import make_runner

    if device in TARGETS and target is None:
        warnings.warn(f"device={device!r} is Brian2's runtime device with target {device!r}: write "
                      f"device='runtime', target={device!r}", FutureWarning, stacklevel=3)
        device, target = "runtime", device
    choice(device, "device", DEVICES)
    runner = _DEVICE_RUNNERS[device]
    if runner == "brian2_runtime":
        return make_runner(runner, target=choice(target or default_target, "target", TARGETS), **options)
    if target is not None:
        raise BrianModesError(f"the cpp_standalone device generates C++; target {target!r} is for the runtime "
                              "device")
    return make_runner(runner, **options)


def evaluate_brian2(net, task, device="cpp_standalone", target=None, n_trials=None, batch_size=500, seed=0,
                    recurrence=None, dt=None, refractory=None, progress=False):
    """Metrics of ``net`` on ``task``'s held-out trials, simulated in Brian2.

    ``batch_size`` copies of the network run side by side in one group (one
    per trial), inputs through a ``TimedArray``; with ``cpp_standalone`` the
    program is compiled once and re-run for every batch. The held-out trials
    (and their input spikes) are the same as :meth:`Task.evaluate` draws for
    the same ``seed``, so the two are directly comparable: this is
    :meth:`Task.evaluate` with the runner of ``device`` (see
    :mod:`brianmodes.runners` for ``dt``, ``recurrence`` and ``refractory``).

    Parameters
    ----------
    device : {'cpp_standalone', 'runtime'}
        Brian2's device.
    target : {'numpy', 'cython'}, optional
        The runtime device's code-generation target (default numpy).

    Returns
    -------
    dict
        The task's metrics, ``n_trials``, ``rate_hz``, ``dt``, ``seconds``
        (all), ``build_seconds`` and ``trials_per_second`` (excluding the build).

    Examples
    --------
    >>> from brianmodes.tasks import make_task
    >>> task = make_task("context")
    >>> net = task.make_network(N=50, P=2, seed=0)
    >>> evaluate_brian2(net, task, device="runtime", n_trials=4)["n_trials"]   # doctest: +SKIP
    4
    """
    t0 = time.perf_counter()
    with brian2_runner(device, target, dt=dt, recurrence=recurrence, refractory=refractory, seed=seed + 1) as runner:
        metrics = task.evaluate(net, n_trials=n_trials, batch_size=batch_size, seed=seed, progress=progress,
                                runner=runner)
    seconds = time.perf_counter() - t0
    metrics.update(dt=net.dt if dt is None else runner.dt, seconds=seconds, build_seconds=runner.build_seconds,
                   trials_per_second=metrics["n_trials"] / max(seconds - runner.build_seconds, 1e-9))
    return metrics
