"""The network object: sizes, neuron constants and the trainable arrays.

A :class:`ModeNetwork` is the single object that flows through brianmodes: the
numpy simulator, the trainer, the analyses and the Brian2 backend all read it.
Its recurrent weight has rank ``P``::

    W = xi_in @ diag(lam) @ xi_out.T        (W[i, j]: from neuron j to neuron i)

so the recurrent part has ``2*N*P + P`` parameters instead of ``N**2``. The
dense matrix is built only on request (:attr:`ModeNetwork.W`).

Its neurons are one :class:`~brianmodes.neurons.NeuronModel` (:attr:`ModeNetwork.model`),
named with the settings of a built-in (``neuron="lif"``, ``filter``, ``discretization``...)
or given as a model; see :mod:`brianmodes.network_neuron`.

Times are plain floats in **seconds** inside the package; the constructor also
accepts Brian2 quantities (``2*ms``) and strings (``"2 ms"``).
"""

from __future__ import annotations

import math

import numpy as np

from .checks import as_seconds, choice, positive_int  # noqa: F401 - as_seconds: public name (brianmodes.network)
from .errors import BrianModesError
from .network_neuron import (DEFAULT_CONSTANTS, DISCRETIZATIONS, FILTERS, NEURONS,  # noqa: F401 - public names
                             REFRACTORY_TIMINGS, TIME_CONSTANTS, NetworkNeuron)

#: Recurrent parametrizations: low-rank modes (the method) or a dense N x N
#: matrix (the full-rank baseline of the paper).
PARAMETRIZATIONS = ("modes", "full")
#: Readouts: maximum of r over time (classification) or one output per step.
READOUTS = ("max", "per_step")
#: The weight arrays of each parametrization (trained neuron parameters come after them).
WEIGHTS = {"modes": ("W_in", "xi_in", "lam", "xi_out", "W_out"), "full": ("W_in", "W", "W_out")}

def param_shapes(N, P, N_in, N_out, parametrization="modes"):
    """Shapes of the trainable arrays of a network.

    Returns
    -------
    dict
        Name to shape; ``modes``: W_in, xi_in, lam, xi_out, W_out;
        ``full``: W_in, W, W_out.
    """
    shapes = {"W_in": (N, N_in)}
    if parametrization == "modes":
        shapes.update(xi_in=(N, P), lam=(P,), xi_out=(N, P))
    else:
        shapes["W"] = (N, N)
    shapes["W_out"] = (N_out, N)
    return shapes


def init_params(N, P, N_in, N_out, parametrization="modes", rng=None):
    """Draw the published initialization (SPEC 1.2): normal, mean 0.

    std(W_in) = 1/sqrt(N_in), std(xi_in) = std(xi_out) = 1/sqrt(P),
    std(lam) = 1/sqrt(N), std(W_out) = 1/sqrt(N_out). The full-rank baseline
    draws W with std 1/sqrt(N).
    """
    rng = np.random.default_rng(rng)
    std = {"W_in": 1 / math.sqrt(N_in), "xi_in": 1 / math.sqrt(P), "xi_out": 1 / math.sqrt(P),
           "lam": 1 / math.sqrt(N), "W": 1 / math.sqrt(N), "W_out": 1 / math.sqrt(N_out)}
    return {name: rng.normal(0.0, std[name], size=shape)
            for name, shape in param_shapes(N, P, N_in, N_out, parametrization).items()}


class ModeNetwork:
    """A recurrent spiking network whose connectivity is a sum of P modes.

    Parameters
    ----------
    N, P, N_in, N_out : int
        Neurons, modes (rank of W; ``P > N`` is allowed), inputs, outputs.
    parametrization : {'modes', 'full'}
        ``modes``: W = xi_in diag(lam) xi_out^T, trained in mode space.
        ``full``: a dense N x N matrix (the full-rank baseline); ``P`` is then
        only recorded.
    neuron : {'lif', 'tanh', 'adaptive_lif', 'published_lif'} or NeuronModel
        A built-in model by name, set up by the arguments below: spiking LIF
        neurons, the tanh rate network baseline (x <- a_m x + (1 - a_m)(W_in u
        + W r), r = tanh(x)), LIF with spike-frequency adaptation, or the LIF
        of the published update (``discretization='published'``). Or any
        :class:`~brianmodes.neurons.NeuronModel` (or its JSON description),
        which carries its own equations and parameters: then give none of
        ``filter``, ``discretization``, ``refractory_timing`` and the
        constants but ``dt``. The model's trainable parameters become arrays
        of :attr:`params` (see :mod:`brianmodes.network_neuron`).
    filter : {'double', 'double-ema', 'single'}
        How spikes are filtered into the activity r (see :data:`FILTERS`;
        default ``double``). ``'double-classification'`` and
        ``'double-context'`` are accepted as names of the two published
        double filters.
    readout : {'max', 'per_step'}
        ``max``: output = W_out max_t r(t) (classification);
        ``per_step``: y(t) = W_out r(t) (regression).
    dt, tau_s, tau_m, tau_d, tau_r, t_ref : float, Brian2 quantity or str
        Time step and time constants (default: the published 2, 10, 20, 30,
        2 and 10 ms). ``t_ref`` must be a whole number of steps.
    v_th : float
        Threshold (reset is to 0).
    discretization : {'brian2', 'published'}
        The discrete-time update of a built-in LIF. ``brian2`` (default): the
        continuous-time equations integrated as Brian2 integrates them, so
        that the trained network runs in Brian2 spike for spike.
        ``published``: the update of the authors' code (SPEC 1.1), which has
        no continuous-time form.
    refractory_timing : {'steps', 'float32'}
        The published update's refractory clock: exact ``t_ref / dt`` steps
        (default) or the authors' float32 clock (SPEC 1.4).
    params : dict of arrays, optional
        The trainable arrays (see :func:`param_shapes`; then the arrays of
        the model's trainable parameters, filled from the model's values
        when missing); drawn from the published initialization when omitted.
    seed : int, optional
        Seed of that initialization.
    metadata : dict, optional
        Free JSON-serializable information (task, training history summary)
        saved with the model.

    Examples
    --------
    >>> net = ModeNetwork(N=100, P=3, N_in=784, N_out=10, seed=0)
    >>> net.W.shape
    (100, 100)
    >>> net.n_recurrent_params, net.N ** 2
    (603, 10000)
    >>> net.tau_m, net.model.name
    (0.02, 'lif-double')

    A model with a trainable time constant per neuron, trained as ``log_tau_m``:

    >>> from brianmodes.neurons import lif
    >>> model = lif("double", per_neuron=("v_th", "tau_m"), trainable=("tau_m",))
    >>> net = ModeNetwork(N=100, P=3, N_in=784, N_out=10, neuron=model, seed=0)
    >>> net.params["log_tau_m"].shape, float(net.neuron_values()["tau_m"][0])
    ((100,), 0.02)
    """

    def __init__(self, N, P, N_in, N_out, *, parametrization="modes", neuron="lif",
                 filter=None, readout="max", discretization=None, refractory_timing=None,
                 params=None, seed=None, metadata=None, **constants):
        self.N = positive_int(N, "N (the number of neurons)")
        self.P = positive_int(P, "P (the number of modes)")
        self.N_in = positive_int(N_in, "N_in (the number of inputs)")
        self.N_out = positive_int(N_out, "N_out (the number of outputs)")
        self.parametrization = choice(parametrization, "parametrization", PARAMETRIZATIONS)
        self.readout = choice(readout, "readout", READOUTS)
        self._neuron = NetworkNeuron(neuron, filter, discretization, refractory_timing, constants, params)
        self.dt = self._neuron.dt
        self.metadata = dict(metadata or {})
        if self._neuron.settings is None:
            self._neuron.model.parameter_values(self.N)  # per-neuron values of the right length
            clash = sorted(set(self._neuron.array_shapes(self.N)) & set(WEIGHTS["modes"] + WEIGHTS["full"]))
            if clash:
                raise BrianModesError(f"the trainable parameter array {clash[0]!r} of the neuron model has the name "
                                      "of a weight; rename the parameter")
        if params is None:
            params = init_params(self.N, self.P, self.N_in, self.N_out, self.parametrization, seed)
        self.params = self._check_params(params)

    # -- validation ---------------------------------------------------------
    def _check_params(self, params):
        expected = param_shapes(self.N, self.P, self.N_in, self.N_out, self.parametrization)
        neuron_shapes = self._neuron.array_shapes(self.N)
        params = dict(params)
        if "lambda" in params and "lam" not in params:
            params["lam"] = params.pop("lambda")
        for name, value in self._neuron.initial_arrays(self.N).items():
            params.setdefault(name, value)
        expected.update(neuron_shapes)
        missing = set(expected) - set(params)
        extra = set(params) - set(expected)
        if missing or extra:
            raise BrianModesError(
                f"a {self.parametrization!r} network needs the arrays {', '.join(expected)}; "
                + (f"missing {', '.join(sorted(missing))}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"unexpected {', '.join(sorted(extra))}" if extra else ""))
        checked = {}
        for name, shape in expected.items():
            array = np.asarray(params[name])
            if array.shape != shape:
                raise BrianModesError(
                    f"{name} must have shape {shape} for N={self.N}, P={self.P}, "
                    f"N_in={self.N_in}, N_out={self.N_out}; got {array.shape}")
            if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
                raise BrianModesError(f"{name} must hold real numbers, got dtype {array.dtype}")
            array = np.array(array, dtype=np.float64)
            if not np.all(np.isfinite(array)):
                raise BrianModesError(f"{name} contains NaN or infinite values")
            checked[name] = array
        return checked

    @classmethod
    def from_arrays(cls, W_in, W_out, *, xi_in=None, lam=None, xi_out=None, W=None, **kwargs):
        """Build a network from existing weights (published, fitted or hand-made).

        Give either the modes (``xi_in``, ``lam``, ``xi_out``) or a dense
        ``W`` (full-rank parametrization). Sizes are read off the arrays.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> net = ModeNetwork.from_arrays(
        ...     W_in=rng.normal(size=(50, 4)), W_out=rng.normal(size=(1, 50)),
        ...     xi_in=rng.normal(size=(50, 2)), lam=np.array([1.0, -0.5]),
        ...     xi_out=rng.normal(size=(50, 2)), readout="per_step")
        >>> net.N, net.P, net.N_in, net.N_out
        (50, 2, 4, 1)
        """
        W_in, W_out = np.asarray(W_in), np.asarray(W_out)
        if W_in.ndim != 2 or W_out.ndim != 2:
            raise BrianModesError(
                f"W_in must be (N, N_in) and W_out (N_out, N); got shapes {W_in.shape} and {W_out.shape}")
        N, N_in = W_in.shape
        N_out = W_out.shape[0]
        if W is not None:
            if any(a is not None for a in (xi_in, lam, xi_out)):
                raise BrianModesError("give either the modes (xi_in, lam, xi_out) or a dense W, not both")
            params = {"W_in": W_in, "W": W, "W_out": W_out}
            kwargs.setdefault("P", N)
            return cls(N=N, N_in=N_in, N_out=N_out, parametrization="full", params=params, **kwargs)
        if any(a is None for a in (xi_in, lam, xi_out)):
            raise BrianModesError("a mode network needs xi_in, lam and xi_out (or give a dense W)")
        lam = np.atleast_1d(np.asarray(lam))
        params = {"W_in": W_in, "xi_in": xi_in, "lam": lam, "xi_out": xi_out, "W_out": W_out}
        return cls(N=N, P=lam.shape[0], N_in=N_in, N_out=N_out, parametrization="modes",
                   params=params, **kwargs)

    def config(self):
        """Everything but the arrays, as a JSON-serializable dict (times in s).

        A network built by name holds its settings (``neuron``, ``filter``,
        ``discretization``, ``refractory_timing``) and constants; one built
        from a NeuronModel holds the model's description (values of trainable
        parameters left out: they are arrays). ``ModeNetwork(**config,
        params=...)`` rebuilds the network.
        """
        neuron = self._neuron.config()
        if self._neuron.settings is None:
            return {"N": self.N, "P": self.P, "N_in": self.N_in, "N_out": self.N_out,
                    "parametrization": self.parametrization, "neuron": neuron["neuron"],
                    "readout": self.readout, "dt": neuron["dt"]}
        return {"N": self.N, "P": self.P, "N_in": self.N_in, "N_out": self.N_out,
                "parametrization": self.parametrization, "neuron": neuron["neuron"],
                "filter": neuron["filter"], "readout": self.readout,
                "discretization": neuron["discretization"], "refractory_timing": neuron["refractory_timing"],
                **{name: neuron[name] for name in DEFAULT_CONSTANTS}}

    def copy(self):
        """A deep copy (arrays and metadata copied)."""
        return self.with_config()

    def with_config(self, **changes):
        """A copy with some configuration entries changed, the same arrays and metadata.

        Examples
        --------
        >>> net = ModeNetwork(N=10, P=2, N_in=3, N_out=1, seed=0)
        >>> other = net.with_config(discretization="published", refractory_timing="float32")
        >>> other.model.name, bool((other.lam == net.lam).all())
        ('published-lif-double', True)
        """
        import copy

        config = {**self.config(), **changes}
        if self._neuron.settings is None and "neuron" not in changes:
            config["neuron"] = self._neuron.model
        return ModeNetwork(**config, params={k: v.copy() for k, v in self.params.items()},
                           metadata=copy.deepcopy(self.metadata))

    # -- the neuron model ---------------------------------------------------
    @property
    def model(self):
        """The :class:`~brianmodes.neurons.NeuronModel` of the neurons, with the trained parameter values."""
        return self._neuron.current_model(self.params)

    @property
    def engine_model(self):
        """The model the engines derive their update from (trainable values: :meth:`neuron_values`)."""
        return self._neuron.model

    def neuron_values(self):
        """Values of the model's trainable parameters, from their arrays (name to float or (N,) array)."""
        return self._neuron.values(self.params)

    def array_gradients(self, grads):
        """Gradients by model parameter name (an engine's) as gradients of this network's arrays."""
        return self._neuron.array_gradients(grads, self.params)

    def _setting(self, name):
        settings = self._neuron.settings
        return None if settings is None else settings[name]

    neuron = property(lambda self: self._setting("neuron") or self._neuron.model.name,
                      doc="The built-in's name (lif, tanh, adaptive_lif), or the given model's name.")
    filter = property(lambda self: self._setting("filter"), doc="The built-in's filter (None for a given model).")
    discretization = property(lambda self: self._setting("discretization"),
                              doc="The built-in LIF's update (brian2 or published; None for a given model).")
    refractory_timing = property(lambda self: self._setting("refractory_timing")
                                 or self._neuron.model.refractory_timing,
                                 doc="The refractory clock: steps or float32 (SPEC 1.4).")

    def _constant(self, name):
        if self._neuron.settings is not None:
            return self._neuron.constants[name]
        if name == "t_ref":
            return self._neuron.model.refractory
        param = self._neuron.model.parameters.get(name)
        value = None if param is None else self.neuron_values().get(name, param.value)
        return float(value) if value is not None and np.ndim(value) == 0 else None

    tau_s = property(lambda self: self._constant("tau_s"), doc="Synaptic time constant (s).")
    tau_m = property(lambda self: self._constant("tau_m"), doc="Membrane time constant (s).")
    tau_d = property(lambda self: self._constant("tau_d"), doc="Filter decay time constant (s).")
    tau_r = property(lambda self: self._constant("tau_r"), doc="Filter rise time constant (s).")
    v_th = property(lambda self: self._constant("v_th"), doc="Threshold.")
    t_ref = property(lambda self: self._constant("t_ref"), doc="Refractory period (s).")

    # -- derived quantities -------------------------------------------------
    @property
    def W(self):
        """The dense recurrent weight matrix, N x N (built on demand)."""
        if self.parametrization == "full":
            return self.params["W"]
        p = self.params
        return (p["xi_in"] * p["lam"]) @ p["xi_out"].T

    def __getattr__(self, name):
        # W_in, xi_in, lam, xi_out, W_out read as attributes
        params = self.__dict__.get("params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    @property
    def n_ref(self):
        """Refractory period in time steps."""
        return int(round(self.t_ref / self.dt))

    @property
    def n_recurrent_params(self):
        """Trainable numbers in the recurrence: 2NP + P (modes) or N**2 (full)."""
        if self.parametrization == "full":
            return self.N * self.N
        return 2 * self.N * self.P + self.P

    @property
    def n_params(self):
        """All trainable numbers (W_in, recurrence, W_out)."""
        return int(sum(a.size for a in self.params.values()))

    def __repr__(self):
        rec = (f"modes P={self.P}: {self.n_recurrent_params:,} recurrent parameters "
               f"(2NP+P) instead of {self.N * self.N:,} (N²)"
               if self.parametrization == "modes"
               else f"full rank: {self.n_recurrent_params:,} recurrent parameters (N²)")
        head = (f"ModeNetwork(N={self.N}, N_in={self.N_in}, N_out={self.N_out}, {rec}; "
                f"{self.n_params:,} parameters in all;\n  ")
        if self._neuron.settings is None:
            model = self._neuron.model
            trained = f"; trained: {', '.join(model.trainable)}" if model.trainable else ""
            return (head + f"neuron model {model.name!r} ({model.kind}{trained}), readout={self.readout}, "
                    f"dt={self.dt * 1e3:g} ms)")
        timing = f", refractory_timing={self.refractory_timing}" if self.refractory_timing != "steps" else ""
        consts = ", ".join(f"{n}={getattr(self, n) * 1e3:g} ms" for n in TIME_CONSTANTS)
        return (head + f"neuron={self.neuron}, filter={self.filter}, "
                f"readout={self.readout}, discretization={self.discretization}{timing};\n  "
                f"{consts}, v_th={self.v_th:g})")
