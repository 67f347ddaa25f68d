"""What every task provides: batches of trials, its metrics, an evaluation loop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BrianModesError


@dataclass
class Batch:
    """A batch of trials.

    Attributes
    ----------
    inputs : ndarray (T, B, N_in)
        float32 values (analog inputs), or bool spikes (the image tasks: 0/1 in a quarter of the memory).
    targets : ndarray
        Labels ``(B,)`` (classification) or targets ``(T, B, N_out)``.
    mask : ndarray or None
        Which target entries count in the loss (``(T, B, N_out)``), or None
        for all.
    info : dict
        Per-trial conditions (e.g. ``context``, ``offsets``) for analyses.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def size(self):
        """Number of trials B."""
        return self.inputs.shape[1]


class TrialAverages:
    """Accumulates per-trial metrics over batches and averages them over all trials."""

    def __init__(self):
        self.values, self.n_trials, self.spikes = {}, 0, 0.0

    def add(self, per_trial, n_trials, spikes=0.0):
        for key, values in per_trial.items():
            self.values.setdefault(key, []).append(np.asarray(values, dtype=np.float64))
        self.n_trials += n_trials
        self.spikes += float(spikes)

    def result(self, net, n_steps):
        """Mean of every metric, ``n_trials`` and, for spiking networks, ``rate_hz``."""
        metrics = {key: float(np.concatenate(v).mean()) for key, v in self.values.items()}
        metrics["n_trials"] = self.n_trials
        if net.engine_model.spiking and self.n_trials:
            metrics["rate_hz"] = self.spikes / (self.n_trials * net.N * n_steps * net.dt)
        return metrics


class Task:
    """Base class of tasks.

    Subclasses set ``name, n_in, n_out, n_steps, readout, loss, filter`` and
    implement :meth:`sample`, :meth:`test_batches` and :meth:`trial_metrics`.
    ``readout``, ``loss`` and ``filter`` are the settings the published
    models used for this task; a network for the task is made with
    :meth:`make_network`.
    """

    name = "task"
    n_in = n_out = n_steps = 0
    readout = "max"
    loss = "cross_entropy"
    filter = "double"
    default_batch_size = 256
    #: Training budget in batches when none is given (command line, sweeps).
    default_batches = 1000
    #: The metric that sums up performance (used in progress bars and reports).
    main_metric = "accuracy"
    #: What the inputs are: 0/1 ``spikes`` or analog values (a ``current``);
    #: decides how they enter a Brian2 simulation.
    input_kind = "spikes"
    #: Where the trials come from, in words (model cards).
    data_description = "generated trials, the held-out ones seeded (seed, i)"
    #: Whether the task reads files from a folder given as ``data_dir`` (``--data-dir`` on the command line).
    needs_data_dir = False

    def sample(self, batch_size, rng):
        """A training batch of ``batch_size`` fresh trials drawn with ``rng``."""
        raise NotImplementedError("abstract")

    def test_batches(self, batch_size=500, n_trials=None, seed=0):
        """The held-out trials, in batches (the same trials for the same arguments)."""
        raise NotImplementedError("abstract")

    def n_test_trials(self, n_trials=None):
        """How many held-out trials :meth:`test_batches` yields for ``n_trials``."""
        raise NotImplementedError("abstract")

    def trial_metrics(self, outputs, batch):
        """Per-trial metrics ``{name: (B,) array}``; :meth:`evaluate` averages them."""
        raise NotImplementedError("abstract")

    def config(self):
        """A JSON-serializable description from which :func:`make_task` rebuilds the task."""
        return {"name": self.name}

    def make_network(self, N=100, P=3, seed=None, **kwargs):
        """A fresh network sized and set up for this task (published settings).

        Examples
        --------
        >>> from brianmodes.tasks import make_task
        >>> net = make_task("digits").make_network(N=100, P=3, seed=0)
        >>> net.N_in, net.N_out, net.readout
        (64, 10, 'max')
        """
        from ..network import ModeNetwork

        kwargs.setdefault("readout", self.readout)
        if isinstance(kwargs.get("neuron", "lif"), str):  # a built-in by name takes the task's filter
            kwargs.setdefault("filter", self.filter)
        return ModeNetwork(N=N, P=P, N_in=self.n_in, N_out=self.n_out, seed=seed,
                           metadata={"task": self.config()}, **kwargs)

    def check_network(self, net):
        """Raise a clear error when ``net`` cannot run this task."""
        if net.N_in != self.n_in or net.N_out != self.n_out:
            raise BrianModesError(
                f"the network has {net.N_in} inputs and {net.N_out} outputs; task {self.name!r} "
                f"needs {self.n_in} and {self.n_out}")
        if net.readout != self.readout:
            raise BrianModesError(f"task {self.name!r} needs readout={self.readout!r}, "
                                  f"the network has {net.readout!r}")

    def evaluate(self, net, n_trials=None, batch_size=500, seed=0, dtype=None, progress=False, runner="auto"):
        """Metrics of ``net`` on the held-out trials, averaged over trials.

        Parameters
        ----------
        net : ModeNetwork
        n_trials : int, optional
            How many held-out trials (default: all of them).
        batch_size : int
            Trials simulated together.
        seed : int
            Seeds the held-out trials (and their input spikes).
        dtype : float32 or float64, optional
            Precision of the numpy and compiled engines (default float32).
        progress : bool
            Show a progress bar.
        runner : str or Runner
            How the network runs (see :mod:`brianmodes.runners`): ``'auto'``
            (default), ``'numpy'``, ``'compiled'``, ``'brian2_runtime'``,
            ``'cpp_standalone'``, or a runner made with its options, e.g.
            ``make_runner("cpp_standalone", dt=0.1 * ms)``. A runner made
            here is closed here; one passed in is left open for reuse.

        Returns
        -------
        dict
            Metric name to value, plus ``n_trials`` and the mean firing rate
            ``rate_hz`` (spiking networks).

        Examples
        --------
        >>> from brianmodes.tasks import make_task
        >>> task = make_task("context", n_steps=100, stim_off=60, switch_step=80)
        >>> net = task.make_network(N=20, P=2, seed=0)
        >>> sorted(task.evaluate(net, n_trials=8, runner="numpy"))
        ['decision_accuracy', 'mse', 'n_trials', 'rate_hz']
        """
        from ..runners import make_runner

        self.check_network(net)
        made_here = isinstance(runner, str)
        runner = make_runner(runner, **({"dtype": dtype} if made_here and dtype is not None else {}))
        if not made_here and dtype is not None:
            raise BrianModesError("dtype goes with a runner's name; a runner already made has its own")
        averages = TrialAverages()
        batches = self.test_batches(batch_size=batch_size, n_trials=n_trials, seed=seed)
        if progress:
            from tqdm.auto import tqdm

            total = -(-self.n_test_trials(n_trials) // batch_size)
            batches = tqdm(batches, total=total, desc=f"evaluate {self.name} ({runner.name})", unit="batch",
                           leave=False)
        try:
            for batch in batches:
                res = runner.run(net, batch.inputs, input_kind=self.input_kind)
                averages.add(self.trial_metrics(res.outputs, batch), batch.size,
                             0.0 if res.spike_count is None else res.spike_count.sum())
        finally:
            if made_here:
                runner.close()
        return averages.result(net, self.n_steps)


def bernoulli_spikes(probabilities, n_steps, rng, out=None):
    """Rate coding: each input spikes at each step with its probability.

    Parameters
    ----------
    probabilities : ndarray (B, K)
        Firing probability per step of each input (pixel intensity in [0, 1]).
    n_steps : int
    rng : numpy Generator
    out : ndarray (n_steps, B, K), optional
        Where to write the spikes (bool, or a number type for 0/1 values).

    Returns
    -------
    ndarray (n_steps, B, K), bool
        True where an input spikes. Probabilities are resolved to 1/65536
        (16-bit uniform draws: about twice as fast as float draws). Bool
        takes a quarter of float32's memory, and every engine reads it as
        0/1 (the compiled loop scans it as bytes); ``.astype(np.float32)``
        gives the values.

    Examples
    --------
    >>> spikes = bernoulli_spikes(np.array([[0.0, 1.0]]), 3, np.random.default_rng(0))
    >>> spikes.dtype, spikes[:, 0, :].tolist()
    (dtype('bool'), [[False, True], [False, True], [False, True]])
    """
    thresholds = np.round(np.clip(probabilities, 0.0, 1.0) * 65536.0)
    draws = rng.integers(0, 65536, size=(n_steps,) + probabilities.shape, dtype=np.uint16)
    if out is None:
        out = np.empty(draws.shape, np.bool_)
    # compare in 32-bit so that probability 1 (threshold 65536) always spikes
    return np.less(draws, thresholds.astype(np.uint32), out=out)
