"""Task performance of trained models simulated in Brian2 at finer time steps (issue 3).

The Brian2 equations are the model's continuous-time equations; at the model's dt they are
exactly the training model, at finer dt a better approximation of the continuous system.
Inputs are resampled (analog inputs held, each input spike moved to a random sub-step).

    .venv/bin/python benchmarks/dt_sweep.py MODEL [MODEL ...] [--dts 2 1 0.5 0.1] [--trials 500]
        [--data-dir ../shared/data/mnist] [--device cpp_standalone]
"""

import argparse

from brianmodes import load
from brianmodes.brian import evaluate_brian2
from brianmodes.tasks import task_for


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--dts", type=float, nargs="+", default=[2.0, 1.0, 0.5, 0.1], help="in ms")
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--data-dir")
    parser.add_argument("--device", default="cpp_standalone")
    parser.add_argument("--brian2-dead-time", action="store_true",
                        help="refractory = t_ref, so that Brian2 clamps for t_ref - dt after a spike (by default "
                             "the runners keep the dead time of the training dt: refractory = t_ref - dt_model + dt)")
    args = parser.parse_args()
    rows = []
    for path in args.models:
        net = load(path)
        task = task_for(net, args.data_dir)
        for dt_ms in args.dts:
            dt = dt_ms * 1e-3
            m = evaluate_brian2(net, task, device=args.device, n_trials=args.trials,
                                batch_size=args.batch_size, dt=dt,
                                refractory=net.t_ref if args.brian2_dead_time else None)
            result = (f"accuracy {100 * m['accuracy']:.2f} %" if "accuracy" in m else
                      f"MSE {m['mse']:.4f}, decision accuracy {100 * m['decision_accuracy']:.1f} %")
            rows.append((path, task.name, dt_ms, result, m["rate_hz"], m["seconds"]))
            print(rows[-1], flush=True)
    print(f"\nBrian2 ({args.device}), {args.trials} held-out trials per entry"
          + (", refractory = t_ref (clamped for t_ref - dt)" if args.brian2_dead_time else
             ", dead time after a spike kept at t_ref - dt_model") + "\n")
    print("| model | task | dt (ms) | result | mean rate (Hz) | time (s) |")
    print("|---|---|---|---|---|---|")
    for path, name, dt_ms, result, rate, sec in rows:
        print(f"| {path} | {name} | {dt_ms:g} | {result} | {rate:.1f} | {sec:.0f} |")


if __name__ == "__main__":
    main()
