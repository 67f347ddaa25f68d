"""brianmodes: spiking mode-based networks, trained in numpy, simulated in Brian2."""

from .errors import BrianModesError
from .io import available_models, load, save
from .network import ModeNetwork
from .simulate import SimulationResult, simulate

__version__ = "0.1.0"
__all__ = ["BrianModesError", "ModeNetwork", "NeuronModel", "Parameter", "SimulationResult", "Trainer",
           "available_models", "load", "save", "simulate"]


def __getattr__(name):
    """``brianmodes.NeuronModel``, ``brianmodes.Parameter`` (sympy is heavy) and ``brianmodes.Trainer``, imported
    on first use."""
    if name in ("NeuronModel", "Parameter"):
        from . import neurons

        return getattr(neurons, name)
    if name == "Trainer":
        from .train import Trainer

        return Trainer
    raise AttributeError(f"module 'brianmodes' has no attribute {name!r}")
