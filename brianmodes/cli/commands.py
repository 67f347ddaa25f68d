"""The ``brianmodes`` commands: one function per command, taking the parsed arguments."""

from __future__ import annotations

import json
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import BrianModesError
from ..run_folder import check_output_file, check_output_folder, refuse_to_lose_work, remove_stale_temporaries

def _constants(args):
    names = ("dt", "tau_s", "tau_m", "tau_d", "tau_r", "t_ref", "v_th")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _task_from_args(args):
    """The task of ``brianmodes train TASK``: each option goes to the tasks whose constructor takes it."""
    import inspect

    from ..tasks import TASKS, make_task

    cls = TASKS[args.task]
    takes = inspect.signature(cls.__init__).parameters
    kwargs = {}
    if cls.needs_data_dir:
        kwargs["data_dir"] = args.data_dir
    elif args.data_dir:
        raise BrianModesError(f"--data-dir is only used by tasks that read files (not {args.task})")
    for option, value, name in (("--steps", args.steps, "n_steps"), ("--switch-prob", args.switch_prob, "switch_prob")):
        if value is None:
            continue
        if name not in takes:
            raise BrianModesError(f"{option} is only used by tasks that take {name} (not {args.task})")
        kwargs[name] = value
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


_RUN_NAME_PREFIX = {"per_neuron": "per_", "trainable": "train_", "spread": "spread_", "batches": "batches",
                    "batch_size": "bs", "lr": "lr", "clip": "clip", "rate_reg": "rate", "steps": "T",
                    "switch_prob": "switch", "v_th": "vth"}


def default_run_folder(args):
    """``runs/TASK-NN-PP-seedS`` followed by a tag for every setting that differs from its default.

    Examples
    --------
    >>> from brianmodes.cli.parser import build_parser
    >>> args = build_parser().parse_args(["train", "digits", "--neuron", "tanh", "--lr", "0.01"])
    >>> default_run_folder(args)
    'runs/digits-N100-P3-seed0-tanh-lr0.01'
    >>> args = build_parser().parse_args(["train", "context", "--trainable", "tau_m", "--spread", "tau_m=0.2"])
    >>> default_run_folder(args)
    'runs/context-N100-P3-seed0-train_tau_m-spread_tau_m0.2'
    """
    parts = [args.task, f"N{args.N}", f"P{args.P}", f"seed{args.seed}"]
    for name in args.train_defaults:
        value = getattr(args, name, None)
        if value is None or value == args.train_defaults.get(name):
            continue
        if isinstance(value, str):
            parts.append(value)
        elif name in ("per_neuron", "trainable"):  # parameter names
            parts.append(_RUN_NAME_PREFIX[name] + "+".join(value))
        elif name == "spread":  # (name, fraction) pairs
            parts.append(_RUN_NAME_PREFIX[name] + "+".join(f"{n}{f:g}" for n, f in value))
        elif name in _RUN_NAME_PREFIX:
            text = "-".join(f"{v:g}" for v in value) if isinstance(value, list) else f"{value:g}"
            parts.append(f"{_RUN_NAME_PREFIX[name]}{text}")
        else:  # a time constant, in ms
            parts.append(f"{name}{value * 1e3:g}ms")
    return "runs/" + "-".join(parts)


def with_neuron_parameters(model, N, per_neuron=(), trainable=(), spread=None, seed=None):
    """``model`` with some parameters per neuron, trained, or spread around their value (``train`` options).

    Parameters
    ----------
    model : NeuronModel
    N : int
        Number of neurons.
    per_neuron, trainable : iterable of str
        Parameters that get one value per neuron; parameters that are trained.
    spread : dict, optional
        Parameter name to the spread of :func:`~brianmodes.neurons.parameters.heterogeneous`
        (implies per neuron), drawn with ``seed`` and the parameter's name.
    seed : int, optional

    Returns
    -------
    NeuronModel
        ``model`` itself when nothing changes.

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> model = with_neuron_parameters(lif("single"), 4, trainable=("tau_m",), spread={"tau_m": 0.2}, seed=0)
    >>> p = model.parameters["tau_m"]
    >>> p.per_neuron, p.trainable, p.bound, p.value.shape
    (True, True, 'positive', (4,))
    """
    import zlib
    from dataclasses import replace

    from ..neurons.parameters import heterogeneous

    spread = dict(spread or {})
    names = [*dict.fromkeys([*per_neuron, *trainable, *spread])]
    unknown = [name for name in names if name not in model.parameters]
    if unknown:
        raise BrianModesError(f"the neuron model {model.name!r} has no parameter {unknown[0]!r}; its parameters "
                              f"are {', '.join(model.parameters)}")
    changes = {}
    for name in names:
        p = model.parameters[name]
        value = p.value
        if name in spread:
            if np.ndim(value) != 0:
                raise BrianModesError(f"parameter {name!r} already holds one value per neuron; it cannot be spread")
            rng = np.random.default_rng([zlib.crc32(name.encode()), 0 if seed is None else int(seed)])
            value = heterogeneous(value, N, spread[name], seed=rng)
        changes[name] = replace(p, value=value, per_neuron=bool(p.per_neuron or name in per_neuron or name in spread),
                                trainable=p.trainable or name in trainable)
    return model.with_parameters(**changes) if changes else model


def cmd_train(args):
    from ..neurons.run import engine_for
    from ..recipe import train_and_evaluate, write_run_folder
    from ..train.trainer import Trainer

    task = _task_from_args(args)
    net_kwargs = {"parametrization": args.parametrization, "neuron": args.neuron,
                  "discretization": args.discretization, "refractory_timing": args.refractory_timing,
                  **_constants(args)}
    if args.filter:
        net_kwargs["filter"] = args.filter
    net = task.make_network(N=args.N, P=args.P, seed=args.seed, **net_kwargs)
    model = with_neuron_parameters(net.model, net.N, per_neuron=args.per_neuron or (),
                                   trainable=args.trainable or (), spread=dict(args.spread or ()), seed=args.seed)
    if model is not net.model:  # the built-in as a NeuronModel: same weights, its own parameters
        net = task.make_network(N=args.N, P=args.P, seed=args.seed, parametrization=args.parametrization,
                                neuron=model, dt=net.dt)
    out = check_output_folder(args.out or default_run_folder(args))
    trainer = Trainer(n_batches=args.batches or type(task).default_batches, batch_size=args.batch_size,
                      lr=args.lr, clip_norm=args.clip, surrogate=args.surrogate, loss=args.loss,
                      rate_regularizer=tuple(args.rate_reg) if args.rate_reg else None, seed=args.seed,
                      dtype=args.dtype, eval_every=args.eval_every, eval_trials=args.eval_trials,
                      checkpoint=out / "checkpoint.npz", checkpoint_every=args.checkpoint_every,
                      progress=not args.quiet, engine=args.engine)
    trainer.validate()
    task.check_network(net)
    engine_for(net, engine=args.engine)  # builds (or refuses) the compiled engine before any folder is made
    refuse_to_lose_work(out, resume=args.resume, overwrite=args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    print(net)
    if args.resume and not (out / "checkpoint.npz").exists():
        print(f"note: no checkpoint in {out}; starting from the beginning", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        run = train_and_evaluate(net, task, trainer, command="brianmodes " + shlex.join(args.argv),
                                 resume=args.resume, eval_dtype=args.dtype, progress=not args.quiet)
    except KeyboardInterrupt:
        kept = (f"checkpoint in {out / 'checkpoint.npz'}" if (out / "checkpoint.npz").exists()
                else "no checkpoint had been written")
        print(f"\ninterrupted after batch {len(trainer.history_)} ({kept}); continue with the same command "
              "and --resume", file=sys.stderr)
        return 130
    seconds_now = time.perf_counter() - t0
    write_run_folder(out, run)
    ran = len(trainer.history_) - trainer.resumed_from_
    resumed = f" ({ran} in this run, resumed from batch {trainer.resumed_from_})" if trainer.resumed_from_ else ""
    print(f"trained {len(trainer.history_)} batches{resumed} in {seconds_now:.1f} s; "
          f"test: {_format_metrics(run.metrics)}")
    print(f"model written to {out / 'model.npz'}")
    return 0


def _load_task_for(net, data_dir=None):
    from ..tasks import task_for

    return task_for(net, data_dir)


def _brian2_runner(args, net, **options):
    """The Brian2 runner that --device and --target name (0.1's --device numpy/cython: a note, then as meant)."""
    from ..brian import TARGETS, brian2_runner, check_toolchain
    from ..brian.equations import continuous_model

    if args.device in TARGETS:
        print(f"note: --device {args.device} is Brian2's runtime device with the {args.device} target; write "
              f"--device runtime --target {args.device}", file=sys.stderr)
    continuous_model(net)  # a rate model or a discrete user update: refused here, before anything runs
    with warnings.catch_warnings():  # said once above, in the command line's words
        warnings.simplefilter("ignore", FutureWarning)
        runner = brian2_runner(args.device, args.target, default_target=args.default_target, dt=args.dt,
                               recurrence=args.recurrence, **options)
    check_toolchain(runner.target or runner.device)
    if net.discretization == "published":
        print("note: this model was trained with the 'published' update; Brian2 simulates the "
              "continuous-time equations (discretization 'brian2')", file=sys.stderr)
    return runner


def cmd_evaluate(args):
    from ..io import load

    net = load(args.model)
    task = _load_task_for(net, args.data_dir)
    t0 = time.perf_counter()
    if args.backend == "brian2":
        runner = _brian2_runner(args, net, seed=args.seed + 1)
    else:
        from ..runners import make_runner

        runner = make_runner(args.engine, dtype=args.dtype)
    with runner, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="this network was trained with the published")  # noted above
        metrics = task.evaluate(net, n_trials=args.trials, batch_size=args.batch_size, seed=args.seed,
                                progress=not args.json, runner=runner)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["build_seconds"] = runner.build_seconds
    metrics["trials_per_second"] = metrics["n_trials"] / max(metrics["seconds"] - runner.build_seconds, 1e-9)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"{task.name}: {_format_metrics(metrics)}")
    return 0


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
    from ..brian.circuit import circuit_recurrence
    from ..io import load

    plot = check_output_file(args.plot, "--plot") if args.plot else None
    results_path = check_output_file(args.results, "--results") if args.results else None
    net = load(args.model)
    task = _load_task_for(net, args.data_dir)
    task.check_network(net)
    batch = next(iter(task.test_batches(batch_size=args.trials, n_trials=args.trials, seed=args.seed)))
    t0 = time.perf_counter()
    with _brian2_runner(args, net, record=("s",), seed=args.seed + 1) as runner, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="this network was trained with the published")  # noted above
        result = runner.run(net, batch.inputs, input_kind=task.input_kind)
    seconds = time.perf_counter() - t0
    dt = net.dt if args.dt is None else args.dt
    device = runner.device + (f" ({runner.target})" if runner.target else "")
    metrics = {key: float(np.mean(v)) for key, v in task.trial_metrics(result.outputs, batch).items()}
    summary = {
        "model": str(args.model), "device": runner.device, "target": runner.target, "dt_ms": dt * 1e3,
        "recurrence": circuit_recurrence(net, args.recurrence),
        "trials": batch.size, "duration_ms": result.n_steps * net.dt * 1e3, "seconds": round(seconds, 3),
        "mean_rate_hz": float(result.rates().mean()), "metrics": metrics,
        "spike_counts_per_trial": result.spike_count.sum(axis=1).tolist(),
        "outputs": (result.outputs.tolist() if net.readout == "max" else result.outputs[-1].tolist()),
    }
    if plot:
        _plot_simulation(plot, result, net, batch,
                         title=f"{model_label(args.model)}: Brian2 {device}, dt = {dt * 1e3:g} ms")
        print(f"figure written to {plot}")
    print(f"simulated {batch.size} trials ({summary['duration_ms']:g} ms each) in {seconds:.1f} s; "
          f"{_format_metrics(metrics)}; mean rate {summary['mean_rate_hz']:.1f} Hz")
    if results_path:
        results_path.write_text(json.dumps(summary, indent=2))
        print(f"results written to {results_path}")
    return 0


def _plot_simulation(path, result, net, batch, title):
    import matplotlib

    matplotlib.use("Agg")
    from ..plot import raster_figure

    extra = {}
    if net.readout == "per_step":  # outputs over time, beside the targets where the task has them
        extra = {"outputs": result.outputs, "output_dt": net.dt}
        if np.ndim(batch.targets) == 3:
            extra["targets"] = batch.targets
    fig = raster_figure(result.spikes, net.dt, title=title, **extra)
    fig.savefig(path, dpi=120)


def cmd_reproduce(args):
    from ..reproduce import reproduce

    report = reproduce(scale=args.scale, data_dir=args.data_dir, out=args.out, seed=args.seed,
                       progress=not args.quiet)
    print(f"report written to {report}")
    return 0


def _sweep_configs(args):
    from ..sweep import configs_from

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
    from ..sweep import SweepInterrupted, sweep

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
    from ..io import load

    from ..neurons.serialize import model_text

    net = load(args.model)
    if args.json:
        print(json.dumps({"config": net.config(), "model": net.model.to_dict(), "metadata": net.metadata},
                         indent=2))
        return 0
    print(net)
    print(model_text(net.model))
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
    from ..bridges import network_from_arrays, read_arrays
    from ..io import save

    path = Path(args.arrays)
    if not path.is_file():
        raise BrianModesError(f"no such file: {path}")
    if "_rate" in path.stem and path.suffix in (".pth", ".pt"):
        raise BrianModesError(f"{path.name} is one of the authors' rate networks (tanh units of their own "
                              "dynamics), not a spiking model; brianmodes does not import it")
    out = check_output_file(args.out, "--out")
    if (out.exists() or out.with_suffix(".npz").exists()) and not args.overwrite:
        raise BrianModesError(f"--out {out} exists; give another name or --overwrite to replace it")
    net, notes = network_from_arrays(read_arrays(path), task=args.task, data_dir=args.data_dir, source=path,
                                     filter=args.filter, readout=args.readout, neuron=args.neuron,
                                     discretization=args.discretization, refractory_timing=args.refractory_timing,
                                     **_constants(args))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    written = save(net, out)
    print(net)
    print(f"model written to {written}")
    return 0
