"""Copy trained models into the shipped zoo (models/ at the top of the repository) with JSON model cards.

Each model is re-evaluated on its task's held-out trials (seeded per trial) so that the
card's metrics are reproducible with ``brianmodes evaluate``.

    .venv/bin/python tools/make_zoo.py NAME=runs/context-N100-P3/model.npz ... [--data-dir ../shared/data/mnist]
"""

import argparse
import datetime
import json

import numpy as np

from brianmodes import __version__, load, save
from brianmodes.zoo import SOURCE_MODELS as ZOO
from brianmodes.tasks import make_task


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=PATH")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    for item in args.models:
        name, path = item.split("=", 1)
        net = load(path)
        config = dict(net.metadata["task"])
        data = None
        if config["name"] == "mnist":
            data = "MNIST (LeCun, Cortes & Burges), the four IDX files; folder given with --data-dir"
            config["data_dir"] = args.data_dir or config.get("data_dir")
        elif config["name"] == "digits":
            data = "scikit-learn's built-in 8x8 digits (load_digits), stratified 80/20 split, seed 0"
        else:
            data = "generated trials (ContextTask), 500 held-out trials seeded (0, i)"
        task = make_task(config)
        metrics = task.evaluate(net, dtype=np.float64)
        card = {
            "name": name,
            "description": f"{task.name} task, N={net.N} LIF neurons, P={net.P} modes, "
                           f"{net.discretization} discretization (runs in Brian2 spike for spike)"
                           if net.discretization == "brian2" else f"{task.name} task, N={net.N}, P={net.P}",
            "config": net.config(),
            "task": {k: v for k, v in net.metadata["task"].items() if k != "data_dir"},
            "data": data,
            "training_command": net.metadata.get("command"),
            "trainer": net.metadata.get("trainer"),
            "batches": net.metadata.get("batches"),
            "train_seconds": net.metadata.get("train_seconds"),
            "trained": net.metadata.get("date"),
            "metrics_held_out": metrics,
            "evaluate_command": f"brianmodes evaluate {name}" + (" --data-dir DIR" if task.name == "mnist" else ""),
            "card_written": datetime.date.today().isoformat(),
            "brianmodes": __version__,
        }
        net.metadata["task"] = card["task"]  # no machine-specific paths in shipped files
        net.metadata["metrics"] = metrics
        save(net, ZOO / f"{name}.npz")
        (ZOO / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
        print(name, {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()})


if __name__ == "__main__":
    main()
