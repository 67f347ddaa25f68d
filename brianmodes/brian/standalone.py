"""C++ standalone: compile a circuit once, run it many times with new inputs and weights.

Brian2's standalone device generates and compiles a C++ program for a network
structure (13-22 s here); after that, each run with new inputs (the
``TimedArray`` of input jumps) and, after :meth:`StandaloneProgram.set_parameters`,
new weights and neuron parameters, is a fresh process started with ``run_args``
(about 0.1-0.3 s), in its own results directory, removed once read, as are the
``run_args`` files.

With ``shared_root`` the program is built in ``shared_root/KEY``
(:func:`structure_key`) and shared by every process that runs a network of
the same structure, e.g. the jobs of a sweep: the first compiles it under an
exclusive file lock, later ones regenerate identical code and find ``make``
has nothing to do; runs take a shared lock, so a rebuild waits for them.
"""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from ..errors import BrianModesError
from ..run_folder import file_lock
from .circuit import BrianCircuit
from .toolchain import check_toolchain

#: The input TimedArray's name in a shared program: the generated code must be the same in every process.
SHARED_INPUT_NAME = "shared_input_jumps"


def structure_key(net, n_trials, n_steps, recurrence="modes", input_kind="spikes", dt=None):
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
    if dt is not None and dt != net.dt:
        description["dt"] = float(dt)
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:12]
    return f"N{net.N}-P{net.P}-{net.parametrization}-B{n_trials}-T{n_steps}-{digest}"


class StandaloneProgram:
    """A :class:`BrianCircuit` compiled once with Brian2's ``cpp_standalone`` device.

    Parameters
    ----------
    net : ModeNetwork
    n_trials : int
        Trials per run (copies of the network).
    n_steps : int
        Steps per run at the circuit's dt (fixed by the compiled program).
    directory : path, optional
        Build folder (default: a new temporary folder, removed by :meth:`close`).
    shared_root : path, optional
        Build in ``shared_root/KEY`` (:func:`structure_key`), shared with
        other processes under a file lock (see the module's text); the
        folder is kept. Not with ``directory`` or ``setup``.
    setup : callable, optional
        Called with the circuit before the program is compiled, to add
        objects to it (e.g. :meth:`BrianCircuit.record_at`).
    **circuit_kwargs
        Passed to :class:`BrianCircuit` (``recurrence``, ``input_kind``,
        ``record``, ``dt``...). ``input_synapses`` is not supported here.

    Examples
    --------
    >>> with StandaloneProgram(net, n_trials=100, n_steps=500) as program:   # doctest: +SKIP
    ...     for batch in batches:
    ...         result = program.run(batch.inputs)
    ...         program.set_parameters(trained_net)   # new weights for the next run, no recompilation

    Attributes
    ----------
    key : str or None
        The program's :func:`structure_key` (shared programs).
    reused : bool
        A shared program was found already built.
    build_seconds : float
        Time to generate and compile (or find) the program.
    """

    def __init__(self, net, n_trials, n_steps, directory=None, shared_root=None, setup=None, **circuit_kwargs):
        if circuit_kwargs.get("input_synapses"):
            raise BrianModesError("the standalone program feeds inputs through a TimedArray; "
                                  "use input_synapses=False")
        if shared_root is not None and (directory is not None or setup is not None):
            raise BrianModesError("a shared program (shared_root) takes neither directory nor setup")
        check_toolchain("cpp_standalone")
        self.n_steps, self.key, self.reused = int(n_steps), None, False
        t0 = time.perf_counter()
        if shared_root is None:
            self._own_dir, self._lock = directory is None, None
            self.directory = Path(tempfile.mkdtemp(prefix="brianmodes-standalone-") if directory is None
                                  else directory)
            self._build(net, n_trials, setup, None, circuit_kwargs)
        else:
            self._build_shared(net, n_trials, Path(shared_root), circuit_kwargs)
        self.build_seconds = time.perf_counter() - t0

    def _build_shared(self, net, n_trials, root, circuit_kwargs):
        root.mkdir(parents=True, exist_ok=True)
        self.key = structure_key(net, n_trials, self.n_steps, circuit_kwargs.get("recurrence", "modes"),
                                 circuit_kwargs.get("input_kind", "current"), circuit_kwargs.get("dt"))
        self.directory, self._lock, self._own_dir = root / self.key, root / f"{self.key}.lock", False
        gc.collect()  # drop Brian2 objects of earlier programs (their names would clash)
        with file_lock(self._lock):
            marker = self.directory / "brianmodes-build.ok"
            self.reused = marker.exists()
            if self.directory.exists() and not self.reused:  # a build that did not finish
                shutil.rmtree(self.directory)
            marker.unlink(missing_ok=True)
            self._build(net, n_trials, None, SHARED_INPUT_NAME, circuit_kwargs)
            marker.write_text(self.key + "\n")
        self.circuit.set_parameters(net)  # every value as run_args: the compiled-in ones may be another process's

    def _build(self, net, n_trials, setup, input_name, circuit_kwargs):
        import brian2 as b2
        from brian2.devices.device import device, reset_device, set_device

        set_device("cpp_standalone", build_on_run=False)
        try:
            device.reinit()
            device.activate(build_on_run=False)
            self.circuit = BrianCircuit(net, n_trials=n_trials, **circuit_kwargs)
            self._timed = self.circuit.namespace["input_current"] = b2.TimedArray(
                np.zeros((self.n_steps, net.N * self.circuit.B)), dt=self.circuit.dt * b2.second,
                **({"name": input_name} if input_name else {}))
            if setup is not None:
                setup(self.circuit)
            self.circuit.network.run(self.n_steps * self.circuit.dt * b2.second, namespace={})
            device.build(directory=str(self.directory), run=False, with_output=False)
        except Exception as err:
            device.reinit()
            reset_device()
            if self._own_dir:
                shutil.rmtree(self.directory, ignore_errors=True)
            if "ompil" in str(err) or "make" in str(err):
                raise BrianModesError(f"C++ standalone compilation failed ({_first_line(err)}); use Brian2's "
                                      "runtime device with the numpy target, which needs no compiler") from None
            raise
        self._device = device
        self.builds = 1

    def set_parameters(self, net):
        """Run the next runs with ``net``'s parameters (see :meth:`BrianCircuit.set_parameters`)."""
        self.circuit.set_parameters(net)

    def run(self, inputs):
        """Run the compiled program on inputs ``(n_steps, n_trials, N_in)``; returns a BrianResult."""
        x = np.asarray(inputs)
        if x.ndim != 3 or x.shape[0] != self.n_steps:
            raise BrianModesError(f"this program was compiled for {self.n_steps} steps; got inputs of shape {x.shape}")
        run_args = {self._timed: self.circuit.input_jumps(x), **self.circuit.run_args}
        results = f"results-{uuid.uuid4().hex[:12]}"
        lock = file_lock(self._lock, shared=True) if self._lock is not None else _no_lock()
        with lock:
            try:
                self._device.run(directory=str(self.directory), results_directory=results, with_output=False,
                                 run_args=run_args)
                return self.circuit.collect(self.n_steps)
            finally:
                self._remove_run_args()
                shutil.rmtree(self.directory / results, ignore_errors=True)

    def _remove_run_args(self):
        """Delete the value files of this run's run_args (one per array and content, never reused)."""
        for name in self._device.run_args_arrays:
            for path in (self.directory / "static_arrays" / name, self.directory / "static_arrays" / f"{name}.lock"):
                path.unlink(missing_ok=True)
        self._device.run_args_arrays.clear()

    def close(self):
        """Give the device back to Brian2's runtime mode and remove the build folder we made."""
        from brian2.devices.device import reset_device

        self._device.reinit()
        reset_device()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _no_lock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _first_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
