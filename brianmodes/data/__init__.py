"""Recorded and simulated spike trains with trial structure; NWB and Neo in and out."""

from .neo_io import from_neo, to_neo
from .nwb import read_nwb, write_nwb
from .recording import Recording, to_seconds

__all__ = ["Recording", "to_seconds", "read_nwb", "write_nwb", "from_neo", "to_neo"]
