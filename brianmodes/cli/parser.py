"""The ``brianmodes`` argument parser: commands, options and the checks of their values."""

from __future__ import annotations

import argparse
import re

from ..checks import as_seconds, integer, integer_requirement, number, positive_seconds
from ..errors import BrianModesError

class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, ``brianmodes: error: ...`` (exit 2)."""

    def error(self, message):
        self.exit(2, f"brianmodes: error: {message} (see {self.prog} --help)\n")


def _checked(check, requirement):
    """An argparse type from a check of :mod:`brianmodes.checks`, its requirement in the message."""
    def parse(text):
        try:
            return check(text)
        except (BrianModesError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {requirement}, got {text!r}") from None
    return parse


def _int_at_least(minimum):
    return _checked(lambda text: integer(int(text), "value", minimum), integer_requirement(minimum))


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)
_positive_float = _checked(lambda text: number(float(text), "value", positive=True), "a positive number")
_time_arg = _checked(as_seconds, "a time such as 2ms, '2 ms' or 0.002 (seconds)")
_positive_time_arg = _checked(positive_seconds, "a positive time such as 0.1ms")


#: Settings of ``train`` that tell runs apart, in the order they appear in default folder names.
RUN_NAME_SETTINGS = ("parametrization", "neuron", "filter", "discretization", "refractory_timing",
                     "per_neuron", "trainable", "spread", "loss",
                     "surrogate", "dtype",
                     "batches", "batch_size", "lr", "clip", "rate_reg", "steps", "switch_prob",
                     "dt", "tau_s", "tau_m", "tau_d", "tau_r", "t_ref", "v_th")


def _add_constants(parser):
    group = parser.add_argument_group("neuron constants (times: '2ms' or seconds)")
    for name, help_text in (("dt", "time step"), ("tau_s", "synaptic time constant"),
                            ("tau_m", "membrane time constant"), ("tau_d", "filter decay"),
                            ("tau_r", "filter rise"), ("t_ref", "refractory period")):
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_time_arg, help=help_text)
    group.add_argument("--v-th", dest="v_th", type=float, help="threshold (reset is 0)")


_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _spread_arg(text):
    """``NAME=FRACTION`` of ``--spread``: a parameter name and a spread >= 0."""
    name, sep, fraction = text.partition("=")
    try:
        value = float(fraction)
    except ValueError:
        value = None
    if not sep or not _PARAMETER_NAME.fullmatch(name) or value is None or not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected NAME=FRACTION such as tau_m=0.2 (a parameter of the neuron "
                                         f"model and a number >= 0), got {text!r}")
    return (name, value)


def _parameter_name(text):
    if not _PARAMETER_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected the name of a neuron-model parameter such as tau_m, got {text!r}")
    return text


def _add_neuron_parameters(parser):
    group = parser.add_argument_group(
        "neuron parameters per neuron and trained (see docs/models.md)",
        "Parameters of the neuron model (tau_m, tau_s, tau_d, tau_r, v_th; adaptive_lif also tau_a, beta) "
        "can hold one value per neuron and be trained beside the weights; time constants are trained as "
        "log_<name>, so they stay positive. The model file records the model and the trained values. "
        "Example: --trainable tau_m --spread tau_m=0.2 trains one membrane time constant per neuron, "
        "starting from values scattered around --tau-m.")
    group.add_argument("--per-neuron", nargs="+", type=_parameter_name, metavar="NAME",
                       help="give these parameters one value per neuron (the spiking built-ins give v_th one already)")
    group.add_argument("--trainable", nargs="+", type=_parameter_name, metavar="NAME",
                       help="train these parameters (per neuron with --per-neuron or --spread, else one "
                            "shared value)")
    group.add_argument("--spread", nargs="+", type=_spread_arg, metavar="NAME=FRACTION",
                       help="start NAME heterogeneous: each neuron's value is drawn log-normally around the "
                            "model's value (median), the log's standard deviation FRACTION (0.2: about +-20 %%), "
                            "seeded by --seed; implies --per-neuron NAME")


def build_parser():
    """The argument parser (exposed for documentation and tests)."""
    from ..network import DISCRETIZATIONS, FILTERS, NEURONS, PARAMETRIZATIONS, READOUTS, REFRACTORY_TIMINGS
    from ..tasks import TASKS
    from ..train import LOSSES, SURROGATES

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
    train.add_argument("--neuron", choices=NEURONS, default="lif",
                       help="lif (spiking), adaptive_lif (spike-frequency adaptation), published_lif (the "
                            "authors' update) or tanh (rate baseline)")
    train.add_argument("--filter", choices=FILTERS, help="spike filter (default: the task's published one)")
    train.add_argument("--discretization", choices=DISCRETIZATIONS, default="brian2",
                       help="brian2 (default: runs in Brian2 spike for spike) or published (the authors' update)")
    train.add_argument("--refractory-timing", choices=REFRACTORY_TIMINGS, default="steps",
                       help="the published update's refractory clock: steps (exact) or float32 (the authors')")
    train.add_argument("--batches", type=_positive_int,
                       help="training budget in batches (default: " +
                            ", ".join(f"{k} {v.default_batches}" for k, v in TASKS.items()) + ")")
    train.add_argument("--batch-size", type=_positive_int, help="trials per batch (default: digits 64, mnist 256, context 100)")
    train.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    train.add_argument("--clip", type=_positive_float, default=20.0, help="gradient-norm clipping (default 20)")
    train.add_argument("--surrogate", choices=sorted(SURROGATES), default="fast_sigmoid")
    train.add_argument("--loss", choices=sorted(LOSSES), help="default: the task's")
    train.add_argument("--rate-reg", nargs=2, type=float, metavar=("STRENGTH", "TARGET_HZ"),
                       help="firing-rate penalty")
    train.add_argument("--seed", type=int, default=0, help="seeds initialization and batches (default 0)")
    train.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    train.add_argument("--engine", choices=("auto", "numpy", "compiled"), default="auto",
                       help="what runs each training step: auto (default: the compiled engine when it builds "
                            "here, else numpy with a warning), numpy (the reference) or compiled (an error if it "
                            "cannot build)")
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
    _add_neuron_parameters(train)
    train.set_defaults(train_defaults={name: train.get_default(name) for name in RUN_NAME_SETTINGS})

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on its task's held-out trials")
    evaluate.add_argument("model", help="model .npz file")
    evaluate.add_argument("--data-dir", help="MNIST folder, if different from the one used in training")
    evaluate.add_argument("--trials", type=_positive_int, help="number of held-out trials (default: all / 500)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the input spikes / trials")
    evaluate.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    evaluate.add_argument("--engine", choices=("auto", "numpy", "compiled"), default="auto",
                          help="with --backend numpy: auto (default: the compiled engine when it builds here), "
                               "numpy (the reference) or compiled")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--backend", choices=("numpy", "brian2"), default="numpy",
                          help="brianmodes' own engine (default; see --engine) or a Brian2 simulation")
    _add_brian2_options(evaluate, device="cpp_standalone", target="numpy", qualifier=" (with --backend brian2)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=500,
                          help="trials simulated side by side (Brian2: copies of the network)")

    sim = sub.add_parser("simulate", help="simulate a saved model in Brian2 and plot its activity",
                         description="Simulate held-out trials of a model's task in Brian2, write a raster "
                                     "and population-rate figure and a JSON file of results.")
    sim.add_argument("model", help="model .npz file")
    sim.add_argument("--trials", type=_positive_int, default=5, help="number of trials (default 5)")
    _add_brian2_options(sim, device="runtime", target="cython")
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

    imp = sub.add_parser("import", help="make a model file from the authors' checkpoints or plain arrays",
                         description="Build a model from one of the authors' PyTorch checkpoints (.pth, read "
                                     "without torch and without running pickle code) or an .npz of arrays: W_in, "
                                     "W_out and either xi_in, lam, xi_out, or a dense W; the authors' names Win, "
                                     "Wout, pin, pout, l are accepted. Unset options follow --task (filter, "
                                     "readout) and, for the authors' weights, their published update.")
    imp.add_argument("arrays", help=".pth checkpoint or .npz file with the arrays")
    imp.add_argument("--out", required=True, help="model file to write")
    imp.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    imp.add_argument("--filter", choices=FILTERS, help="default: the task's (double without --task)")
    imp.add_argument("--readout", choices=READOUTS, help="default: the task's (max without --task)")
    imp.add_argument("--neuron", choices=NEURONS, default=None, help="default lif")
    imp.add_argument("--discretization", choices=DISCRETIZATIONS,
                     help="default: published for the authors' weights, else brian2 (with a note)")
    imp.add_argument("--refractory-timing", choices=REFRACTORY_TIMINGS,
                     help="default: float32 for the authors' context models, else steps")
    imp.add_argument("--task", choices=sorted(TASKS), help="the task the weights are for (sets the defaults above "
                                                          "and enables evaluate)")
    imp.add_argument("--data-dir", help="MNIST folder (with --task mnist)")
    _add_constants(imp)
    return parser



def _add_brian2_options(parser, device, target, qualifier=""):
    """Brian2's device and its runtime target, kept apart as Brian2 keeps them; the time step; the recurrence."""
    parser.add_argument("--device", choices=("runtime", "cpp_standalone", "numpy", "cython"), default=device,
                        metavar="{runtime,cpp_standalone}",
                        help=f"Brian2 device{qualifier}: runtime (code run from Python, see --target) or "
                             f"cpp_standalone (one compiled C++ program); default {device}")
    parser.add_argument("--target", choices=("numpy", "cython"), default=None,
                        help=f"code-generation target of the runtime device (default {target})")
    parser.set_defaults(default_target=target)
    parser.add_argument("--dt", type=_positive_time_arg,
                        help="Brian2's simulation time step, a divisor of the model's, e.g. 0.1ms (default: the "
                             "model's)")
    parser.add_argument("--recurrence", choices=("modes", "dense"), default=None,
                        help="Brian2 recurrence: P mode units (default) or N^2 synapses (default for full rank)")

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
                           ", ".join(f"{k} {v.default_batches}" for k, v in tasks.items()) + ")")
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


_NEGATIVE_VALUE = re.compile(r"-(\d|\.\d|inf)")


def join_negative_values(argv, parser):
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
