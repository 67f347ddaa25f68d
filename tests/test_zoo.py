"""The shipped models: loadable by name, with model cards whose metrics reproduce."""

import json

import numpy as np
import pytest

from brianmodes import BrianModesError, available_models, load
from brianmodes.cli import main
from brianmodes.tasks import make_task


def test_shipped_models_have_cards():
    zoo = available_models()
    assert {"context-N100-P3", "digits-N100-P3", "mnist-N100-P3"} <= set(zoo)
    for name, card in zoo.items():
        net = load(name)
        assert card["config"] == net.config()
        for key in ("description", "task", "data", "training_command", "metrics_held_out", "trained"):
            assert card[key], (name, key)
        assert "data_dir" not in net.metadata["task"]  # no machine-specific paths


@pytest.mark.parametrize("name", ["context-N100-P3", "digits-N100-P3"])
def test_card_metrics_reproduce(name):
    net = load(name)
    card = available_models()[name]
    metrics = make_task(net.metadata["task"]).evaluate(net, dtype=np.float64)
    for key, value in card["metrics_held_out"].items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), key


def test_context_model_solves_its_task():
    card = available_models()["context-N100-P3"]["metrics_held_out"]
    assert card["decision_accuracy"] >= 0.99 and card["mse"] <= 0.03


def test_unknown_name(tmp_path):
    with pytest.raises(BrianModesError, match="shipped models: .*context-N100-P3"):
        load("context-N100-P7")


def test_cli_uses_names(capsys):
    assert main(["evaluate", "digits-N100-P3", "--json", "--dtype", "float64"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] == pytest.approx(available_models()["digits-N100-P3"]["metrics_held_out"]["accuracy"])
