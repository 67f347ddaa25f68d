"""Reproduce the paper's experiments at a chosen scale and write a markdown report.

``brianmodes reproduce --scale quick`` (minutes) or ``--scale full`` (the SPEC tables:
MNIST N=100 with P = 1, 3, 10, 30 for 3000 batches; context N=100 with P = 1, 3, 10 for
1500 batches; importance power law and pruning). Every trained model is saved under
``OUT/models``; a model already there with the same settings is reused, so an interrupted
run continues where it stopped.

Two steps, each usable alone: :func:`run_experiments` trains and analyses and returns
the results as data; :func:`report_markdown` and :func:`report_record` write them as
text, :func:`brianmodes.plot.report_figures` draws them.
"""

from __future__ import annotations

import json
from pathlib import Path

from .experiments import run_experiments
from .published import PUBLISHED_MNIST, PUBLISHED_SLOPES, SCALES
from .report import (ATTRACTOR_MAX_SLOWDOWN, ATTRACTOR_MIN_SEPARATION, attractor_verdict, pruning_verdict,
                     report_markdown, report_record)

__all__ = ["reproduce", "run_experiments", "report_markdown", "report_record", "attractor_verdict",
           "pruning_verdict", "PUBLISHED_MNIST", "PUBLISHED_SLOPES", "SCALES", "ATTRACTOR_MAX_SLOWDOWN",
           "ATTRACTOR_MIN_SEPARATION"]


def reproduce(scale="quick", data_dir=None, out=None, seed=0, progress=True):
    """Run the experiments of one scale; returns the path of the markdown report.

    Parameters
    ----------
    scale : {'quick', 'full', 'tiny'}
        ``tiny`` is for tests (seconds, meaningless numbers).
    data_dir : path, optional
        MNIST folder. Without it, the classification experiments use the
        built-in 8x8 digits (the report says so; the published numbers are
        MNIST's).
    out : path, optional
        Output folder (default ``reports/reproduce-SCALE``): ``report.md``,
        ``report.json``, ``models/``, ``figures/``.
    """
    from ..checks import choice
    from ..plot import report_figures

    choice(scale, "scale", SCALES)
    out = Path(out or f"reports/reproduce-{scale}")
    results = run_experiments(scale, data_dir=data_dir, models=out / "models", seed=seed, progress=progress)
    report_figures(results, out / "figures")
    report = out / "report.md"
    report.write_text(report_markdown(results))
    (out / "report.json").write_text(json.dumps(report_record(results), indent=2))
    return report
