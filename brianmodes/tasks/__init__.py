"""Tasks: trials (inputs, targets, masks) and their metrics.

``digits`` (scikit-learn's built-in 8x8 digits, offline), ``mnist`` (IDX files
from a folder you name) and ``context`` (context-dependent integration).
"""

from ..errors import BrianModesError
from .base import Batch, Task, bernoulli_spikes
from .context import ContextTask
from .images import MNIST, Digits, RateCodedImages

TASKS = {"digits": Digits, "mnist": MNIST, "context": ContextTask}


def make_task(name, **kwargs):
    """Build a task by name, e.g. ``make_task("mnist", data_dir="data/mnist")``.

    Also accepts a dict from :meth:`Task.config`.

    Examples
    --------
    >>> make_task("context", switch_prob=0.5).switch_prob
    0.5
    """
    if isinstance(name, dict):
        kwargs = {k: v for k, v in name.items() if k != "name"} | kwargs
        name = name.get("name")
    if name not in TASKS:
        raise BrianModesError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    try:
        return TASKS[name](**kwargs)
    except TypeError as err:
        raise BrianModesError(f"task {name!r}: {err}") from None


__all__ = ["Batch", "Task", "bernoulli_spikes", "ContextTask", "MNIST", "Digits",
           "RateCodedImages", "TASKS", "make_task"]
