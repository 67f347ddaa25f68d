"""Plots of spiking activity and of the mode analyses (matplotlib; work in notebooks and headless).

Every figure of the package is drawn here: :mod:`~brianmodes.plot.activity`
(rasters, rates, traces, outputs), :mod:`~brianmodes.plot.modes` (mode-space
trajectories, importance, pruning, accuracy against P, sweeps),
:mod:`~brianmodes.plot.comparison` (model against recorded data) and
:mod:`~brianmodes.plot.reproduction` (the reproduction report's figures).
Every axis is labelled in words with its unit, counts get integer ticks (log
axes read 1, 3, 10, 30), legends name their entries and any shaded band says
what it is. Shared conventions live in :mod:`brianmodes.figure_style`.
"""

from .activity import (plot_membrane_traces, plot_output_vs_target, plot_outputs_by_condition,
                       plot_population_rate, plot_raster, population_rate, raster_figure)
from .comparison import comparison_figure
from .modes import plot_accuracy_vs_modes, plot_importance, plot_mode_trajectories, plot_pruning, plot_sweep
from .reproduction import report_figures

__all__ = ["plot_raster", "population_rate", "plot_population_rate", "plot_output_vs_target", "raster_figure",
           "plot_membrane_traces", "plot_outputs_by_condition", "plot_mode_trajectories", "plot_importance",
           "plot_pruning", "plot_accuracy_vs_modes", "plot_sweep", "comparison_figure", "report_figures"]
