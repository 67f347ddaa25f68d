"""Fitting a mode network to recorded activity, and choosing P by held-out error.

The fitted quantity is the trial-averaged filtered rate of each recorded neuron per
condition (its PSTH after the model's own filter). Chosen model neurons stand for the
recorded ones: a fixed selection readout reads their r, and the network is trained so
that, trial by trial, their activity matches the PSTH of the trial's condition (the
mean-squared error is smallest when the condition means match).
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from ..network import ModeNetwork
from ..tasks.base import Batch, Task


class ActivityTask(Task):
    """Trials with given inputs whose targets are recorded PSTHs.

    Parameters
    ----------
    inputs : array (T, B, N_in)
        The inputs of every recorded trial, at the model's dt.
    conditions : array (B,)
        Each trial's condition.
    targets : array (T, C, n)
        Trial-averaged filtered rates of the n recorded neurons per condition,
        in the order of ``np.unique(conditions)``.
    test_fraction : float
        Trials held out (stratified by condition) for :meth:`evaluate`.
    seed : int
    """

    name = "activity"
    readout = "per_step"
    loss = "mse"
    filter = "double"
    default_batch_size = 32
    main_metric = "mse"
    input_kind = "current"

    def __init__(self, inputs, conditions, targets, test_fraction=0.25, seed=0):
        self.inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        self.conditions = np.asarray(conditions)
        self.targets = np.asarray(targets, dtype=np.float32)
        if self.inputs.ndim != 3 or self.conditions.shape != (self.inputs.shape[1],):
            raise BrianModesError("inputs must be (T, B, N_in) with one condition per trial")
        self.labels = np.unique(self.conditions)
        if self.targets.ndim != 3 or self.targets.shape[:2] != (self.inputs.shape[0], self.labels.size):
            raise BrianModesError(f"targets must be (T, C, n) = ({self.inputs.shape[0]}, {self.labels.size}, n), "
                                  f"got {self.targets.shape}")
        self.n_steps, self.n_in, self.n_out = self.inputs.shape[0], self.inputs.shape[2], self.targets.shape[2]
        rng = np.random.default_rng(seed)
        test = np.zeros(self.conditions.size, bool)
        for c in self.labels:
            idx = rng.permutation(np.flatnonzero(self.conditions == c))
            test[idx[:int(round(test_fraction * idx.size))]] = True
        self.train_idx, self.test_idx = np.flatnonzero(~test), np.flatnonzero(test)
        if self.train_idx.size == 0:
            raise BrianModesError("no training trials left; lower test_fraction")

    def _batch(self, idx):
        cond = np.searchsorted(self.labels, self.conditions[idx])
        return Batch(inputs=self.inputs[:, idx], targets=self.targets[:, cond], info={"condition": cond})

    def sample(self, batch_size, rng):
        return self._batch(rng.choice(self.train_idx, size=int(batch_size)))

    def n_test_trials(self, n_trials=None):
        return self.test_idx.size if n_trials is None else min(int(n_trials), self.test_idx.size)

    def test_batches(self, batch_size=500, n_trials=None, seed=0):
        idx = self.test_idx[:self.n_test_trials(n_trials)]
        for start in range(0, idx.size, batch_size):
            yield self._batch(idx[start:start + batch_size])

    def trial_metrics(self, outputs, batch):
        return {"mse": np.mean((outputs - batch.targets) ** 2, axis=(0, 2))}

    def config(self):
        return {"name": self.name}

    def psth_error(self, net, dtype=np.float64):
        """MSE between the held-out trials' per-condition average of the model's outputs and the targets.

        Unlike the per-trial MSE, this has no floor from trial-to-trial
        variability: it measures how well the trial-averaged rates are fitted.
        """
        from ..simulate import simulate
        from .preprocess import psth

        idx = self.test_idx
        out = simulate(net, self.inputs[:, idx], record=(), dtype=dtype).outputs
        present, means, _ = psth(out, np.searchsorted(self.labels, self.conditions[idx]))
        return float(np.mean((means - self.targets[:, present]) ** 2))


def selection_network(N, P, N_in, recorded, seed=None, **kwargs):
    """A network whose readout picks the r of the model neurons ``recorded`` (fixed W_out)."""
    recorded = np.asarray(recorded, dtype=int)
    net = ModeNetwork(N=N, P=P, N_in=N_in, N_out=recorded.size, readout="per_step", seed=seed, **kwargs)
    W_out = np.zeros((recorded.size, N))
    W_out[np.arange(recorded.size), recorded] = 1.0
    net.params["W_out"] = W_out
    return net


def fit_activity(task, N, P, recorded=None, n_batches=800, lr=1e-2, seed=0, progress=False, **net_kwargs):
    """Train a network of N neurons and P modes so that its ``recorded`` neurons reproduce the task's PSTHs.

    The default learning rate is ten times the task-training one: fitting
    smooth PSTHs tolerates it, and at 1e-3 the fit stalls (measured on a
    ground-truth network: 28 % against 97 % of the PSTH variance explained).

    Returns
    -------
    net : ModeNetwork
        The fitted network (W_out is the fixed selection).
    metrics : dict
        Held-out per-trial ``mse``, ``psth_mse`` (trial-averaged, see
        :meth:`ActivityTask.psth_error`) and rate.
    """
    from ..train.trainer import Trainer

    recorded = np.arange(task.n_out) if recorded is None else np.asarray(recorded)
    net = selection_network(N, P, task.n_in, recorded, seed=seed, **net_kwargs)
    Trainer(n_batches=n_batches, lr=lr, seed=seed, progress=progress, frozen=("W_out",)).fit(net, task)
    return net, dict(task.evaluate(net), psth_mse=task.psth_error(net))


def choose_modes(task, N, Ps=(1, 2, 3, 4, 5), n_batches=800, lr=1e-2, seed=0, progress=False, **net_kwargs):
    """Held-out error of the trial-averaged rates against P; the chosen P has the lowest.

    Returns
    -------
    dict
        ``Ps``, ``psth_mse`` and ``test_mse`` (one per P), ``best_P`` and the
        fitted ``networks``.
    """
    nets, errors, trial_errors = {}, [], []
    for P in Ps:
        nets[P], metrics = fit_activity(task, N, P, n_batches=n_batches, lr=lr, seed=seed, progress=progress,
                                        **net_kwargs)
        errors.append(metrics["psth_mse"])
        trial_errors.append(metrics["mse"])
    best = list(Ps)[int(np.argmin(errors))]
    return {"Ps": list(Ps), "psth_mse": np.array(errors), "test_mse": np.array(trial_errors), "best_P": best,
            "networks": nets}
