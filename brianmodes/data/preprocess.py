"""One preprocessing for model and data: recorded spikes filtered as the network filters its own.

The measures (rates, Gaussian-smoothed rates, PSTHs, ISI CV) are defined once, in
:mod:`brianmodes.analysis.stats`; ``gaussian_rates`` and ``psth`` are importable from here too.
"""

from __future__ import annotations

import numpy as np

from ..analysis.stats import gaussian_rates, psth  # noqa: F401  (the measures, defined once)
from ..errors import BrianModesError


def filter_like_model(spikes, net):
    """Filter binned spikes ``(T, B, N)`` (at the model's dt) exactly as the network filters its own.

    Runs the statements of the network's neuron model that make its activity
    from its spikes (:func:`brianmodes.neurons.activity.filter_spikes`), so
    that for a model's spikes the result equals the simulator's r; for
    recorded spikes it gives the activity the model would see.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> net = ModeNetwork(N=3, P=1, N_in=1, N_out=1)
    >>> s = np.zeros((50, 1, 3)); s[10, 0, 0] = 1
    >>> r = filter_like_model(s, net)
    >>> bool(r[:11, 0, 0].max() == 0 and r[20, 0, 0] > 0)
    True
    """
    from ..neurons.activity import filter_spikes
    from ..neurons.run import engine_for

    s = np.asarray(spikes, dtype=float)
    if s.ndim != 3:
        raise BrianModesError(f"spikes must be (T, B, N) at the model's dt, got shape {s.shape}")
    return filter_spikes(engine_for(net, engine="numpy"), s, net.neuron_values())
