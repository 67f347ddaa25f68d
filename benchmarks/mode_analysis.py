"""Mode importance and pruning of trained models (issue 4: SPEC 3's analyses).

For each model: the importance tau of every mode, the two-segment power law fitted to it
against rank (breakpoint chosen by the fit), and the task metric after removing k modes
least-important first, most-important first and in random orders (mean ± sd). Writes a
figure per model into --figures and prints markdown tables.

    .venv/bin/python benchmarks/mode_analysis.py runs/mnist-N100-P30/model.npz runs/context-N100-P10/model.npz \
        [--data-dir ../shared/data/mnist] [--trials 2000] [--figures docs/figures]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from brianmodes import load  # noqa: E402
from brianmodes.analysis import fit_piecewise_power_law, mode_importance, pruning_curve  # noqa: E402
from brianmodes.plot import plot_importance, plot_pruning  # noqa: E402
from brianmodes.tasks import make_task  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data-dir")
    parser.add_argument("--trials", type=int, default=2000, help="held-out trials per evaluation")
    parser.add_argument("--n-random", type=int, default=5)
    parser.add_argument("--max-rank", type=int, help="fit the power law to ranks 1..max_rank")
    parser.add_argument("--figures", default="docs/figures")
    args = parser.parse_args()
    Path(args.figures).mkdir(parents=True, exist_ok=True)
    for path in args.models:
        net = load(path)
        config = dict(net.metadata["task"])
        if args.data_dir and config["name"] == "mnist":
            config["data_dir"] = args.data_dir
        task = make_task(config)
        name = f"{task.name}-N{net.N}-P{net.P}"
        tau = mode_importance(net)
        fit = fit_piecewise_power_law(tau, max_rank=args.max_rank) if net.P >= 6 else None
        counts = sorted(set(np.linspace(0, net.P, min(net.P + 1, 9)).round().astype(int).tolist()))
        curve = pruning_curve(net, task, counts=counts, n_random=args.n_random,
                              n_trials=min(args.trials, task.n_test_trials()))
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
        if fit is not None:
            plot_importance(fit, ax=axes[0])
        axes[0].set_title(f"{name}: mode importance")
        plot_pruning(curve, ax=axes[1])
        axes[1].set_title(f"{name}: pruning ({min(args.trials, task.n_test_trials())} held-out trials)")
        figure = Path(args.figures) / f"modes-{name}.png"
        fig.savefig(figure, dpi=110)
        print(f"\n## {path} ({task.name}, N={net.N}, P={net.P})\n")
        if fit is not None:
            print(f"Importance power law: breakpoint after rank {fit['breakpoint']}; slopes "
                  f"{fit['slopes'][0]:.3f} (ranks 1-{fit['breakpoint']}, R² {fit['r2'][0]:.2f}) and "
                  f"{fit['slopes'][1]:.3f} (ranks {fit['breakpoint'] + 1}-{len(fit['ranks'])}, "
                  f"R² {fit['r2'][1]:.2f})\n")
        metric = curve["metric"]
        print(f"| modes removed | {metric}: least important first | most important first | random (mean ± sd) |")
        print("|---|---|---|---|")
        for j, k in enumerate(curve["counts"]):
            a, d, r = curve["ascending"], curve["descending"], curve["random"]
            print(f"| {k} | {a['mean'][j]:.4f} | {d['mean'][j]:.4f} | {r['mean'][j]:.4f} ± {r['sd'][j]:.4f} |")
        area = {order: float(np.trapezoid(curve[order]["mean"], curve["counts"]))
                for order in ("ascending", "descending", "random")}
        better = "least important first" if area["ascending"] > area["descending"] else "most important first"
        print(f"\nArea under the curve: ascending {area['ascending']:.3f}, descending "
              f"{area['descending']:.3f}, random {area['random']:.3f}: removing modes {better} keeps "
              f"more of the {metric}.  Figure: {figure}")


if __name__ == "__main__":
    main()
