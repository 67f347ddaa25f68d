"""NIR graphs out and in: ``brianmodes.nir.to_nir(net)``, ``brianmodes.nir.from_nir(graph)``.

The mapping, the signal convention and what NIR cannot express: :mod:`brianmodes.bridges.nir_graph`
and docs/interop.md. Needs the ``nir`` package (``pip install 'brianmodes[nir]'``).
"""

from .bridges.nir_graph import CONVENTION, from_nir, to_nir

__all__ = ["to_nir", "from_nir", "CONVENTION"]
