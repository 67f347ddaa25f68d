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
        B, T = int(batch_size), self.n_steps
        offsets = rng.choice(np.array([-self.offset, self.offset]), size=(B, 2))
        context = rng.integers(0, 2, size=B)
        switched = rng.random(B) < self.switch_prob if self.switch_prob > 0 else np.zeros(B, bool)
        x = np.zeros((T, B, 4), np.float32)
        n_stim = self.stim_off - self.stim_on
        x[self.stim_on:self.stim_off, :, :2] = offsets + self.noise_std * rng.standard_normal((n_stim, B, 2))
        trials = np.arange(B)
        x[:, trials, 2 + context] = 1.0
        y = np.zeros((T, B, 1), np.float32)
        y[self.stim_off:, :, 0] = np.sign(offsets[trials, context])
        if switched.any():
            s, sw = self.switch_step, trials[switched]
            x[s:, sw, 2 + context[sw]] = 0.0
            x[s:, sw, 3 - context[sw]] = 1.0
            y[s:, sw, 0] = np.sign(offsets[sw, 1 - context[sw]])
        return Batch(inputs=x, targets=y, mask=None,
                     info={"offsets": offsets, "context": context, "switched": switched})

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
