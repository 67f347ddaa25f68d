"""The documented examples run end to end (on a small untrained model, for speed)."""

import runpy
import sys
from pathlib import Path

import brian2
import numpy as np
import pytest

from brianmodes import save
from brianmodes.analysis import mode_importance
from brianmodes.tasks import make_task

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _modes_ranked_differently(net):
    """Mode norms and lambdas where tau (SPEC 3) and |lambda| ||xi_in|| ||xi_out|| disagree.

    Mode 0: lambda 1, unit norms (tau 1.26, product 1); mode 1: lambda 0.2, norms 3
    (tau 0.98, product 1.8); mode 2: lambda 0.1, unit norms. tau picks mode 0.
    """
    p = net.params
    p["xi_in"] *= np.array([1.0, 3.0, 1.0]) / np.linalg.norm(p["xi_in"], axis=0)
    p["xi_out"] *= np.array([1.0, 3.0, 1.0]) / np.linalg.norm(p["xi_out"], axis=0)
    p["lam"] = np.array([1.0, 0.2, 0.1])
    return net


@pytest.mark.slow
def test_circuit_experiment_example(tmp_path, monkeypatch, capsys):
    task = make_task("context")
    net = _modes_ranked_differently(task.make_network(N=30, P=3, seed=0))
    net.params["W_in"] *= 3
    tau = mode_importance(net)
    assert int(np.argmax(tau)) == 0 != int(np.argmax(np.abs(net.lam) * np.linalg.norm(net.xi_in, axis=0)
                                                     * np.linalg.norm(net.xi_out, axis=0)))
    model = save(net, tmp_path / "context.npz")
    figure = tmp_path / "silencing.png"
    monkeypatch.setattr(sys, "argv", ["circuit_experiment.py", str(model), "--trials", "4",
                                      "--silence", "5", "--out", str(figure)])
    target = brian2.prefs.codegen.target
    try:
        runpy.run_path(str(EXAMPLES / "circuit_experiment.py"), run_name="__main__")
        assert brian2.prefs.codegen.target == "numpy"  # the default: no compiler needed
    finally:
        brian2.prefs.codegen.target = target  # the example sets Brian2's global preference
    out = capsys.readouterr().out
    assert "-> silencing mode 0" in out and str(np.round(tau, 3).tolist()) in out
    assert "intact: decision accuracy" in out and "silenced: decision accuracy" in out
    silenced_line = next(line for line in out.splitlines() if line.startswith("silenced neurons' spikes"))
    intact_spikes = int(silenced_line.split("intact ")[1].split(",")[0])
    assert intact_spikes > 0 and silenced_line.endswith("silenced 0")  # they fired, then were silent
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_circuit_experiment_refuses_short_trials(tmp_path, monkeypatch, capsys):
    net = make_task("context", n_steps=200, stim_on=20, stim_off=100).make_network(N=10, P=2, seed=0)
    monkeypatch.setattr(sys, "argv", ["circuit_experiment.py", str(save(net, tmp_path / "short.npz"))])
    with pytest.raises(SystemExit):
        runpy.run_path(str(EXAMPLES / "circuit_experiment.py"), run_name="__main__")
    assert "trials last 400 ms" in capsys.readouterr().err
