"""Neuron models written as a Brian2 user writes them, and the engine derived from them."""

from .builtins import BUILTINS, adaptive_lif, from_network, get_model, lif, published_lif, tanh_rate
from .derive import Program, derive
from .model import NeuronModel
from .parameters import Parameter

__all__ = ["NeuronModel", "Parameter", "Program", "derive", "lif", "adaptive_lif", "published_lif",
           "tanh_rate", "from_network", "get_model", "BUILTINS"]
