"""`brianmodes reproduce` end to end at the tiny scale (seconds; the numbers mean nothing)."""

import json

from brianmodes.cli import main


def test_reproduce_tiny_writes_report_and_reuses_models(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "# Reproduction report (tiny)" in report and "Digits (8x8, built in)" in report
    assert "| P | accuracy (%) | published (%)" in report and "## Context-dependent integration" in report
    assert "## Pruning (digits" in report
    for figure in ("accuracy_vs_P", "context_outputs", "pruning_classification"):
        assert (out / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((out / "report.json").read_text())
    assert [row["P"] for row in data["classification"]] == [1, 3]
    models = sorted(p.name for p in (out / "models").iterdir())
    assert models == ["context-N30-P1-seed0.npz", "digits-N30-P1-seed0.npz", "digits-N30-P3-seed0.npz"]
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--quiet"]) == 0
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}  # reused
    assert "(reused)" in (out / "report.md").read_text()


def test_pruning_verdict_accounts_for_noise():
    import numpy as np

    from brianmodes.reproduce import pruning_verdict

    def curve(asc, desc):
        return {"counts": np.arange(len(asc)), "metric": "accuracy",
                "ascending": {"mean": np.array(asc)}, "descending": {"mean": np.array(desc)}}

    flat = pruning_verdict(curve([0.92, 0.915, 0.925], [0.92, 0.925, 0.925]), 360)
    assert "hardly depends" in flat
    robust = pruning_verdict(curve([1.0, 0.93, 0.5], [1.0, 0.5, 0.5]), 500)
    assert robust.startswith("Removing the least important modes first is the more robust order")
    odd = pruning_verdict(curve([1.0, 0.5, 0.5], [1.0, 0.9, 0.5]), 500)
    assert "unexpectedly" in odd
