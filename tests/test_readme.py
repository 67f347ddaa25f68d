"""Every Python block of README.md runs, in order, in one namespace, as a reader would paste them.

Only the sizes change (SIZES: fewer batches and held-out trials, the same calls), and
the recording that the NWB block reads is written first from the blocks' own
simulation. Every name a block uses is public: the test fails on an import of a
private name (a leading underscore) or of the command-line module.
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

#: (text in README, what the test runs instead): sizes only.
SIZES = [
    ("Trainer(n_batches=1500, seed=0)", "Trainer(n_batches=3, seed=0, progress=False)"),
    ("print(task.evaluate(net))", "print(task.evaluate(net, n_trials=40))"),
    ('evaluate_brian2(net, task, device="cpp_standalone")', 'evaluate_brian2(net, task, device="cpp_standalone", n_trials=20)'),
    ("print(task.evaluate(net, runner=runner))", "print(task.evaluate(net, n_trials=20, runner=runner))"),
    ("pruning_curve(net, task, n_trials=200)", "pruning_curve(net, task, n_trials=40, counts=(0, 3))"),
    ("slow_points(net, batch.inputs, conditions)", "slow_points(net, batch.inputs, conditions, extra_steps=50)"),
    ("Trainer(n_batches=100, batch_size=32", "Trainer(n_batches=5, batch_size=32"),
]

#: Written before the block that reads it: the blocks' own simulation as a recording.
SESSION = """
from brianmodes.data import Recording as _Recording, write_nwb as _write_nwb
_write_nwb(_Recording.from_spikes(res.spikes, net.dt, conditions={"context": batch.info["context"]}), "session.nwb")
"""


def python_blocks(text):
    """The fenced ```python blocks of a markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_blocks_and_every_size_change_applies():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 5
    text = "\n".join(blocks)
    for original, _ in SIZES:
        assert original in text, f"README no longer contains {original!r}: update SIZES"


def test_readme_imports_only_public_names():
    for block in python_blocks(README.read_text()):
        for line in block.splitlines():
            if line.startswith(("from ", "import ")):
                assert "brianmodes.cli" not in line, line
                assert not re.search(r"\b_\w+", line.split(" import ")[-1]), f"private name imported: {line}"


@pytest.mark.slow
@pytest.mark.compiled   # the Brian2 blocks compile Cython and C++ standalone programs
def test_every_readme_block_runs(tmp_path, monkeypatch, capsys):
    import brian2
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    previous = brian2.prefs.codegen.target
    try:
        for i, block in enumerate(python_blocks(README.read_text())):
            for original, smaller in SIZES:
                block = block.replace(original, smaller)
            if "read_nwb(" in block:
                exec(compile(SESSION, "README session", "exec"), namespace)
            exec(compile(block, f"README block {i + 1}", "exec"), namespace)
            plt.close("all")
    finally:
        brian2.prefs.codegen.target = previous
    assert namespace["perturbed"].spikes.shape[0] == 500   # the circuit experiment: 1000 ms in 2 ms steps
    assert capsys.readouterr().out.strip().splitlines()[-1] == "0"   # your own neuron: Brian2 = numpy
