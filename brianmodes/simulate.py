"""Simulating a network with the engine derived from its neuron model (compiled, or numpy).

The network's :class:`~brianmodes.neurons.NeuronModel` (:attr:`ModeNetwork.model`)
is turned into a per-step update by :mod:`brianmodes.neurons` (Brian2's state
updaters, or the statements of a discrete model such as the published update of
SPEC 1.1) and run batched over trials by :class:`~brianmodes.neurons.Engine`.
The recurrent input is computed in mode space, ``xi_in (lam * (xi_out^T r))``:
O(N P) per step, the N x N matrix is never formed.

Arrays are time-major: inputs are ``(T, B, N_in)`` (steps, trials, inputs) and
recorded variables ``(T, B, N)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .analysis.stats import rates_from_counts
from .errors import BrianModesError

#: Names recorded by the built-in LIF (a model records its own state variables too).
#: Those a model does not have (``h`` of the single filter, ``u`` of a discrete
#: update, ``s`` of a rate unit) are left out of the traces.
RECORDABLE = ("I", "u", "v", "s", "r", "h", "m", "k")
_DESCRIPTIONS = {"I": "synaptic current", "u": "membrane potential before the reset (continuous models)",
                 "v": "membrane potential", "s": "spikes", "r": "filtered spike train (activity)",
                 "h": "filter's rise variable", "m": "not-refractory mask",
                 "k": "activity projected on the output modes, xi_out^T r of the previous step"}


def engine_params(net, dtype):
    """The network's arrays in the compute dtype, with the transposes the loop uses.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> p = engine_params(ModeNetwork(N=4, P=1, N_in=2, N_out=1), np.float32)
    >>> p["xi_in_T"].shape, p["W_in"].dtype
    ((1, 4), dtype('float32'))
    """
    from .neurons.engine import prepare_weights

    return prepare_weights(net.params, dtype)


def check_inputs(net, inputs, dtype=np.float32):
    """Validate and convert inputs to a C-contiguous ``(T, B, N_in)`` array.

    A 2-D array ``(T, N_in)`` is taken as a single trial.
    """
    x = np.asarray(inputs)
    if x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3 or x.shape[2] != net.N_in:
        raise BrianModesError(
            f"inputs must have shape (T, B, N_in) = (steps, trials, {net.N_in}); got {np.shape(inputs)}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise BrianModesError(f"inputs must hold at least one step and one trial; got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise BrianModesError(f"inputs must be real numbers, got dtype {x.dtype}")
    integral = x.dtype.kind in "biu"  # bool spikes, counts: finite as floats too
    x = np.ascontiguousarray(x, dtype=dtype)
    flat = x.reshape(-1)
    # one BLAS dot product is finite iff every entry is (barring overflow, which the exact
    # check then clears): ~3x cheaper than isfinite() on a (50, 256, 784) batch
    if not integral and not np.isfinite(np.dot(flat, flat)) and not np.all(np.isfinite(x)):
        raise BrianModesError("inputs contain NaN or infinite values")
    return x


def check_dtype(dtype):
    """float32 or float64, else a clear error."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise BrianModesError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _record_names(engine, record):
    """The engine's names for ``record``: ``u`` is the membrane before the reset; the common
    names a model lacks are left out (name in the result, name for the engine)."""
    program, model = engine.program, engine.model
    known = set(engine.states) | {"m", "k", model.recurrent} | {st.target.name for st in program.statements}
    threshold = next((st for st in program.statements if st.kind == "threshold"), None)
    before_reset = threshold.a.name if model.kind == "continuous" and threshold is not None and \
        threshold.a.is_Symbol else None
    names = []
    for name in record:
        if name == "u" and "u" not in engine.states:
            if before_reset is not None:
                names.append(("u", before_reset))
        elif name in RECORDABLE and name not in known:
            continue
        elif name == "m" and not program.masked:
            if model.spiking:  # never refractory
                names.append(("m", None))
        elif name == "s" and not model.spiking:
            continue
        else:
            names.append((name, name))
    return names


def run(net, x, record=(), *, engine="auto", weights=None, params=None, spike_fn=None, train=False):
    """The engine's forward pass of ``net`` on validated inputs ``x``, recorded traces named as asked.

    ``engine`` is a name (``'auto'``, ``'numpy'``, ``'compiled'``: see
    :func:`brianmodes.neurons.run.engine_for`) or an engine; ``params`` are
    values of the model's parameters (default: the network's trained ones);
    ``weights`` the prepared arrays (:func:`engine_params`). Returns the
    engine's result (see :meth:`~brianmodes.neurons.Engine.forward`).
    """
    from .neurons.run import engine_for

    engine = engine_for(net, engine=engine)
    names = _record_names(engine, tuple(record))
    weights = engine_params(net, x.dtype) if weights is None else weights
    if params is None and engine.model is net.engine_model:
        params = net.neuron_values()
    fwd = engine.forward(weights, x, readout=net.readout, record=[inner for _, inner in names if inner], params=params,
                         spike_fn=spike_fn, train=train)
    traces = fwd["traces"]
    fwd["traces"] = {outer: traces[inner] if inner else np.ones(x.shape[:2] + (net.N,), bool)
                     for outer, inner in names if inner is None or inner in traces}
    return fwd


def forward(net, x, store=(), dtype=np.float32, spike_fn=None, params=None, train=False, engine="auto"):
    """Run the engine on validated inputs ``x`` (T, B, N_in); see :func:`simulate`.

    Parameters
    ----------
    net : ModeNetwork
    x : ndarray (T, B, N_in)
    store : iterable of str
        Variables to keep for every step (see :func:`simulate`).
    dtype : float32 or float64
    spike_fn : callable, optional
        Smooth spike function of ``v - v_th`` (a surrogate's primitive) used
        instead of the step function, for gradient checks. The refractory
        mask still follows the hard threshold.
    params : dict, optional
        :func:`engine_params` of the network, when already made.
    train : bool
        Keep what :func:`brianmodes.train.backward` needs.
    engine : {'auto', 'numpy', 'compiled'}
        See :func:`brianmodes.neurons.run.engine_for`.

    Returns
    -------
    dict
        The recorded traces by name, ``y`` (the readout), ``count`` (spikes
        per trial and neuron; None for a rate model), ``amax`` and ``argmax``
        (max readout), and the engine's tape.
    """
    x = np.ascontiguousarray(x, dtype=dtype)
    fwd = run(net, x, store, engine=engine, weights=params, spike_fn=spike_fn, train=train)
    for name, trace in fwd["traces"].items():
        fwd.setdefault(name, trace)
    return fwd


@dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    outputs : ndarray
        The readout: ``(B, N_out)`` for the max readout, ``(T, B, N_out)``
        per step.
    dt : float
        Time step in seconds.
    traces : dict
        Recorded variables, each ``(T, B, N)`` (``k``: ``(T, B, P)``);
        spikes ``s`` are boolean.
    spike_count : ndarray or None
        Spikes per trial and neuron ``(B, N)`` (spiking models only).
    """

    outputs: np.ndarray
    dt: float
    n_steps: int
    traces: dict = field(default_factory=dict)
    spike_count: np.ndarray | None = None

    def __getattr__(self, name):
        traces = self.__dict__.get("traces", {})
        if name in traces:
            return traces[name]
        if name == "spikes" and "s" in traces:
            return traces["s"]
        raise AttributeError(name)

    @property
    def time(self):
        """Times of the steps in seconds, ``(T,)``."""
        return np.arange(self.n_steps) * self.dt

    def rates(self):
        """Mean firing rate of each neuron over trials and time, in Hz ``(N,)``."""
        if self.spike_count is None:
            raise BrianModesError("firing rates exist only for spiking networks")
        return rates_from_counts(self.spike_count, self.n_steps, self.dt)

    def population_rate(self):
        """Mean population rate in Hz (one number)."""
        return float(self.rates().mean())


def simulate(net, inputs, record=("s", "r"), dtype=np.float32, engine="auto"):
    """Simulate a network on a batch of trials with the engine derived from its neuron model.

    Parameters
    ----------
    net : ModeNetwork
    inputs : array (T, B, N_in) or (T, N_in)
        Input per step: spikes (0/1) or analog values, one column per input.
    record : iterable of str
        Variables to keep for every step: the model's state variables (the
        built-in LIF: ``I`` current, ``v`` membrane, ``r`` filtered activity,
        ``h`` the filter's rise), ``s`` (spikes), ``m`` (not refractory),
        ``k`` (output-mode projection), ``u`` (membrane before the reset) or
        any name of the derived program. Recording nothing keeps memory at
        O(B N) beyond what the readout needs.
    dtype : numpy dtype
        ``float32`` (default, fast) or ``float64``.
    engine : {'auto', 'numpy', 'compiled'}
        ``'auto'`` (default): the compiled engine when it builds here, else
        the numpy engine with one warning; ``'numpy'``: the reference;
        ``'compiled'``: fail loudly if it cannot build. Spikes are the same
        on both (tests/neurons/test_compiled_engine.py).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork, simulate
    >>> net = ModeNetwork(N=50, P=2, N_in=4, N_out=1, readout="per_step", seed=0)
    >>> x = np.random.default_rng(0).normal(size=(100, 8, 4))
    >>> res = simulate(net, x, record=("s", "v"))
    >>> res.outputs.shape, res.spikes.shape, res.spikes.dtype
    ((100, 8, 1), (100, 8, 50), dtype('bool'))
    """
    dtype = check_dtype(dtype)
    x = check_inputs(net, inputs, dtype)
    fwd = run(net, x, record, engine=engine)
    return SimulationResult(outputs=fwd["y"], dt=net.dt, n_steps=x.shape[0], traces=fwd["traces"],
                            spike_count=fwd["count"])
