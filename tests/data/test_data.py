"""Recordings: round trips through NWB and Neo keep every spike time and trial label; bad files fail clearly."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork, simulate
from brianmodes.data import Recording, from_neo, read_nwb, to_neo, to_seconds, write_nwb

pytest.importorskip("pynwb")
pytest.importorskip("neo")


@pytest.fixture
def recording():
    rng = np.random.default_rng(0)
    starts = np.arange(6) * 1.5
    times = np.sort(rng.uniform(0, 9.0, 400))  # some fall between trials
    ids = rng.integers(0, 5, times.size)
    return Recording.from_arrays(times, ids, starts, starts + 1.0,
                                 conditions={"context": np.array([0, 1, 0, 1, 0, 1]),
                                             "coherence": np.array([0.5, -0.5, 0.1, 0.2, -0.1, 0.3])})


def _assert_same(a, b):
    np.testing.assert_array_equal(a.unit_ids, b.unit_ids)
    np.testing.assert_array_equal(a.trial_starts, b.trial_starts)
    np.testing.assert_array_equal(a.trial_stops, b.trial_stops)
    assert set(a.conditions) == set(b.conditions)
    for key in a.conditions:
        np.testing.assert_array_equal(a.conditions[key], b.conditions[key])
    for trial in range(a.n_trials):
        for x, y in zip(a.trial_spikes(trial), b.trial_spikes(trial)):
            np.testing.assert_array_equal(x, y)


def test_nwb_round_trip_keeps_every_spike_time(tmp_path, recording):
    path = write_nwb(recording, tmp_path / "rec.nwb")
    back = read_nwb(path)
    for x, y in zip(recording.spike_times, back.spike_times):  # all spikes, inter-trial ones included
        np.testing.assert_array_equal(x, y)
    _assert_same(recording, back)
    assert back.metadata["spikes_outside_trials"] == recording.metadata["spikes_outside_trials"] > 0


def test_neo_round_trip_keeps_trial_spikes_and_labels(recording):
    block = to_neo(recording)
    assert len(block.segments) == 6 and len(block.segments[0].spiketrains) == 5
    _assert_same(recording, from_neo(block))


def test_model_spikes_through_nwb(tmp_path):
    net = ModeNetwork(N=15, P=2, N_in=3, N_out=1, readout="per_step", seed=0)
    net.params["W_in"] *= 3
    res = simulate(net, np.random.default_rng(1).normal(size=(100, 4, 3)) + 0.5, record=("s",))
    rec = Recording.from_spikes(res.spikes, net.dt, conditions={"trial_type": np.array([0, 1, 0, 1])}, gap=0.1)
    back = read_nwb(write_nwb(rec, tmp_path / "model.nwb"))
    np.testing.assert_array_equal(back.to_spikes(net.dt, n_steps=100).astype(bool), res.spikes)
    np.testing.assert_array_equal(back.conditions["trial_type"], [0, 1, 0, 1])


def test_units_converted_at_the_boundary():
    import quantities as pq
    from brian2 import ms

    assert to_seconds([1500.0], "ms")[0] == pytest.approx(1.5)
    assert to_seconds([1500.0], pq.ms)[0] == pytest.approx(1.5)
    assert to_seconds([1500.0], ms)[0] == pytest.approx(1.5)
    with pytest.raises(BrianModesError, match="time_unit must be one of s, ms, us, µs, ns"):
        to_seconds([1.0], "minutes")


def test_mismatched_units_are_caught():
    with pytest.raises(BrianModesError, match="same unit"):
        # spike times in ms, trial times in s
        Recording.from_arrays([120.0, 530.0], [0, 0], [0.0, 0.5], [0.4, 0.9])


def test_bad_nwb_files(tmp_path, recording):
    import datetime

    import pynwb

    def write(nwb, name):
        path = tmp_path / name
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
        return path

    def new():
        return pynwb.NWBFile(session_description="x", identifier="x",
                             session_start_time=datetime.datetime.now(datetime.timezone.utc))

    nwb = new()
    nwb.add_trial(start_time=0.0, stop_time=1.0)
    with pytest.raises(BrianModesError, match="no Units table"):
        read_nwb(write(nwb, "no_units.nwb"))
    nwb = new()
    nwb.add_unit(spike_times=[0.1, 0.2])
    with pytest.raises(BrianModesError, match="no trials table"):
        read_nwb(write(nwb, "no_trials.nwb"))
    nwb = new()
    nwb.add_trial(start_time=0.0, stop_time=1.0)
    nwb.add_unit(spike_times=[150.0, 420.0])  # milliseconds written as seconds
    with pytest.raises(BrianModesError, match="outside the trials"):
        read_nwb(write(nwb, "outside.nwb"))
    with pytest.raises(BrianModesError, match="no such NWB file"):
        read_nwb(tmp_path / "missing.nwb")
    junk = tmp_path / "junk.nwb"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(BrianModesError, match="not a readable NWB file"):
        read_nwb(junk)
    path = write_nwb(recording, tmp_path / "ok.nwb")
    with pytest.raises(BrianModesError, match="no column"):
        read_nwb(path, conditions=["choice"])


def test_bad_recordings():
    with pytest.raises(BrianModesError, match="at least one trial"):
        Recording([np.array([0.1])], [0], [], [])
    with pytest.raises(BrianModesError, match="stop after it starts"):
        Recording([np.array([0.1])], [0], [1.0], [0.5])
    with pytest.raises(BrianModesError, match="condition 'c'"):
        Recording([np.array([0.1])], [0], [0.0], [1.0], {"c": [1, 2]})
    with pytest.raises(BrianModesError, match="one id per spike"):
        Recording.from_arrays([0.1, 0.2], [0], [0.0], [1.0])
