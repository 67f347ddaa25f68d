"""Tasks: trials (inputs, targets, masks) and their metrics.

``digits`` (scikit-learn's built-in 8x8 digits, offline), ``mnist`` (IDX files
from a folder you name) and ``context`` (context-dependent integration).
"""

from pathlib import Path

from ..checks import choice
from ..errors import BrianModesError
from .activity import ActivityTask
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
    choice(name, "task", tuple(TASKS))
    try:
        return TASKS[name](**kwargs)
    except TypeError as err:
        raise BrianModesError(f"task {name!r}: {err}") from None


def task_for(net, data_dir=None):
    """The task a saved network was trained on, from its metadata.

    Parameters
    ----------
    net : ModeNetwork
    data_dir : path, optional
        MNIST folder, replacing the one recorded in training (shipped models
        record none).

    Examples
    --------
    >>> from brianmodes import load
    >>> task_for(load("context-N100-P3")).name
    'context'
    """
    config = dict(net.metadata.get("task") or {})
    if not config:
        raise BrianModesError("the model does not say which task it was trained on; "
                              "re-import it with `brianmodes import --task ...`")
    if config.get("name") in TASKS and TASKS[config["name"]].needs_data_dir:
        if data_dir is not None:
            config["data_dir"] = str(data_dir)
        elif config.get("data_dir") and not Path(config["data_dir"]).is_dir():
            raise BrianModesError(f"the model was trained on {config['name']} from {config['data_dir']}, which is not "
                                  "there; give its folder with --data-dir DIR (in Python: task_for(net, data_dir=DIR))")
    return make_task(config)


__all__ = ["task_for", "ActivityTask", "Batch", "Task", "bernoulli_spikes", "ContextTask", "MNIST", "Digits",
           "RateCodedImages", "TASKS", "make_task"]
