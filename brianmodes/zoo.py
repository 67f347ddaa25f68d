"""Where the trained models live, and finding them by name.

The trained models and their JSON model cards are kept in the top-level ``models/``
folder of the source tree (``models/NAME.npz`` with ``models/NAME.json``). A name is
looked up, in order, in

1. the folders listed in the environment variable ``BRIANMODES_MODELS`` (separated by
   ``os.pathsep``: ``:`` on Linux and macOS, ``;`` on Windows), for a user's own models;
2. the source checkout's ``models/`` when brianmodes runs from a checkout (the
   repository itself, or ``pip install -e .``); otherwise
3. the installed copy, ``share/brianmodes/models`` under the prefix that brianmodes was
   installed into (``[options.data_files]`` in setup.cfg puts it there for a regular
   ``pip install .`` or a wheel), found through the installed file list or, failing
   that, the interpreter's ``sysconfig`` data folders (the environment's and the user's).

A model is listed by :func:`available_models` when its card sits next to it; loading by
name only needs ``NAME.npz``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sysconfig
from pathlib import Path

from .errors import BrianModesError

ENV_VAR = "BRIANMODES_MODELS"
SOURCE_ROOT = Path(__file__).resolve().parents[1]
SOURCE_MODELS = SOURCE_ROOT / "models"
INSTALLED_SUBDIR = ("share", "brianmodes", "models")


def model_dirs():
    """The folders searched for models by name, in the order they are searched.

    Returns
    -------
    list of Path

    Raises
    ------
    BrianModesError
        If ``BRIANMODES_MODELS`` names something that is not a folder.

    Examples
    --------
    >>> all(folder.is_dir() for folder in model_dirs())
    True
    """
    dirs = _env_dirs()
    if _is_checkout():
        dirs.append(SOURCE_MODELS)
    else:
        dirs += _installed_dirs()
    unique = []
    for folder in dirs:
        if folder not in unique:
            unique.append(folder)
    return unique


def zoo_path(name):
    """The model file for a model name, or None when no searched folder has one.

    Parameters
    ----------
    name : str
        A model name such as ``"context-N100-P3"`` (no folder, no ``.npz``).

    Examples
    --------
    >>> zoo_path("context-N100-P3").name
    'context-N100-P3.npz'
    >>> zoo_path("no-such-model") is None
    True
    """
    for folder in model_dirs():
        candidate = folder / f"{name}.npz"
        if candidate.is_file():
            return candidate
    return None


def available_models():
    """Names and model cards of the trained networks that can be loaded by name.

    Models in the folders named by ``BRIANMODES_MODELS`` come first, then the shipped
    ones, each folder in name order; when two folders hold the same name, the first one
    wins, as in :func:`zoo_path`.

    Returns
    -------
    dict
        Name to model card (configuration, training command, data, metrics, date).

    Raises
    ------
    BrianModesError
        If a model card is not valid JSON.

    Examples
    --------
    >>> "context-N100-P3" in available_models()
    True
    >>> available_models()["digits-N100-P3"]["config"]["P"]
    3
    """
    cards = {}
    for folder in model_dirs():
        for card_file in sorted(folder.glob("*.json")):
            name = card_file.stem
            if name not in cards and (folder / f"{name}.npz").is_file():
                cards[name] = read_card(card_file)
    return cards


def read_card(path):
    """Read one model card (JSON), with a clear error if it is damaged.

    Examples
    --------
    >>> read_card(zoo_path("context-N100-P3").with_suffix(".json"))["task"]["name"]
    'context'
    """
    path = Path(path)
    try:
        card = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BrianModesError(f"model card {path} cannot be read ({type(err).__name__}: {err}); "
                              "restore it (reinstall brianmodes for a shipped model) or delete it") from None
    if not isinstance(card, dict):
        raise BrianModesError(f"model card {path} is not a JSON object; "
                              "restore it (reinstall brianmodes for a shipped model) or delete it")
    return card


def _env_dirs():
    value = os.environ.get(ENV_VAR, "")
    dirs = []
    for entry in filter(None, value.split(os.pathsep)):
        folder = Path(entry).expanduser()
        if not folder.is_dir():
            raise BrianModesError(f"{ENV_VAR} names {entry!r}, which is not a folder; set it to folders "
                                  f"holding NAME.npz model files (separated by {os.pathsep!r}) or unset it")
        dirs.append(folder.resolve())
    return dirs


def _is_checkout():
    # Installed, this module sits in site-packages/brianmodes/, next to no setup.cfg.
    return (SOURCE_ROOT / "setup.cfg").is_file() and SOURCE_MODELS.is_dir()


def _installed_dirs():
    dirs = [Path(record.locate()).resolve().parent for record in _own_records()
            if tuple(record.parts[-4:-1]) == INSTALLED_SUBDIR]
    for scheme in (sysconfig.get_default_scheme(), f"{os.name}_user"):
        try:
            dirs.append(Path(sysconfig.get_path("data", scheme)).joinpath(*INSTALLED_SUBDIR).resolve())
        except KeyError:  # a scheme this platform does not have
            continue
    return [folder for folder in dirs if folder.is_dir()]


def _own_records():
    """The installed file list of the distribution this module was installed from."""
    here = Path(__file__).resolve()
    for dist in importlib.metadata.distributions(name="brianmodes"):
        records = dist.files or []
        if any(tuple(r.parts[-2:]) == ("brianmodes", "zoo.py") and Path(r.locate()).resolve() == here
               for r in records):
            return records
    return []
