"""Sweeps over N, P, seeds (and more) on Dask distributed, from a laptop to a cluster.

A sweep is a list of run configurations (or a grid that expands to one). Every
run trains a network, evaluates it on its task's held-out trials and, if asked,
validates it in Brian2; it runs as one Dask task on a ``LocalCluster`` (one
worker per core, one BLAS thread each) or on an existing cluster
(``scheduler="tcp://host:port"``).

Results are data. Under the results folder ``OUT``::

    OUT/runs/RUN_ID/      model.npz, card.json, metrics.json, history.csv, config.json
    OUT/results.csv       one row per run of the sweep (tidy: config columns, metrics, status)
    OUT/accuracy_vs_P.png accuracy against P, one line per N (classification tasks)
    OUT/failures.jsonl    one line per failed attempt (run id, attempt, error, traceback)
    OUT/sweep.json        the configurations of the last invocation
    OUT/checkpoints/      training checkpoints of unfinished runs (a retried run resumes)
    OUT/brian2-builds/    compiled C++ standalone programs, one per network structure

A run writes into ``OUT/runs/.tmp-RUN_ID-<random suffix>`` and renames it to
``OUT/runs/RUN_ID`` only when everything is written, so a run folder is
either complete or absent; a finished run is one whose folder holds
``metrics.json``. Running the same sweep again skips finished runs; a failing
run is recorded and retried without stopping the others; a killed worker's
run is rescheduled by Dask and resumes from its last training checkpoint.

Examples
--------
>>> configs = expand_grid({"task": "mnist", "N": [30, 100], "P": [1, 3], "seed": 0, "batches": 3000,
...                        "data_dir": "data/mnist"})
>>> [c.run_id for c in configs][:2]
['mnist-N30-P1-modes-seed0-b3000', 'mnist-N30-P3-modes-seed0-b3000']
>>> table = sweep(configs, "runs/sweep-mnist", n_workers=2)             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import gc
import hashlib
import itertools
import json
import os
import re
import shutil
import socket
import threading
import time
import traceback
import uuid
from pathlib import Path

import numpy as np

from .checks import choice, integer, number, positive_int
from .errors import BrianModesError
from .threads import blas_limit, blas_threads

RUNS = "runs"
TMP_PREFIX = ".tmp-"
CHECKPOINTS = "checkpoints"
BUILDS = "brian2-builds"
TABLE = "results.csv"
FAILURES = "failures.jsonl"
#: Environment variables that set the threads of numpy's BLAS/OpenMP in a worker.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Short names of task options in run ids.
_OPTION_TAGS = {"n_steps": "T", "n_train": "ntrain", "switch_prob": "switch"}
#: Brian2's device is global to a process: one validation at a time per process.
_BRIAN2_LOCK = threading.Lock()


# --------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------
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
        from .network import PARAMETRIZATIONS
        from .tasks import TASKS

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
        from .tasks import make_task

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
    from .tasks import TASKS

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


# --------------------------------------------------------------------------
# One run (executed on a worker)
# --------------------------------------------------------------------------
def run_one(config, out, blas_threads=1):
    """Train, evaluate and (optionally) validate one run; publish its folder atomically.

    This is the Dask task of a sweep; it is a plain function, usable alone.

    Parameters
    ----------
    config : dict or RunConfig
    out : path
        The sweep's results folder.
    blas_threads : int or None
        Threads numpy's BLAS may use during the run (``None``: leave as is).

    Returns
    -------
    dict
        The run's row of the results table.

    Examples
    --------
    >>> import tempfile
    >>> row = run_one({"task": "digits", "N": 20, "P": 2, "batches": 3, "eval_trials": 50,
    ...                "task_options": {"n_steps": 10}}, tempfile.mkdtemp())
    >>> row["status"], sorted(p.name for p in Path(row["path"]).iterdir())
    ('done', ['card.json', 'config.json', 'history.csv', 'metrics.json', 'model.npz'])
    """
    cfg = config if isinstance(config, RunConfig) else RunConfig(**config)
    out = Path(out)
    final = out / RUNS / cfg.run_id
    if is_finished(final):  # finished meanwhile (e.g. by a duplicate of this task)
        return _row_from_folder(final, cfg, ran=False)
    tmp = out / RUNS / f"{TMP_PREFIX}{cfg.run_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        with blas_limit(blas_threads):
            net, metrics, history = _train_and_evaluate(cfg, out)
        _write_run_folder(tmp, cfg, net, metrics, history)
        published = _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if published:
        with contextlib.suppress(FileNotFoundError):
            (out / CHECKPOINTS / f"{cfg.run_id}.npz").unlink()
    return _row_from_folder(final, cfg, ran=published)


def is_finished(folder):
    """Whether ``folder`` is a finished run (it holds ``metrics.json``)."""
    return (Path(folder) / "metrics.json").is_file()


def _train_and_evaluate(cfg, out):
    from .train.trainer import Trainer

    t_start = time.perf_counter()
    task = cfg.make_task()
    net = task.make_network(N=cfg.N, P=cfg.P, seed=cfg.seed, parametrization=cfg.parametrization)
    checkpoint = out / CHECKPOINTS / f"{cfg.run_id}.npz"
    resumed_from = _checkpoint_step(checkpoint)
    trainer = Trainer(n_batches=cfg.batches, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                      checkpoint=checkpoint, checkpoint_every=100, progress=False)
    t0 = time.perf_counter()
    trainer.fit(net, task, resume=True)
    train_seconds = time.perf_counter() - t0
    metrics = task.evaluate(net, n_trials=cfg.eval_trials)
    if cfg.brian2:
        brian2 = validate_brian2(net, task, out / BUILDS, n_trials=cfg.brian2_trials or cfg.eval_trials)
        metrics.update({f"brian2_{key}": value for key, value in brian2.items()})
    metrics.update(train_seconds=round(train_seconds, 3), seconds=round(time.perf_counter() - t_start, 3),
                   resumed_from_batch=resumed_from, blas_threads=blas_threads(), host=socket.gethostname(),
                   pid=os.getpid(), worker=_worker_address(),
                   date=datetime.datetime.now().isoformat(timespec="seconds"))
    net.metadata.update(task=task.config(), trainer=trainer.get_params(), batches=cfg.batches,
                        train_seconds=round(train_seconds, 2), command=cfg.train_command(),
                        sweep_run=cfg.run_id, date=metrics["date"], brianmodes=_version(),
                        metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    return net, metrics, trainer.history_


def _checkpoint_step(path):
    if not path.exists():
        return 0
    from .io import read_npz_checked

    try:
        step = read_npz_checked(path, schema="brianmodes.checkpoint")[0].get("step")
        if isinstance(step, int) and not isinstance(step, bool):
            return step
        raise BrianModesError(f"checkpoint {path} has no step")
    except BrianModesError:  # damaged: start again
        path.unlink()
        return 0


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def _version():
    from . import __version__

    return __version__


def model_card(cfg, net, metrics):
    """A model card (JSON-serializable dict) for a network trained by a sweep run."""
    from .tasks import TASKS

    data = TASKS[cfg.task].data_description
    task = {k: v for k, v in net.metadata["task"].items() if k != "data_dir"}
    return {
        "name": cfg.run_id,
        "description": f"{cfg.task} task, N={net.N} {net.neuron} neurons, P={net.P} modes, "
                       f"{net.parametrization} parametrization, "
                       + (f"{net.discretization} discretization" if net.discretization else f"model {net.model.name}"),
        "config": net.config(),
        "neuron_model": net.model.to_dict(),
        "task": task,
        "data": data,
        "training_command": cfg.train_command(),
        "sweep_config": {k: v for k, v in cfg.to_dict().items() if k != "data_dir"},
        "trainer": net.metadata.get("trainer"),
        "batches": cfg.batches,
        "train_seconds": metrics["train_seconds"],
        "trained": metrics["date"],
        "metrics_held_out": {k: v for k, v in metrics.items() if not k.startswith("brian2_")
                             and k in ("accuracy", "mse", "decision_accuracy", "n_trials", "rate_hz")},
        "metrics_brian2": {k[len("brian2_"):]: v for k, v in metrics.items() if k.startswith("brian2_")} or None,
        "evaluate_command": "brianmodes evaluate model.npz" + (" --data-dir DIR" if cfg.data_dir is not None else ""),
        "brianmodes": _version(),
    }


def _write_run_folder(folder, cfg, net, metrics, history):
    from .io import save
    from .train.trainer import write_history_csv

    save(net, folder / "model.npz")
    write_history_csv(folder / "history.csv", history)
    _write_text(folder / "config.json", json.dumps(cfg.to_dict(), indent=2))
    _write_text(folder / "card.json", json.dumps(model_card(cfg, net, metrics), indent=2))
    _write_text(folder / "metrics.json", json.dumps({"run_id": cfg.run_id, **metrics}, indent=2))  # last



def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


def _write_atomic(path, text):
    """Replace ``path`` by ``text`` atomically (temporary file + rename)."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    _write_text(tmp, text)
    os.replace(tmp, path)


def _publish(tmp, final):
    """Rename the complete folder into place; False if another attempt published first."""
    if final.exists() and not is_finished(final):  # not a run of ours (no metrics.json): set it aside
        os.rename(final, final.with_name(f"{TMP_PREFIX}{final.name}-unfinished-{uuid.uuid4().hex[:8]}"))
    try:
        os.rename(tmp, final)
    except OSError:
        if not is_finished(final):
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    with contextlib.suppress(OSError):  # make the rename durable
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return True


# --------------------------------------------------------------------------
# Brian2 validation with one compiled program per network structure
# --------------------------------------------------------------------------
@contextlib.contextmanager
def file_lock(path, shared=False):
    """An advisory lock on ``path`` between processes (``fcntl.flock``): shared or exclusive.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.lock")
    >>> with file_lock(path, shared=True), file_lock(path, shared=True):
    ...     pass
    """
    import fcntl

    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def structure_key(net, n_trials, n_steps, recurrence="modes", input_kind="spikes"):
    """Name of the compiled program for ``net``'s structure: everything but its weights.

    Two networks with the same key run in the same C++ standalone program;
    their weights are passed to it with ``run_args``.

    Examples
    --------
    >>> from brianmodes import ModeNetwork
    >>> a, b = (ModeNetwork(N=20, P=2, N_in=3, N_out=1, seed=s) for s in (0, 1))
    >>> structure_key(a, 10, 50) == structure_key(b, 10, 50) != structure_key(a, 10, 60)
    True
    """
    import brian2

    description = {"network": net.config(), "n_trials": int(n_trials), "n_steps": int(n_steps),
                   "recurrence": recurrence, "input_kind": input_kind, "brian2": brian2.__version__}
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:12]
    return f"N{net.N}-P{net.P}-{net.parametrization}-B{n_trials}-T{n_steps}-{digest}"


def _standalone_runner_class():
    from .brian.standalone import StandaloneRunner

    class SharedStandaloneRunner(StandaloneRunner):
        """A :class:`~brianmodes.brian.StandaloneRunner` whose program is shared between processes.

        The program for a network structure (:func:`structure_key`) is built in
        ``root/KEY`` under an exclusive file lock: the first process compiles
        it, later ones regenerate identical code and find ``make`` has nothing
        to do. Weights (``lam``, ``xi_in``, ``xi_out``, ``W_out``; ``W`` for the
        dense recurrence) and inputs go to the program with ``run_args``, each
        run in its own results directory, under a shared lock (a rebuild waits
        for runs in progress). The input ``TimedArray`` has a fixed name so that
        the code is the same in every process.
        """

        def __init__(self, net, root, n_trials, n_steps, recurrence="modes", input_kind="spikes"):
            import brian2 as b2
            from brian2.devices.device import device, reset_device, set_device

            from .brian.circuit import BrianCircuit

            root = Path(root)
            root.mkdir(parents=True, exist_ok=True)
            self.key = structure_key(net, n_trials, n_steps, recurrence, input_kind)
            self.directory, self._lock = root / self.key, root / f"{self.key}.lock"
            self.n_steps, self._own_dir, self.net = int(n_steps), False, net
            gc.collect()  # drop Brian2 objects of earlier runs (their names would clash)
            t0 = time.perf_counter()
            with file_lock(self._lock):
                marker = self.directory / "brianmodes-build.ok"
                self.reused = marker.exists()
                if self.directory.exists() and not self.reused:  # a build that did not finish
                    shutil.rmtree(self.directory)
                marker.unlink(missing_ok=True)
                set_device("cpp_standalone", build_on_run=False)
                try:
                    device.reinit()
                    device.activate(build_on_run=False)
                    self.circuit = BrianCircuit(net, n_trials=n_trials, recurrence=recurrence,
                                                input_kind=input_kind)
                    self._timed = self.circuit.namespace["input_current"] = b2.TimedArray(
                        np.zeros((self.n_steps, net.N * self.circuit.B)), dt=self.circuit.dt * b2.second,
                        name="sweep_input_jumps")
                    self.circuit.network.run(self.n_steps * self.circuit.dt * b2.second, namespace={})
                    device.build(directory=str(self.directory), run=False, with_output=False)
                except Exception as err:
                    device.reinit()
                    reset_device()
                    if "ompil" in str(err) or "make" in str(err):
                        raise BrianModesError(f"C++ standalone compilation failed ({err})") from None
                    raise
                marker.write_text(self.key + "\n")
            self.build_seconds = time.perf_counter() - t0
            self._device = device

        def _weights(self, net):
            c, B = self.circuit, self.circuit.B
            if c.recurrence == "dense":
                args = {c.recurrent.w: np.tile(net.W.T.reshape(-1), B)}
            else:
                args = {c.modes.lam: np.tile(net.lam, B), c.to_modes.loading: np.tile(net.xi_out.reshape(-1), B),
                        c.from_modes.loading: np.tile(net.xi_in.T.reshape(-1), B)}
            args[c.to_readout.w_out] = np.tile(net.W_out.T.reshape(-1), B)
            return {key: np.asarray(value, dtype=np.float64) for key, value in args.items()}

        def run(self, inputs, net=None):
            """Run the program on inputs ``(n_steps, n_trials, N_in)`` with ``net``'s weights."""
            net = self.net if net is None else net
            if net.config() != self.net.config():
                raise BrianModesError("this program was built for a network of another structure")
            x = np.asarray(inputs)
            if x.ndim != 3 or x.shape[0] != self.n_steps:
                raise BrianModesError(f"this program was compiled for {self.n_steps} steps; "
                                      f"got inputs of shape {x.shape}")
            self.circuit.net = net  # W_in: the input jumps are computed here
            run_args = {self._timed: self.circuit.input_jumps(x), **self._weights(net)}
            results = f"results-{uuid.uuid4().hex[:12]}"
            with file_lock(self._lock, shared=True):
                try:
                    self._device.run(directory=str(self.directory), results_directory=results,
                                     with_output=False, run_args=run_args)
                    return self.circuit.collect(self.n_steps)
                finally:
                    self._remove_run_args()
                    shutil.rmtree(self.directory / results, ignore_errors=True)

        def _remove_run_args(self):
            for name in self._device.run_args_arrays:
                for path in (self.directory / "static_arrays" / name,
                             self.directory / "static_arrays" / f"{name}.lock"):
                    path.unlink(missing_ok=True)
            self._device.run_args_arrays.clear()

    return SharedStandaloneRunner


def validate_brian2(net, task, builds, n_trials=None, batch_size=500, seed=0):
    """Metrics of ``net`` on ``task``'s held-out trials in Brian2, with a shared compiled program.

    The same held-out trials and input spikes as :meth:`Task.evaluate` and
    :func:`brianmodes.brian.evaluate_brian2` draw for ``seed``, simulated at
    the model's ``dt`` with the mode recurrence (dense for full-rank
    networks) by a C++ standalone program in ``builds/KEY`` that every run of
    the same structure shares (see :func:`structure_key`).

    Returns
    -------
    dict
        The task's metrics, ``n_trials``, ``rate_hz``, ``seconds``,
        ``build_seconds`` and ``program`` (``'compiled'`` or ``'reused'``).

    Examples
    --------
    >>> metrics = validate_brian2(net, task, "runs/sweep/brian2-builds")   # doctest: +SKIP
    """
    from .tasks.base import TrialAverages

    task.check_network(net)
    recurrence = "dense" if net.parametrization == "full" else "modes"
    n_total = task.n_test_trials(n_trials)
    B = int(min(batch_size, n_total))
    t0 = time.perf_counter()
    with _BRIAN2_LOCK:
        runner = _standalone_runner_class()(net, builds, n_trials=B, n_steps=task.n_steps,
                                            recurrence=recurrence, input_kind=task.input_kind)
        averages = TrialAverages()
        try:
            for batch in task.test_batches(batch_size=B, n_trials=n_trials, seed=seed):
                x = batch.inputs
                if batch.size < B:  # pad the last batch with silent trials, dropped below
                    x = np.concatenate([x, np.zeros((x.shape[0], B - batch.size, x.shape[2]), x.dtype)], axis=1)
                result = runner.run(x)
                outputs = result.outputs[:, :batch.size] if net.readout == "per_step" else \
                    result.outputs[:batch.size]
                averages.add(task.trial_metrics(outputs, batch), batch.size, result.spikes[:, :batch.size].sum())
        finally:
            runner.close()
    metrics = averages.result(net, task.n_steps)
    metrics.update(seconds=round(time.perf_counter() - t0, 3), build_seconds=round(runner.build_seconds, 3),
                   program="reused" if runner.reused else "compiled")
    return metrics


# --------------------------------------------------------------------------
# The sweep (driver)
# --------------------------------------------------------------------------
class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; ``result`` holds the table of what had finished."""

    def __init__(self, result):
        super().__init__("sweep interrupted")
        self.result = result


@dataclasses.dataclass
class SweepResult:
    """The table of a sweep (one row per run) and what this invocation did.

    Attributes
    ----------
    rows : list of dict
        One row per run, in the order of the configurations: ``run_id``,
        ``status`` ('done' or 'failed'), the configuration, the metrics
        (Brian2's prefixed ``brian2_``), ``ran`` (trained by this invocation),
        ``attempts``, ``error`` and ``path``.
    table : Path
        The CSV file of ``rows``.
    figures : list of Path
    n_submitted, n_skipped, n_failed : int
        Runs submitted to Dask, runs already finished before, runs that
        failed after all their attempts.
    seconds : float
    """

    rows: list
    table: Path
    figures: list
    n_submitted: int
    n_skipped: int
    n_failed: int
    seconds: float

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def to_pandas(self):
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas

        return pandas.DataFrame(self.rows)

    def __repr__(self):
        done = sum(r["status"] == "done" for r in self.rows)
        return (f"SweepResult({len(self.rows)} runs: {done} done ({self.n_skipped} already before), "
                f"{self.n_failed} failed; table {self.table})")


def sweep(configs, out, scheduler=None, n_workers=None, retries=1, progress=True, client=None,
          data_dir=None, blas_threads=1, callback=None):
    """Run a sweep of configurations on Dask; returns the results table.

    Parameters
    ----------
    configs : dict, RunConfig, list of them, or path
        A grid (see :func:`expand_grid`), configurations, or a YAML/JSON file.
    out : path
        Results folder (created; on a cluster, a folder every worker sees at
        the same path).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``). Default: a
        ``LocalCluster`` on this machine (see :func:`make_local_cluster`).
    n_workers : int, optional
        Workers of the local cluster (default: one per core).
    retries : int
        Further attempts for a run that fails (its error is recorded each time).
    progress : bool
        Progress bar (runs done / total, ETA) and one line per finished run.
    client : distributed.Client, optional
        Use this client instead of making one.
    data_dir : path, optional
        MNIST folder for mnist runs that name none.
    blas_threads : int
        BLAS/OpenMP threads per run (1: workers do not oversubscribe cores).
    callback : callable, optional
        Called with each finished or failed row, as it arrives.

    Returns
    -------
    SweepResult

    Raises
    ------
    BrianModesError
        Bad configurations, a busy results folder, no Dask, an unreachable scheduler.
    SweepInterrupted
        On Ctrl-C, after writing the table of the runs that finished.

    Notes
    -----
    The local cluster starts its workers as new Python processes that import
    the main module: a script that calls ``sweep`` needs the
    ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> result = sweep({"task": "digits", "N": [30, 50], "P": [1, 3], "seeds": [0, 1], "batches": 200},
    ...                "runs/sweep-digits", n_workers=2)                      # doctest: +SKIP
    >>> result.to_pandas().groupby(["N", "P"]).accuracy.mean()              # doctest: +SKIP
    """
    runs = configs_from(configs, data_dir=data_dir)
    integer(retries, "retries", 0)
    if scheduler is not None and (n_workers is not None or client is not None):
        raise BrianModesError("n_workers (and client) apply to a local cluster; with a scheduler address, "
                              "the cluster's workers are used")
    if n_workers is not None:
        integer(n_workers, "n_workers", 1)
    integer(blas_threads, "blas_threads", 1)
    t0 = time.perf_counter()
    out = Path(out).resolve()
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    with _sweep_lock(out):
        remove_temporary(out)
        _write_atomic(out / "sweep.json", json.dumps({
            "written": datetime.datetime.now().isoformat(timespec="seconds"),
            "configs": [run.to_dict() for run in runs]}, indent=2))
        todo = [run for run in runs if not is_finished(out / RUNS / run.run_id)]
        outcome = _Outcome()
        interrupted = False
        if todo:
            try:
                with _connect(client, scheduler, n_workers, blas_threads) as dask_client:
                    _run_all(dask_client, todo, runs, out, retries, blas_threads, progress, callback, outcome)
            except KeyboardInterrupt:
                interrupted = True
        remove_temporary(out)
        result = _finish(out, runs, outcome, len(todo), len(runs) - len(todo), time.perf_counter() - t0)
    if interrupted:
        raise SweepInterrupted(result)
    return result


class _Outcome:
    """What the driver learnt in this invocation: rows by run id and errors of failed runs."""

    def __init__(self):
        self.rows, self.failed, self.attempts = {}, {}, {}


def make_local_cluster(n_workers=None, blas_threads=1, host="127.0.0.1", **kwargs):
    """A Dask ``LocalCluster`` for sweeps: one process per worker, one thread each, 1 BLAS thread.

    Parameters
    ----------
    n_workers : int, optional
        Default: the cores this process may use.
    blas_threads : int
        Set as ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``
        in the workers' environment before they start.
    host : str
        Loopback by default: nothing listens on the network.
    **kwargs
        Passed to ``distributed.LocalCluster`` (e.g. ``dashboard_address=":8787"``).

    Examples
    --------
    >>> from distributed import Client                                       # doctest: +SKIP
    >>> client = Client(make_local_cluster(2))                               # doctest: +SKIP
    """
    distributed = _import_distributed()
    import dask

    n_workers = n_workers or len(os.sched_getaffinity(0))
    env = {name: str(blas_threads) for name in THREAD_VARIABLES}
    kwargs.setdefault("dashboard_address", ":0")  # any free port (the default 8787 may be taken)
    # BLAS reads these when numpy loads, so they must be in the environment a worker is spawned
    # with. Dask's nanny takes them from its "pre-spawn-environ" setting, where variables already
    # set in this process (say, OPENBLAS_NUM_THREADS=2) win: set both while the nannies start.
    pre_spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **env}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn}), _environment(env):
        return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host=host,
                                        env=env, **kwargs)


@contextlib.contextmanager
def _environment(variables):
    """Set environment variables inside the block; restore them afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise BrianModesError("sweeps run on Dask: pip install 'brianmodes[distributed]'") from None
    return distributed


@contextlib.contextmanager
def _connect(client, scheduler, n_workers, blas_threads):
    if client is not None:
        yield client
        return
    distributed = _import_distributed()
    if scheduler is not None:
        try:
            dask_client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise BrianModesError(f"cannot connect to the Dask scheduler at {scheduler} "
                                  f"({type(err).__name__}: {err})") from None
        try:
            yield dask_client
        finally:
            dask_client.close()
        return
    cluster = make_local_cluster(n_workers, blas_threads)
    dask_client = distributed.Client(cluster)
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


@contextlib.contextmanager
def _sweep_lock(out):
    import fcntl

    with open(out / ".sweep.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BrianModesError(f"another sweep is running in {out}; wait for it or use another "
                                  "results folder") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def remove_temporary(out):
    """Remove half-written run folders (``OUT/runs/.tmp-*``) and files left by killed or interrupted runs.

    Returns the number removed. Called by :func:`sweep` before and after its
    runs, while it holds the results folder's lock.
    """
    count = 0
    for path in (Path(out) / RUNS).glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True)
        count += 1
    for path in [*Path(out).glob(f"{TMP_PREFIX}*"), *(Path(out) / CHECKPOINTS).glob("*.tmp")]:
        path.unlink(missing_ok=True)  # table files being replaced; checkpoints being written
    return count


def _brian2_plugin():
    """A worker plugin that imports Brian2 in the worker's main thread.

    Importing Brian2 installs a SIGINT handler, which Python allows only in
    the main thread; Dask runs tasks in other threads.
    """
    from distributed import WorkerPlugin

    class ImportBrian2(WorkerPlugin):
        name = "brianmodes-import-brian2"

        def setup(self, worker):
            with contextlib.suppress(ValueError):  # not the main thread: the task will say so
                import brian2  # noqa: F401

    return ImportBrian2()


def _run_all(client, todo, runs, out, retries, blas_threads, progress, callback, outcome):
    from distributed import as_completed
    from tqdm.auto import tqdm

    if any(run.brian2 for run in todo):
        import brian2  # noqa: F401  (here, in the main thread, for clusters of threads in this process)

        client.register_plugin(_brian2_plugin())

    def submit(run, attempt):
        outcome.attempts[run.run_id] = attempt
        future = client.submit(run_one, run.to_dict(), str(out), blas_threads, pure=False,
                               key=f"brianmodes-{run.run_id}-attempt{attempt}-{uuid.uuid4().hex[:6]}")
        pending[future] = (run, attempt)
        return future

    pending = {}
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="sweep", unit="run", smoothing=0,
               disable=not progress)
    completed = as_completed([submit(run, 1) for run in todo])
    try:
        for future in completed:
            run, attempt = pending.pop(future)
            if future.status == "finished":
                row = future.result()
                row["attempts"] = attempt
                outcome.rows[run.run_id] = row
                _report(bar, progress, row, callback)
                continue
            error = future.exception() if future.status == "error" else RuntimeError(f"task {future.status}")
            _record_failure(out, run, attempt, error, future.traceback() if future.status == "error" else None)
            if attempt <= retries:
                completed.add(submit(run, attempt + 1))
                if progress:
                    bar.write(f"retrying {run.run_id} (attempt {attempt + 1} of {retries + 1}): {_one_line(error)}")
                continue
            outcome.failed[run.run_id] = _one_line(error)
            _report(bar, progress, _failed_row(run, _one_line(error), attempt), callback)
    finally:
        bar.close()
        if pending:  # interrupted: what is still queued is not wanted (a running task may finish)
            with contextlib.suppress(Exception):
                client.cancel(list(pending))


def _report(bar, progress, row, callback):
    bar.update(1)
    if progress:
        bar.write(_summary_line(row))
    if callback is not None:
        callback(row)


def _summary_line(row):
    if row["status"] != "done":
        return f"failed {row['run_id']} after {row['attempts']} attempt(s): {row['error']}"
    parts = [f"done   {row['run_id']}"]
    for key in ("accuracy", "decision_accuracy", "brian2_accuracy", "brian2_decision_accuracy"):
        if isinstance(row.get(key), float):
            parts.append(f"{key} {100 * row[key]:.2f} %")
    if isinstance(row.get("seconds"), float):
        parts.append(f"{row['seconds']:.0f} s")
    return ", ".join(parts)


def _one_line(error):
    text = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    return " ".join(text.split())


def _record_failure(out, run, attempt, error, tb):
    entry = {"run_id": run.run_id, "attempt": attempt, "error": _one_line(error),
             "traceback": "".join(traceback.format_tb(tb))[-4000:] if tb is not None else None,
             "time": datetime.datetime.now().isoformat(timespec="seconds")}
    with open(out / FAILURES, "a") as f:
        f.write(json.dumps(entry) + "\n")


# --------------------------------------------------------------------------
# The table and the figure
# --------------------------------------------------------------------------
_FIRST_COLUMNS = ("run_id", "status", "task", "N", "P", "parametrization", "seed", "batches", "batch_size", "lr",
                  "brian2", "eval_trials", "brian2_trials", "task_options")
_LAST_COLUMNS = ("ran", "attempts", "error", "path")


def _config_columns(run):
    columns = {k: v for k, v in run.to_dict().items() if k != "data_dir"}
    columns["task_options"] = json.dumps(run.task_options, sort_keys=True) if run.task_options else ""
    return columns


def _row_from_folder(folder, run, ran):
    metrics = json.loads((Path(folder) / "metrics.json").read_text())
    metrics.pop("run_id", None)
    return {"run_id": run.run_id, "status": "done", **_config_columns(run), **metrics, "ran": ran,
            "attempts": None, "error": "", "path": str(folder)}


def _failed_row(run, error, attempts):
    return {"run_id": run.run_id, "status": "failed", **_config_columns(run), "ran": True,
            "attempts": attempts, "error": error, "path": ""}


def _finish(out, runs, outcome, n_submitted, n_skipped, seconds):
    rows = []
    for run in runs:
        folder = out / RUNS / run.run_id
        if is_finished(folder):
            row = _row_from_folder(folder, run, ran=run.run_id in outcome.rows)
            row["attempts"] = outcome.attempts.get(run.run_id) if row["ran"] else None
        elif run.run_id in outcome.failed:
            row = _failed_row(run, outcome.failed[run.run_id], outcome.attempts[run.run_id])
        else:  # interrupted before it finished
            row = {"run_id": run.run_id, "status": "not run", **_config_columns(run), "ran": False,
                   "attempts": outcome.attempts.get(run.run_id), "error": "", "path": ""}
        rows.append(row)
    table = out / TABLE
    write_table(rows, table)
    figures = plot_sweep(rows, out)
    return SweepResult(rows=rows, table=table, figures=figures, n_submitted=n_submitted, n_skipped=n_skipped,
                       n_failed=len(outcome.failed), seconds=seconds)


def write_table(rows, path):
    """Write rows (dicts) as a CSV file atomically, the known columns first."""
    keys = [k for k in _FIRST_COLUMNS if any(k in row for row in rows)]
    for row in rows:
        keys += [k for k in row if k not in keys and k not in _LAST_COLUMNS]
    keys += [k for k in _LAST_COLUMNS if any(k in row for row in rows)]
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def accuracy_table(rows, metric="accuracy", task=None):
    """Mean ``metric`` (in %) over seeds: ``{N: {P: value}}`` of the finished mode-network runs.

    Examples
    --------
    >>> accuracy_table([{"status": "done", "task": "digits", "parametrization": "modes", "N": 30, "P": 1,
    ...                  "accuracy": 0.9}, {"status": "done", "task": "digits", "parametrization": "modes",
    ...                  "N": 30, "P": 1, "accuracy": 0.8}])
    {30: {1: 85.0}}
    """
    values = {}
    for row in rows:
        if row.get("status") != "done" or row.get("parametrization") != "modes" \
                or (task is not None and row.get("task") != task) or not isinstance(row.get(metric), float):
            continue
        values.setdefault(int(row["N"]), {}).setdefault(int(row["P"]), []).append(100 * row[metric])
    return {N: {P: round(float(np.mean(v)), 4) for P, v in sorted(by_P.items())}
            for N, by_P in sorted(values.items())}


def plot_sweep(rows, out):
    """Accuracy against P, one line per N, per classification task (MNIST: published numbers dashed).

    Returns the figure files written (``OUT/accuracy_vs_P.png``, or
    ``OUT/accuracy_vs_P-TASK.png`` when the sweep has several tasks).
    """
    tasks = sorted({row["task"] for row in rows if row["task"] in ("digits", "mnist")})
    if not tasks:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import plot_accuracy_vs_modes
    from .reproduce import PUBLISHED_MNIST

    files = []
    for task in tasks:
        table = accuracy_table(rows, task=task)
        if not table:
            continue
        P_max = max(P for row in table.values() for P in row)
        published = {N: {P: v for P, v in PUBLISHED_MNIST[N].items() if P <= P_max}
                     for N in table if N in PUBLISHED_MNIST} if task == "mnist" else None
        n_seeds = len({row["seed"] for row in rows if row["task"] == task and row["status"] == "done"})
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        plot_accuracy_vs_modes(table, published=published, ax=ax, ylabel="held-out accuracy (%)")
        ax.set_title(f"{'MNIST' if task == 'mnist' else '8×8 digits'}: mean over {n_seeds} "
                     f"seed{'s' if n_seeds > 1 else ''}", fontsize=9)
        path = Path(out) / ("accuracy_vs_P.png" if len(tasks) == 1 else f"accuracy_vs_P-{task}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path)
    return files
