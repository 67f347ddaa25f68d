"""Recorded and simulated spike trains with trial structure; NWB and Neo in and out; fitting.

The task built from recorded trials is :class:`brianmodes.tasks.ActivityTask` (importable from here too).
"""

from .compare import (cca_similarity, compare_activity, procrustes_similarity,
                      psth_correlation)
from ..surgery import grow_modes, selection_network
from .fit import (ActivityTask, ModeFit, choose_modes, fit_activity, mode_subspace_angles, one_standard_error_choice,
                  stepwise_choice)
from .neo_io import from_neo, to_neo
from .nwb import read_nwb, write_nwb
from .preprocess import filter_like_model, gaussian_rates, psth
from .recording import Recording, to_seconds

__all__ = ["ActivityTask", "ModeFit", "choose_modes", "fit_activity", "grow_modes", "mode_subspace_angles", "one_standard_error_choice", "stepwise_choice",
           "selection_network", "cca_similarity", "compare_activity", "procrustes_similarity",
           "psth_correlation", "filter_like_model", "gaussian_rates", "psth", "Recording", "to_seconds", "read_nwb",
           "write_nwb", "from_neo", "to_neo"]
