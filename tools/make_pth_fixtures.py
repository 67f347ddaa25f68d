"""Write the small PyTorch checkpoints the tests read without torch (run once, with torch installed).

    python -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.13.0 "numpy<2.4"
    /tmp/torch/bin/python tools/make_pth_fixtures.py

Writes ``tests/bridges/fixtures/``: checkpoints in the authors' layout (SPEC 5, random
weights) saved by ``torch.save`` the way their code saves them (a module's
``state_dict()``), a few files of other dtypes and strides for the reader, and
``expected.npz``, every tensor as torch itself reads it back
(``torch.load(weights_only=True)``), which the tests compare with
:func:`brianmodes.bridges.read_pth`.
"""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "bridges" / "fixtures"


class AuthorsModel(torch.nn.Module):
    """The authors' parameters (names and shapes of SPEC 5), random."""

    def __init__(self, N, P, N_in, N_out, per_neuron_l=False, extra=()):
        super().__init__()
        g = torch.Generator().manual_seed(N * 100 + P)
        self.Win = torch.nn.Parameter(torch.randn(N, N_in, generator=g) / N_in ** 0.5)
        self.pin = torch.nn.Parameter(torch.randn(N, P, generator=g) / P ** 0.5)
        self.pout = torch.nn.Parameter(torch.randn(N, P, generator=g) / P ** 0.5)
        self.l = torch.nn.Parameter(torch.randn(N, 1, generator=g) if per_neuron_l else
                                    torch.randn(P, generator=g) / N ** 0.5)
        self.Wout = torch.nn.Parameter(torch.randn(N_out, N, generator=g) / N_out ** 0.5)
        for name in extra:
            setattr(self, name, torch.nn.Parameter(torch.rand(N, 1, generator=g)))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "H_12_P_2_0.pth": AuthorsModel(12, 2, 784, 10).state_dict(),            # MNIST layout
        "H_20_P_3_1.pth": AuthorsModel(20, 3, 4, 1).state_dict(),               # context layout
        "H_20_P_3_4.pth": AuthorsModel(20, 3, 4, 1, per_neuron_l=True).state_dict(),   # l of shape (N, 1)
        "H_300_P_2_0.pth": AuthorsModel(10, 2, 4, 1, extra=("sigmoid_tau_d",)).state_dict(),  # unrunnable
        "H_100_P_3.pth": AuthorsModel(100, 3, 4, 1).state_dict(),               # a single-filter context model (SPEC 5)
        "dtypes.pth": OrderedDict([
            ("f64", torch.arange(6, dtype=torch.float64).reshape(2, 3)),
            ("transposed", torch.arange(12, dtype=torch.float32).reshape(3, 4).t()),
            ("slice", torch.arange(10, dtype=torch.float32)[3:8]),
            ("half", torch.linspace(-1, 1, 5, dtype=torch.float16)),
            ("bf16", torch.linspace(-2, 2, 4, dtype=torch.bfloat16)),
            ("int64", torch.arange(-3, 3)),
            ("bool", torch.tensor([True, False, True])),
            ("scalar", torch.tensor(2.5)),
            ("empty", torch.zeros(0, 3)),
        ]),
    }
    expected = {}
    for name, state in files.items():
        torch.save(state, OUT / name)
        for key, tensor in torch.load(OUT / name, weights_only=True).items():
            expected[f"{name}::{key}"] = tensor.float().numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()
    np.savez(OUT / "expected.npz", **expected)
    print(f"wrote {len(files)} checkpoints and expected.npz ({len(expected)} tensors) to {OUT}")


if __name__ == "__main__":
    main()
