"""Reproduce the paper's MNIST accuracy for N=100 (SPEC 2.1) on the real data.

Trains N=100 networks with P = 1, 3, 10 (T = 50, double filter, batches of 256, Adam 1e-3,
clipping 20) for at most 3000 batches each and evaluates them on the full 10,000-image
test set. Prints a markdown table beside the published numbers.

    .venv/bin/python benchmarks/reproduce_mnist.py [--data-dir ../shared/data/mnist] [--P 1 3 10]
        [--batches 3000] [--out runs/reproduce-mnist]
"""

import argparse
from pathlib import Path

from brianmodes import load, save
from brianmodes.tasks import make_task
from brianmodes.recipe import train_and_evaluate
from brianmodes.train import Trainer

PUBLISHED_N100 = {1: 96.2, 3: 96.0, 10: 95.3, 30: 94.9, 100: 95.2, 200: 94.8}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--P", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--N", type=int, default=100)
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/reproduce-mnist")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="re-evaluate the models saved in --out instead of training")
    args = parser.parse_args()
    task = make_task("mnist", data_dir=args.data_dir)
    rows = []
    for P in args.P:
        path = Path(args.out) / f"mnist-N{args.N}-P{P}-seed{args.seed}.npz"
        if args.evaluate_only:
            net = load(path)
            metrics = task.evaluate(net)
            row = (P, 100 * metrics["accuracy"], PUBLISHED_N100.get(P) if args.N == 100 else None,
                   metrics["rate_hz"], net.metadata["train_seconds"], float("nan"))
            rows.append(row)
            print(row, flush=True)
            continue
        net = task.make_network(N=args.N, P=P, seed=args.seed, discretization="published")
        run = train_and_evaluate(net, task, Trainer(n_batches=args.batches, batch_size=256, seed=args.seed,
                                                    progress=True),
                                 command=f"python benchmarks/reproduce_mnist.py --P {P} --batches {args.batches} "
                                         f"--seed {args.seed}")
        save(net, path)
        metrics, seconds = run.metrics, run.train_seconds
        row = (P, 100 * metrics["accuracy"], PUBLISHED_N100.get(P) if args.N == 100 else None,
               metrics["rate_hz"], seconds, run.history[-1]["loss"])
        rows.append(row)
        print(f"P={P}: test accuracy {row[1]:.2f} % (published {row[2]}), rate {row[3]:.1f} Hz, "
              f"{seconds:.0f} s", flush=True)
    print(f"\nMNIST, N={args.N}, T=50, double filter, {args.batches} batches of 256, seed {args.seed}, "
          "full 10,000-image test set\n")
    print("| P | test accuracy (%) | published (%) | mean rate (Hz) | training time (s) | final batch loss |")
    print("|---|---|---|---|---|---|")
    for P, acc, pub, rate, sec, loss in rows:
        print(f"| {P} | {acc:.2f} | {pub if pub is not None else '-'} | {rate:.1f} | {sec:.0f} | "
              f"{'-' if loss != loss else f'{loss:.3f}'} |")


if __name__ == "__main__":
    main()
