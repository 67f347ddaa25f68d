"""Brian2 validation of a sweep's networks, with one compiled C++ standalone program per network structure."""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from ..errors import BrianModesError
from .folders import file_lock

#: Brian2's device is global to a process: one validation at a time per process.
_BRIAN2_LOCK = threading.Lock()


def structure_key(net, n_trials, n_steps, recurrence="modes", input_kind="spikes"):
    """Name of the compiled program for ``net``'s structure: everything but its weights.

    Two networks with the same key run in the same C++ standalone program;
    their weights are passed to it with ``run_args``.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> a, b = (ModeNetwork(N=20, P=2, N_in=3, N_out=1, seed=s) for s in (0, 1))
    >>> structure_key(a, 10, 50) == structure_key(b, 10, 50) != structure_key(a, 10, 60)
    True
    """
    import brian2

    description = {"network": net.config(), "n_trials": int(n_trials), "n_steps": int(n_steps),
                   "recurrence": recurrence, "input_kind": input_kind, "brian2": brian2.__version__}
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:12]
    return f"N{net.N}-P{net.P}-{net.parametrization}-B{n_trials}-T{n_steps}-{digest}"


def _standalone_runner_class():
    from ..brian.standalone import StandaloneRunner

    class SharedStandaloneRunner(StandaloneRunner):
        """A :class:`~brianmodes.brian.StandaloneRunner` whose program is shared between processes.

        The program for a network structure (:func:`structure_key`) is built in
        ``root/KEY`` under an exclusive file lock: the first process compiles
        it, later ones regenerate identical code and find ``make`` has nothing
        to do. Weights (``lam``, ``xi_in``, ``xi_out``, ``W_out``; ``W`` for the
        dense recurrence) and inputs go to the program with ``run_args``, each
        run in its own results directory, under a shared lock (a rebuild waits
        for runs in progress). The input ``TimedArray`` has a fixed name so that
        the code is the same in every process.
        """

        def __init__(self, net, root, n_trials, n_steps, recurrence="modes", input_kind="spikes"):
            import brian2 as b2
            from brian2.devices.device import device, reset_device, set_device

            from ..brian.circuit import BrianCircuit

            root = Path(root)
            root.mkdir(parents=True, exist_ok=True)
            self.key = structure_key(net, n_trials, n_steps, recurrence, input_kind)
            self.directory, self._lock = root / self.key, root / f"{self.key}.lock"
            self.n_steps, self._own_dir, self.net = int(n_steps), False, net
            gc.collect()  # drop Brian2 objects of earlier runs (their names would clash)
            t0 = time.perf_counter()
            with file_lock(self._lock):
                marker = self.directory / "brianmodes-build.ok"
                self.reused = marker.exists()
                if self.directory.exists() and not self.reused:  # a build that did not finish
                    shutil.rmtree(self.directory)
                marker.unlink(missing_ok=True)
                set_device("cpp_standalone", build_on_run=False)
                try:
                    device.reinit()
                    device.activate(build_on_run=False)
                    self.circuit = BrianCircuit(net, n_trials=n_trials, recurrence=recurrence,
                                                input_kind=input_kind)
                    self._timed = self.circuit.namespace["input_current"] = b2.TimedArray(
                        np.zeros((self.n_steps, net.N * self.circuit.B)), dt=self.circuit.dt * b2.second,
                        name="sweep_input_jumps")
                    self.circuit.network.run(self.n_steps * self.circuit.dt * b2.second, namespace={})
                    device.build(directory=str(self.directory), run=False, with_output=False)
                except Exception as err:
                    device.reinit()
                    reset_device()
                    if "ompil" in str(err) or "make" in str(err):
                        raise BrianModesError(f"C++ standalone compilation failed ({err})") from None
                    raise
                marker.write_text(self.key + "\n")
            self.build_seconds = time.perf_counter() - t0
            self._device = device

        def _weights(self, net):
            c, B = self.circuit, self.circuit.B
            if c.recurrence == "dense":
                args = {c.recurrent.w: np.tile(net.W.T.reshape(-1), B)}
            else:
                args = {c.modes.lam: np.tile(net.lam, B), c.to_modes.loading: np.tile(net.xi_out.reshape(-1), B),
                        c.from_modes.loading: np.tile(net.xi_in.T.reshape(-1), B)}
            args[c.to_readout.w_out] = np.tile(net.W_out.T.reshape(-1), B)
            return {key: np.asarray(value, dtype=np.float64) for key, value in args.items()}

        def run(self, inputs, net=None):
            """Run the program on inputs ``(n_steps, n_trials, N_in)`` with ``net``'s weights."""
            net = self.net if net is None else net
            if net.config() != self.net.config():
                raise BrianModesError("this program was built for a network of another structure")
            x = np.asarray(inputs)
            if x.ndim != 3 or x.shape[0] != self.n_steps:
                raise BrianModesError(f"this program was compiled for {self.n_steps} steps; "
                                      f"got inputs of shape {x.shape}")
            self.circuit.net = net  # W_in: the input jumps are computed here
            run_args = {self._timed: self.circuit.input_jumps(x), **self._weights(net)}
            results = f"results-{uuid.uuid4().hex[:12]}"
            with file_lock(self._lock, shared=True):
                try:
                    self._device.run(directory=str(self.directory), results_directory=results,
                                     with_output=False, run_args=run_args)
                    return self.circuit.collect(self.n_steps)
                finally:
                    self._remove_run_args()
                    shutil.rmtree(self.directory / results, ignore_errors=True)

    return SharedStandaloneRunner


def validate_brian2(net, task, builds, n_trials=None, batch_size=500, seed=0):
    """Metrics of ``net`` on ``task``'s held-out trials in Brian2, with a shared compiled program.

    The same held-out trials and input spikes as :meth:`Task.evaluate` and
    :func:`brianmodes.brian.evaluate_brian2` draw for ``seed``, simulated at
    the model's ``dt`` with the mode recurrence (dense for full-rank
    networks) by a C++ standalone program in ``builds/KEY`` that every run of
    the same structure shares (see :func:`structure_key`).

    Returns
    -------
    dict
        The task's metrics, ``n_trials``, ``rate_hz``, ``seconds``,
        ``build_seconds`` and ``program`` (``'compiled'`` or ``'reused'``).

    Examples
    --------
    >>> metrics = validate_brian2(net, task, "runs/sweep/brian2-builds")   # doctest: +SKIP
    """
    from ..tasks.base import TrialAverages

    task.check_network(net)
    recurrence = "dense" if net.parametrization == "full" else "modes"
    n_total = task.n_test_trials(n_trials)
    B = int(min(batch_size, n_total))
    t0 = time.perf_counter()
    with _BRIAN2_LOCK:
        runner = _standalone_runner_class()(net, builds, n_trials=B, n_steps=task.n_steps,
                                            recurrence=recurrence, input_kind=task.input_kind)
        averages = TrialAverages()
        try:
            for batch in task.test_batches(batch_size=B, n_trials=n_trials, seed=seed):
                x = batch.inputs
                if batch.size < B:  # pad the last batch with silent trials, dropped below
                    x = np.concatenate([x, np.zeros((x.shape[0], B - batch.size, x.shape[2]), x.dtype)], axis=1)
                result = runner.run(x)
                outputs = result.outputs[:, :batch.size] if net.readout == "per_step" else \
                    result.outputs[:batch.size]
                averages.add(task.trial_metrics(outputs, batch), batch.size, result.spikes[:, :batch.size].sum())
        finally:
            runner.close()
    metrics = averages.result(net, task.n_steps)
    metrics.update(seconds=round(time.perf_counter() - t0, 3), build_seconds=round(runner.build_seconds, 3),
                   program="reused" if runner.reused else "compiled")
    return metrics
