"""`brianmodes reproduce` end to end at the tiny scale (seconds; the numbers mean nothing)."""

import json

import numpy as np
import pytest

from brianmodes.cli import main
from brianmodes.reproduce import (ATTRACTOR_MAX_SLOWDOWN, ATTRACTOR_MIN_SEPARATION, attractor_verdict,
                                  pruning_verdict)


@pytest.mark.slow
def test_reproduce_tiny_writes_report_and_reuses_models(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text()
    assert "# Reproduction report (tiny)" in report and "Digits (8x8, built in)" in report
    assert "| P | accuracy (%) | published (%)" in report and "## Context-dependent integration" in report
    assert "## Pruning (digits" in report
    for figure in ("accuracy_vs_P", "context_outputs", "context_modes", "pruning_classification",
                   "pruning_context"):
        assert (out / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((out / "report.json").read_text())
    assert [row["P"] for row in data["classification"]] == [1, 3]
    attractor = data["attractor"]  # the sentence follows the measured numbers, whichever they are
    assert attractor["P"] == 3 and len(attractor["slowdown"]) == 4
    stated = "the decision is held in attractor-like regions of mode space." in report
    assert stated == attractor["supported"] and stated != ("This does not show attractor-like regions" in report)
    assert stated == (max(attractor["slowdown"]) < ATTRACTOR_MAX_SLOWDOWN
                      and attractor["separation_ratio"] > ATTRACTOR_MIN_SEPARATION)
    models = sorted(p.name for p in (out / "models").iterdir())
    assert models == ["context-N30-P1-seed0.npz", "context-N30-P3-seed0.npz", "digits-N30-P1-seed0.npz",
                      "digits-N30-P3-seed0.npz"]
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}
    assert main(["reproduce", "--scale", "tiny", "--out", str(out), "--quiet"]) == 0
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}  # reused
    assert "(reused)" in (out / "report.md").read_text()


def test_attractor_conclusion_only_when_the_numbers_support_it():
    labels = ["cue 1, -", "cue 1, +", "cue 2, -", "cue 2, +"]
    held = attractor_verdict([0.10, 0.09, 0.16, 0.13], 31.4, labels)
    assert held.endswith("the decision is held in attractor-like regions of mode space.")
    assert "10 %, 9 %, 16 %, 13 %" in held and "31.4 times" in held
    assert "below 25 %" in held and "more than 3 times" in held  # the thresholds are in the sentence
    still = attractor_verdict([0.10, 0.60, 0.16, 0.13], 31.4, labels)
    assert "attractor-like regions of mode space." not in still and "does not show" in still
    assert "still moving: cue 1, + (60 %)" in still and "only" not in still
    mixed = attractor_verdict([0.10, 0.09, 0.16, 0.13], 1.5, labels)
    assert "does not show" in mixed and "end states only 1.5 times further apart" in mixed
    assert "still moving" not in mixed
    edge = attractor_verdict([ATTRACTOR_MAX_SLOWDOWN, 0.1], ATTRACTOR_MIN_SEPARATION)  # at the thresholds: not shown
    assert "still moving: condition 0 (25 %)" in edge and "end states only 3.0 times" in edge
    unmeasured = attractor_verdict(np.array([np.nan, np.nan]), 10.0)
    assert "does not show" in unmeasured and "could not be measured" in unmeasured


def test_pruning_verdict_accounts_for_noise():
    def curve(asc, desc):
        return {"counts": np.arange(len(asc)), "metric": "accuracy",
                "ascending": {"mean": np.array(asc)}, "descending": {"mean": np.array(desc)}}

    flat = pruning_verdict(curve([0.92, 0.915, 0.925], [0.92, 0.925, 0.925]), 360)
    assert "hardly depends" in flat
    robust = pruning_verdict(curve([1.0, 0.93, 0.5], [1.0, 0.5, 0.5]), 500)
    assert robust.startswith("Removing the least important modes first is the more robust order")
    odd = pruning_verdict(curve([1.0, 0.5, 0.5], [1.0, 0.9, 0.5]), 500)
    assert "unexpectedly" in odd
