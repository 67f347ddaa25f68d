"""Training: surrogate gradients, losses, BPTT through the derived adjoint, Adam, the trainer."""

from .bptt import RateRegularizer, backward, loss_and_grads
from .losses import LOSSES, get_loss
from .surrogates import SURROGATES, get_surrogate
from .trainer import Trainer

__all__ = ["Trainer", "RateRegularizer", "backward", "loss_and_grads", "LOSSES", "get_loss",
           "SURROGATES", "get_surrogate"]
