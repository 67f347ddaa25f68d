"""Weights trained elsewhere as a network: brianmodes' array names or the authors' (SPEC 5), without traps.

The authors' checkpoints name the arrays ``Win``, ``Wout``, ``pin``, ``pout`` and
``l``; brianmodes names them ``W_in``, ``W_out``, ``xi_in``, ``xi_out`` and ``lam``.
Either is accepted. What the arrays do not say is taken from the task they are
for (its filter and readout), and weights in the authors' names get the authors'
dynamics (the published discrete update; the float32 refractory clock of SPEC 1.4
for the context task) unless told otherwise. Everything assumed or dropped is
said in a note; nothing changes silently.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> arrays = {"Win": rng.normal(size=(30, 4)), "Wout": rng.normal(size=(1, 30)), "pin": rng.normal(size=(30, 2)),
...           "pout": rng.normal(size=(30, 2)), "l": rng.normal(size=2), "loss_history": np.zeros(10)}
>>> net, notes = network_from_arrays(arrays, task="context")
>>> net.discretization, net.refractory_timing, net.filter, net.readout
('published', 'float32', 'double-ema', 'per_step')
>>> notes[0]
'ignored array loss_history (not a weight of the network)'
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import BrianModesError

#: The authors' array names (and 0.1's ``lambda``) and brianmodes' names for them.
ALIASES = {"Win": "W_in", "Wout": "W_out", "pin": "xi_in", "pout": "xi_out", "l": "lam", "lambda": "lam"}
AUTHORS_NAMES = ("Win", "Wout", "pin", "pout", "l")
NETWORK_ARRAYS = ("W_in", "W_out", "xi_in", "lam", "xi_out", "W")
#: Arrays of published models whose dynamics brianmodes cannot run, and why.
UNRUNNABLE = {
    "sigmoid_tau_d": "a learnable per-neuron tau_d (sigmoid_tau_d) whose dynamics were never published",
    "vthr": "a learnable threshold (vthr) whose dynamics were never published",
}
#: The authors' context-task models that run with the single filter (SPEC 5).
SINGLE_FILTER_CONTEXT_MODELS = ("H_100_P_3", "H_100_P_3_wrong")


def _renamed(arrays, notes):
    out = {}
    for name, value in arrays.items():
        target = ALIASES.get(name, name)
        if target in out:
            raise BrianModesError(f"arrays {name!r} and {target!r} are the same weight ({target}); give one")
        if target in NETWORK_ARRAYS:
            out[target] = np.asarray(value, dtype=np.float64)
        else:
            notes.append(f"ignored array {name} (not a weight of the network)")
    return out


def _fold_per_neuron_scale(arrays, notes):
    """``l`` of shape (N, 1): the authors' W = diag(l) xi_in xi_out^T, folded into xi_in (lambda = 1)."""
    lam, xi_in = arrays.get("lam"), arrays.get("xi_in")
    if lam is None or xi_in is None:
        return arrays
    N, P = xi_in.shape if xi_in.ndim == 2 else (None, None)
    if lam.shape == (N, 1) or (lam.ndim == 1 and lam.size == N and N != P):
        arrays["xi_in"] = lam.reshape(N, 1) * xi_in
        arrays["lam"] = np.ones(P)
        notes.append(f"l has one value per neuron ({lam.shape}): W = diag(l) xi_in xi_out^T, folded into xi_in "
                     "(lambda = 1)")
    elif lam.ndim == 2 and lam.shape[1] == 1:
        arrays["lam"] = lam[:, 0]
    return arrays


def network_from_arrays(arrays, *, task=None, data_dir=None, authors=None, source=None, **settings):
    """A :class:`~brianmodes.ModeNetwork` from weight arrays, and notes on what was assumed or dropped.

    Parameters
    ----------
    arrays : dict
        Name -> array: ``W_in``, ``W_out`` and either ``xi_in``, ``lam``,
        ``xi_out`` or a dense ``W``, in brianmodes' names or the authors'
        (:data:`ALIASES`). Other arrays are ignored, with a note.
    task : str, optional
        The task the weights are for: its filter and readout are the
        defaults, and it is recorded so that ``brianmodes evaluate`` runs it.
    data_dir : path, optional
        The data folder of a task that reads files (MNIST).
    authors : bool, optional
        Whether the weights are the authors' (default: when any array has an
        authors' name): then the published update is the default
        discretization, with the float32 refractory clock for the context task.
    source : path, optional
        The file the arrays came from (recorded; an authors' context model
        named in :data:`SINGLE_FILTER_CONTEXT_MODELS` gets the single filter).
    **settings
        ``filter``, ``readout``, ``neuron``, ``discretization``,
        ``refractory_timing`` and the neuron constants (``dt``, ``tau_m``...):
        given ones always win.

    Returns
    -------
    net : ModeNetwork
    notes : list of str
    """
    from ..network import ModeNetwork
    from ..tasks import TASKS

    for name, why in UNRUNNABLE.items():
        if name in arrays:
            raise BrianModesError(f"this model has {why}; brianmodes cannot run it faithfully")
    notes = []
    authors = any(name in arrays for name in AUTHORS_NAMES) if authors is None else authors
    weights = _fold_per_neuron_scale(_renamed(arrays, notes), notes)
    for required in ("W_in", "W_out"):
        if required not in weights:
            raise BrianModesError(f"no array {required!r} (or {'Win' if required == 'W_in' else 'Wout'}); found: "
                                  f"{', '.join(arrays) or 'none'}")
    settings = {key: value for key, value in settings.items() if value is not None}
    metadata = {} if source is None else {"imported_from": str(source)}
    if task is not None:
        if task not in TASKS:
            raise BrianModesError(f"task must be one of {', '.join(sorted(TASKS))}, got {task!r}")
        task_class = TASKS[task]
        settings.setdefault("readout", task_class.readout)
        if isinstance(settings.get("neuron", "lif"), str):
            stem = Path(source).stem if source is not None else ""
            settings.setdefault("filter", "single" if authors and task == "context" and
                                stem in SINGLE_FILTER_CONTEXT_MODELS else task_class.filter)
        metadata["task"] = {"name": task}
        if task_class.needs_data_dir:
            metadata["task"]["data_dir"] = str(Path(data_dir).resolve()) if data_dir else None
    if authors and isinstance(settings.get("neuron", "lif"), str) and settings.get("neuron", "lif") == "lif":
        settings.setdefault("discretization", "published")
        if task == "context" and settings["discretization"] == "published":
            settings.setdefault("refractory_timing", "float32")
    elif "discretization" not in settings and isinstance(settings.get("neuron", "lif"), str) \
            and settings.get("neuron", "lif") == "lif":
        notes.append("no discretization given: these weights run with the continuous-time LIF ('brian2'); "
                     "pass discretization='published' (--discretization published) for weights trained with the "
                     "authors' update")
    if task is None and not {"filter", "readout"} <= set(settings):
        notes.append("no task given: filter and readout are the defaults (double, max) unless set; give the task "
                     "(--task) so that they follow it and `brianmodes evaluate` can run it")
    net = ModeNetwork.from_arrays(metadata=metadata, **weights, **settings)
    return net, notes


def read_checkpoint(path, task=None, data_dir=None, **settings):
    """An authors' checkpoint (``.pth``, read without torch) or an ``.npz`` of arrays as a network.

    The notes of :func:`network_from_arrays` are issued as warnings.

    Examples
    --------
    >>> net = read_checkpoint("H_100_P_3_0.pth", task="mnist", data_dir="../shared/data/mnist")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise BrianModesError(f"no such file: {path}")
    if "_rate" in path.stem:
        raise BrianModesError(f"{path.name} is one of the authors' rate networks (tanh units of their own "
                              "dynamics), not a spiking model; brianmodes does not import it")
    arrays = read_arrays(path)
    net, notes = network_from_arrays(arrays, task=task, data_dir=data_dir, source=path, **settings)
    for note in notes:
        warnings.warn(f"{path.name}: {note}", stacklevel=2)
    return net


def read_arrays(path):
    """The arrays of a ``.pth`` checkpoint (:func:`~brianmodes.bridges.pth.read_pth`) or an ``.npz`` file."""
    from .pth import read_pth

    path = Path(path)
    if path.suffix in (".pth", ".pt"):
        return read_pth(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - any read failure is a bad file for the user
        raise BrianModesError(f"cannot read arrays from {path} ({type(err).__name__}: {err})") from None
