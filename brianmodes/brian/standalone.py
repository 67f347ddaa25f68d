"""C++ standalone: compile a circuit once, run it many times with new inputs.

Brian2's standalone device generates and compiles a C++ program for a network
structure (13-22 s here); after that, each run with new inputs (the
``TimedArray`` of input jumps) and, after :meth:`StandaloneRunner.set_parameters`,
new weights and neuron parameters, is a fresh process started with ``run_args``
(about 0.1-0.3 s), in its own results directory, removed once read, as are the
``run_args`` files.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np

from ..errors import BrianModesError
from .circuit import BrianCircuit
from .toolchain import check_toolchain


class StandaloneRunner:
    """A :class:`BrianCircuit` compiled once with Brian2's ``cpp_standalone`` device.

    Parameters
    ----------
    net : ModeNetwork
    n_trials : int
        Trials per run (copies of the network).
    n_steps : int
        Steps per run (fixed by the compiled program).
    directory : path, optional
        Build folder (default: a new temporary folder, removed by :meth:`close`).
    setup : callable, optional
        Called with the circuit before the program is compiled, to add
        objects to it (e.g. :meth:`BrianCircuit.record_at`).
    **circuit_kwargs
        Passed to :class:`BrianCircuit` (``recurrence``, ``input_kind``,
        ``record``, ``dt``...). ``input_synapses`` is not supported here.

    Examples
    --------
    >>> with StandaloneRunner(net, n_trials=100, n_steps=500) as runner:   # doctest: +SKIP
    ...     for batch in batches:
    ...         result = runner.run(batch.inputs)
    ...         runner.set_parameters(trained_net)   # new weights for the next run, no recompilation

    Attributes
    ----------
    builds : int
        How many times the program was compiled (1).
    """

    def __init__(self, net, n_trials, n_steps, directory=None, setup=None, **circuit_kwargs):
        import brian2 as b2
        from brian2.devices.device import device, reset_device, set_device

        if circuit_kwargs.get("input_synapses"):
            raise BrianModesError("the standalone runner feeds inputs through a TimedArray; "
                                  "use input_synapses=False")
        check_toolchain("cpp_standalone")
        self.n_steps = int(n_steps)
        self._own_dir = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="brianmodes-standalone-") if directory is None
                              else directory)
        set_device("cpp_standalone", build_on_run=False)
        try:
            device.reinit()
            device.activate(build_on_run=False)
            self.circuit = BrianCircuit(net, n_trials=n_trials, **circuit_kwargs)
            self._timed = self.circuit.namespace["input_current"] = b2.TimedArray(
                np.zeros((self.n_steps, net.N * self.circuit.B)), dt=self.circuit.dt * b2.second)
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
                raise BrianModesError(f"C++ standalone compilation failed ({_first_line(err)}); use the "
                                      "numpy target (--device numpy), which needs no compiler") from None
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
        jumps = self.circuit.input_jumps(x)
        results = f"results-{uuid.uuid4().hex[:12]}"
        try:
            self._device.run(directory=str(self.directory), results_directory=results, with_output=False,
                             run_args={self._timed: jumps, **self.circuit.run_args})
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


def _first_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
