"""Spike trains with their trial structure: recorded data and model output alike."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import seconds_per_unit
from ..errors import BrianModesError


def to_seconds(values, unit, name="times"):
    """Convert times given in ``unit`` to seconds.

    ``unit`` is a name of :data:`brianmodes.checks.TIME_UNITS` (``'s'``, ``'ms'``, ``'us'``, ``'µs'``,
    ``'ns'``), a ``quantities`` unit or a Brian2 unit.

    Examples
    --------
    >>> to_seconds([1, 250], "ms").tolist()
    [0.001, 0.25]
    """
    return np.asarray(values, dtype=float) * seconds_per_unit(unit, f"{name}: time_unit")


@dataclass
class Recording:
    """Spike times of units (neurons) and the trials they belong to; all times in seconds.

    Attributes
    ----------
    spike_times : list of ndarray
        One sorted array of absolute spike times per unit.
    unit_ids : ndarray
        An identifier per unit.
    trial_starts, trial_stops : ndarray (n_trials,)
    conditions : dict of name -> ndarray (n_trials,)
        Trial labels (context, stimulus, choice...).
    metadata : dict
        Source, dropped spikes and other notes.

    Examples
    --------
    >>> rec = Recording.from_arrays(spike_times=[0.01, 0.12, 0.55], unit_ids=[0, 1, 0],
    ...                             trial_starts=[0.0, 0.5], trial_stops=[0.4, 0.9],
    ...                             conditions={"context": [0, 1]})
    >>> rec.n_units, rec.n_trials, [len(t) for t in rec.trial_spikes(0)]
    (2, 2, [1, 1])
    """

    spike_times: list
    unit_ids: np.ndarray
    trial_starts: np.ndarray
    trial_stops: np.ndarray
    conditions: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.unit_ids = np.asarray(self.unit_ids)
        self.trial_starts = np.asarray(self.trial_starts, dtype=float)
        self.trial_stops = np.asarray(self.trial_stops, dtype=float)
        self.spike_times = [np.sort(np.asarray(t, dtype=float)) for t in self.spike_times]
        if len(self.spike_times) != len(self.unit_ids):
            raise BrianModesError(f"{len(self.spike_times)} spike trains but {len(self.unit_ids)} unit ids")
        if self.trial_starts.ndim != 1 or self.trial_starts.shape != self.trial_stops.shape:
            raise BrianModesError("trial starts and stops must be 1-D arrays of the same length")
        if self.trial_starts.size == 0:
            raise BrianModesError("a recording needs at least one trial (start and stop times)")
        if not np.all(np.isfinite(self.trial_starts)) or np.any(self.trial_stops <= self.trial_starts):
            raise BrianModesError("every trial must stop after it starts (finite times, in seconds)")
        for t in self.spike_times:
            if not np.all(np.isfinite(t)):
                raise BrianModesError("spike times must be finite numbers")
        conditions = {}
        for key, values in self.conditions.items():
            values = np.asarray(values)
            if values.shape != self.trial_starts.shape:
                raise BrianModesError(f"condition {key!r} has {values.size} values for {self.n_trials} trials")
            conditions[key] = values
        self.conditions = conditions
        inside = sum(int(np.sum(self._in_trials(t))) for t in self.spike_times)
        total = sum(t.size for t in self.spike_times)
        if total and not inside:
            span = (min(t.min() for t in self.spike_times if t.size), max(t.max() for t in self.spike_times if t.size))
            raise BrianModesError(
                f"all {total} spike times ({span[0]:g} to {span[1]:g}) lie outside the trials "
                f"({self.trial_starts.min():g} to {self.trial_stops.max():g}); are spike and trial times in the "
                "same unit (seconds)?")
        self.metadata.setdefault("spikes_outside_trials", total - inside)

    def _in_trials(self, times):
        idx = np.searchsorted(self.trial_starts, times, side="right") - 1
        ok = idx >= 0
        ok[ok] = times[ok] < self.trial_stops[idx[ok]]
        return ok

    @property
    def n_units(self):
        return len(self.spike_times)

    @property
    def n_trials(self):
        return self.trial_starts.size

    def trial_spikes(self, trial):
        """Spike times of every unit within one trial, relative to its start (list of arrays)."""
        start, stop = self.trial_starts[trial], self.trial_stops[trial]
        return [t[(t >= start) & (t < stop)] - start for t in self.spike_times]

    # -- construction ------------------------------------------------------
    @classmethod
    def from_arrays(cls, spike_times, unit_ids, trial_starts, trial_stops, conditions=None,
                    time_unit="s", metadata=None):
        """From flat arrays: one spike time and unit id per spike, trial start/stop times.

        ``time_unit`` (a name of ``brianmodes.checks.TIME_UNITS`` or a ``quantities``/Brian2 unit)
        applies to all times; they are converted to seconds here.
        """
        times = to_seconds(spike_times, time_unit, "spike times")
        ids = np.asarray(unit_ids)
        if times.shape != ids.shape:
            raise BrianModesError(f"{times.size} spike times but {ids.size} unit ids; give one id per spike")
        units = np.unique(ids)
        return cls([times[ids == u] for u in units], units, to_seconds(trial_starts, time_unit, "trial starts"),
                   to_seconds(trial_stops, time_unit, "trial stops"), dict(conditions or {}), dict(metadata or {}))

    @classmethod
    def from_spikes(cls, spikes, dt, conditions=None, gap=0.0, metadata=None):
        """From a model's spike raster ``(T, B, N)`` (e.g. ``simulate(...).spikes``).

        Trial b spans [b (T dt + gap), b (T dt + gap) + T dt); a spike at step
        t is placed at the start of its step.
        """
        spikes = np.asarray(spikes, bool)
        if spikes.ndim != 3:
            raise BrianModesError(f"spikes must be (T, B, N), got shape {spikes.shape}")
        T, B, N = spikes.shape
        length = T * dt
        starts = np.arange(B) * (length + gap)
        steps, trials, units = np.nonzero(spikes)
        times = starts[trials] + steps * dt
        return cls([np.sort(times[units == i]) for i in range(N)], np.arange(N), starts, starts + length,
                   dict(conditions or {}), dict(metadata or {}, dt=dt))

    def to_spikes(self, dt, n_steps=None):
        """Spike counts binned at ``dt`` per trial: ``(T, n_trials, n_units)`` integers."""
        durations = self.trial_stops - self.trial_starts
        T = int(np.ceil(durations.max() / dt - 1e-9)) if n_steps is None else int(n_steps)
        counts = np.zeros((T, self.n_trials, self.n_units), np.int32)
        for b in range(self.n_trials):
            for i, t in enumerate(self.trial_spikes(b)):
                steps = np.floor(t / dt + 1e-9).astype(int)
                np.add.at(counts[:, b, i], steps[steps < T], 1)
        return counts

    def __repr__(self):
        total = sum(t.size for t in self.spike_times)
        return (f"Recording({self.n_units} units, {self.n_trials} trials, {total} spikes, "
                f"conditions: {', '.join(self.conditions) or 'none'})")
