"""Training with Brian2 in the loop: the forward pass in Brian2, the adjoint in numpy.

``Trainer(forward="brian2")`` (fidelity mode): each batch runs in a Brian2
circuit of ``batch_size`` copies of the network at the model's dt, built once
(a C++ standalone program by default, compiled once: about 0.1 s per run
afterwards, against 0.5 s for Brian2's numpy target and 1-4 s for its Cython
target, whose runtime device regenerates code at every run). The circuit
records what the adjoint reads (:class:`brianmodes.brian.training.TapeRecorder`);
the loss and :meth:`Engine.backward <brianmodes.neurons.Engine.backward>` run
in numpy on that tape, and after each optimizer step the new parameters are
written back into the circuit's Brian2 objects
(:meth:`BrianCircuit.set_parameters <brianmodes.brian.BrianCircuit.set_parameters>`:
by assignment, or as ``run_args`` of the compiled program, which is never
recompiled). In float64, Brian2 and the numpy engine agree spike for spike, so
the parameters follow those of ``Trainer(engine="numpy", dtype="float64")`` to
rounding (``docs/brian2.md``).
"""

from __future__ import annotations

import numpy as np

from ..checks import choice
from ..analysis.stats import mean_rate
from ..errors import BrianModesError
from .bptt import StepResult
from .losses import get_loss
from .surrogates import get_surrogate

DEVICES = ("cpp_standalone", "cython", "numpy")
#: ``Trainer(forward=...)``: the engine, or Brian2 (``'brian2'`` is ``'brian2:cpp_standalone'``).
FORWARDS = ("engine", "brian2") + tuple(f"brian2:{device}" for device in DEVICES)


def brian2_device(forward):
    """The Brian2 device (or runtime target) a ``forward=`` setting names; None for the engine.

    Examples
    --------
    >>> brian2_device("brian2"), brian2_device("brian2:numpy"), brian2_device("engine")
    ('cpp_standalone', 'numpy', None)
    """
    choice(forward, "forward", FORWARDS)
    if forward == "engine":
        return None
    return "cpp_standalone" if forward == "brian2" else forward.split(":", 1)[1]


def check_brian2_trainable(net):
    """Raise :class:`BrianModesError` unless Brian2 can run ``net``'s own model for training."""
    model = net.engine_model
    if not model.spiking:
        raise BrianModesError(f"forward='brian2' needs a spiking network; model {model.name!r} has no spikes "
                              "(train it with forward='engine')")
    if model.kind != "continuous":
        what = "the published update (discretization='published')" if net.discretization == "published" \
            else f"model {model.name!r}"
        raise BrianModesError(f"forward='brian2' cannot train {what}: it is a discrete-time update with no "
                              "continuous-time equations for Brian2 (Brian2 would run another model); use "
                              "discretization='brian2' or forward='engine'")


class Brian2Forward:
    """Forward passes of training batches in Brian2, gradients from the numpy engine's adjoint.

    Parameters
    ----------
    net : ModeNetwork
        A network on a continuous spiking model (see :func:`check_brian2_trainable`).
    device : {'cpp_standalone', 'cython', 'numpy'}
        ``cpp_standalone``: one compiled program, run with ``run_args``;
        ``cython``, ``numpy``: Brian2's runtime device with that target.
    input_kind : {'spikes', 'current'}
        The task's inputs (see :class:`~brianmodes.brian.BrianCircuit`).

    The circuit is built at the first batch, for that batch's shape (again if
    a batch of another shape comes); :meth:`close` gives the device back.

    Examples
    --------
    >>> from brianmodes.tasks import make_task
    >>> task = make_task("digits", n_steps=20)
    >>> net = task.make_network(N=30, P=2, seed=0)
    >>> batch = task.sample(8, np.random.default_rng(0))
    >>> with Brian2Forward(net, device="numpy", input_kind=task.input_kind) as brian2:
    ...     step = brian2.loss_and_grads(net, batch.inputs, batch.targets, loss=task.loss)
    >>> sorted(step.grads)
    ['W_in', 'W_out', 'lam', 'xi_in', 'xi_out']
    """

    def __init__(self, net, device="cpp_standalone", input_kind="spikes"):
        from ..brian.circuit import INPUT_KINDS, circuit_recurrence
        from ..brian.training import TapeRecorder
        from ..neurons.run import engine_for

        choice(device, "device", DEVICES)
        choice(input_kind, "input_kind", INPUT_KINDS)
        check_brian2_trainable(net)
        self.device, self.input_kind = device, input_kind
        self.recurrence = circuit_recurrence(net)
        self.engine = engine_for(net, engine="numpy")
        self.recorder = TapeRecorder(self.engine, modes=self.recurrence == "modes")
        self.runner = self.circuit = None
        self.shape = None
        self.builds = 0

    def _build(self, net, n_steps, n_trials):
        from ..brian.circuit import BrianCircuit
        from ..brian.standalone import StandaloneProgram
        from ..brian.toolchain import check_toolchain

        self.close()
        kwargs = {"recurrence": self.recurrence, "input_kind": self.input_kind}
        net = net.copy()  # the circuit's parameters change only through set_parameters
        if self.device == "cpp_standalone":
            self.runner = StandaloneProgram(net, n_trials=n_trials, n_steps=n_steps, setup=self.recorder.setup,
                                            **kwargs)
            self.circuit = self.runner.circuit
        else:
            check_toolchain(self.device)
            self.circuit = BrianCircuit(net, n_trials=n_trials, **kwargs)
            self.recorder.setup(self.circuit)
        self.shape = (n_steps, n_trials)
        self.builds += 1

    def set_parameters(self, net):
        """Write ``net``'s parameters into the Brian2 objects (a no-op before the first build)."""
        if self.circuit is not None:
            self.circuit.set_parameters(net)

    def forward(self, net, inputs):
        """Run a batch in Brian2 with ``net``'s parameters; the tape, as ``Engine.forward(train=True)``."""
        from ..simulate import check_inputs

        x = check_inputs(net, inputs, np.float64)
        if x.shape[0] < 2:
            raise BrianModesError("training needs trials of at least 2 time steps")
        if self.shape != x.shape[:2]:
            self._build(net, *x.shape[:2])
        elif self.circuit.net.config() != net.config() or any(
                not np.array_equal(a, self.circuit.net.params[k]) for k, a in net.params.items()):
            self.set_parameters(net)  # parameters changed since they were last written
        if self.runner is not None:
            result = self.runner.run(x)
        else:
            result = self.circuit.run(x, target=self.device)
        return self.recorder.forward(self.circuit, result, x)

    def loss_and_grads(self, net, inputs, targets, mask=None, *, loss="cross_entropy", surrogate="fast_sigmoid",
                       rate_regularizer=None):
        """:func:`brianmodes.train.loss_and_grads` (float64) with the forward pass in Brian2.

        Returns
        -------
        StepResult
            Gradients by array of ``net.params``.
        """
        sur = get_surrogate(surrogate)
        fwd = self.forward(net, inputs)
        task_loss, gy = get_loss(loss)(fwd["y"], targets, mask)
        T, B = fwd["inputs"].shape[:2]
        count = fwd["count"]
        rate = mean_rate(count, T, net.dt)
        penalty, ds = 0.0, None
        if rate_regularizer is not None:
            penalty, ds = rate_regularizer(count, T, net.dt)
        grads = net.array_gradients(self.engine.backward(fwd, gy, sur, ds))
        return StepResult(loss=task_loss + penalty, task_loss=task_loss, grads=grads, outputs=fwd["y"],
                          rate_hz=rate, penalty=penalty)

    def close(self):
        """Give a standalone device back to Brian2's runtime mode and remove its build folder."""
        if self.runner is not None:
            self.runner.close()
        self.runner = self.circuit = None
        self.shape = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
