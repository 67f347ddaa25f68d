"""Brian2 backend: a trained network as Brian2 objects, simulated in physical units."""

from .circuit import BrianCircuit, BrianResult, dense_memory_bytes
from .equations import neuron_model
from .evaluate import DEVICES, TARGETS, brian2_runner, evaluate_brian2
from .parameters import structure_differences
from .standalone import StandaloneProgram, structure_key
from .toolchain import check_toolchain
from .training import TapeRecorder

__all__ = ["check_toolchain", "BrianCircuit", "BrianResult", "dense_memory_bytes", "neuron_model",
           "StandaloneProgram", "structure_key", "DEVICES", "TARGETS", "brian2_runner", "evaluate_brian2",
           "structure_differences", "TapeRecorder"]
