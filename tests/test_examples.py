"""The documented examples run end to end (on a small untrained model, for speed)."""

import runpy
import sys
from pathlib import Path

from brianmodes import save
from brianmodes.tasks import make_task

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_circuit_experiment_example(tmp_path, monkeypatch, capsys):
    task = make_task("context")
    net = task.make_network(N=30, P=3, seed=0)
    net.params["W_in"] *= 3
    model = save(net, tmp_path / "context.npz")
    figure = tmp_path / "silencing.png"
    monkeypatch.setattr(sys, "argv", ["circuit_experiment.py", str(model), "--trials", "4",
                                      "--silence", "5", "--out", str(figure)])
    runpy.run_path(str(EXAMPLES / "circuit_experiment.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "intact: decision accuracy" in out and "silenced: decision accuracy" in out
    silenced_line = next(line for line in out.splitlines() if line.startswith("silenced neurons' spikes"))
    assert silenced_line.endswith("silenced 0")
    assert figure.read_bytes()[:4] == b"\x89PNG"
