"""The ground-truth recording: task inputs by condition, the known network, the NWB round trip."""

import numpy as np
import pytest

from brianmodes import BrianModesError, simulate
from brianmodes.data.ground_truth import (CONTEXT_CONDITIONS, context_inputs, context_targets, record_network,
                                          recording_to_arrays, short_context_task, two_mode_network)


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
