"""Print the two-segment power law fitted to the mode importance of saved models.

    .venv/bin/python benchmarks/importance.py MODEL [MODEL ...] [--max-rank 19]
"""

import argparse

from brianmodes import load
from brianmodes.analysis import fit_piecewise_power_law, mode_importance


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--max-rank", type=int, help="fit ranks 1..max_rank only (the paper: 19)")
    args = parser.parse_args()
    print("| model | ranks fitted | breakpoint | slope 1 (R²) | slope 2 (R²) |")
    print("|---|---|---|---|---|")
    for path in args.models:
        fit = fit_piecewise_power_law(mode_importance(load(path)), max_rank=args.max_rank)
        print(f"| {path} | 1-{len(fit['ranks'])} | {fit['breakpoint']} | {fit['slopes'][0]:.3f} ({fit['r2'][0]:.2f}) "
              f"| {fit['slopes'][1]:.3f} ({fit['r2'][1]:.2f}) |")


if __name__ == "__main__":
    main()
