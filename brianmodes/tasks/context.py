"""Context-dependent selective integration (after Mante et al. 2013; SPEC 2.2)."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .base import Batch, Task


class ContextTask(Task):
    """Integrate the cued one of two noisy stimuli and report the sign of its mean.

    Four inputs: stimulus 1, stimulus 2, context cue 1, context cue 2. During
    ``[stim_on, stim_off)`` stimulus k is ``offset_k + noise_std * N(0, 1)``
    each step, offsets drawn from ``{-offset, +offset}`` independently; the
    one-hot context cue is on for the whole trial. The target is 0 before
    ``stim_off`` and then the sign of the cued offset. With probability
    ``switch_prob`` the cue flips at ``switch_step`` and the target becomes
    the sign of the other stimulus from then on.

    Metrics per trial: ``mse`` (mean over steps of the squared error) and
    ``decision_accuracy`` (sign of the mean output over the response period,
    after any switch, equals the target's).

    Examples
    --------
    >>> import numpy as np
    >>> task = ContextTask()
    >>> b = task.sample(8, np.random.default_rng(0))
    >>> b.inputs.shape, b.targets.shape
    ((500, 8, 4), (500, 8, 1))
    """

    name = "context"
    n_in = 4
    n_out = 1
    readout = "per_step"
    loss = "root_sse"
    filter = "double-ema"
    default_batch_size = 100
    default_batches = 1500
    data_description = "generated trials (ContextTask), the held-out ones seeded (0, i)"
    main_metric = "decision_accuracy"
    input_kind = "current"

    def __init__(self, n_steps=500, stim_on=50, stim_off=250, offset=0.5, noise_std=1.0,
                 switch_prob=0.0, switch_step=300):
        if not 0 <= stim_on < stim_off < n_steps:
            raise BrianModesError(f"need 0 <= stim_on < stim_off < n_steps, got {stim_on}, {stim_off}, {n_steps}")
        if not 0.0 <= switch_prob <= 1.0:
            raise BrianModesError(f"switch_prob must be in [0, 1], got {switch_prob!r}")
        if switch_prob > 0 and not stim_off <= switch_step < n_steps:
            raise BrianModesError(f"switch_step must be in [stim_off, n_steps), got {switch_step}")
        if noise_std < 0:
            raise BrianModesError(f"noise_std must be >= 0, got {noise_std!r}")
        self.n_steps, self.stim_on, self.stim_off = int(n_steps), int(stim_on), int(stim_off)
        self.offset, self.noise_std = float(offset), float(noise_std)
        self.switch_prob, self.switch_step = float(switch_prob), int(switch_step)

    def config(self):
        return {"name": self.name, "n_steps": self.n_steps, "stim_on": self.stim_on,
                "stim_off": self.stim_off, "offset": self.offset, "noise_std": self.noise_std,
                "switch_prob": self.switch_prob, "switch_step": self.switch_step}

    def sample(self, batch_size, rng):
        """``batch_size`` fresh trials; ``info`` holds offsets, context, switched."""
        B = int(batch_size)
        offsets = rng.choice(np.array([-self.offset, self.offset]), size=(B, 2))
        context = rng.integers(0, 2, size=B)
        switched = rng.random(B) < self.switch_prob if self.switch_prob > 0 else np.zeros(B, bool)
        noise = rng.standard_normal((self.stim_off - self.stim_on, B, 2))
        x, y = self.trials(offsets, context, switched, noise)
        return Batch(inputs=x, targets=y, mask=None,
                     info={"offsets": offsets, "context": context, "switched": switched})

    def trials(self, offsets, context, switched=None, noise=None):
        """Inputs ``(T, B, 4)`` and targets ``(T, B, 1)`` of trials whose random parts are given.

        Parameters
        ----------
        offsets : array (B, 2)
            Each trial's stimulus offsets (e.g. ``±offset``).
        context : array (B,)
            The cued stimulus, 0 or 1.
        switched : array (B,) of bool, optional
            Trials whose cue flips at ``switch_step`` (default: none).
        noise : array (stim_off - stim_on, B, 2), optional
            Standard-normal draws, scaled by ``noise_std`` (default: no noise).

        Examples
        --------
        >>> import numpy as np
        >>> x, y = ContextTask().trials(np.array([[0.5, -0.5]]), np.array([1]))
        >>> x[100, 0].tolist(), float(y[-1, 0, 0])
        ([0.5, -0.5, 0.0, 1.0], -1.0)
        """
        offsets, context = np.asarray(offsets, dtype=float), np.asarray(context, dtype=int)
        B, T, n_stim = context.shape[0], self.n_steps, self.stim_off - self.stim_on
        if offsets.shape != (B, 2):
            raise BrianModesError(f"offsets must be (B, 2) for the {B} trials of the context, got {offsets.shape}")
        if not np.isin(context, (0, 1)).all():
            raise BrianModesError("the context of each trial must be 0 (cue 1) or 1 (cue 2)")
        if noise is not None and np.shape(noise) != (n_stim, B, 2):
            raise BrianModesError(f"noise must be (stim_off - stim_on, B, 2) = {(n_stim, B, 2)}, "
                                  f"got {np.shape(noise)}")
        switched = np.zeros(B, bool) if switched is None else np.asarray(switched, dtype=bool)
        x = np.zeros((T, B, 4), np.float32)
        x[self.stim_on:self.stim_off, :, :2] = offsets if noise is None else offsets + self.noise_std * noise
        trials = np.arange(B)
        x[:, trials, 2 + context] = 1.0
        y = np.zeros((T, B, 1), np.float32)
        y[self.stim_off:, :, 0] = np.sign(offsets[trials, context])
        if switched.any():
            s, sw = self.switch_step, trials[switched]
            x[s:, sw, 2 + context[sw]] = 0.0
            x[s:, sw, 3 - context[sw]] = 1.0
            y[s:, sw, 0] = np.sign(offsets[sw, 1 - context[sw]])
        return x, y

    def n_test_trials(self, n_trials=None):
        return 500 if n_trials is None else int(n_trials)

    def test_batches(self, batch_size=500, n_trials=None, seed=0):
        """``n_trials`` (default 500) held-out trials: trial i is drawn from a generator
        seeded with ``(seed, i)``, the same whatever the batch size."""
        n = self.n_test_trials(n_trials)
        for start in range(0, n, batch_size):
            trials = [self.sample(1, np.random.default_rng([seed, i]))
                      for i in range(start, min(start + batch_size, n))]
            yield Batch(inputs=np.concatenate([t.inputs for t in trials], axis=1),
                        targets=np.concatenate([t.targets for t in trials], axis=1), mask=None,
                        info={key: np.concatenate([t.info[key] for t in trials]) for key in trials[0].info})

    def decision_window(self, switched):
        """First step of the period over which the decision of each trial is read."""
        return np.where(switched, self.switch_step, self.stim_off)

    def trial_metrics(self, outputs, batch):
        y, target = outputs[..., 0], batch.targets[..., 0]
        mse = np.mean((y - target) ** 2, axis=0)
        start = self.decision_window(batch.info["switched"])
        steps = np.arange(self.n_steps)[:, None]
        window = steps >= start[None, :]
        mean_out = (y * window).sum(axis=0) / window.sum(axis=0)
        decision = np.sign(mean_out) == target[-1]
        return {"mse": mse, "decision_accuracy": decision}
