"""The ground-truth recording: task inputs by condition, the known network, the NWB round trip."""

import numpy as np
import pytest

from brianmodes import BrianModesError, simulate
from brianmodes.data.ground_truth import (CONTEXT_CONDITIONS, context_inputs, context_targets, record_network,
                                          recording_to_arrays, short_context_task, two_mode_network)
from brianmodes.tasks.context import ContextTask


def test_context_inputs_follow_the_condition_table():
    task = short_context_task()
    cond = np.repeat(np.arange(8), 200)
    x = context_inputs(cond, np.random.default_rng(0), task)
    table = np.array(CONTEXT_CONDITIONS)[cond]
    np.testing.assert_array_equal(x[:, :, 2 + table[0, 0]][:, 0], 1.0)
    np.testing.assert_array_equal(x[:, :, 2:].sum(axis=2), 1.0)  # one cue on, all trial long
    stim = x[task.stim_on:task.stim_off, :, :2].mean(axis=0)
    for c in range(8):
        np.testing.assert_allclose(stim[cond == c].mean(axis=0), 0.5 * np.array(CONTEXT_CONDITIONS[c][1:]), atol=0.02)
    assert np.all(x[:task.stim_on, :, :2] == 0) and np.all(x[task.stim_off:, :, :2] == 0)
    with pytest.raises(BrianModesError, match="conditions"):
        context_inputs(np.array([8]), np.random.default_rng(0))


def _conditions_of(batch):
    """Each sampled trial's condition index in CONTEXT_CONDITIONS: (context, sign 1, sign 2)."""
    positive = batch.info["offsets"] > 0
    return 4 * batch.info["context"] + 2 * positive[:, 0] + positive[:, 1]


def test_context_inputs_and_targets_are_the_tasks_own_trials():
    """The same conditions and the same noise give the task's trials exactly.

    The task draws offsets and context from its generator before the noise; replaying
    those draws leaves a generator at the state where the task drew its noise.
    """
    task = short_context_task()
    batch = task.sample(64, np.random.default_rng(7))
    cond = _conditions_of(batch)
    assert set(cond.tolist()) == set(range(8))
    replay = np.random.default_rng(7)
    replay.choice(np.array([-task.offset, task.offset]), size=(64, 2))
    replay.integers(0, 2, size=64)
    np.testing.assert_array_equal(context_inputs(cond, replay, task), batch.inputs)
    np.testing.assert_array_equal(context_targets(cond, task), batch.targets)
    quiet = ContextTask(n_steps=120, stim_on=10, stim_off=60, offset=0.3, noise_std=0.0)
    batch = quiet.sample(40, np.random.default_rng(8))
    np.testing.assert_array_equal(context_inputs(_conditions_of(batch), np.random.default_rng(0), quiet),
                                  batch.inputs)
    with pytest.raises(BrianModesError, match="switch_prob=0"):
        context_inputs(cond, np.random.default_rng(0), ContextTask(switch_prob=0.5))


def test_context_targets_are_the_sign_of_the_cued_stimulus():
    task = short_context_task()
    y = context_targets(np.arange(8), task)
    for c, (ctx, s1, s2) in enumerate(CONTEXT_CONDITIONS):
        assert np.all(y[:task.stim_off, c] == 0) and np.all(y[task.stim_off:, c] == (s1 if ctx == 0 else s2))


def test_two_mode_network_holds_each_stimulus_sign_in_its_mode():
    task = short_context_task()
    net = two_mode_network(N=60, seed=1)
    cond = np.repeat(np.arange(8), 10)
    r = simulate(net, context_inputs(cond, np.random.default_rng(0), task), record=("r",)).r
    kappa = r[-25:].mean(axis=0) @ net.xi_out  # the last 50 ms, long after the stimulus
    table = np.array(CONTEXT_CONDITIONS)[cond]
    for k in range(2):
        assert kappa[table[:, 1 + k] > 0, k].mean() > kappa[table[:, 1 + k] < 0, k].mean() + 0.5


def test_recording_goes_through_nwb_unchanged(tmp_path):
    pytest.importorskip("pynwb")
    from brianmodes.data import read_nwb, write_nwb

    task = short_context_task()
    net = two_mode_network(N=30, seed=1)
    rec, inputs = record_network(net, n_recorded=12, trials_per_condition=2, task=task, return_inputs=True)
    assert rec.n_units == 12 and rec.n_trials == 16 and np.all(np.diff(rec.unit_ids) > 0)
    back = read_nwb(write_nwb(rec, tmp_path / "gt.nwb"))
    spikes, activity, cond = recording_to_arrays(back, net, n_steps=task.n_steps)
    truth = simulate(net, inputs, record=("s",), dtype=np.float64).spikes[:, :, rec.unit_ids]
    np.testing.assert_array_equal(spikes, truth)  # every spike back in its step, trial and unit
    np.testing.assert_array_equal(cond, rec.conditions["condition"])
    assert activity.shape == spikes.shape
    with pytest.raises(BrianModesError, match="n_recorded"):
        record_network(net, n_recorded=31)
