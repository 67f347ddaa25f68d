"""Models trained in one discretization, evaluated in the other (issue 3).

The published update (SPEC 1.1) has no exact continuous-time form, so Brian2 runs the
'brian2' discretization. This evaluates each model on its task's held-out trials in both
forms with the numpy engine (the 'brian2' form is what Brian2 computes spike for spike,
see tests/brian/test_brian.py), so that the cost of moving a model between them is measured.

    .venv/bin/python benchmarks/cross_discretization.py MODEL [MODEL ...] [--data-dir ../shared/data/mnist]
"""

import argparse

import numpy as np

from brianmodes import load
from brianmodes.tasks import task_for


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    rows = []
    for path in args.models:
        net = load(path)
        task = task_for(net, args.data_dir)
        results = {}
        for form in ("published", "brian2"):
            m = task.evaluate(net.with_config(discretization=form), dtype=np.float64)
            results[form] = (m[task.main_metric], m.get("mse"), m["rate_hz"])
        rows.append((path, task.name, net.discretization, results))
        print(rows[-1], flush=True)
    print("\n| model | task | trained in | metric | run as published | run as brian2 | rate published / brian2 (Hz) |")
    print("|---|---|---|---|---|---|---|")
    for path, name, trained, res in rows:
        metric = "accuracy (%)" if name != "context" else "decision accuracy (%) / MSE"
        cells = []
        for form in ("published", "brian2"):
            value, mse, _ = res[form]
            cells.append(f"{100 * value:.2f}" + (f" / {mse:.4f}" if mse is not None else ""))
        print(f"| {path} | {name} | {trained} | {metric} | {cells[0]} | {cells[1]} | "
              f"{res['published'][2]:.1f} / {res['brian2'][2]:.1f} |")


if __name__ == "__main__":
    main()
