"""Training at a finer dt: the remedy for the context model's sensitivity to Brian2's time step.

A context model trained at dt = 2 ms loses output amplitude when Brian2 simulates it at 1 ms
(docs/brian2.md, "dt"). Since the update is derived from the equations for any dt, a network can
be trained at 1 ms instead. This script trains one (N = 100, P = 3, the task's default budget)
on the same trials in time at 1 ms steps, and evaluates both models in their engine and in Brian2
(C++ standalone) on 500 held-out trials:

1. the 2 ms model at 2 ms (engine and Brian2);
2. the 2 ms model in Brian2 at 1 ms (inputs resampled, charge kept);
3. the 1 ms model at 1 ms (engine and Brian2).

The 1 ms task has the 2 ms task's times (1 s trials, stimulus 100-500 ms) in twice the steps; the
stimulus offset and noise per step are scaled so that every 2 ms carries the same charge and
noise variance (offset / 2, noise / sqrt 2); the context cues are 1 per step as in the task.

    .venv/bin/python benchmarks/finer_dt_training.py [--model runs/context-N100-P3/model.npz]
        [--batches 1500] [--out runs/context-N100-P3-dt1ms.npz]
"""

import argparse
from pathlib import Path

import numpy as np

from brianmodes import load, save
from brianmodes.brian import evaluate_brian2
from brianmodes.recipe import train_and_evaluate
from brianmodes.tasks import make_task
from brianmodes.train import Trainer


def fine_task():
    """The context task's trials in time, at 1 ms steps."""
    return make_task("context", n_steps=1000, stim_on=100, stim_off=500, offset=0.25, noise_std=1 / np.sqrt(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="context-N100-P3",
                        help="the model trained at 2 ms (a file or a shipped model's name)")
    parser.add_argument("--batches", type=int, default=1500)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--out", default="runs/context-N100-P3-dt1ms.npz")
    args = parser.parse_args()
    coarse, fine = make_task("context"), fine_task()
    net2 = load(args.model)
    out = Path(args.out)
    if out.exists():
        net1 = load(out)
    else:
        net1 = fine.make_network(N=100, P=3, seed=0, dt="1 ms")
        train_and_evaluate(net1, fine, Trainer(n_batches=args.batches, seed=0),
                           command=f"python benchmarks/finer_dt_training.py --batches {args.batches}",
                           eval_trials=args.trials)
        out.parent.mkdir(parents=True, exist_ok=True)
        save(net1, out)
    rows = [
        ("trained at 2 ms", "engine, 2 ms", coarse.evaluate(net2, n_trials=args.trials)),
        ("trained at 2 ms", "Brian2, 2 ms", evaluate_brian2(net2, coarse, n_trials=args.trials)),
        ("trained at 2 ms", "Brian2, 1 ms", evaluate_brian2(net2, coarse, n_trials=args.trials, dt=1e-3)),
        ("trained at 1 ms", "engine, 1 ms", fine.evaluate(net1, n_trials=args.trials)),
        ("trained at 1 ms", "Brian2, 1 ms", evaluate_brian2(net1, fine, n_trials=args.trials)),
    ]
    print(f"\ncontext task, N = 100, P = 3, {args.trials} held-out trials\n")
    print("| model | simulated in | MSE | decision accuracy (%) | mean rate (Hz) |")
    print("|---|---|---|---|---|")
    for model, where, m in rows:
        print(f"| {model} | {where} | {m['mse']:.4f} | {100 * m['decision_accuracy']:.1f} | {m['rate_hz']:.1f} |")
    if "train_seconds" in net1.metadata:
        print(f"\n1 ms model: {net1.metadata.get('batches')} batches in {net1.metadata['train_seconds']:.0f} s")


if __name__ == "__main__":
    main()
