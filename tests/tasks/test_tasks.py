"""Tasks against their definitions (SPEC 2)."""

import gzip

import numpy as np
import pytest

import brianmodes
from brianmodes import BrianModesError
from brianmodes.tasks import Batch, ContextTask, Digits, Task, make_task
from brianmodes.tasks.base import bernoulli_spikes


def test_bernoulli_rate_coding_matches_probabilities():
    rng = np.random.default_rng(0)
    p = np.array([[0.0, 0.1, 0.5, 0.9, 1.0]], np.float32)
    spikes = bernoulli_spikes(np.repeat(p, 200, axis=0), 500, rng)
    assert spikes.dtype == np.bool_  # 0/1 spikes in a quarter of float32's memory
    rates = spikes.mean(axis=(0, 1))
    np.testing.assert_allclose(rates, p[0], atol=0.005)
    assert rates[0] == 0.0 and rates[-1] == 1.0


def test_digits_task():
    task = Digits()
    assert (task.n_in, task.n_out, task.n_steps) == (64, 10, 50)
    assert len(task.train_labels) + len(task.test_labels) == 1797
    assert len(task.test_labels) == 360
    assert task.train_images.min() >= 0 and task.train_images.max() <= 1
    batch = task.sample(16, np.random.default_rng(0))
    assert batch.inputs.shape == (50, 16, 64) and batch.targets.shape == (16,)
    test = list(task.test_batches(batch_size=100))
    assert [b.size for b in test] == [100, 100, 100, 60]
    again = list(task.test_batches(batch_size=100))
    np.testing.assert_array_equal(test[0].inputs, again[0].inputs)  # fixed test spikes


def test_classification_metrics():
    task = Digits()
    batch = next(task.test_batches(batch_size=4))
    logits = np.zeros((4, 10))
    logits[np.arange(4), batch.targets] = 1.0
    logits[0] = 0
    logits[0, (batch.targets[0] + 1) % 10] = 1.0
    np.testing.assert_array_equal(task.trial_metrics(logits, batch)["accuracy"], [False, True, True, True])


def test_context_task_definition():
    task = ContextTask()
    b = task.sample(400, np.random.default_rng(1))
    x, y = b.inputs, b.targets
    assert x.shape == (500, 400, 4) and y.shape == (500, 400, 1)
    offsets, context = b.info["offsets"], b.info["context"]
    assert set(np.unique(offsets)) == {-0.5, 0.5}
    # stimuli: zero outside steps 50-249; offset + unit-variance noise inside
    assert np.all(x[:50, :, :2] == 0) and np.all(x[250:, :, :2] == 0)
    stim = x[50:250, :, :2]
    np.testing.assert_allclose(stim.mean(axis=0), offsets, atol=4 / np.sqrt(200))
    assert stim.std(axis=0).mean() == pytest.approx(1.0, abs=0.02)
    # context: one-hot, whole trial, about half each
    cues = x[:, :, 2:]
    assert np.all(cues.sum(axis=2) == 1)
    assert np.all(cues[:, np.arange(400), 0] == (context == 0))
    assert 0.4 < context.mean() < 0.6
    # target: 0 before step 250, then the sign of the cued offset
    assert np.all(y[:250] == 0)
    np.testing.assert_array_equal(y[250:, :, 0], np.broadcast_to(np.sign(offsets[np.arange(400), context]), (250, 400)))
    assert b.mask is None


def test_context_switch_variant():
    task = ContextTask(switch_prob=0.5)
    b = task.sample(300, np.random.default_rng(2))
    sw, ctx, off = b.info["switched"], b.info["context"], b.info["offsets"]
    assert 0.35 < sw.mean() < 0.65
    idx = np.arange(300)
    # before step 300 the original cue; from 300 on, the other cue for switched trials
    assert np.all(b.inputs[:300, idx, 2 + ctx] == 1)
    after = np.where(sw, 3 - ctx, 2 + ctx)
    assert np.all(b.inputs[300:, idx, after] == 1)
    assert np.all(b.inputs[300:, idx, 2:].sum(axis=2) == 1)
    np.testing.assert_array_equal(b.targets[299, :, 0], np.sign(off[idx, ctx]))
    np.testing.assert_array_equal(b.targets[300, :, 0], np.where(sw, np.sign(off[idx, 1 - ctx]), np.sign(off[idx, ctx])))


def test_context_trials_from_given_random_parts():
    """`trials` is what `sample` builds from its draws: here with chosen offsets, cue and noise."""
    task = ContextTask(n_steps=100, stim_on=10, stim_off=40, noise_std=0.5, switch_prob=0.5, switch_step=60)
    offsets, context = np.array([[0.5, -0.5], [-0.5, 0.5]]), np.array([0, 1])
    noise = np.ones((30, 2, 2))
    x, y = task.trials(offsets, context, switched=np.array([True, False]), noise=noise)
    np.testing.assert_array_equal(x[10:40, :, :2], np.broadcast_to(offsets + 0.5, (30, 2, 2)))
    assert np.all(x[:10, :, :2] == 0) and np.all(x[40:, :, :2] == 0)
    assert np.all(x[:60, 0, 2] == 1) and np.all(x[60:, 0, 3] == 1) and np.all(x[:, 1, 3] == 1)
    np.testing.assert_array_equal(y[[39, 40, 59, 60], :, 0], [[0, 0], [1, 1], [1, 1], [-1, 1]])
    x, y = task.trials(offsets, context)  # no noise, no switch
    np.testing.assert_array_equal(x[10:40, :, :2], np.broadcast_to(offsets, (30, 2, 2)))
    assert np.all(y[40:, :, 0] == [1, 1])
    with pytest.raises(BrianModesError, match=r"offsets must be \(B, 2\)"):
        task.trials(offsets[:1], context)  # one offset pair, two trials
    with pytest.raises(BrianModesError, match=r"must be 0 \(cue 1\) or 1"):
        task.trials(offsets, np.array([0, 2]))
    with pytest.raises(BrianModesError, match="noise must be"):
        task.trials(offsets, context, noise=np.ones((29, 2, 2)))


def test_context_metrics():
    task = ContextTask(switch_prob=0.5)
    b = task.sample(50, np.random.default_rng(3))
    perfect = task.trial_metrics(b.targets.copy(), b)
    assert np.all(perfect["mse"] == 0) and np.all(perfect["decision_accuracy"])
    wrong = task.trial_metrics(-b.targets, b)
    assert not np.any(wrong["decision_accuracy"])
    np.testing.assert_allclose(wrong["mse"], 4 * np.mean(b.targets[..., 0] ** 2, axis=0))


def test_context_test_set_is_fixed():
    task = ContextTask()
    a = next(task.test_batches(batch_size=10))
    b = next(task.test_batches(batch_size=10))
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert sum(batch.size for batch in task.test_batches(batch_size=200)) == 500


@pytest.mark.parametrize("kwargs, message", [
    ({"stim_on": 300}, "stim_on"), ({"switch_prob": 1.5}, "switch_prob"),
    ({"switch_prob": 0.5, "switch_step": 100}, "switch_step"), ({"noise_std": -1}, "noise_std")])
def test_context_bad_settings(kwargs, message):
    with pytest.raises(BrianModesError, match=message):
        ContextTask(**kwargs)


def test_make_task_errors(tmp_path):
    with pytest.raises(BrianModesError, match="task must be one of"):
        make_task("cifar")
    with pytest.raises(BrianModesError, match="needs data_dir"):
        make_task("mnist")
    with pytest.raises(BrianModesError, match="does not exist|not found|no such"):
        make_task("mnist", data_dir=tmp_path / "nowhere")
    with pytest.raises(BrianModesError, match="digits"):
        make_task("digits", colour=True)


def test_mnist_task_from_synthetic_idx(tmp_path):
    def write(path, array):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        with gzip.open(path, "wb") as f:
            f.write(header + array.astype(np.uint8).tobytes())

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        write(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    task = make_task("mnist", data_dir=tmp_path, n_steps=10)
    assert (task.n_in, task.n_out) == (784, 10)
    assert len(task.train_labels) == 30 and len(task.test_labels) == 10
    assert task.train_images.max() <= 1.0
    assert task.sample(4, rng).inputs.shape == (10, 4, 784)
    assert make_task(task.config()).config() == task.config()


@pytest.mark.mnist
def test_real_mnist_task(mnist_dir):
    task = make_task("mnist", data_dir=mnist_dir)
    assert len(task.train_labels) == 60000 and len(task.test_labels) == 10000
    assert task.train_images.shape == (60000, 784)
    assert 0.12 < task.train_images.mean() < 0.14


@pytest.mark.parametrize("name", ["digits", "context"])
def test_held_out_trials_do_not_depend_on_batch_size(name):
    task = make_task(name)
    a = np.concatenate([b.inputs for b in task.test_batches(batch_size=7, n_trials=20, seed=3)], axis=1)
    b = np.concatenate([b.inputs for b in task.test_batches(batch_size=20, n_trials=20, seed=3)], axis=1)
    np.testing.assert_array_equal(a, b)
    c = next(task.test_batches(batch_size=20, n_trials=20, seed=4)).inputs
    assert not np.array_equal(b, c)


class _LouderChannel(Task):
    """A task written outside the package: which of two noisy spike channels fires more."""

    name = "louder"
    n_in, n_out, n_steps = 2, 2, 12
    default_batches = 3
    data_description = "two Bernoulli spike channels at 0.6 and 0.2 per step, the louder one random"

    def _batch(self, B, rng):
        labels = rng.integers(0, 2, B)
        p = np.where(np.arange(2)[None, :] == labels[:, None], 0.6, 0.2)
        return Batch(inputs=bernoulli_spikes(p, self.n_steps, rng), targets=labels)

    def sample(self, batch_size, rng):
        return self._batch(int(batch_size), rng)

    def n_test_trials(self, n_trials=None):
        return 40 if n_trials is None else min(int(n_trials), 40)

    def test_batches(self, batch_size=500, n_trials=None, seed=0):
        yield self._batch(self.n_test_trials(n_trials), np.random.default_rng(seed))

    def trial_metrics(self, outputs, batch):
        return {"accuracy": np.argmax(outputs, axis=1) == batch.targets}


def test_a_new_task_is_its_class_alone(monkeypatch, tmp_path, capsys):
    """Registering a Task subclass is all it takes: the command line, sweeps and model cards read the rest from it."""
    from brianmodes.cli import main
    from brianmodes.recipe import model_card
    from brianmodes.sweep import RunConfig
    from brianmodes.tasks import TASKS, make_task

    monkeypatch.setitem(TASKS, "louder", _LouderChannel)
    assert make_task("louder").n_in == 2
    cfg = RunConfig(task="louder", N=8, P=1, seed=0)
    assert cfg.batches == 3  # the task's default budget
    assert main(["train", "louder", "--N", "8", "--P", "1", "--batches", "2", "--batch-size", "4",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 0
    net = brianmodes.load(tmp_path / "run" / "model.npz")
    assert net.metadata["task"]["name"] == "louder" and (net.N_in, net.N_out) == (2, 2)
    card = model_card(net, "louder-run")
    assert card["data"] == _LouderChannel.data_description and "--data-dir" not in card["evaluate_command"]
    with pytest.raises(BrianModesError, match="only used by tasks that read files"):
        RunConfig(task="louder", N=8, P=1, data_dir=str(tmp_path))


def test_a_quick_evaluation_draws_a_stratified_random_subset_of_the_test_images():
    task = make_task("digits")
    idx = task.test_indices(90, seed=0)
    assert len(idx) == 90 == len(set(idx.tolist())) and not np.array_equal(idx, np.arange(90))
    np.testing.assert_array_equal(idx, task.test_indices(90, seed=0))            # seeded
    assert not np.array_equal(idx, task.test_indices(90, seed=1))
    labels, counts = np.unique(task.test_labels, return_counts=True)
    expected = counts * 90 / len(task.test_labels)
    got = np.array([(task.test_labels[idx] == c).sum() for c in labels])
    assert np.all(np.abs(got - expected) < 1)                                    # each class in proportion
    np.testing.assert_array_equal(task.test_indices(None), np.arange(len(task.test_labels)))
    batches = list(task.test_batches(batch_size=40, n_trials=90, seed=0))
    np.testing.assert_array_equal(np.concatenate([b.info["indices"] for b in batches]), idx)
    one = next(task.test_batches(batch_size=90, n_trials=90, seed=0))            # spikes per image, any batching
    np.testing.assert_array_equal(one.inputs[:, :40], batches[0].inputs)
