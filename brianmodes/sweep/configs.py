"""Sweep configurations: one run's settings (:class:`RunConfig`), grids and configuration files."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from pathlib import Path


from ..checks import choice, integer, number, positive_int
from ..errors import BrianModesError

#: Short names of task options in run ids.
_OPTION_TAGS = {"n_steps": "T", "n_train": "ntrain", "switch_prob": "switch"}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run of a sweep: what to train, for how long, and whether to check it in Brian2.

    Parameters
    ----------
    task : {'digits', 'mnist', 'context'}
    N, P : int
        Neurons and modes.
    parametrization : {'modes', 'full'}
    seed : int
        Seeds the initialization and the training batches.
    batches : int, optional
        Training budget (default: ``brianmodes train``'s for the task).
    batch_size : int, optional
        Trials per batch (default: the task's).
    lr : float
        Adam learning rate.
    brian2 : bool
        After training, simulate the held-out trials in Brian2 (C++ standalone)
        and record its metrics beside the numpy ones (prefixed ``brian2_``).
    eval_trials, brian2_trials : int, optional
        Held-out trials for the numpy and the Brian2 evaluation (default: all
        of the task's; Brian2: as many as numpy).
    task_options : dict
        Passed to :func:`brianmodes.tasks.make_task` (e.g. ``{"n_steps": 20}``).
    data_dir : str, optional
        MNIST folder (mnist task). Not part of the run's identity.

    Examples
    --------
    >>> RunConfig("digits", N=30, P=2, batches=50, task_options={"n_steps": 20}).run_id
    'digits-N30-P2-modes-seed0-b50-T20'
    """

    task: str
    N: int
    P: int
    parametrization: str = "modes"
    seed: int = 0
    batches: int | None = None
    batch_size: int | None = None
    lr: float = 1e-3
    brian2: bool = False
    eval_trials: int | None = None
    brian2_trials: int | None = None
    task_options: dict = dataclasses.field(default_factory=dict)
    data_dir: str | None = None

    def __post_init__(self):
        from ..network import PARAMETRIZATIONS
        from ..tasks import TASKS

        choice(self.task, "task", tuple(TASKS))
        for name in ("N", "P"):
            positive_int(getattr(self, name), name)
        choice(self.parametrization, "parametrization", PARAMETRIZATIONS)
        integer(self.seed, "seed", 0)
        if self.batches is None:
            object.__setattr__(self, "batches", TASKS[self.task].default_batches)
        integer(self.batches, "batches", 1)
        for name in ("batch_size", "eval_trials", "brian2_trials"):
            positive_int(getattr(self, name), name, none=True)
        number(self.lr, "lr", positive=True)
        if not isinstance(self.brian2, bool):
            raise BrianModesError(f"brian2 must be true or false, got {self.brian2!r}")
        self._check_task_options()
        reads_files = TASKS[self.task].needs_data_dir
        if reads_files and not self.data_dir:
            raise BrianModesError(f"the {self.task} task needs data_dir: the folder with its files "
                                  "(--data-dir, or data_dir in the configuration)")
        if not reads_files and self.data_dir:
            raise BrianModesError(f"data_dir is only used by tasks that read files, not {self.task} (run {self.run_id})")
        if self.data_dir is not None:  # workers may start elsewhere: an absolute path where it exists here
            path = Path(self.data_dir).expanduser()
            object.__setattr__(self, "data_dir", str(path.resolve() if path.exists() else path))

    def _check_task_options(self):
        if not isinstance(self.task_options, dict):
            raise BrianModesError(f"task_options must be a mapping, got {self.task_options!r}")
        for key, value in self.task_options.items():
            if key in ("name", "data_dir") or not isinstance(key, str):
                raise BrianModesError(f"task_options cannot set {key!r}; use the run's own fields")
            if not isinstance(value, (int, float, str, bool)) and value is not None:
                raise BrianModesError(f"task option {key!r} must be a number or a string, got {value!r}")

    @property
    def run_id(self):
        """A stable, readable name made of everything that changes the result."""
        parts = [self.task, f"N{self.N}", f"P{self.P}", self.parametrization, f"seed{self.seed}",
                 f"b{self.batches}"]
        if self.batch_size is not None:
            parts.append(f"bs{self.batch_size}")
        if self.lr != 1e-3:
            parts.append(f"lr{self.lr:g}")
        for key, value in sorted(self.task_options.items()):
            parts.append(f"{_OPTION_TAGS.get(key, key + '=')}{value}")
        if self.eval_trials is not None:
            parts.append(f"e{self.eval_trials}")
        if self.brian2:
            parts.append("brian2" if self.brian2_trials is None else f"brian2x{self.brian2_trials}")
        return re.sub(r"[^A-Za-z0-9.=_+-]", "_", "-".join(parts))

    def to_dict(self):
        """The configuration as a JSON-serializable dict (inverse: ``RunConfig(**d)``)."""
        return dataclasses.asdict(self)

    def make_task(self):
        """The task of this run."""
        from ..tasks import make_task

        options = dict(self.task_options)
        if self.data_dir is not None:
            options["data_dir"] = self.data_dir
        return make_task(self.task, **options)

    def train_command(self):
        """The ``brianmodes train`` command that trains the same network (for the model card)."""
        words = ["brianmodes", "train", self.task, "--N", str(self.N), "--P", str(self.P),
                 "--parametrization", self.parametrization, "--seed", str(self.seed),
                 "--batches", str(self.batches)]
        if self.batch_size is not None:
            words += ["--batch-size", str(self.batch_size)]
        if self.lr != 1e-3:
            words += ["--lr", f"{self.lr:g}"]
        if "n_steps" in self.task_options:
            words += ["--steps", str(self.task_options["n_steps"])]
        if self.data_dir is not None:
            words += ["--data-dir", "DIR"]
        return " ".join(words)


#: Keys of a configuration (and of a grid; ``seeds`` is accepted for ``seed``).
CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(RunConfig))


def _reads_files(task):
    from ..tasks import TASKS

    return task in TASKS and TASKS[task].needs_data_dir


def expand_grid(spec, data_dir=None):
    """Configurations of a grid: every list value of ``spec`` is one axis of the product.

    Parameters
    ----------
    spec : dict
        Keys of :class:`RunConfig` (``seeds`` may stand for ``seed``); a list
        value is expanded, a scalar is used for every run. ``task_options`` is
        a dict, not expanded.
    data_dir : str, optional
        MNIST folder for mnist runs that name none.

    Returns
    -------
    list of RunConfig

    Examples
    --------
    >>> [c.run_id for c in expand_grid({"task": "digits", "N": 30, "P": [1, 3], "seeds": [0, 1],
    ...                                 "batches": 10})]   # doctest: +NORMALIZE_WHITESPACE
    ['digits-N30-P1-modes-seed0-b10', 'digits-N30-P1-modes-seed1-b10',
     'digits-N30-P3-modes-seed0-b10', 'digits-N30-P3-modes-seed1-b10']
    """
    if not isinstance(spec, dict):
        raise BrianModesError(f"a grid is a mapping of configuration keys to values, got {type(spec).__name__}")
    spec = dict(spec)
    if "seeds" in spec:
        if "seed" in spec:
            raise BrianModesError("give either seed or seeds, not both")
        spec["seed"] = spec.pop("seeds")
    unknown = set(spec) - set(CONFIG_KEYS)
    if unknown:
        raise BrianModesError(f"unknown configuration key(s) {', '.join(sorted(map(str, unknown)))}; "
                              f"known: {', '.join(CONFIG_KEYS)} (and seeds)")
    for required in ("task", "N", "P"):
        if required not in spec:
            raise BrianModesError(f"a configuration needs {required!r} (got {', '.join(spec) or 'nothing'})")
    axes = [(key, _as_list(value)) for key, value in spec.items()]
    for key, values in axes:
        if not values:
            raise BrianModesError(f"{key} has no values")
    configs = []
    for combination in itertools.product(*(values for _, values in axes)):
        fields = dict(zip((key for key, _ in axes), combination))
        if _reads_files(fields["task"]) and fields.get("data_dir") is None and data_dir is not None:
            fields["data_dir"] = str(data_dir)
        configs.append(RunConfig(**fields))
    return configs


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def load_configs(path, data_dir=None):
    """Configurations from a YAML or JSON file: one grid (a mapping) or a list of grids.

    Examples
    --------
    A file ``sweep.yaml``::

        task: mnist
        data_dir: ../shared/data/mnist
        N: [30, 50, 100]
        P: [1, 3, 10]
        seeds: [0]
        batches: 3000
        brian2: true

    >>> configs = load_configs("sweep.yaml")                               # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise BrianModesError(f"no such configuration file: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise BrianModesError("reading YAML needs PyYAML: pip install 'brianmodes[distributed]', "
                                      "or write the configurations as JSON") from None
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except BrianModesError:
        raise
    except Exception as err:  # noqa: BLE001 - any parse error is a bad file for the user
        raise BrianModesError(f"cannot read configurations from {path} ({type(err).__name__}: {err})") from None
    return configs_from(data, data_dir=data_dir, where=str(path))


def configs_from(configs, data_dir=None, where="configurations"):
    """Normalize what :func:`sweep` accepts into a list of :class:`RunConfig` without duplicates.

    ``configs`` may be a :class:`RunConfig`, a grid (dict), a list of either,
    or the path of a YAML/JSON file.
    """
    if isinstance(configs, (str, os.PathLike)):
        return load_configs(configs, data_dir=data_dir)
    items = configs if isinstance(configs, (list, tuple)) else [configs]
    runs = []
    for k, item in enumerate(items):
        if isinstance(item, RunConfig):
            runs.append(item)
        elif isinstance(item, dict):
            try:
                runs += expand_grid(item, data_dir=data_dir)
            except BrianModesError as err:
                raise BrianModesError(f"{where}, entry {k + 1}: {err}") from None
        else:
            raise BrianModesError(f"{where}, entry {k + 1}: expected a mapping of configuration keys, "
                                  f"got {item!r}")
    if not runs:
        raise BrianModesError(f"{where}: no runs")
    unique = {}
    for run in runs:
        unique.setdefault(run.run_id, run)  # the same run asked for twice is run once
    return list(unique.values())
