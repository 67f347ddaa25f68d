"""Bridges to the rest of the field: the authors' checkpoints, weights from elsewhere, NIR.

- :func:`read_pth` reads a PyTorch ``.pth`` state dict without torch and without
  running any pickle code (:mod:`brianmodes.bridges.pth`);
- :func:`read_checkpoint` and :func:`network_from_arrays` turn the authors'
  checkpoints and plain arrays into networks, with the task's and the authors'
  dynamics (:mod:`brianmodes.bridges.arrays`);
- :mod:`brianmodes.nir` writes and reads NIR graphs (the ``nir`` extra).

See docs/interop.md.
"""

from .arrays import ALIASES, network_from_arrays, read_arrays, read_checkpoint
from .pth import read_pth

__all__ = ["read_pth", "read_checkpoint", "read_arrays", "network_from_arrays", "ALIASES"]
