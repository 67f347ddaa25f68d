"""brianmodes: spiking mode-based networks, trained in numpy, simulated in Brian2."""

from .errors import BrianModesError
from .io import available_models, load, save
from .network import ModeNetwork
from .simulate import SimulationResult, simulate

__version__ = "0.1.0"
__all__ = ["BrianModesError", "ModeNetwork", "SimulationResult", "available_models", "load", "save",
           "simulate"]
