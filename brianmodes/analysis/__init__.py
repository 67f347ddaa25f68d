"""Analyses of trained mode networks: plain functions on a network and its activity."""

from .attractors import end_states_by_condition, slow_points
from .dimension import mode_vs_pca_variance, participation_ratio, variance_explained
from .importance import fit_piecewise_power_law, mode_importance
from .modes import orthogonalized_input_modes, project_on_modes, project_on_orthogonalized_modes
from ..surgery import remove_modes
from .pruning import pruning_curve, removal_order
from .stats import firing_rates, gaussian_rates, isi_cv, mean_rate, population_rate, psth, rates_from_counts

__all__ = ["end_states_by_condition", "slow_points", "mode_vs_pca_variance", "participation_ratio", "variance_explained",
           "fit_piecewise_power_law", "mode_importance", "orthogonalized_input_modes", "project_on_modes",
           "project_on_orthogonalized_modes", "pruning_curve", "remove_modes", "removal_order",
           "firing_rates", "isi_cv", "gaussian_rates", "psth", "population_rate", "mean_rate", "rates_from_counts"]
