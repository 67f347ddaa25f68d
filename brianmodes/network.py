"""The network object: sizes, neuron constants and the trainable arrays.

A :class:`ModeNetwork` is the single object that flows through brianmodes: the
numpy simulator, the trainer, the analyses and the Brian2 backend all read it.
Its recurrent weight has rank ``P``::

    W = xi_in @ diag(lam) @ xi_out.T        (W[i, j]: from neuron j to neuron i)

so the recurrent part has ``2*N*P + P`` parameters instead of ``N**2``. The
dense matrix is built only on request (:attr:`ModeNetwork.W`).

Times are plain floats in **seconds** inside the package; the constructor also
accepts Brian2 quantities (``2*ms``) and strings (``"2 ms"``).
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

from .errors import BrianModesError

#: Recurrent parametrizations: low-rank modes (the method) or a dense N x N
#: matrix (the full-rank baseline of the paper).
PARAMETRIZATIONS = ("modes", "full")
#: Neuron models: spiking LIF (the method) or a tanh rate unit (baseline).
NEURONS = ("lif", "tanh")
#: Spike-train filters. ``double`` is the classification models' filter
#: (h += dt/(tau_d tau_r) s; r += dt h), ``double-ema`` the context-task
#: models' filter (two exponential moving averages: h = a_r h + s;
#: r = a_d r + (1 - a_d) h), ``single`` a one-exponential filter.
FILTERS = ("single", "double", "double-ema")
_FILTER_ALIASES = {
    "double-classification": "double",
    "double-context": "double-ema",
    "exponential": "single",
}
#: Readouts: maximum of r over time (classification) or one output per step.
READOUTS = ("max", "per_step")
#: Discrete-time update schemes the numpy engine implements: ``published``
#: (SPEC 1.1, the authors' code) and ``brian2`` (exponential Euler of the
#: continuous-time equations in Brian2's schedule: what Brian2 simulates
#: spike for spike).
DISCRETIZATIONS = ("published", "brian2")

#: Published neuron constants (SPEC 1), in seconds / dimensionless.
DEFAULT_CONSTANTS = {
    "dt": 2e-3,
    "tau_s": 10e-3,
    "tau_m": 20e-3,
    "tau_d": 30e-3,
    "tau_r": 2e-3,
    "v_th": 1.0,
    "t_ref": 10e-3,
}
TIME_CONSTANTS = ("dt", "tau_s", "tau_m", "tau_d", "tau_r", "t_ref")

_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def as_seconds(value, name="time"):
    """Convert a time given as seconds, a Brian2 quantity or a string.

    Parameters
    ----------
    value : float, brian2 Quantity or str
        Plain numbers are seconds. Strings are a number and a unit among
        ``s, ms, us, ns`` (``"2 ms"``, ``"0.5ms"``).
    name : str
        Used in the error message.

    Returns
    -------
    float
        The time in seconds.

    Examples
    --------
    >>> as_seconds("2 ms")
    0.002
    >>> as_seconds(0.01)
    0.01
    """
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-zµ]*)\s*", value)
        if not match or match.group(2) not in _UNIT_SECONDS or not match.group(1):
            raise BrianModesError(
                f"{name}: cannot read {value!r} as a time; write e.g. '2 ms' or '0.002'"
            )
        try:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        except ValueError:
            raise BrianModesError(f"{name}: cannot read {value!r} as a time") from None
    if hasattr(value, "dim"):  # a Brian2 quantity: check it is a time
        from brian2 import second  # imported only when the user already uses Brian2

        if value.dim != second.dim:
            raise BrianModesError(f"{name} must be a time, got {value!r}")
        return float(value / second)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise BrianModesError(f"{name} must be a number of seconds, a Brian2 time or a string like '2 ms', got {value!r}")


def _real_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BrianModesError(f"{name} must be a number, got {value!r}")
    return float(value)


def _positive_int(value, name, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise BrianModesError(f"{name} ({what}) must be a positive integer, got {value!r}")
    return int(value)


def _choice(value, name, options, aliases=None):
    value = (aliases or {}).get(value, value)
    if value not in options:
        raise BrianModesError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


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
    neuron : {'lif', 'tanh'}
        Spiking LIF neurons, or the tanh rate network baseline
        (x <- a_m x + (1 - a_m)(W_in u + W r), r = tanh(x)).
    filter : {'double', 'double-ema', 'single'}
        How spikes are filtered into the activity r (see :data:`FILTERS`).
        ``'double-classification'`` and ``'double-context'`` are accepted as
        names of the two published double filters.
    readout : {'max', 'per_step'}
        ``max``: output = W_out max_t r(t) (classification);
        ``per_step``: y(t) = W_out r(t) (regression).
    dt, tau_s, tau_m, tau_d, tau_r, t_ref : float, Brian2 quantity or str
        Time step and time constants (default: the published 2, 10, 20, 30,
        2 and 10 ms). ``t_ref`` must be a whole number of steps.
    v_th : float
        Threshold (reset is to 0).
    discretization : {'brian2', 'published'}
        The discrete-time update of the numpy engine. ``brian2`` (default):
        the continuous-time equations of :mod:`brianmodes.brian.equations`
        integrated as Brian2 integrates them, so that the trained network
        runs in Brian2 spike for spike. ``published``: the update of the
        authors' code (SPEC 1.1), which has no continuous-time form.
    params : dict of arrays, optional
        The trainable arrays (see :func:`param_shapes`); drawn from the
        published initialization when omitted.
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
    >>> net.tau_m
    0.02
    """

    def __init__(self, N, P, N_in, N_out, *, parametrization="modes", neuron="lif",
                 filter="double", readout="max", discretization="brian2",
                 params=None, seed=None, metadata=None, **constants):
        self.N = _positive_int(N, "N", "the number of neurons")
        self.P = _positive_int(P, "P", "the number of modes")
        self.N_in = _positive_int(N_in, "N_in", "the number of inputs")
        self.N_out = _positive_int(N_out, "N_out", "the number of outputs")
        self.parametrization = _choice(parametrization, "parametrization", PARAMETRIZATIONS)
        self.neuron = _choice(neuron, "neuron", NEURONS)
        self.filter = _choice(filter, "filter", FILTERS, _FILTER_ALIASES)
        self.readout = _choice(readout, "readout", READOUTS)
        self.discretization = _choice(discretization, "discretization", DISCRETIZATIONS)
        unknown = set(constants) - set(DEFAULT_CONSTANTS)
        if unknown:
            raise BrianModesError(
                f"unknown argument(s) {', '.join(sorted(unknown))}; neuron constants are "
                f"{', '.join(DEFAULT_CONSTANTS)}")
        merged = {**DEFAULT_CONSTANTS, **constants}
        for name in TIME_CONSTANTS:
            merged[name] = as_seconds(merged[name], name)
        merged["v_th"] = _real_number(merged["v_th"], "v_th")
        self._check_constants(merged)
        for name, value in merged.items():
            setattr(self, name, value)
        self.metadata = dict(metadata or {})
        if params is None:
            params = init_params(self.N, self.P, self.N_in, self.N_out, self.parametrization, seed)
        self.params = self._check_params(params)

    # -- validation ---------------------------------------------------------
    @staticmethod
    def _check_constants(c):
        for name in TIME_CONSTANTS:
            value = c[name]
            positive = value > 0 if name != "t_ref" else value >= 0
            if not math.isfinite(value) or not positive:
                raise BrianModesError(
                    f"{name} must be a finite {'positive' if name != 't_ref' else 'non-negative'} "
                    f"time, got {value!r} s")
        if not math.isfinite(c["v_th"]) or c["v_th"] <= 0:
            raise BrianModesError(f"v_th must be a positive finite number (reset is 0), got {c['v_th']!r}")
        steps = c["t_ref"] / c["dt"]
        if abs(steps - round(steps)) > 1e-6:
            raise BrianModesError(
                f"t_ref ({c['t_ref'] * 1e3:g} ms) must be a whole number of time steps "
                f"(dt = {c['dt'] * 1e3:g} ms)")

    def _check_params(self, params):
        expected = param_shapes(self.N, self.P, self.N_in, self.N_out, self.parametrization)
        params = dict(params)
        if "lambda" in params and "lam" not in params:
            params["lam"] = params.pop("lambda")
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

    # -- construction -------------------------------------------------------
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
        """Everything but the arrays, as a JSON-serializable dict (times in s)."""
        return {"N": self.N, "P": self.P, "N_in": self.N_in, "N_out": self.N_out,
                "parametrization": self.parametrization, "neuron": self.neuron,
                "filter": self.filter, "readout": self.readout,
                "discretization": self.discretization,
                **{name: getattr(self, name) for name in DEFAULT_CONSTANTS}}

    def copy(self):
        """A deep copy (arrays and metadata copied)."""
        import copy

        return ModeNetwork(**self.config(), params={k: v.copy() for k, v in self.params.items()},
                           metadata=copy.deepcopy(self.metadata))

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
        consts = ", ".join(f"{n}={getattr(self, n) * 1e3:g} ms" for n in TIME_CONSTANTS)
        return (f"ModeNetwork(N={self.N}, N_in={self.N_in}, N_out={self.N_out}, {rec}; "
                f"{self.n_params:,} parameters in all;\n  neuron={self.neuron}, filter={self.filter}, "
                f"readout={self.readout}, discretization={self.discretization};\n  "
                f"{consts}, v_th={self.v_th:g})")
