"""A task made of recorded trials: their inputs, and the filtered activity the network should reproduce.

The targets are the training trials' PSTHs per condition (or the trials themselves); the score is
the error of the model's trial-averaged rates against the held-out trials' own PSTHs. Used by
:func:`brianmodes.data.fit.fit_activity` and :func:`brianmodes.data.fit.choose_modes`.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .base import Batch, Task


class ActivityTask(Task):
    """Recorded trials (inputs and filtered activity) as a training task with held-out trials.

    Parameters
    ----------
    inputs : array (T, B, N_in) or callable
        The inputs of every recorded trial at the model's dt, or a function
        ``inputs(conditions, rng) -> (T, len(conditions), N_in)`` that draws
        inputs for given conditions (e.g. the stimulus of each condition plus
        fresh noise, when the trial-by-trial input is not known). With a
        function, every training batch gets new draws and the held-out score
        averages ``n_model_trials`` draws per condition.
    conditions : array (B,)
        Each recorded trial's condition.
    activity : array (T, B, n)
        Each trial's filtered activity of the n recorded neurons (e.g.
        :func:`~brianmodes.data.filter_like_model` of the binned spikes).
    test_trials : array of int, optional
        Indices of the held-out trials (e.g. one fold of a cross-validation);
        default: a ``test_fraction`` of each condition's trials, drawn with ``seed``.
    test_fraction : float
    task_targets : array (T, B, n_task), optional
        Per-trial targets of a task the recorded subject performed; the
        network then has ``n_task`` trained readout rows after the ``n``
        fixed selection rows, and the loss adds ``task_weight`` times their MSE.
    task_weight : float
    n_model_trials : int
        Model trials per condition for the held-out score when ``inputs`` is a function.
    match : {"psth", "trials"}
        What a training trial is pulled towards: the PSTH of its condition
        (the default; all that can be asked when the trial-by-trial input is
        unknown) or its own recorded activity (when ``inputs`` holds each
        trial's actual input, e.g. a recorded noisy stimulus: the trial-to-trial
        fluctuations then constrain the recurrent dynamics too).
    seed : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cond = np.repeat([0, 1], 8)
    >>> task = ActivityTask(rng.normal(size=(30, 16, 2)), cond, rng.random((30, 16, 5)))
    >>> task.train_targets.shape, task.test_targets.shape, task.test_idx.size
    ((30, 2, 5), (30, 2, 5), 4)
    """

    name = "activity"
    readout = "per_step"
    filter = "double"
    default_batch_size = 32
    main_metric = "mse"
    input_kind = "current"

    def __init__(self, inputs, conditions, activity, test_trials=None, test_fraction=0.25, task_targets=None,
                 task_weight=1.0, n_model_trials=50, match="psth", seed=0):
        self.conditions = np.asarray(conditions)
        self.activity = np.asarray(activity, dtype=np.float32)
        if self.activity.ndim != 3 or self.activity.shape[1] != self.conditions.size:
            raise BrianModesError(f"activity must be (T, B, n) with one condition per trial; got "
                                  f"{self.activity.shape} and {self.conditions.size} conditions")
        self.n_steps, n_trials, self.n_activity = self.activity.shape
        self.input_fn = inputs if callable(inputs) else None
        if self.input_fn is None:
            self.inputs = np.ascontiguousarray(inputs, dtype=np.float32)
            if self.inputs.ndim != 3 or self.inputs.shape[:2] != (self.n_steps, n_trials):
                raise BrianModesError(f"inputs must be (T, B, N_in) = ({self.n_steps}, {n_trials}, N_in) like "
                                      f"the activity, got {self.inputs.shape}")
        else:
            self.inputs = None
            probe = np.asarray(self.input_fn(self.conditions[:1], np.random.default_rng(0)))
            if probe.ndim != 3 or probe.shape[:2] != (self.n_steps, 1):
                raise BrianModesError(f"inputs(conditions, rng) must return (T, len(conditions), N_in) with "
                                      f"T = {self.n_steps}, got {probe.shape}")
        self.n_in = (self.inputs if self.inputs is not None else probe).shape[2]
        self.task_targets = None if task_targets is None else np.asarray(task_targets, dtype=np.float32)
        if self.task_targets is not None and (self.task_targets.ndim != 3
                                              or self.task_targets.shape[:2] != (self.n_steps, n_trials)):
            raise BrianModesError(f"task_targets must be (T, B, n_task) = ({self.n_steps}, {n_trials}, n_task), "
                                  f"got {self.task_targets.shape}")
        self.n_task = 0 if self.task_targets is None else self.task_targets.shape[2]
        self.n_out = self.n_activity + self.n_task
        self.task_weight, self.n_model_trials, self.seed = float(task_weight), int(n_model_trials), seed
        if match not in ("psth", "trials"):
            raise BrianModesError(f"match must be 'psth' or 'trials', got {match!r}")
        if match == "trials" and self.input_fn is not None:
            raise BrianModesError("match='trials' needs each trial's actual inputs as an array, not a function")
        self.match = match
        from ..train.losses import WeightedMSE  # (the training package imports the tasks' modules)

        self.loss = WeightedMSE(self.n_activity, self.task_weight) if self.n_task else "mse"
        self.labels = np.unique(self.conditions)
        test = np.zeros(n_trials, bool)
        if test_trials is None:
            rng = np.random.default_rng(seed)
            for c in self.labels:
                idx = rng.permutation(np.flatnonzero(self.conditions == c))
                test[idx[:int(round(test_fraction * idx.size))]] = True
        else:
            test[np.asarray(test_trials, dtype=int)] = True
        self.train_idx, self.test_idx = np.flatnonzero(~test), np.flatnonzero(test)
        missing = [c for c in self.labels if not np.any(self.conditions[self.train_idx] == c)]
        if missing:
            raise BrianModesError(f"no training trials left for condition(s) {missing}; hold out fewer trials")
        self.train_targets = self._psth(self.train_idx)
        self.test_targets = self._psth(self.test_idx) if self.test_idx.size else None

    def _psth(self, idx):
        """(T, C, n) PSTH of the given trials; NaN for a condition without trials."""
        from ..analysis.stats import psth

        out = np.full((self.n_steps, self.labels.size, self.n_activity), np.nan, np.float32)
        present, means, _ = psth(self.activity[:, idx], self.conditions[idx])
        out[:, np.searchsorted(self.labels, present)] = means
        return out

    def _batch(self, idx, rng):
        cond = np.searchsorted(self.labels, self.conditions[idx])
        x = self.inputs[:, idx] if self.input_fn is None else self._draw(self.conditions[idx], rng)
        targets = self.train_targets[:, cond] if self.match == "psth" else self.activity[:, idx]
        if self.n_task:
            targets = np.concatenate([targets, self.task_targets[:, idx]], axis=2)
        return Batch(inputs=x, targets=targets, info={"condition": cond})

    def _draw(self, conditions, rng):
        return np.ascontiguousarray(self.input_fn(conditions, rng), dtype=np.float32)

    def sample(self, batch_size, rng):
        return self._batch(rng.choice(self.train_idx, size=int(batch_size)), rng)

    def n_test_trials(self, n_trials=None):
        return self.test_idx.size if n_trials is None else min(int(n_trials), self.test_idx.size)

    def test_batches(self, batch_size=500, n_trials=None, seed=0):
        idx = self.test_idx[:self.n_test_trials(n_trials)]
        rng = np.random.default_rng((self.seed, 1))
        for start in range(0, idx.size, batch_size):
            part = idx[start:start + batch_size]
            batch = self._batch(part, rng)
            # held-out trials are scored against their own condition means, not the training ones
            if self.match == "psth":
                cond = batch.info["condition"]
                batch.targets[..., :self.n_activity] = self.test_targets[:, cond]
            yield batch

    def trial_metrics(self, outputs, batch):
        n = self.n_activity
        metrics = {"mse": np.mean((outputs[..., :n] - batch.targets[..., :n]) ** 2, axis=(0, 2))}
        if self.n_task:
            metrics["task_mse"] = np.mean((outputs[..., n:] - batch.targets[..., n:]) ** 2, axis=(0, 2))
        return metrics

    def config(self):
        return {"name": self.name, "n_activity": self.n_activity, "n_task": self.n_task,
                "task_weight": self.task_weight, "match": self.match}

    def model_psth(self, net, dtype=np.float64):
        """The model's trial-averaged activity outputs per condition, ``(T, C, n)``, on held-out inputs."""
        from ..simulate import simulate

        if self.input_fn is None:
            idx = self.test_idx if self.test_idx.size else self.train_idx
            x, cond = self.inputs[:, idx], self.conditions[idx]
        else:
            cond = np.repeat(self.labels, self.n_model_trials)
            x = self._draw(cond, np.random.default_rng((self.seed, 2)))
        out = simulate(net, x, record=(), dtype=dtype).outputs[..., :self.n_activity]
        from ..analysis.stats import psth

        present, means, _ = psth(out, cond)
        result = np.full((self.n_steps, self.labels.size, self.n_activity), np.nan)
        result[:, np.searchsorted(self.labels, present)] = means
        return result

    def psth_error(self, net, dtype=np.float64):
        """Cross-validated error: MSE between the model's trial-averaged rates and the held-out trials' PSTHs.

        Unlike the per-trial MSE, this has no floor from the model's
        trial-to-trial variability; what remains is the misfit plus the
        sampling noise of the held-out PSTHs (the same for every model).
        """
        if self.test_targets is None:
            raise BrianModesError("this task holds out no trials; give test_fraction > 0 or test_trials")
        return float(np.nanmean((self.model_psth(net, dtype) - self.test_targets) ** 2))

    def noise_floor(self):
        """The expected :meth:`psth_error` of a perfect model: the sampling variance of the held-out PSTHs."""
        var = 0.0
        for c in self.labels:
            trials = self.activity[:, self.test_idx[self.conditions[self.test_idx] == c]]
            if trials.shape[1] > 1:
                var += float(np.mean(trials.var(axis=1, ddof=1))) / trials.shape[1]
        return var / self.labels.size
