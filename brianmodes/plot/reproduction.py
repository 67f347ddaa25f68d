"""The reproduction report's figures, drawn from :func:`brianmodes.reproduce.run_experiments`' results."""

from __future__ import annotations

from pathlib import Path

from .activity import plot_outputs_by_condition
from .modes import plot_accuracy_vs_modes, plot_importance, plot_mode_trajectories, plot_pruning


def report_figures(results, folder):
    """Draw the report's figures into ``folder`` (PNG); returns the files written.

    ``accuracy_vs_P.png``, ``context_outputs.png``, ``context_modes.png``
    (P >= 3), ``importance.png`` (P >= 6) and ``pruning_LABEL.png`` per task.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..figure_style import CONTEXT_CONDITION_NAMES as names
    from ..reproduce.published import PUBLISHED_MNIST

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []

    def save(fig, name):
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        files.append(folder / name)

    N = results["settings"]["N"]
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    mnist = results["image_task"] == "mnist" and N in PUBLISHED_MNIST
    plot_accuracy_vs_modes({N: {row["P"]: row["accuracy"] for row in results["classification"]}},
                           published={N: PUBLISHED_MNIST[N]} if mnist else None, ax=ax)
    save(fig, "accuracy_vs_P.png")
    shown = results["context_show"]
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    plot_outputs_by_condition(shown["outputs"], shown["conditions"], shown["dt"], labels=names, ax=ax)
    save(fig, "context_outputs.png")
    if "kappa" in shown:
        fig = plt.figure(figsize=(5, 4.5), constrained_layout=True)
        plot_mode_trajectories(shown["kappa"], shown["conditions"], labels=names, ax=fig.add_subplot(projection="3d"))
        save(fig, "context_modes.png")
    if results["importance"] is not None:
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        plot_importance(results["importance"]["fit"], ax=ax)
        save(fig, "importance.png")
    for entry in results["pruning"]:
        fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
        plot_pruning(entry["curve"], ax=ax)
        save(fig, f"pruning_{entry['label']}.png")
    return files
