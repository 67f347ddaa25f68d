"""C++ standalone: compile a circuit once, run it many times with new inputs.

Brian2's standalone device generates and compiles a C++ program for a network
structure (13-22 s here); after that, each run with new inputs (the
``TimedArray`` of input jumps) is a fresh process started with ``run_args``
(about 0.1-0.3 s), in its own results directory, removed once read.
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
    **circuit_kwargs
        Passed to :class:`BrianCircuit` (``recurrence``, ``input_kind``,
        ``record``, ``dt``...). ``input_synapses`` is not supported here.

    Examples
    --------
    >>> with StandaloneRunner(net, n_trials=100, n_steps=500) as runner:   # doctest: +SKIP
    ...     for batch in batches:
    ...         result = runner.run(batch.inputs)
    """

    def __init__(self, net, n_trials, n_steps, directory=None, **circuit_kwargs):
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

    def run(self, inputs):
        """Run the compiled program on inputs ``(n_steps, n_trials, N_in)``; returns a BrianResult."""
        x = np.asarray(inputs)
        if x.ndim != 3 or x.shape[0] != self.n_steps:
            raise BrianModesError(f"this program was compiled for {self.n_steps} steps; got inputs of shape {x.shape}")
        jumps = self.circuit.input_jumps(x)
        results = f"results-{uuid.uuid4().hex[:12]}"
        self._device.run(directory=str(self.directory), results_directory=results, with_output=False,
                         run_args={self._timed: jumps})
        try:
            return self.circuit.collect(self.n_steps)
        finally:
            shutil.rmtree(self.directory / results, ignore_errors=True)

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
