"""Helpers shared by several test modules (importable: conftest.py puts tests/ on sys.path).

``small_problem`` (gradient and engine tests), ``USER_MODEL`` (a neuron written in Brian2
syntax), ``make_mnist`` (a tiny synthetic MNIST folder), ``rewrite_model_file`` (edit a
saved model, carelessly or carefully) and ``run_cli`` (the real console script).
"""

import gzip
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from brianmodes import ModeNetwork
from brianmodes.io import HEADER_DIGEST_KEY, HEADER_KEY, header_digest
from brianmodes.neurons import NeuronModel, Parameter


def small_problem(seed=2, T=25, **kw):
    """A small network (N=12, P=3) driven hard enough to spike and be refractory, its inputs and targets
    (the gradient tests of train/, neurons/)."""
    rng = np.random.default_rng(seed)
    N, P, N_in, N_out, B = 12, 3, 5, 3, 3
    net = ModeNetwork(N=N, P=P, N_in=N_in, N_out=N_out, seed=seed, **kw)
    net.params["W_in"] *= 4  # enough drive for spikes and refractory periods
    if "lam" in net.params:
        net.params["lam"] *= 10  # recurrence strong enough for its gradient to stand above round-off
    else:
        net.params["W"] *= 3
    x = rng.random((T, B, N_in)) * 1.5
    if net.readout == "max":
        return net, x, np.array([0, 1, 2]), "cross_entropy"
    return net, x, 0.1 * rng.normal(size=(T, B, N_out)), "mse"  # small loss, small FD round-off


#: A neuron a user writes in Brian2 syntax: a saturating synaptic drive (a subexpression), a
#: reset below rest, Brian2's 'hold' refractoriness, units in the equations, a trainable
#: per-neuron membrane time constant and a trainable reset value.
USER_MODEL = NeuronModel(
    """
    dv/dt = (drive - v) / tau_m : 1 (unless refractory)
    drive = 2 * tanh(I / 2) : 1
    dI/dt = -I / tau_s + I_rec / (2 * ms) : 1
    dr/dt = -r / tau_d : 1
    I_rec : 1
    """,
    threshold="v > v_th", reset="v = v_reset\nr += 0.1", refractory="4 ms", refractory_mode="hold",
    parameters={"tau_m": Parameter("15 ms", per_neuron=True, trainable=True, bound="positive"),
                "tau_s": "8 ms", "tau_d": "25 ms", "v_th": 0.8, "v_reset": Parameter(-0.2, trainable=True)},
    name="saturating-lif")


_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array):
    """Return the IDX encoding of ``array``."""
    array = np.asarray(array)
    header = bytes([0, 0, _CODES[array.dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz):
    """Write ``array`` as an IDX file at ``path``, gzip-compressed if ``gz``."""
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if gz else data)
    return Path(path)


def make_mnist(folder, n_train=5, n_test=3, dashed=False, gz=True):
    """Write a tiny synthetic MNIST folder; return the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sep = "-" if dashed else "."
    ext = ".gz" if gz else ""
    arrays = {}
    for stem, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(folder / f"{stem}-images{sep}idx3-ubyte{ext}", images, gz)
        write_idx(folder / f"{stem}-labels{sep}idx1-ubyte{ext}", labels, gz)
        arrays[stem] = (images, labels)
    return arrays


def rewrite_model_file(path, edit_arrays=None, edit_header=None, seal=False):
    """Rewrite a saved model with edited arrays or header.

    ``seal=False`` is a careless tool (the header digest is left as it was);
    ``seal=True`` a careful one that recomputes it, so that the checks behind
    the digest are reached.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop(HEADER_KEY)))
    if edit_arrays:
        edit_arrays(arrays)
    if edit_header:
        edit_header(header)
    if seal:
        header[HEADER_DIGEST_KEY] = header_digest(header)
    np.savez(path, **arrays, **{HEADER_KEY: np.array(json.dumps(header))})


def run_cli(*args, cwd=None, env=None):
    """Run the real console script in a subprocess (exit code and streams as a user sees them).

    It runs in ``cwd`` (default: a fresh empty folder), so that nothing lands in the checkout.
    """
    cwd = cwd or tempfile.mkdtemp(prefix="brianmodes-cli-")
    proc = subprocess.run([sys.executable, "-m", "brianmodes.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    return proc.returncode, proc.stdout, proc.stderr
