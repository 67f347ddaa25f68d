"""The compiled engine (brianmodes.neurons.compiled) against the numpy engine it is generated from.

- the generated C source (no compiler needed): the derived statements, the tape, the printer;
- compiled equals numpy (``@pytest.mark.compiled``): identical spikes over 20 trials of each task
  shape (context-like analog inputs, digits/MNIST-like 0/1 spike inputs), float64 states and
  gradients within 1e-10 relative, float32 gradients within 1e-4, for LIF with each filter, both
  readouts, the published update (steps and the float32 clock), adaptive LIF, a trainable
  per-neuron tau_m, modes and dense recurrence, the tanh unit, Brian2's hold mode;
- the fused training step equals the two-phase one for every loss, the rate penalty included;
- float32 outputs, counts, loss and every gradient are bitwise the same on 1, 2, 3 and 4 threads;
- the cache: a second construction does not compile; two processes build once; a compiler that
  rejects -march=native/-fopenmp falls back to the portable flags once; a missing compiler gives
  one warning and the numpy engine under ``engine='auto'`` and a clear error under ``'compiled'``.
"""

import itertools
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork
from brianmodes.neurons import Parameter, adaptive_lif, lif, published_lif, tanh_rate
from brianmodes.neurons import compiled_build, compiled_run
from brianmodes.neurons.compiled import CompiledEngine, source_for
from brianmodes.neurons.compiled_layout import SEED_ERROR, SEED_SOFTMAX, Layout
from brianmodes.neurons.compiled_printer import CPrinter, c_name
from brianmodes.neurons.derive import program_for
from brianmodes.neurons.engine import Engine
from brianmodes.train import RateRegularizer, get_loss

TOL64, TOL32 = 1e-10, 1e-4

MODELS = {
    "lif-single": lambda: lif("single"),
    "lif-double": lambda: lif("double"),
    "lif-double-ema": lambda: lif("double-ema"),
    "published-steps": lambda: published_lif("double"),
    "published-float32": lambda: published_lif("double-ema", refractory_timing="float32"),
    "adaptive-current": lambda: adaptive_lif("double"),
    "adaptive-threshold": lambda: adaptive_lif("single", adaptation="threshold"),
    "trainable-tau_m": lambda: lif("double").with_parameters(
        tau_m=Parameter(np.linspace(0.015, 0.025, 100), per_neuron=True, trainable=True, bound="positive")),
    "hold": lambda: lif("single").with_options(refractory_mode="hold"),
    "tanh": lambda: tanh_rate(trainable=("tau_m",)),
}


def _relative(a, b):
    return float(np.max(np.abs(np.asarray(a, float) - b)) / max(np.max(np.abs(a)), 1e-300))


def _context(rng, B=20, T=500):
    """Context-task-like analog inputs: two noisy signals and a one-hot context cue."""
    offsets = rng.choice([-0.5, 0.5], size=(B, 2))
    x = np.zeros((T, B, 4))
    x[50:250, :, :2] = offsets + rng.normal(size=(200, B, 2))
    x[:, np.arange(B), 2 + rng.integers(0, 2, B)] = 1.0
    return x


def _digits(rng, B=20, T=50, N_in=784):
    """MNIST-like 0/1 spike inputs (Bernoulli per pixel, ~10 % active per step)."""
    pixels = rng.random((B, N_in)) * (rng.random((B, N_in)) < 0.3)
    return (rng.random((T, B, N_in)) < pixels).astype(float)


def _problem(task, readout, modes, seed=3):
    rng = np.random.default_rng(seed)
    x = _context(rng) if task == "context" else _digits(rng)
    net = ModeNetwork(N=100, P=3, N_in=x.shape[2], N_out=2 if readout == "per_step" else 10, readout=readout,
                      parametrization="modes" if modes else "full", seed=1)
    weights = {name: net.params[name] for name in ("W_in", "W_out", "xi_in", "lam", "xi_out", "W") if name in net.params}
    if task == "digits":
        weights["W_in"] = weights["W_in"] * 3  # enough drive for spikes and refractory periods
    return x, weights, net.dt


# -- the generated source (no compiler) ------------------------------------------------------
def test_source_holds_the_derived_statements_in_c():
    source, layout = source_for(lif("double"))
    for line in ("const real v__1 = (not_refractory != 0 ? _c1*v__0 + I__0*_c0 : 0);",
                 "const real s__1 = ((v__1 > v_th) & (not_refractory != 0)) ? 1 : 0;",
                 "const real I__2 = I__1 + I_in;"):
        assert line in source, line
    assert "g_s__1_th" in source and "bm_sg0" in source  # the adjoint, the surrogate precomputed per neuron
    assert source.count("#define real") == 2  # float and double in one library
    assert layout.real_slots == ("not_refractory", "r__1", "s__1", "v__1")  # what the adjoint reads, and r


def test_tape_keeps_only_what_the_adjoint_reads():
    published = Layout(program_for(published_lif("single")))
    assert published.old_slot == {"s__0": "s__1", "v__0": "v__1"}  # old values from the step before
    assert set(published.real_slots) == {"I__1", "not_refractory", "r__1", "s__1", "v__1"}
    trainable = Layout(program_for(lif("single").with_parameters(tau_m=Parameter(0.02, trainable=True))))
    assert trainable.trainable == ("_c0", "_c1") and "I__0" in trainable.old_slot


def test_printer_rounds_numbers_as_numpy_and_renames_c_words():
    import sympy

    x = sympy.Symbol("x", real=True)
    assert CPrinter({}, "float").doprint(x / 3 + x**2) == "(((float)(1.0/3.0)))*x + bm_sq(x)"
    assert CPrinter({}, "double").doprint(sympy.tanh(x)) == "tanh(x)"
    assert c_name("int") == "bmv_int" and c_name("bmx") == "bmv_bmx" and c_name("tau_m") == "tau_m"


def test_fused_seed_classifies_the_losses():
    assert CompiledEngine.fused_seed("cross_entropy", "max") == SEED_SOFTMAX
    assert CompiledEngine.fused_seed("root_sse", "per_step") == SEED_ERROR
    assert CompiledEngine.fused_seed("mse", "per_step") == SEED_ERROR
    assert CompiledEngine.fused_seed("double_softmax_cross_entropy", "max") is None
    assert CompiledEngine.fused_seed("root_sse", "per_step", RateRegularizer()) is None


def test_engine_names_are_checked():
    assert type(compiled_run.engine_for(lif(), 2e-3, engine="numpy")) is Engine
    with pytest.raises(BrianModesError, match="engine must be one of auto, numpy, compiled"):
        compiled_run.engine_for(lif(), 2e-3, engine="cuda")


# -- compiled equals numpy -------------------------------------------------------------------
CASES = list(itertools.product(["context", "digits"], MODELS, ["max", "per_step"], [True, False]))


def _well_conditioned(engine, weights, x, readout, margin=1e-5):
    """Trials in which no threshold crossing is closer than ``margin`` (float64): there float32 rounding
    (which differs between the engines, and between BLAS kernels of one engine on different CPUs) cannot
    decide whether a neuron spikes, so float32 spikes must be identical."""
    import sympy

    threshold = next((st for st in engine.program.statements if st.kind == "threshold"), None)
    if threshold is None:
        return np.arange(x.shape[1])
    states = sorted(s.name for s in threshold.b.free_symbols if s.name not in engine.model.parameters)
    ref = engine.forward(weights, x.astype(np.float64), readout=readout, record=(threshold.a.name, *states))
    values = {name: np.asarray(p.value, float) for name, p in engine.model.parameters.items()}
    b = sympy.lambdify(sorted(threshold.b.free_symbols, key=str), threshold.b, "numpy")
    bound = b(*[ref["traces"][s.name] if s.name in states else values[s.name]
                for s in sorted(threshold.b.free_symbols, key=str)])
    close = np.abs(ref["traces"][threshold.a.name] - bound) < margin
    return np.flatnonzero(~close.any(axis=(0, 2)))


@pytest.mark.compiled
@pytest.mark.parametrize("task,model,readout,modes", CASES)
def test_compiled_equals_numpy(task, model, readout, modes):
    x, weights, dt = _problem(task, readout, modes)
    m = MODELS[model]()
    numpy_engine, compiled = Engine(m, dt), CompiledEngine(m, dt)
    record = ("s", "v", "r", "m") if m.spiking else ("r", "x")
    trials = _well_conditioned(numpy_engine, weights, x, readout)
    assert trials.size >= 10, f"only {trials.size} of 20 trials without a threshold crossing within rounding"
    for dtype, tol in ((np.float64, TOL64), (np.float32, TOL32)):
        xx = x.astype(dtype) if dtype == np.float64 else x[:, trials].astype(dtype)
        ref = numpy_engine.forward(weights, xx, readout=readout, record=record, train=True)
        got = compiled.forward(weights, xx, readout=readout, record=record, train=True)
        if m.spiking:
            assert ref["count"].sum() > 1000  # spikes and refractory periods happen
            np.testing.assert_array_equal(got["traces"]["s"], ref["traces"]["s"])
            np.testing.assert_array_equal(got["traces"]["m"], ref["traces"]["m"])
            np.testing.assert_array_equal(got["count"], ref["count"])
        if dtype == np.float64:
            for name in record:
                assert _relative(ref["traces"][name], got["traces"][name]) < TOL64, name
            assert _relative(ref["y"], got["y"]) < TOL64
        gy = np.random.default_rng(0).normal(size=ref["y"].shape)
        g_ref, g_got = numpy_engine.backward(ref, gy), compiled.backward(got, gy)
        assert set(g_got) == set(g_ref)
        for name in g_ref:
            assert _relative(g_ref[name], g_got[name]) < tol, (name, np.dtype(dtype).name)


@pytest.mark.compiled
@pytest.mark.parametrize("backward", ["tape", "recompute"])
def test_both_backward_modes_and_thread_counts_agree(backward):
    x, weights, dt = _problem("digits", "max", True)
    model = MODELS["trainable-tau_m"]()
    ref_engine = Engine(model, dt)
    ref = ref_engine.forward(weights, x, readout="max", train=True)
    gy = np.random.default_rng(1).normal(size=ref["y"].shape)
    g_ref = ref_engine.backward(ref, gy, ds=np.full(100, 1e-3))
    for threads in (1, 2):
        engine = CompiledEngine(model, dt, threads=threads, backward=backward)
        got = engine.backward(engine.forward(weights, x, readout="max", train=True), gy, ds=np.full(100, 1e-3))
        for name in g_ref:
            assert _relative(g_ref[name], got[name]) < TOL64, (name, threads)


THREAD_STEPS = [("context", "per_step", "root_sse", None), ("context", "per_step", "mse", "rate"),
                ("digits", "max", "cross_entropy", None), ("digits", "max", "double_softmax_cross_entropy", None),
                ("digits", "max", "cross_entropy", "rate")]


@pytest.mark.compiled
@pytest.mark.parametrize("task,readout,loss,extra", THREAD_STEPS)
@pytest.mark.parametrize("modes", [True, False])
def test_results_are_bitwise_the_same_for_any_thread_count(task, readout, loss, extra, modes):
    """float32 outputs, spike counts, loss and every gradient: the same bits on 1, 2, 3 and 4 threads."""
    x, weights, dt = _problem(task, readout, modes)
    x = x.astype(np.float32)
    rng = np.random.default_rng(5)
    targets = rng.integers(0, 10, x.shape[1]) if readout == "max" else rng.normal(size=(x.shape[0], x.shape[1], 2))
    reg = RateRegularizer(0.5, 20.0) if extra == "rate" else None
    model = MODELS["trainable-tau_m"]()
    first = None
    for threads in (1, 2, 3, 4):
        engine = CompiledEngine(model, dt, threads=threads)
        step = engine.loss_and_grads(weights, x, targets, readout=readout, loss=loss, rate_regularizer=reg)
        fwd = engine.forward(weights, x, readout=readout, train=True)
        gy = np.random.default_rng(6).normal(size=fwd["y"].shape)
        grads = engine.backward(fwd, gy, ds=np.full(100, 1e-3))
        got = {"outputs": step["outputs"], "count": step["count"], "loss": np.float64(step["loss"]),
               "y": fwd["y"], "fwd_count": fwd["count"],
               **{f"step {k}": np.asarray(v) for k, v in step["grads"].items()},
               **{f"backward {k}": np.asarray(v) for k, v in grads.items()}}
        if first is None:
            first = got
            continue
        assert set(got) == set(first)
        for name, value in got.items():
            np.testing.assert_array_equal(value, first[name], err_msg=f"{name}, {threads} threads")


@pytest.mark.compiled
def test_a_later_forward_pass_does_not_corrupt_an_earlier_tape():
    x, weights, dt = _problem("context", "per_step", True)
    engine = CompiledEngine(lif("double-ema"), dt, backward="tape")
    first = engine.forward(weights, x, readout="per_step", train=True)
    engine.forward(weights, x[:, :5], readout="per_step", train=True)  # reuses the tape buffer
    gy = np.ones_like(first["y"])
    ref = Engine(lif("double-ema"), dt)
    g_ref = ref.backward(ref.forward(weights, x, readout="per_step", train=True), gy)
    g_got = engine.backward(first, gy)  # recomputed, not read from the overwritten tape
    assert max(_relative(g_ref[k], g_got[k]) for k in g_ref) < TOL64


@pytest.mark.compiled
def test_records_k_the_recurrent_input_and_program_names():
    x, weights, dt = _problem("context", "max", True)
    record = ("k", "I_rec", "v__1", "h", "s__1")
    ref = Engine(lif("double"), dt).forward(weights, x, readout="max", record=record)
    got = CompiledEngine(lif("double"), dt).forward(weights, x, readout="max", record=record)
    assert set(got["traces"]) == set(ref["traces"]) == set(record)
    for name in record:
        assert got["traces"][name].dtype == ref["traces"][name].dtype
        assert _relative(ref["traces"][name], got["traces"][name]) < TOL64, name
    with pytest.raises(BrianModesError, match="cannot record 'q'"):
        CompiledEngine(lif("double"), dt).forward(weights, x, readout="max", record=("q",))


@pytest.mark.compiled
def test_spike_inputs_as_bytes_give_the_same_step():
    x, weights, dt = _problem("digits", "max", True)
    engine, labels = CompiledEngine(lif("double"), dt), np.arange(x.shape[1]) % 10
    as_float = engine.loss_and_grads(weights, x.astype(np.float32), labels)
    for raw in (x.astype(bool), x.astype(np.uint8)):  # a quarter of the memory to scan, the same numbers
        step = engine.loss_and_grads(weights, raw, labels)
        np.testing.assert_array_equal(step["outputs"], as_float["outputs"])
        for name, grad in as_float["grads"].items():
            np.testing.assert_array_equal(step["grads"][name], grad)
    with pytest.raises(BrianModesError, match="dtype must be float32 or float64"):
        engine.forward(weights, x.astype(bool), dtype=np.int32)
    bad = x.copy()
    bad[7, 3, 100] = np.nan
    with pytest.raises(BrianModesError, match="inputs contain NaN or infinite values"):  # seen by the loop's scan
        engine.loss_and_grads(weights, bad, labels)


LOSSES = [("max", "cross_entropy", None, "fused"), ("max", "double_softmax_cross_entropy", None, "two-phase"),
          ("per_step", "root_sse", "mask", "fused"), ("per_step", "mse", None, "fused"),
          ("per_step", "sse", "mask", "fused"), ("per_step", "root_sse", "rate", "two-phase"),
          ("max", "cross_entropy", "rate", "two-phase")]


@pytest.mark.compiled
@pytest.mark.parametrize("readout,loss,extra,path", LOSSES)
def test_fused_step_equals_the_numpy_step(readout, loss, extra, path):
    task = "digits" if readout == "max" else "context"
    x, weights, dt = _problem(task, readout, True)
    rng = np.random.default_rng(4)
    model = MODELS["trainable-tau_m"]()
    ref = Engine(model, dt)
    fwd = ref.forward(weights, x, readout=readout, train=True)
    if readout == "max":
        targets, mask = rng.integers(0, 10, x.shape[1]), None
    else:
        targets = rng.normal(size=fwd["y"].shape)
        mask = (rng.random(targets.shape) < 0.7).astype(float) if extra == "mask" else None
    reg = RateRegularizer(0.5, 20.0) if extra == "rate" else None
    value, gy = get_loss(loss)(fwd["y"], targets, mask)
    penalty, ds = reg(fwd["count"], x.shape[0], dt) if reg else (0.0, None)
    g_ref = ref.backward(fwd, gy, ds=ds)
    step = CompiledEngine(model, dt).loss_and_grads(weights, x, targets, mask, readout=readout, loss=loss,
                                                    rate_regularizer=reg)
    assert step["path"] == path
    assert step["loss"] == pytest.approx(value + penalty, rel=1e-12)
    for name in g_ref:
        assert _relative(g_ref[name], step["grads"][name]) < TOL64, name


@pytest.mark.compiled
def test_engine_step_is_the_trainers_step():
    from brianmodes.train.bptt import engine_step as numpy_step

    net = ModeNetwork(N=60, P=3, N_in=4, N_out=1, readout="per_step", filter="double-ema", seed=2)
    rng = np.random.default_rng(2)
    x, targets = _context(rng, B=8, T=300), rng.normal(size=(300, 8, 1))
    compiled = compiled_run.engine_for(net.engine_model, net.dt, engine="compiled")
    assert compiled_run.engine_for(net.engine_model, net.dt, engine="compiled") is compiled  # kept per model
    kw = dict(params=net.neuron_values(), loss="root_sse", dtype=np.float64)
    ref = numpy_step(net, x, targets, engine=Engine(net.engine_model, net.dt), **kw)
    got = compiled_run.engine_step(net, x, targets, engine=compiled, **kw)
    assert got.loss == pytest.approx(ref.loss, rel=1e-12) and got.rate_hz == pytest.approx(ref.rate_hz, rel=1e-12)
    for name in ref.grads:
        assert _relative(ref.grads[name], got.grads[name]) < TOL64, name


# -- build, cache and fallback ---------------------------------------------------------------
def _fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("BRIANMODES_CACHE", str(tmp_path / "cache"))
    compiled_build.forget_loaded()
    compiled_run.reset_for_tests()


@pytest.mark.compiled
def test_the_cache_is_reused(tmp_path, monkeypatch):
    _fresh(tmp_path, monkeypatch)
    model = lif("single").with_options(name="cache-test")
    before = compiled_build.build_count()
    CompiledEngine(model, 2e-3)
    assert compiled_build.build_count() == before + 1
    (library,) = (tmp_path / "cache").glob("bm_*.so")
    stamp = library.stat().st_mtime_ns
    compiled_build.forget_loaded()  # as a new process: only the cache folder remains
    CompiledEngine(model, 1e-3)  # another dt, the same structure: the same library
    assert compiled_build.build_count() == before + 1 and library.stat().st_mtime_ns == stamp
    assert not list((tmp_path / "cache").glob("*.tmp*"))  # published atomically, nothing left over


@pytest.mark.compiled
def test_two_processes_build_once(tmp_path):
    script = textwrap.dedent("""
        import sys
        from brianmodes.neurons import lif
        from brianmodes.neurons.compiled import CompiledEngine
        from brianmodes.neurons import compiled_build
        CompiledEngine(lif("double-ema").with_options(name="lock-test"), 2e-3)
        print(compiled_build.build_count())
    """)
    env = {**__import__("os").environ, "BRIANMODES_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    counts = sorted(int(p.communicate(timeout=300)[0].split()[-1]) for p in procs)
    assert counts == [0, 1]  # the second waited on the lock and loaded the first's library


def _fake_compiler(tmp_path, monkeypatch, script):
    """A shell script standing in for the C compiler, set as $CC."""
    fake = tmp_path / "cc"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    return fake


@pytest.mark.compiled
def test_portable_flags_when_native_flags_fail(tmp_path, monkeypatch):
    _fresh(tmp_path, monkeypatch)
    _fake_compiler(tmp_path, monkeypatch, "for a in \"$@\"; do [ \"$a\" = -fopenmp ] && "
                                          "{ echo 'error: no openmp' >&2; exit 1; }; done\nexec cc \"$@\"")
    engine = CompiledEngine(lif("single").with_options(name="portable-test"), 2e-3)
    assert "-fopenmp" not in engine.library.flags and not engine.library.openmp
    assert len(list((tmp_path / "cache").glob("*.failed"))) == 1  # later processes skip the failing flags
    x, weights, dt = _problem("context", "per_step", True)
    ref = Engine(engine.model, dt).forward(weights, x, readout="per_step", record=("s",))
    np.testing.assert_array_equal(engine.forward(weights, x, readout="per_step", record=("s",))["traces"]["s"],
                                  ref["traces"]["s"])


@pytest.mark.compiled
def test_plain_c_paths_equal_the_vector_ones(tmp_path, monkeypatch):
    """Compilers without GCC/clang vector extensions or x86 intrinsics get plain C: the same numbers."""
    _fresh(tmp_path, monkeypatch)
    fake = _fake_compiler(tmp_path, monkeypatch, 'exec cc -DBM_NO_VECTOR_LANES -U__AVX2__ -U__AVX512F__ '
                                                 '-Wno-builtin-macro-redefined "$@"')
    for task, readout in (("digits", "max"), ("context", "per_step")):
        x, weights, dt = _problem(task, readout, True)
        monkeypatch.setenv("CC", str(fake))
        plain = CompiledEngine(lif("double").with_options(name="plain-c"), dt)
        monkeypatch.delenv("CC")
        vector = CompiledEngine(lif("double").with_options(name="plain-c"), dt)
        assert plain.library.path != vector.library.path
        gy = np.random.default_rng(0).normal(size=(x.shape[0], 20, 2) if readout == "per_step" else (20, 10))
        a, b = (e.forward(weights, x, readout=readout, record=("s", "v"), train=True) for e in (plain, vector))
        np.testing.assert_array_equal(a["traces"]["s"], b["traces"]["s"])
        np.testing.assert_array_equal(a["traces"]["v"], b["traces"]["v"])  # the same sums, bit for bit
        ga, gb = plain.backward(a, gy), vector.backward(b, gy)
        for name in ga:
            assert _relative(gb[name], ga[name]) < TOL64, name


@pytest.mark.compiled
def test_a_missing_compiler_falls_back_once_or_fails_loudly(tmp_path, monkeypatch):
    _fresh(tmp_path, monkeypatch)
    monkeypatch.setenv("CC", "/nonexistent")
    model = lif("double").with_options(name="no-compiler")
    with pytest.warns(compiled_run.CompiledFallbackWarning, match="/nonexistent"):
        engine = compiled_run.engine_for(model, 2e-3)
    assert type(engine) is Engine
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per process
        assert type(compiled_run.engine_for(model, 2e-3, engine="auto")) is Engine
    with pytest.raises(BrianModesError, match=r"cannot build the compiled engine .*'/nonexistent' was not found"):
        compiled_run.engine_for(model, 2e-3, engine="compiled")
    assert compiled_run.compiled_available() is False
    compiled_run.reset_for_tests()
