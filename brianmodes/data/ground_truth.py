"""A known mode network as a stand-in for an experiment: record it, fit it, check what comes back.

The recorded "animal" is a mode network doing the context task: by default
:func:`two_mode_network` (P* = 2, one self-exciting mode per stimulus, so each mode
holds its stimulus' sign after the stimulus ends), or any other, e.g. the shipped
``context-N100-P3``. Its spikes on trials of the eight task conditions (context x sign
of stimulus 1 x sign of stimulus 2), from a subset of its neurons, make the recording,
which goes through an NWB file like real data. Fitting then sees what an experimenter
would: the recorded spikes, the trial labels, and the stimuli (each trial's, or only
their statistics per condition).

See ``benchmarks/ground_truth.py`` for the full experiment and ``docs/fitting.md`` for
the results.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from ..tasks.context import ContextTask

#: The eight conditions of the context task: (context, sign of stimulus 1, sign of stimulus 2).
CONTEXT_CONDITIONS = [(c, s1, s2) for c in (0, 1) for s1 in (-1, 1) for s2 in (-1, 1)]


def _condition_trials(conditions, task):
    """The task, and each trial's offsets (B, 2) and context (B,), for conditions 0..7."""
    task = task or ContextTask()
    conditions = np.asarray(conditions, dtype=int)
    if conditions.size and (conditions.min() < 0 or conditions.max() >= len(CONTEXT_CONDITIONS)):
        raise BrianModesError(f"context-task conditions are 0..{len(CONTEXT_CONDITIONS) - 1}, got "
                              f"{conditions.min()}..{conditions.max()}")
    if task.switch_prob > 0:
        raise BrianModesError("the eight conditions have no context switch; pass a ContextTask with "
                              "switch_prob=0")
    table = np.array(CONTEXT_CONDITIONS)[conditions.ravel()]
    return task, task.offset * table[:, 1:], table[:, 0]


def context_inputs(conditions, rng, task=None):
    """Inputs ``(T, B, 4)`` of context-task trials of the given conditions (0..7), fresh noise.

    Built by the task's own :meth:`~brianmodes.tasks.context.ContextTask.trials`:
    the offsets are ``±task.offset`` as the condition says, and the noise is one
    ``rng.standard_normal((stim_off - stim_on, B, 2))`` draw, as in
    :meth:`~brianmodes.tasks.context.ContextTask.sample` (which draws the
    offsets and the context from the same generator first).

    Examples
    --------
    >>> import numpy as np
    >>> x = context_inputs(np.array([0, 7]), np.random.default_rng(0))
    >>> x.shape, x[0, 0, 2:].tolist(), x[0, 1, 2:].tolist()
    ((500, 2, 4), [1.0, 0.0], [0.0, 1.0])
    """
    task, offsets, context = _condition_trials(conditions, task)
    noise = rng.standard_normal((task.stim_off - task.stim_on, context.size, 2))
    return task.trials(offsets, context, noise=noise)[0]


def short_context_task():
    """The context task in 250 steps (0.5 s at 2 ms): stimuli from step 25 to 125."""
    return ContextTask(n_steps=250, stim_on=25, stim_off=125)


def two_mode_network(N=60, gain=10.0, input_gain=0.3, bias=0.7, bias_spread=0.2, seed=1):
    """A P = 2 network for the context task's inputs, built by hand, with persistent mode activity.

    Mode k has ``xi_in[:, k] = xi_out[:, k]`` (standard normal entries) and
    ``lambda_k = gain / N``, so it excites itself; stimulus k drives mode k
    (``W_in[:, k] = input_gain * xi[:, k]``), and the context cues act as
    per-neuron biases (``bias + bias_spread * N(0, 1)``) that keep the neurons
    in their responsive range. With the defaults each mode settles after the
    stimulus into a state set by its stimulus' sign, at 40-60 Hz.

    Examples
    --------
    >>> net = two_mode_network(N=30)
    >>> net.P, net.N_in, net.filter
    (2, 4, 'double-ema')
    """
    from ..network import ModeNetwork

    rng = np.random.default_rng(seed)
    xi = rng.normal(size=(N, 2))
    W_in = np.zeros((N, 4))
    W_in[:, :2] = input_gain * xi
    W_in[:, 2:] = bias + bias_spread * rng.normal(size=(N, 2))
    return ModeNetwork.from_arrays(W_in=W_in, W_out=np.ones((1, N)) / N, xi_in=xi, lam=np.full(2, gain / N),
                                   xi_out=xi.copy(), readout="per_step", filter="double-ema",
                                   metadata={"ground_truth": "two_mode_network", "seed": seed, "gain": gain})


def context_targets(conditions, task=None):
    """The task's targets ``(T, B, 1)`` for trials of the given conditions: the sign of the cued stimulus."""
    task, offsets, context = _condition_trials(conditions, task)
    return task.trials(offsets, context)[1]


def record_network(net, n_recorded=50, trials_per_condition=40, seed=0, task=None, return_inputs=False):
    """Spikes of ``n_recorded`` randomly chosen neurons of ``net`` on context-task trials, as a Recording.

    Trials of the eight conditions are interleaved in random order, as in an
    experiment; the unit ids are the recorded neurons' indices in ``net``.

    Returns
    -------
    Recording
        With trial labels ``condition`` (0..7), ``context``, ``stim1_sign``,
        ``stim2_sign``.
    inputs : ndarray (T, B, 4)
        Each trial's input (with ``return_inputs=True``).
    """
    from ..simulate import simulate
    from .recording import Recording

    if not 0 < n_recorded <= net.N:
        raise BrianModesError(f"n_recorded must be in 1..{net.N}, got {n_recorded}")
    rng = np.random.default_rng(seed)
    recorded = np.sort(rng.choice(net.N, size=n_recorded, replace=False))
    conditions = rng.permutation(np.repeat(np.arange(len(CONTEXT_CONDITIONS)), trials_per_condition))
    inputs = context_inputs(conditions, rng, task)
    spikes = simulate(net, inputs, record=("s",), dtype=np.float64).spikes
    table = np.array(CONTEXT_CONDITIONS)[conditions]
    rec = Recording.from_spikes(spikes[:, :, recorded], net.dt, gap=0.5,
                                conditions={"condition": conditions, "context": table[:, 0],
                                            "stim1_sign": table[:, 1], "stim2_sign": table[:, 2]})
    rec.unit_ids = recorded
    return (rec, inputs) if return_inputs else rec


def recording_to_arrays(recording, net_like, n_steps=None):
    """Binned spikes, filtered activity and conditions of a context-task recording, at the model's dt.

    Returns
    -------
    spikes : ndarray (T, B, n)
    activity : ndarray (T, B, n)
        :func:`~brianmodes.data.filter_like_model` of the spikes.
    conditions : ndarray (B,)
    """
    from .preprocess import filter_like_model

    if "condition" not in recording.conditions:
        raise BrianModesError("the recording's trials need a 'condition' column (0..7)")
    spikes = recording.to_spikes(net_like.dt, n_steps=n_steps)
    return spikes, filter_like_model(spikes, net_like), np.asarray(recording.conditions["condition"], dtype=int)
