import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.fixture(params=["numpy", "compiled"])
def engine(request):
    """Each engine in turn (the behavioural tests run on both, as Brian2 runs its tests on every target)."""
    return request.param


@pytest.fixture
def mnist_dir():
    if not (MNIST_DIR / "train-labels.idx1-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    return MNIST_DIR
