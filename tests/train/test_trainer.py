import warnings

import numpy as np
import pytest

from brianmodes import BrianModesError
from brianmodes.tasks import make_task
from brianmodes.train.optim import Adam, clip_by_global_norm, global_norm
from brianmodes.train.trainer import Trainer


def _small():
    task = make_task("digits", n_steps=20)
    return task, task.make_network(N=30, P=2, seed=0)


def test_adam_matches_reference_formula():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(3)]
    params = {"w": w0.copy()}
    opt = Adam(lr=0.01)
    m = v = np.zeros(5)
    w = w0.copy()
    for t, g in enumerate(grads, start=1):
        opt.step(params, {"w": g.copy()})
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(params["w"], w, rtol=1e-12)


def test_clipping():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert clip_by_global_norm(grads, 20.0) == 5.0 and global_norm(grads) == 5.0
    assert clip_by_global_norm(grads, 1.0) == 5.0
    assert global_norm(grads) == pytest.approx(1.0)


def test_same_seed_same_run():
    task, a = _small()
    _, b = _small()
    Trainer(n_batches=5, batch_size=8, progress=False, seed=3).fit(a, task)
    Trainer(n_batches=5, batch_size=8, progress=False, seed=3).fit(b, task)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


def test_resume_equals_uninterrupted(tmp_path):
    task, straight = _small()
    Trainer(n_batches=8, batch_size=8, progress=False, seed=1).fit(straight, task)
    _, resumed = _small()
    ckpt = tmp_path / "ckpt.npz"
    Trainer(n_batches=4, batch_size=8, progress=False, seed=1, checkpoint=ckpt, checkpoint_every=2).fit(resumed, task)
    _, fresh = _small()  # a new process would start from a fresh network
    trainer = Trainer(n_batches=8, batch_size=8, progress=False, seed=1, checkpoint=ckpt, checkpoint_every=2)
    trainer.fit(fresh, task, resume=True)
    assert [row["batch"] for row in trainer.history_] == list(range(1, 9))
    for name in straight.params:
        np.testing.assert_array_equal(fresh.params[name], straight.params[name])


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path):
    task, net = _small()
    ckpt = tmp_path / "ckpt.npz"
    calls = {"n": 0}

    def loss(outputs, targets, mask):
        from brianmodes.train.losses import cross_entropy

        calls["n"] += 1
        value, grad = cross_entropy(outputs, targets)
        return (float("nan") if calls["n"] == 5 else value), grad

    trainer = Trainer(n_batches=10, batch_size=8, progress=False, loss=loss, checkpoint=ckpt, checkpoint_every=2)
    with pytest.raises(BrianModesError, match=r"diverged at batch 5.*last checkpoint \(.*ckpt.npz, batch 4\) is kept"):
        trainer.fit(net, task)
    assert ckpt.exists()
    assert len(trainer.history_) == 4
    assert all(np.all(np.isfinite(a)) for a in net.params.values())


def test_divergence_before_any_checkpoint_says_there_is_none(tmp_path):
    task, net = _small()

    def loss(outputs, targets, mask):
        return float("nan"), np.zeros_like(outputs)

    trainer = Trainer(n_batches=10, batch_size=8, progress=False, loss=loss, checkpoint=tmp_path / "c.npz")
    with pytest.raises(BrianModesError, match="diverged at batch 1.*no checkpoint had been written yet"):
        trainer.fit(net, task)
    assert not (tmp_path / "c.npz").exists()


def test_checkpoint_records_blas_threads_and_a_resume_under_others_warns(tmp_path, monkeypatch):
    import brianmodes.train.trainer as trainer_module
    from brianmodes.io import read_npz_checked
    from brianmodes.threads import blas_threads

    task, net = _small()
    ckpt = tmp_path / "ckpt.npz"
    Trainer(n_batches=2, batch_size=8, progress=False, checkpoint=ckpt).fit(net, task)
    recorded = read_npz_checked(ckpt, schema="brianmodes.checkpoint")[0]["bit_exactness"]
    assert recorded["blas_threads"] == blas_threads() and recorded["numpy"] == np.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # same conditions: no warning
        Trainer(n_batches=3, batch_size=8, progress=False, checkpoint=ckpt).fit(_small()[1], task, resume=True)
    other = dict(recorded, blas_threads=recorded["blas_threads"] + 1)
    monkeypatch.setattr(trainer_module, "_bit_exactness", lambda engine: dict(other, engine=engine))
    with pytest.warns(UserWarning, match="not be bit-identical.*OPENBLAS_NUM_THREADS"):
        Trainer(n_batches=4, batch_size=8, progress=False, checkpoint=ckpt).fit(_small()[1], task, resume=True)


@pytest.mark.parametrize("first,then", [("numpy", "compiled"), ("compiled", "numpy")])
def test_a_resume_on_another_engine_warns_and_names_it(tmp_path, first, then):
    from brianmodes.io import read_npz_checked

    task, net = _small()
    ckpt = tmp_path / "ckpt.npz"
    Trainer(n_batches=2, batch_size=8, progress=False, checkpoint=ckpt, engine=first).fit(net, task)
    assert read_npz_checked(ckpt, schema="brianmodes.checkpoint")[0]["bit_exactness"]["engine"] == first
    with pytest.warns(UserWarning, match=f"engine {first} then, {then} now.*engine='{first}'"):
        Trainer(n_batches=3, batch_size=8, progress=False, checkpoint=ckpt, engine=then).fit(_small()[1], task,
                                                                                           resume=True)


def test_trainer_engines_give_the_same_first_step_and_refuse_unknown_ones():
    task, net = _small()
    runs = {}
    for engine in ("numpy", "compiled"):
        trainer = Trainer(n_batches=1, batch_size=8, progress=False, dtype="float64", engine=engine)
        runs[engine] = trainer.fit(net.copy(), task)
        assert trainer.engine_used_ == engine
    a, b = (runs[e].history_[0] for e in ("numpy", "compiled"))
    assert a["rate_hz"] == b["rate_hz"] and abs(a["loss"] - b["loss"]) <= 1e-12 * abs(a["loss"])
    for name, value in runs["numpy"].network_.params.items():
        np.testing.assert_allclose(runs["compiled"].network_.params[name], value, rtol=1e-9, atol=1e-12)
    with pytest.raises(BrianModesError, match="engine must be one of auto, numpy, compiled"):
        Trainer(engine="gpu").validate()


def test_checkpoint_written_before_the_neuron_model_resumes(tmp_path):
    """A checkpoint of schema 2 names the network without refractory_timing: it still resumes."""
    from helpers import rewrite_model_file as _rewrite

    task, straight = _small()
    Trainer(n_batches=4, batch_size=8, progress=False, seed=1).fit(straight, task)
    ckpt = tmp_path / "ckpt.npz"
    Trainer(n_batches=2, batch_size=8, progress=False, seed=1, checkpoint=ckpt).fit(_small()[1], task)
    _rewrite(ckpt, edit_header=lambda h: (h["network"].pop("refractory_timing"), h.update(schema_version=2)),
             seal=True)
    fresh = _small()[1]
    Trainer(n_batches=4, batch_size=8, progress=False, seed=1, checkpoint=ckpt).fit(fresh, task, resume=True)
    for name in straight.params:
        np.testing.assert_array_equal(fresh.params[name], straight.params[name])


def test_checkpoint_of_other_network_refused(tmp_path):
    task, net = _small()
    ckpt = tmp_path / "ckpt.npz"
    Trainer(n_batches=2, batch_size=4, progress=False, checkpoint=ckpt).fit(net, task)
    other = task.make_network(N=31, P=2, seed=0)
    with pytest.raises(BrianModesError, match="different network"):
        Trainer(n_batches=4, batch_size=4, progress=False, checkpoint=ckpt).fit(other, task, resume=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_batches": 0}, "n_batches"), ({"lr": -1.0}, "lr"), ({"batch_size": 0}, "batch_size"),
    ({"dtype": "float16"}, "dtype"), ({"surrogate": "relu"}, "surrogate must be one of"),
    ({"loss": "hinge"}, "loss must be one of")])
def test_bad_settings(kwargs, message):
    task, net = _small()
    with pytest.raises(BrianModesError, match=message):
        Trainer(progress=False, **{"n_batches": 1, **kwargs}).fit(net, task)


def test_network_must_fit_task():
    task, _ = _small()
    ctx = make_task("context").make_network(N=10, P=1)
    with pytest.raises(BrianModesError, match="inputs"):
        Trainer(n_batches=1, progress=False).fit(ctx, task)


def test_history_and_eval_rows():
    task, net = _small()
    trainer = Trainer(n_batches=4, batch_size=8, progress=False, eval_every=2, eval_trials=50).fit(net, task)
    rows = trainer.history_
    assert [("test_accuracy" in r) for r in rows] == [False, True, False, True]
    assert all(r["rate_hz"] > 0 and np.isfinite(r["loss"]) for r in rows)


@pytest.mark.parametrize("kind", [{"parametrization": "full"}, {"neuron": "tanh"}, {"filter": "single"}])
def test_baselines_train(kind):
    task = make_task("digits", n_steps=20)
    net = task.make_network(N=40, P=2, seed=0, **kind)
    before = task.evaluate(net)["accuracy"]
    Trainer(n_batches=150, batch_size=32, lr=3e-3, progress=False).fit(net, task)
    assert task.evaluate(net)["accuracy"] > max(0.5, before + 0.2)


def test_digits_learns_quickly():
    """A smaller version of the README's main job: digits reaches high accuracy fast."""
    task = make_task("digits", n_steps=30)
    net = task.make_network(N=60, P=3, seed=0)
    Trainer(n_batches=300, batch_size=32, lr=3e-3, progress=False).fit(net, task)
    assert task.evaluate(net)["accuracy"] >= 0.85


def test_rate_regularizer_moves_rates_toward_target():
    task = make_task("digits", n_steps=20)
    a = task.make_network(N=40, P=2, seed=0)
    b = task.make_network(N=40, P=2, seed=0)
    Trainer(n_batches=60, batch_size=16, lr=3e-3, progress=False).fit(a, task)
    Trainer(n_batches=60, batch_size=16, lr=3e-3, progress=False, rate_regularizer=(5.0, 5.0)).fit(b, task)
    assert task.evaluate(b)["rate_hz"] < task.evaluate(a)["rate_hz"]


def test_frozen_arrays_stay_unchanged():
    task, net = _small()
    before = {k: v.copy() for k, v in net.params.items()}
    Trainer(n_batches=3, batch_size=8, progress=False, frozen=("W_out", "W_in")).fit(net, task)
    np.testing.assert_array_equal(net.W_out, before["W_out"])
    np.testing.assert_array_equal(net.W_in, before["W_in"])
    assert not np.array_equal(net.lam, before["lam"])
    with pytest.raises(BrianModesError, match="cannot freeze W"):
        Trainer(n_batches=1, progress=False, frozen=("W",)).fit(net, task)


def _heterogeneous():
    from brianmodes.neurons import adaptive_lif

    task = make_task("digits", n_steps=20)
    model = adaptive_lif("double", per_neuron=("v_th", "tau_m"), trainable=("tau_m", "tau_a", "beta"))
    return task, task.make_network(N=30, P=2, seed=0, neuron=model)


def test_trainable_neuron_parameters_train_freeze_and_resume(tmp_path):
    """Per-neuron time constants are arrays like the weights: Adam moves them (log_tau_m keeps
    them positive), freezing holds them, a checkpoint resumes them bit for bit."""
    task, net = _heterogeneous()
    before = {k: v.copy() for k, v in net.params.items()}
    Trainer(n_batches=6, batch_size=8, lr=1e-2, progress=False, seed=2).fit(net, task)
    assert not np.array_equal(net.params["log_tau_m"], before["log_tau_m"])
    assert len(np.unique(net.params["log_tau_m"])) > 1  # heterogeneous after training
    assert np.all(net.neuron_values()["tau_m"] > 0) and net.params["log_tau_a"].shape == ()
    assert not np.array_equal(net.params["beta"], before["beta"])
    _, frozen = _heterogeneous()
    Trainer(n_batches=3, batch_size=8, progress=False, frozen=("log_tau_m", "log_tau_a")).fit(frozen, task)
    np.testing.assert_array_equal(frozen.params["log_tau_m"], before["log_tau_m"])
    np.testing.assert_array_equal(frozen.params["log_tau_a"], before["log_tau_a"])
    ckpt = tmp_path / "ckpt.npz"
    _, resumed = _heterogeneous()
    Trainer(n_batches=3, batch_size=8, lr=1e-2, progress=False, seed=2, checkpoint=ckpt,
            checkpoint_every=3).fit(resumed, task)
    _, fresh = _heterogeneous()
    Trainer(n_batches=6, batch_size=8, lr=1e-2, progress=False, seed=2, checkpoint=ckpt,
            checkpoint_every=3).fit(fresh, task, resume=True)
    for name in net.params:
        np.testing.assert_array_equal(fresh.params[name], net.params[name])


def test_trainer_is_a_scikit_learn_estimator():
    """Constructor arguments stored as given; get_params/set_params; sklearn.base.clone copies the settings."""
    from sklearn.base import clone

    trainer = Trainer(n_batches=7, lr=3e-3, frozen=("W_out",), engine="numpy", progress=False)
    params = trainer.get_params()
    assert params["frozen"] == ("W_out",) and params["lr"] == 3e-3 and set(params) >= {"n_batches", "forward"}
    copy = clone(trainer)
    assert copy is not trainer and copy.get_params() == params
    assert copy.set_params(n_batches=2, batch_size=8) is copy and (copy.n_batches, trainer.n_batches) == (2, 7)
    with pytest.raises(BrianModesError, match="Trainer has no setting 'epochs'"):
        copy.set_params(epochs=3)
    with pytest.raises(BrianModesError, match="frozen must be array names"):
        Trainer(frozen="W_out").validate()
    task = make_task("digits", n_steps=10)
    net = task.make_network(N=12, P=1, seed=0)
    before = net.params["W_out"].copy()
    copy.set_params(frozen=trainer.frozen).fit(net, task)
    np.testing.assert_array_equal(net.params["W_out"], before)  # the frozen readout, as the clone was told
    assert copy.settings()["frozen"] == ["W_out"]
