"""The ``brianmodes`` command: train, evaluate, simulate, reproduce, sweep, info, import.

Every user error (bad arguments, missing or damaged files, a diverging run) is
printed as one line ``brianmodes: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .errors import BrianModesError

#: Training budget (batches) and batch size per task when not given.
DEFAULT_BUDGET = {"digits": 2000, "mnist": 3000, "context": 1500}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, ``brianmodes: error: ...`` (exit 2)."""

    def error(self, message):
        self.exit(2, f"brianmodes: error: {message} (see {self.prog} --help)\n")


def _time_arg(text):
    from .network import as_seconds

    try:
        return as_seconds(text if any(c.isalpha() for c in text) else float(text))
    except (BrianModesError, ValueError):
        raise argparse.ArgumentTypeError(f"cannot read {text!r} as a time; write e.g. 2ms, '2 ms' or 0.002 "
                                         "(seconds)") from None


def _positive_time_arg(text):
    value = _time_arg(text)
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive time such as 0.1ms, got {text!r}")
    return value


def _int_at_least(minimum, what):
    """An argparse type: an integer >= ``minimum``, described as ``what`` in the error."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_constants(parser):
    group = parser.add_argument_group("neuron constants (times: '2ms' or seconds)")
    for name, help_text in (("dt", "time step"), ("tau_s", "synaptic time constant"),
                            ("tau_m", "membrane time constant"), ("tau_d", "filter decay"),
                            ("tau_r", "filter rise"), ("t_ref", "refractory period")):
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_time_arg, help=help_text)
    group.add_argument("--v-th", dest="v_th", type=float, help="threshold (reset is 0)")


def _constants(args):
    names = ("dt", "tau_s", "tau_m", "tau_d", "tau_r", "t_ref", "v_th")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def build_parser():
    """The argument parser (exposed for documentation and tests)."""
    from .network import DISCRETIZATIONS, FILTERS, NEURONS, PARAMETRIZATIONS, READOUTS
    from .tasks import TASKS
    from .train import LOSSES, SURROGATES

    parser = _Parser(prog="brianmodes", description=(
        "Spiking mode-based networks: train low-rank recurrent spiking networks with "
        "surrogate-gradient BPTT, evaluate and inspect them."))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a network on a task",
                           description="Train a network on a task; writes model.npz, history.csv, "
                                       "metrics.json and a checkpoint to the output folder.")
    train.add_argument("task", choices=sorted(TASKS), help="digits (built in), mnist (needs --data-dir), context")
    train.add_argument("--N", type=_positive_int, default=100, help="neurons (default 100)")
    train.add_argument("--P", type=_positive_int, default=3, help="modes (default 3)")
    train.add_argument("--parametrization", choices=PARAMETRIZATIONS, default="modes",
                       help="modes (low rank) or full (dense N x N baseline)")
    train.add_argument("--neuron", choices=NEURONS, default="lif", help="lif (spiking) or tanh (rate baseline)")
    train.add_argument("--filter", choices=FILTERS, help="spike filter (default: the task's published one)")
    train.add_argument("--discretization", choices=DISCRETIZATIONS, default="brian2",
                       help="brian2 (default: runs in Brian2 spike for spike) or published (the authors' update)")
    train.add_argument("--batches", type=_positive_int,
                       help="training budget in batches (default: " +
                            ", ".join(f"{k} {v}" for k, v in DEFAULT_BUDGET.items()) + ")")
    train.add_argument("--batch-size", type=_positive_int, help="trials per batch (default: digits 64, mnist 256, context 100)")
    train.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    train.add_argument("--clip", type=_positive_float, default=20.0, help="gradient-norm clipping (default 20)")
    train.add_argument("--surrogate", choices=sorted(SURROGATES), default="fast_sigmoid")
    train.add_argument("--loss", choices=sorted(LOSSES), help="default: the task's")
    train.add_argument("--rate-reg", nargs=2, type=float, metavar=("STRENGTH", "TARGET_HZ"),
                       help="firing-rate penalty")
    train.add_argument("--seed", type=int, default=0, help="seeds initialization and batches (default 0)")
    train.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    train.add_argument("--data-dir", help="folder with the MNIST IDX files (mnist task)")
    train.add_argument("--steps", type=_positive_int, help="time steps per trial (default: the task's)")
    train.add_argument("--switch-prob", type=float, help="context task: probability of a context switch")
    train.add_argument("--eval-every", type=_positive_int, help="evaluate on held-out trials every so many batches")
    train.add_argument("--eval-trials", type=_positive_int, help="held-out trials for periodic evaluation")
    train.add_argument("--checkpoint-every", type=_positive_int, default=100)
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    train.add_argument("--overwrite", action="store_true",
                       help="train afresh into an --out folder that holds a finished or unfinished run "
                            "(its files are replaced when the new run writes them)")
    train.add_argument("--out", help="output folder (default runs/TASK-NN-PP-seedS, followed by every "
                                     "setting that differs from its default, e.g. runs/digits-N100-P3-seed0-tanh)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_constants(train)
    train.set_defaults(train_defaults={name: train.get_default(name) for name in RUN_NAME_SETTINGS})

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on its task's held-out trials")
    evaluate.add_argument("model", help="model .npz file")
    evaluate.add_argument("--data-dir", help="MNIST folder, if different from the one used in training")
    evaluate.add_argument("--trials", type=_positive_int, help="number of held-out trials (default: all / 500)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the input spikes / trials")
    evaluate.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--backend", choices=("numpy", "brian2"), default="numpy",
                          help="numpy engine (default) or a Brian2 simulation")
    evaluate.add_argument("--device", choices=("numpy", "cython", "cpp_standalone"), default="cpp_standalone",
                          help="Brian2 device / code-generation target (with --backend brian2)")
    evaluate.add_argument("--recurrence", choices=("modes", "dense"), default="modes",
                          help="Brian2 recurrence: P mode units (default) or N^2 synapses")
    evaluate.add_argument("--batch-size", type=_positive_int, default=500,
                          help="trials simulated side by side (Brian2: copies of the network)")

    sim = sub.add_parser("simulate", help="simulate a saved model in Brian2 and plot its activity",
                         description="Simulate held-out trials of a model's task in Brian2, write a raster "
                                     "and population-rate figure and a JSON file of results.")
    sim.add_argument("model", help="model .npz file")
    sim.add_argument("--trials", type=_positive_int, default=5, help="number of trials (default 5)")
    sim.add_argument("--device", choices=("numpy", "cython", "cpp_standalone"), default="cython",
                     help="Brian2 device / code-generation target (default cython)")
    sim.add_argument("--dt", type=_positive_time_arg, help="simulation time step, e.g. 0.1ms (default: the model's)")
    sim.add_argument("--recurrence", choices=("modes", "dense"), default="modes")
    sim.add_argument("--plot", help="figure file (PNG, PDF, SVG...)")
    sim.add_argument("--results", help="also write the results (metrics, spike counts, outputs) to this JSON file")
    sim.add_argument("--seed", type=int, default=0, help="seed of the trials and input spikes")
    sim.add_argument("--data-dir", help="MNIST folder, if different from the one used in training")

    rep = sub.add_parser("reproduce", help="run the paper's experiments and write a markdown report",
                         description="Train and analyse the paper's models at a chosen scale (quick: minutes; "
                                     "full: the SPEC tables) and write report.md with our numbers beside the "
                                     "published ones. Finished models in the output folder are reused.")
    rep.add_argument("--scale", choices=("quick", "full", "tiny"), default="quick")
    rep.add_argument("--data-dir", help="MNIST folder (without it, the built-in 8x8 digits stand in)")
    rep.add_argument("--out", help="output folder (default reports/reproduce-SCALE)")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--quiet", action="store_true", help="no progress bars")

    _add_sweep(sub, TASKS, PARAMETRIZATIONS)

    info = sub.add_parser("info", help="describe a saved model")
    info.add_argument("model", help="model .npz file")
    info.add_argument("--json", action="store_true", help="print configuration and metadata as JSON")

    imp = sub.add_parser("import", help="make a model file from plain arrays",
                         description="Build a model from an .npz of arrays: W_in, W_out and either "
                                     "xi_in, lam (or lambda), xi_out, or a dense W.")
    imp.add_argument("arrays", help=".npz file with the arrays")
    imp.add_argument("--out", required=True, help="model file to write")
    imp.add_argument("--filter", choices=FILTERS, default="double")
    imp.add_argument("--readout", choices=READOUTS, default="max")
    imp.add_argument("--neuron", choices=NEURONS, default="lif")
    imp.add_argument("--discretization", choices=DISCRETIZATIONS, default="brian2")
    imp.add_argument("--task", choices=sorted(TASKS), help="the task the weights are for (enables evaluate)")
    imp.add_argument("--data-dir", help="MNIST folder (with --task mnist)")
    _add_constants(imp)
    return parser


def _add_sweep(sub, tasks, parametrizations):
    sweep = sub.add_parser(
        "sweep", help="train a grid of networks (N x P x seeds) on Dask, locally or on a cluster",
        description="Train and evaluate every configuration of a grid (flags) and/or a YAML/JSON file on Dask "
                    "distributed: a local cluster (one worker per core, one BLAS thread each) or --scheduler. "
                    "Each run's folder appears in OUT/runs when it is complete; OUT/results.csv has one row "
                    "per run and OUT/accuracy_vs_P.png the accuracy against P. Running the same command again "
                    "skips finished runs. See docs/sweeps.md.")
    sweep.add_argument("configs", nargs="?", help="YAML or JSON file: a grid (mapping) or a list of grids")
    grid = sweep.add_argument_group("grid from flags (with --task)")
    grid.add_argument("--task", choices=sorted(tasks))
    grid.add_argument("--N", nargs="+", type=_positive_int, default=[100], help="neurons (default 100)")
    grid.add_argument("--P", nargs="+", type=_positive_int, default=[3], help="modes (default 3)")
    grid.add_argument("--seeds", nargs="+", type=_non_negative_int, default=[0], help="seeds (default 0)")
    grid.add_argument("--parametrization", nargs="+", choices=parametrizations, default=["modes"])
    grid.add_argument("--batches", type=_positive_int,
                      help="training budget per run (default: " +
                           ", ".join(f"{k} {v}" for k, v in DEFAULT_BUDGET.items()) + ")")
    grid.add_argument("--batch-size", type=_positive_int, help="trials per batch (default: the task's)")
    grid.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    grid.add_argument("--steps", type=_positive_int, help="time steps per trial (default: the task's)")
    grid.add_argument("--eval-trials", type=_positive_int, help="held-out trials (default: all of the task's)")
    grid.add_argument("--brian2", action="store_true",
                      help="validate every trained network in Brian2 (C++ standalone; one compiled program "
                           "per network structure, shared by its runs)")
    grid.add_argument("--brian2-trials", type=_positive_int, help="held-out trials in Brian2 (default: as numpy)")
    sweep.add_argument("--data-dir", help="MNIST folder (for mnist runs that name none)")
    sweep.add_argument("--out", default="runs/sweep", help="results folder (default runs/sweep)")
    sweep.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                                           "(default: a local cluster)")
    sweep.add_argument("--workers", type=_positive_int, help="workers of the local cluster (default: one per core)")
    sweep.add_argument("--retries", type=_non_negative_int, default=1,
                       help="further attempts for a failing run (default 1)")
    sweep.add_argument("--blas-threads", type=_positive_int, default=1, help="BLAS threads per run (default 1)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")


def _task_from_args(args):
    from .tasks import make_task

    kwargs = {}
    if args.task == "mnist":
        kwargs["data_dir"] = args.data_dir
    elif args.data_dir:
        raise BrianModesError("--data-dir is only used by the mnist task")
    if args.steps:
        kwargs["n_steps"] = args.steps
    if args.switch_prob is not None:
        if args.task != "context":
            raise BrianModesError("--switch-prob is only used by the context task")
        kwargs["switch_prob"] = args.switch_prob
    return make_task(args.task, **kwargs)


def _format_metrics(metrics):
    parts = []
    for key, value in metrics.items():
        if key.endswith("accuracy"):
            parts.append(f"{key} {100 * value:.2f} %")
        elif isinstance(value, float):
            parts.append(f"{key} {value:.4g}")
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)



#: Settings that tell training runs apart, in the order they appear in default folder names.
RUN_NAME_SETTINGS = ("parametrization", "neuron", "filter", "discretization", "loss", "surrogate", "dtype",
                     "batches", "batch_size", "lr", "clip", "rate_reg", "steps", "switch_prob",
                     "dt", "tau_s", "tau_m", "tau_d", "tau_r", "t_ref", "v_th")
_RUN_NAME_PREFIX = {"batches": "batches", "batch_size": "bs", "lr": "lr", "clip": "clip", "rate_reg": "rate",
                    "steps": "T", "switch_prob": "switch", "v_th": "vth"}
#: Files a training run writes into its folder.
RUN_FILES = ("model.npz", "checkpoint.npz", "history.csv", "metrics.json")


def default_run_folder(args):
    """``runs/TASK-NN-PP-seedS`` followed by a tag for every setting that differs from its default.

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "digits", "--neuron", "tanh", "--lr", "0.01"])
    >>> default_run_folder(args)
    'runs/digits-N100-P3-seed0-tanh-lr0.01'
    """
    parts = [args.task, f"N{args.N}", f"P{args.P}", f"seed{args.seed}"]
    for name in RUN_NAME_SETTINGS:
        value = getattr(args, name, None)
        if value is None or value == args.train_defaults.get(name):
            continue
        if isinstance(value, str):
            parts.append(value)
        elif name in _RUN_NAME_PREFIX:
            text = "-".join(f"{v:g}" for v in value) if isinstance(value, list) else f"{value:g}"
            parts.append(f"{_RUN_NAME_PREFIX[name]}{text}")
        else:  # a time constant, in ms
            parts.append(f"{name}{value * 1e3:g}ms")
    return "runs/" + "-".join(parts)


def check_output_folder(out, option="--out"):
    """Refuse an output folder that cannot be one: a file, under a file, or not writable.

    Nothing is created; the nearest existing folder above ``out`` must be writable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BrianModesError(f"{option} {out} is a file, not a folder; give a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise BrianModesError(f"{option} {out} lies under {existing}, which is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BrianModesError(f"{option} {out}: {existing} is not writable; choose another folder")
    return out


def _refuse_to_lose_work(out, args):
    """Refuse to train into a folder that holds a run unless --resume or --overwrite says what to do."""
    if args.resume and args.overwrite:
        raise BrianModesError("--resume continues the run in --out and --overwrite starts it afresh; give one")
    held = [name for name in RUN_FILES if (out / name).exists()]
    if not held or args.overwrite:
        return
    checkpoint = out / "checkpoint.npz"
    if args.resume:
        if not checkpoint.exists() and (out / "model.npz").exists():
            raise BrianModesError(f"{out} holds a finished model but no checkpoint to resume from; "
                                  "give --overwrite to train it afresh, or another --out")
        return
    what = "a finished model" if (out / "model.npz").exists() else "an unfinished run"
    raise BrianModesError(f"{out} already holds {what} ({', '.join(held)}); continue it with --resume, "
                          "replace it with --overwrite, or give another --out")


def cmd_train(args):
    from . import __version__
    from .io import save
    from .train.trainer import Trainer, write_history_csv

    task = _task_from_args(args)
    net_kwargs = {"parametrization": args.parametrization, "neuron": args.neuron,
                  "discretization": args.discretization, **_constants(args)}
    if args.filter:
        net_kwargs["filter"] = args.filter
    net = task.make_network(N=args.N, P=args.P, seed=args.seed, **net_kwargs)
    out = check_output_folder(args.out or default_run_folder(args))
    trainer = Trainer(n_batches=args.batches or DEFAULT_BUDGET[args.task], batch_size=args.batch_size,
                      lr=args.lr, clip_norm=args.clip, surrogate=args.surrogate, loss=args.loss,
                      rate_regularizer=tuple(args.rate_reg) if args.rate_reg else None, seed=args.seed,
                      dtype=args.dtype, eval_every=args.eval_every, eval_trials=args.eval_trials,
                      checkpoint=out / "checkpoint.npz", checkpoint_every=args.checkpoint_every,
                      progress=not args.quiet)
    trainer.validate()
    task.check_network(net)
    _refuse_to_lose_work(out, args)
    out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:  # temporary files of writes that a killed run left unfinished
        for stale in out.glob(f"{name}.*.tmp"):
            stale.unlink()
    print(net)
    if args.resume and not (out / "checkpoint.npz").exists():
        print(f"note: no checkpoint in {out}; starting from the beginning", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        trainer.fit(net, task, resume=args.resume)
    except KeyboardInterrupt:
        kept = (f"checkpoint in {out / 'checkpoint.npz'}" if (out / "checkpoint.npz").exists()
                else "no checkpoint had been written")
        print(f"\ninterrupted after batch {len(trainer.history_)} ({kept}); continue with the same command "
              "and --resume", file=sys.stderr)
        return 130
    seconds_now = time.perf_counter() - t0
    train_seconds = trainer.history_[-1]["seconds"] if trainer.history_ else 0.0
    metrics = task.evaluate(net, dtype=args.dtype, progress=not args.quiet)
    net.metadata.update({
        "task": task.config(), "trainer": trainer.get_params(), "metrics": metrics,
        "train_seconds": round(train_seconds, 2), "batches": len(trainer.history_),
        "command": "brianmodes " + shlex.join(args.argv),
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "brianmodes": __version__})
    path = save(net, out / "model.npz")
    write_history_csv(out / "history.csv", trainer.history_)
    (out / "metrics.json").write_text(json.dumps({**metrics, "train_seconds": train_seconds}, indent=2))
    ran = len(trainer.history_) - trainer.resumed_from_
    resumed = f" ({ran} in this run, resumed from batch {trainer.resumed_from_})" if trainer.resumed_from_ else ""
    print(f"trained {len(trainer.history_)} batches{resumed} in {seconds_now:.1f} s; "
          f"test: {_format_metrics(metrics)}")
    print(f"model written to {path}")
    return 0


def _load_task_for(net, data_dir=None):
    from .tasks import task_for

    return task_for(net, data_dir)


def cmd_evaluate(args):
    from .io import load

    net = load(args.model)
    task = _load_task_for(net, args.data_dir)
    t0 = time.perf_counter()
    if args.backend == "brian2":
        from .brian import check_toolchain, evaluate_brian2

        check_toolchain(args.device)

        if net.discretization != "brian2":
            print(f"note: this model was trained with the {net.discretization!r} discretization; "
                  "Brian2 simulates the continuous-time equations (discretization 'brian2')", file=sys.stderr)
        metrics = evaluate_brian2(net, task, device=args.device, n_trials=args.trials, batch_size=args.batch_size,
                                  seed=args.seed, recurrence=args.recurrence, progress=not args.json)
    else:
        metrics = task.evaluate(net, n_trials=args.trials, batch_size=args.batch_size, seed=args.seed,
                                dtype=args.dtype, progress=not args.json)
        metrics["seconds"] = time.perf_counter() - t0
        metrics["trials_per_second"] = metrics["n_trials"] / metrics["seconds"]
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"{task.name}: {_format_metrics(metrics)}")
    return 0


def check_output_file(path, option):
    """Refuse a file to write whose folder is missing, a file, or not writable (before any work)."""
    path = Path(path)
    if path.is_dir():
        raise BrianModesError(f"{option} {path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise BrianModesError(f"{option} {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BrianModesError(f"{option} {path}: the folder {folder} is not writable")
    return path


def model_label(path):
    """A model's name for titles: the shipped name, the file name, or its run folder's name.

    Examples
    --------
    >>> model_label("runs/digits-N100-P3-seed0/model.npz"), model_label("context-N100-P3")
    ('digits-N100-P3-seed0', 'context-N100-P3')
    """
    path = Path(path)
    stem = path.stem if path.suffix == ".npz" else path.name
    return path.parent.name if stem == "model" and path.parent.name not in ("", ".") else stem


def cmd_simulate(args):
    from .brian import check_toolchain
    from .brian.circuit import BrianCircuit
    from .brian.inputs import resample_inputs, substeps
    from .brian.standalone import StandaloneRunner
    from .io import load

    plot = check_output_file(args.plot, "--plot") if args.plot else None
    results_path = check_output_file(args.results, "--results") if args.results else None
    net = load(args.model)
    task = _load_task_for(net, args.data_dir)
    task.check_network(net)
    dt = net.dt if args.dt is None else args.dt
    k = substeps(net.dt, dt)
    check_toolchain(args.device)
    batch = next(iter(task.test_batches(batch_size=args.trials, n_trials=args.trials, seed=args.seed)))
    x = resample_inputs(batch.inputs, k, task.input_kind, np.random.default_rng(args.seed + 1))
    kwargs = {"recurrence": args.recurrence, "input_kind": task.input_kind, "dt": dt}
    t0 = time.perf_counter()
    if args.device == "cpp_standalone":
        with StandaloneRunner(net, n_trials=batch.size, n_steps=x.shape[0], **kwargs) as runner:
            result = runner.run(x)
    else:
        result = BrianCircuit(net, n_trials=batch.size, **kwargs).run(x, target=args.device)
    seconds = time.perf_counter() - t0
    outputs = result.outputs[k - 1::k] if net.readout == "per_step" else result.outputs
    metrics = {key: float(np.mean(v)) for key, v in task.trial_metrics(outputs, batch).items()}
    summary = {
        "model": str(args.model), "device": args.device, "dt_ms": dt * 1e3, "recurrence": args.recurrence,
        "trials": batch.size, "duration_ms": x.shape[0] * dt * 1e3, "seconds": round(seconds, 3),
        "mean_rate_hz": float(result.rates().mean()), "metrics": metrics,
        "spike_counts_per_trial": result.spike_count.sum(axis=1).tolist(),
        "outputs": (outputs.tolist() if net.readout == "max" else outputs[-1].tolist()),
    }
    if plot:
        _plot_simulation(plot, result, dt, net, batch, outputs,
                         title=f"{model_label(args.model)}: Brian2 {args.device}, dt = {dt * 1e3:g} ms")
        print(f"figure written to {plot}")
    print(f"simulated {batch.size} trials ({summary['duration_ms']:g} ms each) in {seconds:.1f} s; "
          f"{_format_metrics(metrics)}; mean rate {summary['mean_rate_hz']:.1f} Hz")
    if results_path:
        results_path.write_text(json.dumps(summary, indent=2))
        print(f"results written to {results_path}")
    return 0


def _plot_simulation(path, result, dt, net, batch, outputs, title):
    import matplotlib

    matplotlib.use("Agg")
    from .plot import raster_figure

    extra = {}
    if net.readout == "per_step":  # outputs over time, beside the targets where the task has them
        extra = {"outputs": outputs, "output_dt": net.dt}
        if np.ndim(batch.targets) == 3:
            extra["targets"] = batch.targets
    fig = raster_figure(result.spikes, dt, title=title, **extra)
    fig.savefig(path, dpi=120)


def cmd_reproduce(args):
    from .reproduce import reproduce

    report = reproduce(scale=args.scale, data_dir=args.data_dir, out=args.out, seed=args.seed,
                       progress=not args.quiet)
    print(f"report written to {report}")
    return 0


def _sweep_configs(args):
    from .sweep import configs_from

    configs = []
    if args.configs:
        configs += configs_from(args.configs, data_dir=args.data_dir)
    if args.task:
        grid = {"task": args.task, "N": args.N, "P": args.P, "seed": args.seeds,
                "parametrization": args.parametrization, "batches": args.batches, "batch_size": args.batch_size,
                "lr": args.lr, "brian2": args.brian2, "eval_trials": args.eval_trials,
                "brian2_trials": args.brian2_trials}
        if args.steps:
            grid["task_options"] = {"n_steps": args.steps}
        configs += configs_from(grid, data_dir=args.data_dir, where="the grid of flags")
    elif not args.configs:
        raise BrianModesError("give a configuration file or a grid: --task TASK --N ... --P ... --seeds ...")
    return configs


def cmd_sweep(args):
    from .sweep import SweepInterrupted, sweep

    configs = _sweep_configs(args)
    try:
        result = sweep(configs, args.out, scheduler=args.scheduler, n_workers=args.workers,
                       retries=args.retries, progress=not args.quiet, blas_threads=args.blas_threads)
    except SweepInterrupted as stop:
        done = sum(row["status"] == "done" for row in stop.result.rows)
        print(f"\ninterrupted: {done} of {len(stop.result.rows)} runs are finished (table in "
              f"{stop.result.table}); run the same command again to continue", file=sys.stderr)
        return 130
    done = [row for row in result.rows if row["status"] == "done"]
    print(f"{len(result.rows)} runs: {len(done)} done ({result.n_skipped} already before, "
          f"{sum(bool(row['ran']) for row in done)} trained now), {result.n_failed} failed, "
          f"in {result.seconds:.0f} s")
    print(f"table written to {result.table}" + "".join(f"; figure {path}" for path in result.figures))
    if result.n_failed:
        print(f"brianmodes: {result.n_failed} run(s) failed; errors in {Path(args.out) / 'failures.jsonl'} and "
              "the table's error column; run the same command again to retry them", file=sys.stderr)
        return 1
    return 0


def cmd_info(args):
    from .io import load

    net = load(args.model)
    if args.json:
        print(json.dumps({"config": net.config(), "metadata": net.metadata}, indent=2))
        return 0
    print(net)
    meta = net.metadata
    if meta.get("task"):
        print("task:", json.dumps(meta["task"]))
    if meta.get("metrics"):
        print("metrics:", _format_metrics(meta["metrics"]))
    for key in ("command", "date", "train_seconds", "batches"):
        if key in meta:
            print(f"{key}: {meta[key]}")
    return 0


def cmd_import(args):
    import numpy as np

    from .io import save
    from .network import ModeNetwork

    path = Path(args.arrays)
    if not path.is_file():
        raise BrianModesError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - any read failure is a bad file for the user
        raise BrianModesError(f"cannot read arrays from {path} ({type(err).__name__}: {err})") from None
    if "lambda" in arrays:
        arrays["lam"] = arrays.pop("lambda")
    for required in ("W_in", "W_out"):
        if required not in arrays:
            raise BrianModesError(f"{path} has no array {required!r} (found: {', '.join(arrays) or 'none'})")
    unknown = set(arrays) - {"W_in", "W_out", "xi_in", "lam", "xi_out", "W"}
    if unknown:
        raise BrianModesError(f"{path}: unexpected arrays {', '.join(sorted(unknown))}; expected W_in, W_out "
                              "and either xi_in, lam (or lambda), xi_out, or W")
    metadata = {"imported_from": str(path)}
    if args.task:
        task_config = {"name": args.task}
        if args.task == "mnist":
            task_config["data_dir"] = str(Path(args.data_dir).resolve()) if args.data_dir else None
        metadata["task"] = task_config
    net = ModeNetwork.from_arrays(filter=args.filter, readout=args.readout, neuron=args.neuron,
                                  discretization=args.discretization,
                                  metadata=metadata, **arrays, **_constants(args))
    out = save(net, args.out)
    print(net)
    print(f"model written to {out}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "simulate": cmd_simulate, "info": cmd_info,
            "import": cmd_import, "reproduce": cmd_reproduce, "sweep": cmd_sweep}


def main(argv=None):
    """Entry point of the ``brianmodes`` command; returns the exit status.

    Every user error is one line on stderr, ``brianmodes: error: ...``, with
    exit status 2; warnings are one line ``brianmodes: warning: ...``.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(_join_negative_values(argv, parser))
    args.argv = argv
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return COMMANDS[args.command](args)
        except BrianModesError as err:
            print(f"brianmodes: error: {err}", file=sys.stderr)
        except OSError as err:  # a file that could not be read or written: disk full, permissions...
            where = f"{err.filename}: " if err.filename else ""
            print(f"brianmodes: error: {where}{err.strerror or err}", file=sys.stderr)
        except KeyboardInterrupt:
            print("brianmodes: interrupted", file=sys.stderr)
            return 130
    return 2


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"brianmodes: warning: {message}", file=sys.stderr)


_NEGATIVE_VALUE = re.compile(r"-(\d|\.\d|inf)")


def _join_negative_values(argv, parser):
    """``--tau-s -10ms`` as ``--tau-s=-10ms``: argparse would read ``-10ms`` as an option.

    Only for options that take one value, so the checks of that option's
    value then say what is wrong with it.
    """
    takes_value = set()
    for sub in parser._subparsers._group_actions[0].choices.values():
        takes_value |= {flag for action in sub._actions if action.nargs is None and action.option_strings
                        and action.const is None and not isinstance(action, argparse._StoreTrueAction)
                        for flag in action.option_strings}
    joined, i = [], 0
    while i < len(argv):
        if argv[i] in takes_value and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            joined.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            joined.append(argv[i])
            i += 1
    return joined


if __name__ == "__main__":
    sys.exit(main())
