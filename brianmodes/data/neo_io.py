"""Neo objects: a Block with one Segment per trial and a SpikeTrain per unit, in and out."""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError
from .recording import Recording


def _neo():
    try:
        import neo
        import quantities as pq
    except ImportError:
        raise BrianModesError("Neo conversion needs neo: pip install 'brianmodes[data]'") from None
    return neo, pq


def to_neo(recording):
    """A ``neo.Block``: Segment b holds trial b (absolute times, t_start/t_stop of the trial),
    one SpikeTrain per unit (``annotations['unit_id']``); trial labels are Segment annotations."""
    neo, pq = _neo()
    block = neo.Block(name=recording.metadata.get("source", "brianmodes"))
    for b in range(recording.n_trials):
        start, stop = recording.trial_starts[b], recording.trial_stops[b]
        segment = neo.Segment(index=b, **{f"condition_{k}": v[b].item() for k, v in recording.conditions.items()})
        for uid, times in zip(recording.unit_ids, recording.spike_times):
            inside = times[(times >= start) & (times < stop)]
            segment.spiketrains.append(neo.SpikeTrain(inside * pq.s, t_start=start * pq.s, t_stop=stop * pq.s,
                                                      unit_id=uid.item()))
        block.segments.append(segment)
    return block


def from_neo(block):
    """A :class:`Recording` from a ``neo.Block`` laid out as :func:`to_neo` writes it.

    Units are matched across segments by the SpikeTrain annotation
    ``unit_id`` (or by position); Segment annotations ``condition_*`` become
    trial labels. Times are converted to seconds with ``quantities``.
    """
    neo, pq = _neo()
    if not getattr(block, "segments", None):
        raise BrianModesError("the Neo block has no segments (one per trial expected)")
    starts, stops, trains = [], [], {}
    order = []
    for segment in block.segments:
        if not segment.spiketrains:
            raise BrianModesError(f"Neo segment {segment.index} has no spike trains")
        starts.append(float(segment.spiketrains[0].t_start.rescale(pq.s).magnitude))
        stops.append(float(segment.spiketrains[0].t_stop.rescale(pq.s).magnitude))
        for position, st in enumerate(segment.spiketrains):
            uid = st.annotations.get("unit_id", position)
            if uid not in trains:
                trains[uid] = []
                order.append(uid)
            trains[uid].append(np.asarray(st.rescale(pq.s).magnitude, dtype=float))
    keys = sorted({k for seg in block.segments for k in seg.annotations if k.startswith("condition_")})
    conditions = {k[len("condition_"):]: np.array([seg.annotations.get(k) for seg in block.segments]) for k in keys}
    return Recording([np.concatenate(trains[u]) for u in order], np.array(order), np.array(starts),
                     np.array(stops), conditions, {"source": block.name})
