"""A trained network as ordinary Brian2 objects: B copies side by side, one per trial.

Objects (all reachable as attributes, and by name in :attr:`BrianCircuit.network`):

- ``neurons`` (``NeuronGroup`` "neurons", N*B neurons of the network's neuron model
  (:mod:`brianmodes.brian.equations`); for the built-in LIF, variables v, I, I_rec, h, r,
  rmax, v_th, trial, neuron)
- recurrence ``modes``: ``modes`` (``NeuronGroup`` "modes", P*B units with kappa = xi_out^T r
  and lam), ``to_modes`` and ``from_modes`` (``Synapses``, 2 N P B in all, whose ``loading``
  holds xi_out and xi_in: Brian2 reserves names starting with xi for noise); or ``dense``:
  ``recurrent`` (``Synapses``, N^2 B holding w_ij of W)
- input: ``input_current`` (``TimedArray`` of jumps of I per step), or for
  ``input_synapses=True`` a ``SpikeGeneratorGroup`` "inputs" and ``Synapses``
  "input_synapses" holding W_in
- readout ``readout`` (``NeuronGroup`` "readout", y = W_out r or W_out rmax, summed at the
  end of each step by ``to_readout``)
- monitors ``spike_monitor`` and, when asked, ``state_monitor`` and ``readout_monitor``.

New parameters of the same structure: :meth:`BrianCircuit.set_parameters` (no rebuild).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..checks import choice
from ..errors import BrianModesError
from ..simulate import check_inputs
from .equations import neuron_model
from .result import BrianResult  # noqa: F401  (importable from here, as before)
from .toolchain import check_toolchain

RECURRENCES = ("modes", "dense")
INPUT_KINDS = ("spikes", "current")
#: Bytes Brian2 needs per dense synapse (indices, weight, bookkeeping, the stored initial
#: state): 92 after building and 100 after a run, measured with 4 million synapses
#: (``benchmarks/brian2_scale.py``).
BYTES_PER_SYNAPSE = 100


def _block_indices(n_pre, n_post, n_trials):
    """Pre and post indices of all-to-all blocks, one block per trial (no N^2 B condition)."""
    pre = np.tile(np.repeat(np.arange(n_pre), n_post), n_trials)
    post = np.tile(np.tile(np.arange(n_post), n_pre), n_trials)
    offset = np.repeat(np.arange(n_trials), n_pre * n_post)
    return pre + offset * n_pre, post + offset * n_post


def circuit_recurrence(net, recurrence=None):
    """The recurrence a circuit of ``net`` builds: ``recurrence``, or by default the network's own form.

    ``'modes'`` for a mode network, ``'dense'`` (N^2 synapses) for a full-rank one, which has no modes.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> circuit_recurrence(ModeNetwork(N=5, P=1, N_in=1, N_out=1, parametrization="full"))
    'dense'
    """
    if recurrence is None:
        return "dense" if net.parametrization == "full" else "modes"
    choice(recurrence, "recurrence", RECURRENCES)
    if recurrence == "modes" and net.parametrization == "full":
        raise BrianModesError("a full-rank network has no modes; use recurrence='dense'")
    return recurrence


def dense_memory_bytes(N, n_trials=1):
    """Rough memory of the dense recurrence in Brian2: N^2 B synapses."""
    return N * N * n_trials * BYTES_PER_SYNAPSE


class BrianCircuit:
    """Build the Brian2 objects of a trained spiking network.

    Parameters
    ----------
    net : ModeNetwork
        Any spiking network. The neurons are the network's own neuron model
        (its equations, threshold, reset, refractoriness and parameter values,
        per-neuron ones included); for a continuous model this circuit
        simulates exactly what the numpy engine computes at ``dt = net.dt``.
        A network on the published update runs as the continuous LIF.
    n_trials : int
        Copies of the network in one group (one per trial; trials never
        interact).
    recurrence : {'modes', 'dense'}, optional
        ``modes``: P mode units and 2 N P synapses per copy (scalable);
        ``dense``: N^2 synapses holding W (the literal circuit). Default:
        ``modes``, ``dense`` for a full-rank network (:func:`circuit_recurrence`).
    dt : float or Brian2 quantity, optional
        Simulation time step (default: the network's).
    input_kind : {'spikes', 'current'}
        How inputs are read: 0/1 spikes (each adds its W_in weight to I) or
        analog values (a current: W_in x dt/dt_model per step).
    input_synapses : bool
        For spike inputs: build a ``SpikeGeneratorGroup`` and ``Synapses``
        holding W_in (the literal circuit) instead of a ``TimedArray`` of
        input jumps.
    record : iterable of str
        Neuron variables to record every step with a ``StateMonitor``
        (e.g. ``("v", "I", "r")``); spikes are always recorded.
    record_outputs : bool
        Record the readout every step (default: for the per-step readout).
    max_memory : float, optional
        Refuse to build a ``dense`` circuit whose synapses would need more
        bytes than this (default: half of the physical memory).
    refractory : float or Brian2 quantity, optional
        Refractory period (default: the network's ``t_ref``). Brian2 counts
        it from the start of the step in which v crossed threshold, so the
        membrane is clamped for ``refractory - dt`` after a spike; to keep a
        model trained at dt_model with the same dead time at a finer dt, pass
        ``t_ref - dt_model + dt``.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=20, P=2, N_in=4, N_out=1, readout="per_step", discretization="brian2")
    >>> circuit = BrianCircuit(net, n_trials=2, input_kind="current")
    >>> circuit.neurons.N, circuit.modes.N, len(circuit.to_modes)
    (40, 4, 80)
    """

    def __init__(self, net, n_trials=1, recurrence=None, dt=None, input_kind="current",
                 input_synapses=False, record=(), record_outputs=None, max_memory=None, refractory=None):
        import brian2 as b2

        from ..checks import as_seconds, positive_int, positive_seconds

        recurrence = circuit_recurrence(net, recurrence)
        choice(input_kind, "input_kind", INPUT_KINDS)
        if input_synapses and input_kind != "spikes":
            raise BrianModesError("input_synapses=True needs input_kind='spikes'")
        self.net, self.B, self.recurrence = net, positive_int(n_trials, "n_trials"), recurrence
        self.dt = net.dt if dt is None else positive_seconds(dt, "dt")
        self.input_kind = input_kind
        N, B = net.N, self.B
        if recurrence == "dense":
            self._check_dense_memory(max_memory)
        from brian2.devices.device import RuntimeDevice, get_device

        self.standalone = not isinstance(get_device(), RuntimeDevice)
        if net.discretization == "published":
            warnings.warn("this network was trained with the published discrete update; Brian2 simulates the "
                          "LIF's continuous-time equations (discretization 'brian2'), whose spikes can differ "
                          "from the numpy engine's", stacklevel=2)
        self.run_args, self.extra_monitors = {}, {}  # set_parameters' values for a standalone run; record_at
        model = neuron_model(net)
        self.input_variable, self.activity, self.recurrent_input = model["input"], model["activity"], \
            model["recurrent"]
        if refractory is not None:
            model["refractory"] = as_seconds(refractory, "refractory") * b2.second
        shared = {}
        if self.standalone:  # a compiled program holds namespace constants in its code: trained shared
            # parameters become shared variables of the group, which run_args can set
            shared = {name: model["namespace"].pop(name) for name in net.neuron_values()
                      if name in model["namespace"]}
            model["equations"] += "".join(f"\n{name} : {_unit_text(value)} (shared, constant)"
                                          for name, value in shared.items())
        self.equations = model["equations"]
        self.namespace = dict(model["namespace"])
        self.namespace["input_current"] = b2.TimedArray(np.zeros((1, N * B)), dt=self.dt * b2.second)
        with _numpy_target(b2):  # code Brian2 generates while building (e.g. Synapses.connect)
            clock = b2.Clock(dt=self.dt * b2.second, name="circuit_clock")
            self.clock = clock
            self.neurons = b2.NeuronGroup(
                N * B, model["equations"], threshold=model["threshold"], reset=model["reset"],
                refractory=model["refractory"], method=model["method"], namespace=self.namespace,
                clock=clock, order=0, name="neurons")
            for name, values in model["per_neuron"].items():  # per-neuron parameters (v_th, trained taus)
                setattr(self.neurons, name, np.tile(np.asarray(values), B) * _unit_of(values))
            for name, value in shared.items():
                setattr(self.neurons, name, value)
            self.neurons.trial = np.repeat(np.arange(B), N)
            self.neurons.neuron = np.tile(np.arange(N), B)
            objects = [self.neurons]
            objects += self._build_recurrence(b2, clock)
            objects += self._build_inputs(b2, clock, input_synapses)
            objects += self._build_readout(b2, clock)
            self.spike_monitor = b2.SpikeMonitor(self.neurons, name="spike_monitor")
            objects.append(self.spike_monitor)
            self.state_monitor = None
            if record:
                self.state_monitor = b2.StateMonitor(self.neurons, list(record), record=True, when="end",
                                                     clock=clock, name="state_monitor")
                objects.append(self.state_monitor)
            if record_outputs is None:
                record_outputs = net.readout == "per_step"
            self.readout_monitor = None
            if record_outputs:
                self.readout_monitor = b2.StateMonitor(self.readout, "y", record=True, when="end", order=10,
                                                       clock=clock, name="readout_monitor")
                objects.append(self.readout_monitor)
        self.network = b2.Network(*objects, name="circuit")
        if not self.standalone:  # standalone programs always start from the initial state
            self.network.store("initial")

    # -- construction ------------------------------------------------------
    def _check_dense_memory(self, max_memory):
        if max_memory is None:
            import os

            max_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2
        need = dense_memory_bytes(self.net.N, self.B)
        if need > max_memory:
            raise BrianModesError(
                f"the dense recurrence needs {self.net.N ** 2 * self.B:,} synapses, about "
                f"{need / 2 ** 30:.1f} GiB, more than the {max_memory / 2 ** 30:.1f} GiB allowed; "
                "use recurrence='modes' (2 N P synapses)")

    def _build_recurrence(self, b2, clock):
        net, N, P, B = self.net, self.net.N, self.net.P, self.B
        if self.recurrence == "dense":
            self.modes = self.to_modes = self.from_modes = None
            self.recurrent = b2.Synapses(self.neurons, self.neurons,
                                         f"w : 1 (constant)\n{self.recurrent_input}_post = w * {self.activity}_pre "
                                         ": 1 (summed)", clock=clock, name="recurrent")
            pre, post = _block_indices(N, N, B)
            self.recurrent.connect(i=pre, j=post)
            self.recurrent.w = np.tile(net.W.T.reshape(-1), B)  # w[pre j, post i] = W[i, j]
            return [self.recurrent]
        self.recurrent = None
        # the mode units run first in each step, so that kappa, then I_rec, are up to date
        self.modes = b2.NeuronGroup(P * B, "kappa : 1\nlam : 1 (constant)\ntrial : integer (constant)\n"
                                           "mode : integer (constant)", clock=clock, order=-2, name="modes")
        self.modes.lam = np.tile(net.lam, B)
        self.modes.trial = np.repeat(np.arange(B), P)
        self.modes.mode = np.tile(np.arange(P), B)
        self.to_modes = b2.Synapses(self.neurons, self.modes,
                                    f"loading : 1 (constant)\nkappa_post = loading * {self.activity}_pre : 1 (summed)",
                                    clock=clock, name="to_modes")
        pre, post = _block_indices(N, P, B)
        self.to_modes.connect(i=pre, j=post)
        self.to_modes.loading = np.tile(net.xi_out.reshape(-1), B)
        self.from_modes = b2.Synapses(self.modes, self.neurons,
                                      f"loading : 1 (constant)\n{self.recurrent_input}_post = loading * lam_pre * "
                                      "kappa_pre : 1 (summed)", clock=clock, name="from_modes")
        pre, post = _block_indices(P, N, B)
        self.from_modes.connect(i=pre, j=post)
        self.from_modes.loading = np.tile(net.xi_in.T.reshape(-1), B)
        return [self.modes, self.to_modes, self.from_modes]

    def _build_inputs(self, b2, clock, literal):
        net, N, B = self.net, self.net.N, self.B
        self.inputs = self.input_synapses = None
        if literal:
            self.inputs = b2.SpikeGeneratorGroup(net.N_in * B, [], [] * b2.second, clock=clock, name="inputs")
            self.input_synapses = b2.Synapses(self.inputs, self.neurons, "w_in : 1 (constant)",
                                              on_pre=f"{self.input_variable}_post += w_in", clock=clock,
                                              name="input_synapses")
            pre, post = _block_indices(net.N_in, N, B)
            self.input_synapses.connect(i=pre, j=post)
            self.input_synapses.w_in = np.tile(net.W_in.T.reshape(-1), B)
            return [self.inputs, self.input_synapses]
        # the jumps of the input variable for this step, applied after the state update (synapses slot)
        self.input_operation = self.neurons.run_regularly(f"{self.input_variable} += input_current(t, i)",
                                                          when="synapses", name="input_operation")
        return [self.input_operation]

    def _build_readout(self, b2, clock):
        net, B = self.net, self.B
        self.readout = b2.NeuronGroup(net.N_out * B, "y : 1\ntrial : integer (constant)\noutput : integer (constant)",
                                      clock=clock, order=1, name="readout")
        self.readout.trial = np.repeat(np.arange(B), net.N_out)
        self.readout.output = np.tile(np.arange(net.N_out), B)
        objects = [self.readout]
        source = a = self.activity
        if net.readout == "max":
            self.max_operation = self.neurons.run_regularly(f"rmax = rmax + ({a} - rmax) * int({a} > rmax)",
                                                            when="end", order=-2, name="max_operation")
            objects.append(self.max_operation)
            source = "rmax"
        self.to_readout = b2.Synapses(self.neurons, self.readout,
                                      f"w_out : 1 (constant)\ny_post = w_out * {source}_pre : 1 (summed)",
                                      clock=clock, name="to_readout")
        pre, post = _block_indices(net.N, net.N_out, B)
        self.to_readout.connect(i=pre, j=post)
        self.to_readout.w_out = np.tile(net.W_out.T.reshape(-1), B)
        # the readout sums r at the end of the step, after resets and the running max
        updater = self.to_readout.summed_updaters["y_post"]
        updater.when, updater.order = "end", 0
        objects.append(self.to_readout)
        return objects

    # -- inputs ------------------------------------------------------------
    def input_jumps(self, inputs):
        """Jumps of I per step and neuron, ``(T, B*N)``, from inputs ``(T, B, N_in)``.

        Spikes add their weight; analog inputs are a current (W_in x dt/dt_model).
        """
        x = check_inputs(self.net, inputs, np.float64)
        T, B, _ = x.shape
        if B != self.B:
            raise BrianModesError(f"inputs hold {B} trials; this circuit was built for {self.B}")
        jumps = x.reshape(T * B, -1) @ self.net.W_in.T
        if self.input_kind == "current":
            jumps *= self.dt / self.net.dt
        return jumps.reshape(T, B * self.net.N)

    def _set_inputs(self, inputs):
        import brian2 as b2

        x = np.asarray(inputs)
        if self.input_synapses is not None:
            x = check_inputs(self.net, x, np.float64)
            if x.shape[1] != self.B:
                raise BrianModesError(f"inputs hold {x.shape[1]} trials; this circuit was built for {self.B}")
            if not np.all((x == 0) | (x == 1)):
                raise BrianModesError("input_synapses=True needs 0/1 spike inputs")
            steps, trials, channels = np.nonzero(x)
            self.inputs.set_spikes(trials * self.net.N_in + channels, steps * self.dt * b2.second)
            return x.shape[0]
        jumps = self.input_jumps(x)
        self.namespace["input_current"] = b2.TimedArray(jumps, dt=self.dt * b2.second)
        return jumps.shape[0]

    # -- parameters and recordings -------------------------------------------
    def set_parameters(self, net):
        """Write the parameters of ``net`` into this circuit's Brian2 objects; no rebuild.

        ``net`` must have the circuit's structure (sizes, parametrization,
        readout, neuron model and its fixed constants: its ``config()``);
        its W_in, modes (xi_in, lam, xi_out) or dense W, W_out and trained
        neuron parameters (``net.neuron_values()``) replace the circuit's. On
        a runtime device (numpy or cython target) they are assigned to the
        synapses, groups and namespace and become the initial state of every
        later run; in a C++ standalone program they are kept as ``run_args``
        of the next runs (see :class:`StandaloneProgram`), without
        recompiling. The circuit keeps a copy of ``net``.

        Raises
        ------
        BrianModesError
            If ``net`` is of another structure; the message names what differs.

        Examples
        --------
        >>> from brianmodes import ModeNetwork
        >>> old = ModeNetwork(N=20, P=2, N_in=3, N_out=1, readout="per_step", seed=0)
        >>> circuit = BrianCircuit(old, n_trials=2)
        >>> new = ModeNetwork(N=20, P=2, N_in=3, N_out=1, readout="per_step", seed=1)
        >>> circuit.set_parameters(new)
        >>> bool((circuit.modes.lam[:2] == new.lam).all())
        True
        """
        from .parameters import set_parameters

        set_parameters(self, net)

    def record_at(self, key, group, variables, when):
        """Record ``variables`` of ``group`` at every step in schedule slot ``when``.

        For values the default monitors do not see, e.g. ``when="before_thresholds"``
        (after the state update, before the threshold and resets). The traces come
        back as ``result.recorded[key][name]``, ``(T, group.N)``. On a standalone
        device, call it before the program is built.
        """
        import brian2 as b2

        monitor = b2.StateMonitor(group, list(variables), record=True, when=when, clock=self.clock,
                                  name=f"record_{key}")
        self.extra_monitors[key] = monitor
        if self.standalone:
            self.network.add(monitor)
        else:
            self.add(monitor)
        return monitor

    # -- running -------------------------------------------------------------
    def add(self, *objects):
        """Add your own Brian2 objects (monitors, operations) to the circuit's network.

        They become part of the initial state that every run starts from.
        """
        if self.standalone:
            raise BrianModesError("add objects before compiling: pass them when building a standalone program")
        self.network.restore("initial")
        self.network.add(*objects)
        self.network.store("initial")

    def prepare(self, inputs):
        """Reset to the initial state (t = 0) and load inputs; returns the number of steps.

        Use it to run an experiment in segments with ``circuit.network.run(duration)``,
        changing parameters in between, then read the results with :meth:`collect`.

        Examples
        --------
        >>> n_steps = circuit.prepare(x)                       # doctest: +SKIP
        >>> circuit.network.run(300 * ms)                      # doctest: +SKIP
        >>> circuit.neurons.v_th[silenced] = np.inf            # doctest: +SKIP
        >>> circuit.network.run(200 * ms)                      # doctest: +SKIP
        """
        if self.standalone:
            raise BrianModesError("a standalone program is prepared by StandaloneProgram")
        self.network.restore("initial")
        return self._set_inputs(inputs)

    def run(self, inputs, target="numpy", report=None):
        """Reset to the initial state and run the circuit on a batch of inputs.

        Parameters
        ----------
        inputs : array (T, B, N_in)
            At the simulation dt: 0/1 spikes or analog values (see ``input_kind``).
        target : {'numpy', 'cython'}
            Brian2's runtime code-generation target.

        Returns
        -------
        BrianResult
        """
        import brian2 as b2

        if target not in ("numpy", "cython"):
            raise BrianModesError(f"runtime target must be 'numpy' or 'cython', got {target!r}; "
                                  "for C++ standalone use brianmodes.brian.StandaloneProgram")
        if target == "cython":
            check_toolchain("cython")
        n_steps = self.prepare(inputs)
        previous = b2.prefs.codegen.target
        b2.prefs.codegen.target = target
        try:
            self.network.run(n_steps * self.dt * b2.second, report=report, namespace={})
        except Exception as err:  # a compiler or code-generation failure
            if target == "cython" and "ompil" in str(err):
                first_line = str(err).strip().splitlines()[0]
                raise BrianModesError(f"Brian2 could not compile the Cython code ({first_line}); "
                                      "use target='numpy' (--target numpy), which needs no compiler") from None
            raise
        finally:
            b2.prefs.codegen.target = previous
        return self.collect(n_steps)

    def __del__(self):
        # Brian2 warns, many lines per object, when an object is deleted without ever having run
        # in a network ("unused_brian_object"). A circuit's objects belong to its network even if it
        # never ran (built and inspected, or inputs refused): claim them for it as Brian2 does on run.
        network = self.__dict__.get("network")
        for obj in getattr(network, "objects", ()):
            if getattr(obj, "_network", "") is None:
                obj._network = network.id

    def collect(self, n_steps):
        """Read spikes, outputs and recorded traces off the monitors."""
        N, B, N_out = self.net.N, self.B, self.net.N_out
        spikes = np.zeros((n_steps, B, N), bool)
        idx = np.asarray(self.spike_monitor.i[:])
        steps = np.rint(np.asarray(self.spike_monitor.t_[:]) / self.dt).astype(int)
        spikes[steps, idx // N, idx % N] = True
        if self.net.readout == "max":
            outputs = np.asarray(self.readout.y[:]).reshape(B, N_out)
        else:
            outputs = np.array(self.readout_monitor.y[:]).T.reshape(n_steps, B, N_out)  # a copy: the
            # monitor's buffers are overwritten by the next run
        traces = {}
        if self.state_monitor is not None:
            for name in self.state_monitor.record_variables:
                values = np.asarray(getattr(self.state_monitor, name + "_")[:])  # (B*N, T)
                traces[name] = values.T.reshape(-1, B, N).copy()
        recorded = {key: {name: np.array(getattr(monitor, name + "_")[:]).T for name in monitor.record_variables}
                    for key, monitor in self.extra_monitors.items()}
        return BrianResult(spikes=spikes, outputs=outputs, dt=self.dt, traces=traces, recorded=recorded)


def _unit_text(value):
    """The unit of a quantity as Brian2's equations write it (``'1'`` for a plain number)."""
    from brian2 import get_dimensions, get_unit

    dim = get_dimensions(value)
    return "1" if dim.is_dimensionless else repr(get_unit(dim))


def _unit_of(values):
    """The Brian2 unit of a quantity array (1 for plain numbers)."""
    from brian2 import get_unit

    return get_unit(values.dim) if hasattr(values, "dim") else 1


@contextlib.contextmanager
def _numpy_target(b2):
    """Brian2's numpy target inside the block, whatever the global preference.

    Building synapses generates code under the global target, whose default
    ('auto') compiles Cython: tens of seconds per new structure for a step run
    once. Numpy does it as well; the run's target is chosen in :meth:`BrianCircuit.run`.
    """
    previous = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    try:
        yield
    finally:
        b2.prefs.codegen.target = previous
