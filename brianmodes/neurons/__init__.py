"""Neuron models written as a Brian2 user writes them, and the engine derived from them.

- :class:`NeuronModel`, :class:`Parameter`: the representation (continuous equations in
  Brian2 syntax with units, or the statements of one discrete step);
- built-ins: :func:`lif`, :func:`adaptive_lif`, :func:`published_lif`, :func:`tanh_rate`,
  :func:`network_model` (the built-in a network's settings name), :func:`from_network`;
- :meth:`NeuronModel.to_dict` / :meth:`NeuronModel.from_dict`: a model as JSON data (model files);
- :func:`derive`: the per-step update in single-assignment form (Brian2's state updaters and
  schedule) and, through :meth:`Program.adjoint`, its adjoint (sympy, reverse mode);
- :class:`Engine`: the numpy executor, forward over time and the adjoint pass, which
  :func:`brianmodes.simulate` and :func:`brianmodes.train.loss_and_grads` run every network on;
  :func:`simulate` and :func:`loss_and_grads` here run a network with another model or
  parameter values.

See ``docs/neuron_models.md``.
"""

from .builtins import (BUILTINS, adaptive_lif, from_network, get_model, lif, network_model, published_lif,
                       tanh_rate)
from .derive import Program, derive, program_for
from .engine import Engine
from .model import NeuronModel
from .parameters import Parameter, heterogeneous
from .run import engine_for, loss_and_grads, simulate

__all__ = ["NeuronModel", "Parameter", "Program", "derive", "program_for", "Engine", "simulate",
           "loss_and_grads", "engine_for", "lif", "adaptive_lif", "published_lif", "tanh_rate", "from_network",
           "network_model", "get_model", "BUILTINS", "heterogeneous"]
