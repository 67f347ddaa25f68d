"""Runners: every way of running a network behind one interface, chosen by name.

As Brian2 runs one model on several devices and code-generation targets, a
runner runs a :class:`~brianmodes.ModeNetwork` on a batch of trials:

=====================  ================================================================
name                   runs the network with
=====================  ================================================================
``'auto'``             the compiled engine where it builds, else the numpy engine (one warning)
``'numpy'``            the numpy reference engine
``'compiled'``         the fused compiled engine; fails loudly if it cannot build
``'brian2_runtime'``   Brian2's runtime device; code-generation ``target`` ``'numpy'`` or ``'cython'``
``'cpp_standalone'``   Brian2's C++ standalone device: compiled once per structure, run many times
=====================  ================================================================

Every runner takes inputs at the model's time step, ``(T, B, N_in)``, and
returns a :class:`~brianmodes.simulate.SimulationResult` at the model's time
step. The Brian2 runners may simulate at a finer ``dt`` (a divisor of the
model's): they resample the inputs (:func:`~brianmodes.brian.inputs.resample_inputs`),
keep the refractory dead time the model was trained with (Brian2 clamps for
``refractory - dt`` after a spike, so they use ``t_ref - dt_model + dt``),
read per-step outputs and traces at the end of every model step and count
spikes within each model step. A batch smaller than the one a Brian2 circuit
was built for runs padded with silent trials, dropped from the result.

Examples
--------
>>> import numpy as np
>>> from brianmodes import ModeNetwork
>>> from brianmodes.runners import make_runner
>>> net = ModeNetwork(N=30, P=2, N_in=3, N_out=1, readout="per_step", seed=0)
>>> x = np.random.default_rng(0).normal(size=(40, 5, 3))
>>> with make_runner("numpy", record=("s",)) as runner:
...     result = runner.run(net, x)
>>> result.outputs.shape, result.spikes.shape
((40, 5, 1), (40, 5, 30))
"""

from __future__ import annotations

import threading

import numpy as np

from .checks import as_seconds, choice, positive_seconds
from .errors import BrianModesError
from .simulate import SimulationResult, check_dtype, check_inputs, simulate

#: Runner classes by name (see :func:`register_runner`).
RUNNERS = {}

#: Brian2's device is global to a process: one standalone program at a time.
_STANDALONE_LOCK = threading.RLock()


def register_runner(name):
    """Class decorator: make a :class:`Runner` subclass available to :func:`make_runner` as ``name``."""
    def register(cls):
        cls.name = name
        RUNNERS[name] = cls
        return cls
    return register


def make_runner(runner="auto", **options):
    """A runner by name, with its options; a :class:`Runner` is returned as it is.

    Raises
    ------
    BrianModesError
        For an unknown name, or options given with a runner instance.

    Examples
    --------
    >>> make_runner("brian2_runtime", target="cython")
    Runner('brian2_runtime', target='cython')
    >>> make_runner("gpu")
    Traceback (most recent call last):
    ...
    brianmodes.errors.BrianModesError: runner must be one of auto, numpy, compiled, brian2_runtime, cpp_standalone, got 'gpu'
    """
    if isinstance(runner, Runner):
        if options:
            raise BrianModesError(f"options ({', '.join(options)}) go to make_runner with a runner's name, "
                                  "not with a runner already made")
        return runner
    return RUNNERS[choice(runner, "runner", tuple(RUNNERS))](**options)


class Runner:
    """Runs networks on batches of trials; see the module's text.

    Subclasses implement :meth:`run`; a runner that holds resources (a
    compiled program) frees them in :meth:`close`, also called on leaving a
    ``with`` block.

    Attributes
    ----------
    build_seconds : float
        Time spent building (circuits, programs) so far.
    """

    name = None
    build_seconds = 0.0

    def run(self, net, inputs, input_kind=None):
        """Simulate ``net`` on ``inputs`` ``(T, B, N_in)`` at the model's dt; returns a SimulationResult.

        ``input_kind`` (``'spikes'`` or ``'current'``) says how a finer
        simulation dt resamples the inputs; by default boolean inputs are
        spikes and others a current.
        """
        raise NotImplementedError

    def close(self):
        """Free what the runner holds (nothing, for the engines)."""

    def _options(self):
        return {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        options = "".join(f", {key}={value!r}" for key, value in self._options().items())
        return f"Runner({self.name!r}{options})"


class _EngineRunner(Runner):
    """The network's derived engine (see :func:`brianmodes.simulate`).

    Parameters
    ----------
    dtype : float32 or float64, optional
        Compute precision (default float32).
    record : iterable of str
        Variables to keep for every step (see :func:`brianmodes.simulate`).
    """

    def __init__(self, dtype=None, record=()):
        self.dtype = np.dtype(np.float32) if dtype is None else check_dtype(dtype)
        self.record = tuple(record)

    def run(self, net, inputs, input_kind=None):
        return simulate(net, inputs, record=self.record, dtype=self.dtype, engine=self.name)

    def _options(self):
        return {"dtype": self.dtype.name} if self.dtype != np.float32 else {}


for _name in ("auto", "numpy", "compiled"):
    register_runner(_name)(type(f"{_name.capitalize()}Runner", (_EngineRunner,),
                               {"__doc__": _EngineRunner.__doc__, "__module__": __name__}))


class _BrianRunner(Runner):
    """What the two Brian2 runners share: resampling, padding, decimation, the dead time.

    Parameters
    ----------
    dt : float or Brian2 quantity, optional
        Simulation time step, a divisor of the model's (default: the model's).
    recurrence : {'modes', 'dense'}, optional
        The circuit's recurrence (default: modes, dense for a full-rank network).
    refractory : float or Brian2 quantity, optional
        The circuit's refractory period (default: the model's, corrected
        for a finer dt to keep the dead time, see the module's text).
    record : iterable of str
        ``'s'`` (spikes) and the neurons' Brian2 variables to keep for every
        model step (e.g. ``('s', 'v', 'r')``).
    seed : int
        Seeds the placement of input spikes among a finer dt's sub-steps.
    dtype : float64, optional
        Brian2 simulates in float64; any other precision is refused.
    """

    def __init__(self, dt=None, recurrence=None, refractory=None, record=(), seed=0, dtype=None):
        if dtype is not None and np.dtype(dtype) != np.float64:
            raise BrianModesError(f"Brian2 simulates in float64; dtype {np.dtype(dtype)} is for the numpy and "
                                  "compiled engines")
        self.dt = None if dt is None else positive_seconds(dt, "dt")
        self.recurrence = None if recurrence is None else choice(recurrence, "recurrence", ("modes", "dense"))
        self.refractory = None if refractory is None else as_seconds(refractory, "refractory")
        self.record = tuple(record)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._structure = self._circuit_net = None
        self._n_trials = 0

    def run(self, net, inputs, input_kind=None):
        from .brian.inputs import resample_inputs, substeps

        kind = input_kind or ("spikes" if np.asarray(inputs).dtype == bool else "current")
        choice(kind, "input_kind", ("spikes", "current"))
        x = check_inputs(net, inputs, np.float64)
        dt = net.dt if self.dt is None else self.dt
        k = substeps(net.dt, dt)
        T, B = x.shape[:2]
        structure = (repr(net.config()), T * k, kind, dt, self.recurrence)
        if structure != self._structure or B > self._n_trials:
            self.close()
            self._build(net, B, T * k, dict(dt=dt, input_kind=kind, recurrence=self._recurrence(net),
                                            refractory=self._refractory(net, dt, k), record=self._variables()))
            self._structure, self._n_trials, self._circuit_net = structure, B, net.copy()
        elif not _same_parameters(self._circuit_net, net):
            self._set_parameters(net)
            self._circuit_net = net.copy()
        fine = resample_inputs(x, k, kind, self._rng)
        if B < self._n_trials:
            fine = np.concatenate([fine, np.zeros((fine.shape[0], self._n_trials - B, net.N_in))], axis=1)
        return _at_model_steps(self._simulate(fine), net, k, B, "s" in self.record)

    def _recurrence(self, net):
        from .brian.circuit import circuit_recurrence

        return circuit_recurrence(net, self.recurrence)

    def _refractory(self, net, dt, k):
        if self.refractory is not None:
            return self.refractory
        if k == 1:
            return None  # the model's own, exactly
        from .brian.equations import continuous_model

        t_ref = continuous_model(net).refractory
        return t_ref - net.dt + dt if t_ref > 0 else 0.0

    def _variables(self):
        return tuple(name for name in self.record if name != "s")

    def _options(self):
        options = {"dt": self.dt, "recurrence": self.recurrence, "refractory": self.refractory}
        return {key: value for key, value in options.items() if value is not None}


@register_runner("brian2_runtime")
class Brian2RuntimeRunner(_BrianRunner):
    """Brian2's runtime device: the circuit's code generated for ``target`` and run from Python.

    Parameters
    ----------
    target : {'numpy', 'cython'}
        Brian2's code-generation target (cython compiles, numpy needs no compiler).
    **options
        See the Brian2 runners' shared options (``dt``, ``recurrence``,
        ``refractory``, ``record``, ``seed``) in the module's text.
    """

    device = "runtime"

    def __init__(self, target="numpy", **options):
        self.target = choice(target, "target", ("numpy", "cython"))
        super().__init__(**options)
        self._circuit = None

    def _build(self, net, n_trials, n_steps, kwargs):
        import time

        from .brian.circuit import BrianCircuit
        from .brian.toolchain import check_toolchain

        check_toolchain(self.target)
        t0 = time.perf_counter()
        self._circuit = BrianCircuit(net, n_trials=n_trials, **kwargs)
        self.build_seconds += time.perf_counter() - t0

    def _set_parameters(self, net):
        self._circuit.set_parameters(net)

    def _simulate(self, inputs):
        return self._circuit.run(inputs, target=self.target)

    def close(self):
        self._circuit, self._structure = None, None

    def _options(self):
        return {"target": self.target, **super()._options()}


@register_runner("cpp_standalone")
class CppStandaloneRunner(_BrianRunner):
    """Brian2's C++ standalone device: one compiled program per structure, re-run with new inputs and weights.

    Parameters
    ----------
    shared_root : path, optional
        Build programs in this folder, shared between processes (a sweep's
        jobs) under file locks, and keep them (see
        :class:`~brianmodes.brian.StandaloneProgram`); default: a temporary
        folder per program, removed on :meth:`close`.
    **options
        ``dt``, ``recurrence``, ``refractory``, ``record``, ``seed``, as for
        ``'brian2_runtime'``.

    Attributes
    ----------
    reused : bool
        The last shared program was found already built.
    """

    device, target = "cpp_standalone", None

    def __init__(self, shared_root=None, **options):
        super().__init__(**options)
        self.shared_root, self._program, self.reused = shared_root, None, False

    def _build(self, net, n_trials, n_steps, kwargs):
        from .brian.standalone import StandaloneProgram

        _STANDALONE_LOCK.acquire()
        try:
            self._program = StandaloneProgram(net, n_trials=n_trials, n_steps=n_steps, shared_root=self.shared_root,
                                              **kwargs)
        except BaseException:
            _STANDALONE_LOCK.release()
            raise
        self.build_seconds += self._program.build_seconds
        self.reused = self._program.reused

    def _set_parameters(self, net):
        self._program.set_parameters(net)

    def _simulate(self, inputs):
        return self._program.run(inputs)

    def close(self):
        """Give Brian2's device back and remove the program's temporary folder."""
        if self._program is not None:
            try:
                self._program.close()
            finally:
                self._program, self._structure = None, None
                _STANDALONE_LOCK.release()


def _same_parameters(a, b):
    """Whether networks ``a`` and ``b`` (of one structure) hold the same trained numbers."""
    if a.params.keys() != b.params.keys() or any(not np.array_equal(a.params[k], b.params[k]) for k in a.params):
        return False
    va, vb = a.neuron_values(), b.neuron_values()
    return va.keys() == vb.keys() and all(np.array_equal(va[k], vb[k]) for k in va)


def _at_model_steps(result, net, k, n_trials, keep_spikes):
    """A Brian2 result at a k times finer dt, for the first ``n_trials``, as a SimulationResult at the model's dt."""
    spikes = result.spikes[:, :n_trials]
    outputs = result.outputs[k - 1::k, :n_trials] if net.readout == "per_step" else result.outputs[:n_trials]
    traces = {name: trace[k - 1::k, :n_trials] for name, trace in result.traces.items()}
    if keep_spikes:
        T = spikes.shape[0] // k
        traces = {"s": spikes.reshape(T, k, n_trials, net.N).any(axis=1), **traces}
    return SimulationResult(outputs=outputs, dt=net.dt, n_steps=spikes.shape[0] // k, traces=traces,
                            spike_count=spikes.sum(axis=0))
