"""The paper's experiments at one scale, run: every number and array the report and its figures show."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..checks import choice
from ..io import load, save
from ..tasks import make_task
from ..train.trainer import Trainer
from .published import PUBLISHED_MNIST, SCALES


def _train_or_reuse(task, N, P, batches, seed, folder, progress, eval_trials=None):
    """A model of the report, trained (:func:`~brianmodes.recipe.train_and_evaluate`) or found in ``folder``.

    Returns the network, its held-out metrics, its file and whether it was reused.
    """
    from ..recipe import train_and_evaluate

    path = folder / f"{task.name}-N{N}-P{P}-seed{seed}.npz"
    if path.exists():
        net = load(path)
        meta = net.metadata
        if (meta.get("batches") == batches and net.N == N and net.P == P
                and meta.get("task", {}).get("name") == task.name):
            return net, task.evaluate(net, n_trials=eval_trials), path, True
    net = task.make_network(N=N, P=P, seed=seed)
    run = train_and_evaluate(net, task, Trainer(n_batches=batches, seed=seed, progress=progress),
                             command=f"brianmodes train {task.name} --N {N} --P {P} --batches {batches} --seed {seed}",
                             eval_trials=eval_trials, runner="auto")
    save(net, path)
    return net, run.metrics, path, False


def run_experiments(scale="quick", data_dir=None, models=None, seed=0, progress=True):
    """Train (or reuse) the models of ``scale`` and run the analyses; returns the results as data.

    Parameters
    ----------
    scale : {'quick', 'full', 'tiny'}
    data_dir : path, optional
        MNIST folder (default: the built-in 8x8 digits).
    models : path
        Folder of the trained models (reused when their settings match).
    seed : int
    progress : bool

    Returns
    -------
    dict
        ``settings``; ``classification`` and ``context`` (one row per P);
        ``context_show`` (the outputs, mode trajectories and slow points of
        the network shown); ``importance`` (the power-law fit, or None);
        ``pruning`` (one curve per task). :func:`~brianmodes.reproduce.report.report_markdown`
        writes them as text, :func:`brianmodes.plot.report_figures` draws them.
    """
    choice(scale, "scale", SCALES)
    s = dict(SCALES[scale])
    models = Path(models)
    models.mkdir(parents=True, exist_ok=True)
    images = make_task("mnist", data_dir=data_dir) if data_dir else make_task("digits")
    context = make_task("context", n_steps=s["context_steps"], stim_on=s["context_steps"] // 10,
                        stim_off=s["context_steps"] // 2)
    results = {"scale": scale, "seed": seed, "data_dir": None if data_dir is None else str(data_dir),
               "settings": s, "image_task": images.name, "n_eval": images.n_test_trials(s["eval_trials"]),
               "context_n_test": context.n_test_trials()}
    rows, nets = [], {}
    for P in s["image_P"]:
        net, m, _, reused = _train_or_reuse(images, s["N"], P, s["image_batches"], seed, models, progress,
                                            eval_trials=s["eval_trials"])
        nets[P] = net
        published = PUBLISHED_MNIST.get(s["N"], {}).get(P) if images.name == "mnist" else None
        rows.append({"P": P, "accuracy": 100 * m["accuracy"], "published": published, "rate_hz": m["rate_hz"],
                     "command": net.metadata.get("command", ""), "reused": reused})
    results["classification"] = rows
    ctx_rows, ctx_nets = [], {}
    for P in s["context_P"]:
        net, m, _, reused = _train_or_reuse(context, s["N"], P, s["context_batches"], seed, models, progress)
        ctx_nets[P] = net
        ctx_rows.append({"P": P, "mse": m["mse"], "decision_accuracy": 100 * m["decision_accuracy"],
                         "rate_hz": m["rate_hz"], "command": net.metadata.get("command", ""), "reused": reused})
    results["context"] = ctx_rows
    results["context_show"] = _context_dynamics(ctx_nets.get(3) or ctx_nets[max(ctx_nets)], context, seed, scale)
    results["importance"] = _importance(nets[max(nets)])
    results["pruning"] = [_pruning(label, net, task, s, seed) for label, net, task in
                          (("classification", nets[max(nets)], images),
                           ("context", ctx_nets[max(ctx_nets)], context)) if net.P >= 2]
    return results


def _context_dynamics(show, context, seed, scale):
    """Outputs by condition, mode-space trajectories and slow points of the context network shown."""
    from ..analysis import end_states_by_condition, project_on_modes, slow_points
    from ..simulate import simulate

    batch = next(context.test_batches(batch_size=200, n_trials=200, seed=seed))
    res = simulate(show, batch.inputs, record=("r",))
    conditions = 2 * batch.info["context"] + (batch.targets[-1, :, 0] > 0)
    shown = {"P": show.P, "dt": show.dt, "outputs": res.outputs, "conditions": conditions}
    if show.P >= 3:
        kappa = project_on_modes(show, res.r, "in")
        extra = 1000 if scale != "tiny" else 100
        slow = slow_points(show, batch.inputs, conditions, extra_steps=extra)
        shown.update(kappa=kappa, ends=end_states_by_condition(kappa, conditions), extra_steps=extra,
                     slowdown=np.asarray(slow["slowdown"], float), slow_labels=slow["labels"],
                     slow_ends=end_states_by_condition(slow["kappa"], conditions))
    return shown


def _importance(net):
    """The piecewise power law of mode importance (P >= 6), over all ranks and the paper's 1-19."""
    from ..analysis import fit_piecewise_power_law, mode_importance

    if net.P < 6:
        return None
    tau = mode_importance(net)
    return {"task": None, "N": net.N, "P": net.P, "fit": fit_piecewise_power_law(tau),
            "paper_range": fit_piecewise_power_law(tau, max_rank=19) if net.P >= 19 else None}


def _pruning(label, net, task, s, seed):
    """Metric after removing k modes in three orders."""
    from ..analysis import pruning_curve

    counts = sorted(set(np.linspace(0, net.P, min(net.P + 1, 9)).round().astype(int).tolist()))
    n_eval = min(s["prune_trials"], task.n_test_trials())
    curve = pruning_curve(net, task, counts=counts, n_random=s["n_random"], n_trials=n_eval, seed=seed)
    return {"label": label, "task": task.name, "N": net.N, "P": net.P, "n_eval": n_eval, "n_random": s["n_random"],
            "curve": curve}
