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


@pytest.fixture
def numpy_code_generation():
    """Brian2's global target is 'numpy' unless a test asks for cython or standalone.

    Under Brian2's default ('auto': Cython when available) building a circuit compiles code (the
    synapse creation), which takes tens of seconds on a fresh cache.
    """
    import brian2

    previous = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "numpy"
    yield
    brian2.prefs.codegen.target = previous
