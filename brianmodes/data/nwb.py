"""NWB files (pynwb): the Units table and the trials table, in and out."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from ..errors import BrianModesError
from .recording import Recording

_STANDARD_TRIAL_COLUMNS = {"id", "start_time", "stop_time", "timeseries", "tags"}


def _pynwb():
    try:
        import pynwb
    except ImportError:
        raise BrianModesError("reading and writing NWB needs pynwb: pip install 'brianmodes[data]'") from None
    return pynwb


def read_nwb(path, conditions=None):
    """A :class:`Recording` from an NWB file's Units and trials tables.

    Parameters
    ----------
    path : path
    conditions : list of str, optional
        Trial-table columns to keep as trial labels (default: all
        non-standard columns).

    Raises
    ------
    BrianModesError
        For a missing or unreadable file, no Units table, no trials table,
        or spike times that all fall outside the trials.
    """
    pynwb = _pynwb()
    path = Path(path)
    if not path.is_file():
        raise BrianModesError(f"no such NWB file: {path}")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
        nwb = io.read()
    except Exception as err:  # noqa: BLE001 - h5py/hdmf raise many kinds
        raise BrianModesError(f"{path} is not a readable NWB file ({type(err).__name__}: {err})") from None
    try:
        if nwb.units is None or len(nwb.units) == 0:
            raise BrianModesError(f"{path} has no Units table (spike times of sorted units); brianmodes needs one")
        if nwb.trials is None or len(nwb.trials) == 0:
            raise BrianModesError(f"{path} has no trials table; add trials with start_time and stop_time")
        units = nwb.units
        spike_times = [np.asarray(units["spike_times"][i], dtype=float) for i in range(len(units))]
        unit_ids = np.asarray(units.id[:])
        trials = nwb.trials
        columns = [c for c in trials.colnames if c not in _STANDARD_TRIAL_COLUMNS]
        if conditions is not None:
            missing = set(conditions) - set(columns)
            if missing:
                raise BrianModesError(f"{path}: the trials table has no column(s) {', '.join(sorted(missing))}; "
                                      f"it has {', '.join(columns) or 'none'}")
            columns = list(conditions)
        labels = {c: np.asarray(trials[c][:]) for c in columns}
        return Recording(spike_times, unit_ids, np.asarray(trials["start_time"][:], dtype=float),
                         np.asarray(trials["stop_time"][:], dtype=float), labels,
                         {"source": str(path), "session": nwb.session_description})
    finally:
        io.close()


def write_nwb(recording, path, session_description="brianmodes recording", identifier=None):
    """Write a :class:`Recording` (recorded or simulated) as an NWB file: Units + trials."""
    pynwb = _pynwb()
    nwb = pynwb.NWBFile(session_description=session_description, identifier=identifier or Path(path).stem,
                        session_start_time=datetime.datetime.now(datetime.timezone.utc))
    for key, values in recording.conditions.items():
        nwb.add_trial_column(name=str(key), description=f"trial label {key}")
    for b in range(recording.n_trials):
        nwb.add_trial(start_time=float(recording.trial_starts[b]), stop_time=float(recording.trial_stops[b]),
                      **{str(k): v[b].item() for k, v in recording.conditions.items()})
    for uid, times in zip(recording.unit_ids, recording.spike_times):
        nwb.add_unit(spike_times=np.asarray(times, dtype=float), id=int(uid))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return Path(path)
