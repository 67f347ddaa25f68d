"""What every figure shares: metric names in words, integer and plain log ticks, condition names.

The figure functions of :mod:`brianmodes.plot`, :func:`brianmodes.plot.comparison_figure`
and the sweep use these so that a count axis reads 1, 3, 10, 30 (never 2×10⁰), a metric
reads "decision accuracy (%)" (never ``decision_accuracy``) and a condition reads
"context 1, choice +" (never 2).
"""

from __future__ import annotations

import math

import numpy as np

#: Metric name -> (axis label, factor the stored value is multiplied by for display).
METRIC_LABELS = {
    "accuracy": ("test accuracy (%)", 100.0),
    "decision_accuracy": ("decision accuracy (%)", 100.0),
    "mse": ("mean squared error", 1.0),
    "task_mse": ("task mean squared error", 1.0),
    "psth_mse": ("PSTH mean squared error", 1.0),
    "rate_hz": ("mean firing rate (Hz)", 1.0),
}

#: The four conditions of the context task as numbered by ``2 * context + (target > 0)``.
CONTEXT_CONDITION_NAMES = {0: "context 1, choice −", 1: "context 1, choice +",
                           2: "context 2, choice −", 3: "context 2, choice +"}


def metric_label(metric):
    """Axis label and display factor of a task metric.

    Examples
    --------
    >>> metric_label("decision_accuracy")
    ('decision accuracy (%)', 100.0)
    >>> metric_label("spike_count")
    ('spike count', 1.0)
    """
    return METRIC_LABELS.get(metric, (str(metric).replace("_", " "), 1.0))


def condition_names(values, names=None):
    """One legend text per condition value: ``names[value]`` (a dict or a sequence in sorted order), else "condition v".

    Conditions that are strings already name themselves.

    Examples
    --------
    >>> condition_names([0, 1], {0: "left"})
    ['left', 'condition 1']
    >>> condition_names(["a", "b"], ["first", "second"])
    ['first', 'second']
    >>> condition_names(["context 1, choice +"])
    ['context 1, choice +']
    """
    values = list(values)

    def default(v):
        return v if isinstance(v, str) else f"condition {v}"  # conditions given as names already

    if names is None:
        return [default(v) for v in values]
    if isinstance(names, dict):
        return [str(names.get(v, default(v))) for v in values]
    names = list(names)
    if len(names) != len(values):
        from .errors import BrianModesError

        raise BrianModesError(f"condition names must give one name per condition: {len(values)} conditions "
                              f"({values}), {len(names)} names; pass a dict {{condition: name}} or a list in "
                              "sorted order of the conditions")
    return [str(n) for n in names]


def _nice_log_values(lo, hi, integer):
    """Round values between lo and hi, for a log axis: 1-2-5 per decade, more if that gives fewer than two."""
    if not (lo > 0 and hi > lo and math.isfinite(lo) and math.isfinite(hi)):
        return []
    decades = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    two = None
    for mantissas in ((1,), (1, 3), (1, 2, 5), (1, 2, 3, 5, 7), range(1, 10)):
        ticks = [m * 10.0 ** d for d in decades for m in mantissas]
        ticks = [round(t) if integer else float(f"{t:.6g}") for t in ticks]
        ticks = sorted({t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9) and t > 0})
        if len(ticks) >= 3:
            return ticks
        two = two or (ticks if len(ticks) == 2 else None)
    if two:
        return two
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=4, integer=integer).tick_values(lo, hi)  # a narrow range: log is near linear
    return [float(t) for t in ticks if lo <= t <= hi and t > 0 and (not integer or t == round(t))]


def _locator_class():
    from matplotlib.ticker import Locator

    class PlainLogLocator(Locator):
        """Major ticks of a log axis at round numbers of the current view (integers if asked)."""

        def __init__(self, integer=False):
            self.integer = integer

        def __call__(self):
            lo, hi = sorted(self.axis.get_view_interval())
            return _nice_log_values(lo, hi, self.integer)

        def tick_values(self, vmin, vmax):
            return _nice_log_values(min(vmin, vmax), max(vmin, vmax), self.integer)

    return PlainLogLocator


def plain_log_axis(axis, values=None, integer=False):
    """Label a log ``axis`` with plain numbers (0.5, 1, 2; or 1, 3, 10, 30): no "2×10⁰", no unlabelled decade.

    ``values`` (a few, at most 8, e.g. the P of a sweep) become the ticks
    themselves; otherwise round numbers of the view are chosen.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    shown = sorted({float(v) for v in np.ravel(values) if v > 0}) if values is not None else []
    axis.set_major_locator(FixedLocator(shown) if 0 < len(shown) <= 8 else _locator_class()(integer))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(round(v))}" if integer else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def integer_axis(axis):
    """Ticks of a linear ``axis`` at integers only (counts: modes removed, neurons, trials)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def style_legend_entries(*entries):
    """Legend handles that explain line styles or shading, e.g. ``("solid", "data")``, ``("band", "±1 s.d.")``."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    for kind, label in entries:
        if kind == "band":
            handles.append(Patch(facecolor="0.5", alpha=0.3, lw=0, label=label))
        else:
            handles.append(Line2D([], [], color="0.3", ls={"solid": "-", "dashed": "--", "dotted": ":"}[kind],
                                  label=label))
    return handles
