"""What a Brian2 run of a circuit returns."""

from __future__ import annotations

from ..analysis.stats import firing_rates


class BrianResult:
    """Spikes ``(T, B, N)``, outputs and recorded traces ``(T, B, N)`` of a Brian2 run."""

    def __init__(self, spikes, outputs, dt, traces=None, recorded=None):
        self.spikes, self.outputs, self.dt = spikes, outputs, dt
        self.traces = traces or {}
        self.recorded = recorded or {}  # BrianCircuit.record_at: key -> name -> (T, n)

    @property
    def spike_count(self):
        """Spikes per trial and neuron, ``(B, N)``."""
        return self.spikes.sum(axis=0)

    def rates(self):
        """Mean rate of each neuron over trials and time, Hz ``(N,)``."""
        return firing_rates(self.spikes, self.dt)

    def __repr__(self):
        T, B, N = self.spikes.shape
        return f"BrianResult({T} steps x {B} trials x {N} neurons, {int(self.spikes.sum())} spikes)"
