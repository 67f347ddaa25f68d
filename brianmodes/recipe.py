"""The training recipe, written once: train, evaluate, record; a run folder and its model card.

Every place that trains a model (``brianmodes train``, a sweep's runs,
``brianmodes reproduce``, the zoo tool, the benchmarks) calls
:func:`train_and_evaluate`, which records in the network's metadata how it
was made (task, trainer settings, batches, time, command, date, version), and
:func:`write_run_folder`, which writes the model, its history, its metrics and
its :func:`model_card`.

Examples
--------
>>> import tempfile
>>> from brianmodes.tasks import make_task
>>> from brianmodes.train import Trainer
>>> task = make_task("digits", n_steps=10)
>>> net = task.make_network(N=20, P=2, seed=0)
>>> run = train_and_evaluate(net, task, Trainer(n_batches=2, progress=False), command="example", eval_trials=50)
>>> run.metrics["n_trials"], net.metadata["batches"], net.metadata["command"]
(50, 2, 'example')
>>> folder = write_run_folder(tempfile.mkdtemp(), run, name="digits-example")
>>> sorted(path.name for path in folder.iterdir())
['card.json', 'history.csv', 'metrics.json', 'model.npz']
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

#: The keys of a task's held-out metrics that a model card reports.
CARD_METRICS = ("accuracy", "mse", "decision_accuracy", "n_trials", "rate_hz")


@dataclass
class TrainedRun:
    """What :func:`train_and_evaluate` returns.

    Attributes
    ----------
    net : ModeNetwork
        The trained network; its metadata records how it was made.
    task : Task
    trainer : Trainer
        The fitted trainer (its ``history_``, ``resumed_from_``).
    metrics : dict
        Held-out metrics (:meth:`Task.evaluate`), then ``brian2_*`` ones
        where a Brian2 validation ran.
    train_seconds : float
        Training time, resumed batches included.
    """

    net: object
    task: object
    trainer: object
    metrics: dict
    train_seconds: float

    @property
    def history(self):
        """Per-batch rows of the training (see :class:`~brianmodes.train.Trainer`)."""
        return self.trainer.history_


def train_and_evaluate(net, task, trainer, *, command, resume=False, eval_trials=None, eval_dtype=None,
                       runner=None, validate=None, progress=False, **metadata):
    """Train ``net`` on ``task``, evaluate it on the held-out trials and record how it was made.

    Parameters
    ----------
    net : ModeNetwork
        Trained in place.
    task : Task
    trainer : Trainer
        Its settings (batches, learning rate, checkpoint...) are the run's.
    command : str
        The command that reproduces the run, recorded in the metadata and card.
    resume : bool
        Continue from the trainer's checkpoint when there is one.
    eval_trials : int, optional
        Held-out trials (default: all of them).
    eval_dtype : float32 or float64, optional
        Precision of the evaluation (default: the engines' float32).
    runner : str or Runner, optional
        What runs the evaluation (default: the engine the training used).
    validate : callable, optional
        ``validate(net, task) -> dict``, e.g. a Brian2 evaluation; its
        metrics are added with the prefix ``brian2_``.
    progress : bool
        Progress bar of the evaluation.
    **metadata
        More entries for ``net.metadata`` (e.g. ``sweep_run``).

    Returns
    -------
    TrainedRun
    """
    from . import __version__

    trainer.fit(net, task, resume=resume)
    history = trainer.history_
    train_seconds = history[-1]["seconds"] if history else 0.0
    metrics = task.evaluate(net, n_trials=eval_trials, dtype=eval_dtype, progress=progress,
                            runner=runner or trainer.engine_used_)
    if validate is not None:
        metrics.update({f"brian2_{key}": value for key, value in validate(net, task).items()})
    net.metadata.update(task=task.config(), trainer=trainer.settings(),
                        metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))},
                        train_seconds=round(train_seconds, 2), batches=len(history), command=command,
                        date=datetime.datetime.now().isoformat(timespec="seconds"), brianmodes=__version__,
                        **metadata)
    return TrainedRun(net=net, task=task, trainer=trainer, metrics=metrics, train_seconds=train_seconds)


def describe(net):
    """One line saying what a network is, for model cards.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> describe(ModeNetwork(N=20, P=2, N_in=3, N_out=1, metadata={"task": {"name": "context"}}))
    'context task, N=20 lif neurons, P=2 modes, modes parametrization, brian2 discretization'
    """
    task = net.metadata.get("task", {}).get("name", "unknown")
    dynamics = f"{net.discretization} discretization" if net.discretization else f"model {net.model.name}"
    return (f"{task} task, N={net.N} {net.neuron} neurons, P={net.P} modes, {net.parametrization} "
            f"parametrization, {dynamics}")


def model_card(net, name, *, data_note="", evaluate_command=None, **extra):
    """The model card (a JSON-serializable dict) of a trained network, from its metadata.

    Parameters
    ----------
    net : ModeNetwork
        Trained by :func:`train_and_evaluate` (or with the same metadata).
    name : str
        The model's name.
    data_note : str
        Appended to the task's data description (e.g. what a placeholder
        in the commands stands for).
    evaluate_command : str, optional
        Default: ``brianmodes evaluate model.npz``, with ``--data-dir DIR``
        for tasks that read files.
    **extra
        More entries, placed after the standard ones.
    """
    from .tasks import TASKS

    task = {k: v for k, v in net.metadata.get("task", {}).items() if k != "data_dir"}
    task_class = TASKS.get(task.get("name"))
    reads_files = task_class is not None and task_class.needs_data_dir
    data = task_class.data_description + data_note if task_class else f"the {task.get('name')} task's held-out trials"
    metrics = net.metadata.get("metrics", {})
    brian2 = {k[len("brian2_"):]: v for k, v in metrics.items() if k.startswith("brian2_")}
    if evaluate_command is None:
        evaluate_command = "brianmodes evaluate model.npz" + (" --data-dir DIR" if reads_files else "")
    return {
        "name": name,
        "description": describe(net),
        "config": net.config(),
        "neuron_model": net.model.to_dict(),
        "task": task,
        "data": data,
        "training_command": net.metadata.get("command"),
        "trainer": net.metadata.get("trainer"),
        "batches": net.metadata.get("batches"),
        "train_seconds": net.metadata.get("train_seconds"),
        "trained": net.metadata.get("date"),
        "metrics_held_out": {k: v for k, v in metrics.items() if k in CARD_METRICS},
        "metrics_brian2": brian2 or None,
        "evaluate_command": evaluate_command,
        "brianmodes": net.metadata.get("brianmodes"),
        **extra,
    }


def write_run_folder(folder, run, *, name=None, metrics_record=None, extra_json=None, card_extra=None):
    """Write a trained run into ``folder``: model, history, model card and metrics (written last).

    Parameters
    ----------
    folder : path
        Created if missing; files in it are replaced atomically.
    run : TrainedRun
    name : str, optional
        The model's name in its card (default: the folder's name).
    metrics_record : dict, optional
        The content of ``metrics.json`` (default: the run's metrics and
        ``train_seconds``). A finished run folder is one with ``metrics.json``.
    extra_json : dict, optional
        More JSON files, by file name (e.g. a sweep's ``config.json``).
    card_extra : dict, optional
        More entries for the card (see :func:`model_card`).

    Returns
    -------
    Path
        The folder.
    """
    from .io import save, write_text_atomic
    from .train.trainer import write_history_csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save(run.net, folder / "model.npz")
    write_history_csv(folder / "history.csv", run.history)
    for file_name, content in (extra_json or {}).items():
        write_text_atomic(folder / file_name, json.dumps(content, indent=2))
    card = model_card(run.net, name or folder.name, **(card_extra or {}))
    write_text_atomic(folder / "card.json", json.dumps(card, indent=2))
    record = {**run.metrics, "train_seconds": run.train_seconds} if metrics_record is None else metrics_record
    write_text_atomic(folder / "metrics.json", json.dumps(record, indent=2))
    return folder
