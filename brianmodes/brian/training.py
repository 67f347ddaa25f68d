"""What the numpy engine's adjoint reads, recorded in Brian2: a training tape from a circuit's run.

:meth:`Engine.forward(..., train=True) <brianmodes.neurons.Engine.forward>`
keeps a tape of single-assignment values of the derived step (``v__1``, the
membrane after the state update and before the reset; ``s__1``, the spikes;
``r__1``, the activity at the end of the step...), the not-refractory mask, the
recurrent input, the mode activations ``k = xi_out^T r`` of the previous step
and the max readout's ``amax``/``argmax``. Each of these is a value that a
Brian2 variable holds at one point of Brian2's schedule (groups → thresholds →
synapses → resets → end), so :class:`TapeRecorder` puts a ``StateMonitor`` at
that point:

=====================================  =====================================
tape value                              recorded in Brian2
=====================================  =====================================
the state update's value ``x__1``       ``x`` at ``before_thresholds``
the spikes ``s__1``                     the ``SpikeMonitor``
the input jump's value                  the input variable at ``before_resets``
a state's value at the end of a step    ``x`` at ``end``
the mask (not refractory)               ``not_refractory`` at ``before_thresholds``
the recurrent input                     ``I_rec`` at ``before_thresholds``
``k`` (modes)                           ``modes.kappa`` at ``before_thresholds``
``amax``, ``argmax`` (max readout)      from the activity recorded at ``end``
outputs ``y``                           the circuit's readout
=====================================  =====================================

:meth:`TapeRecorder.forward` then returns a dict in the layout of
``Engine.forward(train=True)``, which :meth:`Engine.backward` takes as it is.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrianModesError

#: Where in Brian2's schedule each phase of the derived step can be read.
SLOTS = {"update": "before_thresholds", "jump": "before_resets", "end": "end"}


def _phases(engine):
    """Phase of each single-assignment name of the program: update, spikes, jump, reset or end."""
    prog, model = engine.program, engine.model
    n_updates = len(model.states)
    phase = {}
    for i, st in enumerate(prog.statements):
        name = str(st.target)
        if i < n_updates:
            phase[name] = "update"
        elif st.kind == "threshold":
            phase[name] = "spikes"
        elif i == n_updates + 1 and name.rsplit("__", 1)[0] == model.input:
            phase[name] = "jump"
        else:
            phase[name] = "reset"
    for x in model.states:  # the value at the end of the step wins over its phase
        phase[str(prog.final[x])] = "end"
    return phase


class TapeRecorder:
    """The monitors that record an engine's training tape in a circuit, and the tape built from them.

    Parameters
    ----------
    engine : Engine
        The numpy engine of the network's model (whose :meth:`Engine.backward`
        will read the tape).
    modes : bool
        Whether the circuit's recurrence is in mode space (``k`` is recorded).

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> from brianmodes.brian import BrianCircuit
    >>> from brianmodes.neurons.run import engine_for
    >>> net = ModeNetwork(N=20, P=2, N_in=3, N_out=2, seed=0)
    >>> recorder = TapeRecorder(engine_for(net, engine="numpy"), modes=True)
    >>> recorder.variables["update"]
    ['v', 'not_refractory']
    >>> circuit = BrianCircuit(net, n_trials=4)
    >>> recorder.setup(circuit)
    >>> x = (np.random.default_rng(0).random((30, 4, 3)) < 0.3).astype(float)
    >>> fwd = recorder.forward(circuit, circuit.run(x), x)
    >>> sorted(fwd["tape"]), fwd["K"].shape
    (['r__1', 's__1', 'v__1'], (30, 4, 2))
    >>> grads = recorder.engine.backward(fwd, np.ones_like(fwd["y"]))
    """

    def __init__(self, engine, modes):
        from ..neurons.symbolic import SPIKE

        self.engine, self.modes = engine, bool(modes)
        model = engine.model
        if model.kind != "continuous" or not model.spiking:
            raise BrianModesError(f"model {model.name!r} cannot run in Brian2 for training: only continuous "
                                  "spiking models can (not the published discrete update, nor rate models)")
        self.plan = engine._plan((), True, self.modes)  # what Engine.forward(train=True) keeps
        phase = _phases(engine)
        self.names = {}  # tape name -> (phase, variable)
        for name in self.plan["kept"]:
            variable = name.rsplit("__", 1)[0]
            where = "spikes" if variable == SPIKE else phase.get(name)
            if where not in ("update", "jump", "end", "spikes"):
                raise BrianModesError(f"the adjoint of model {model.name!r} reads {name!r}, a value between two "
                                      "of its resets, which Brian2 does not show; write the reset so that each "
                                      "variable is assigned once")
            self.names[name] = (where, variable)
        self.variables = {key: sorted({v for w, v in self.names.values() if w == key}) for key in SLOTS}
        if self.plan["m"]:
            self.variables["update"].append("not_refractory")
        if self.plan["rec"]:
            self.variables["update"].append(model.recurrent)

    def setup(self, circuit):
        """Add the monitors to ``circuit`` (before it is built, for a standalone program)."""
        if self.modes != (circuit.recurrence == "modes"):
            raise BrianModesError(f"this recorder is for a {'modes' if self.modes else 'dense'} recurrence; "
                                  f"the circuit's is {circuit.recurrence!r}")
        for key, variables in self.variables.items():
            if variables:
                circuit.record_at(f"tape_{key}", circuit.neurons, variables, when=SLOTS[key])
        if self.modes:
            circuit.record_at("tape_kappa", circuit.modes, ["kappa"], when=SLOTS["update"])

    def forward(self, circuit, result, inputs):
        """The run's values in the layout of ``Engine.forward(train=True)`` (float64).

        Parameters
        ----------
        circuit : BrianCircuit
            The circuit that ran (its ``net`` holds the parameters it ran with).
        result : BrianResult
            Its result, with the recorder's monitors read.
        inputs : array (T, B, N_in)
            The inputs of the run, at the model's dt.
        """
        from ..neurons.engine import prepare_weights
        from ..simulate import check_inputs

        net = circuit.net
        if circuit.dt != net.dt:
            raise BrianModesError(f"a training tape needs the circuit at the model's dt ({net.dt} s); "
                                  f"this one runs at {circuit.dt} s")
        x = check_inputs(net, inputs, np.float64)
        T, B, N = result.spikes.shape
        grid = lambda a, n=N: np.ascontiguousarray(a).reshape(T, B, n)  # noqa: E731  (T, B*n) -> (T, B, n)
        rec = {key: result.recorded.get(f"tape_{key}", {}) for key in SLOTS}
        spikes = result.spikes
        tape = {}
        for name, (where, variable) in self.names.items():
            values = spikes if where == "spikes" else rec[where][variable]
            tape[name] = grid(values).astype(np.float64, copy=False)
        weights = prepare_weights(net.params, np.float64)
        activity = self.plan["finals"][self.engine.activity]
        fwd = {"readout": net.readout, "activity": activity, "train": True, "weights": weights, "inputs": x,
               "drive": (x.reshape(T * B, -1) @ weights["W_in"].T).reshape(T, B, N), "params": net.neuron_values(),
               "tape": tape, "count": spikes.sum(axis=0, dtype=np.int32), "s_sum": None, "S": None,
               "M": grid(rec["update"]["not_refractory"]).astype(bool, copy=False) if self.plan["m"] else None,
               "REC": grid(rec["update"][self.engine.model.recurrent]) if self.plan["rec"] else None,
               "K": grid(result.recorded["tape_kappa"]["kappa"], net.P) if self.modes else None,
               "amax": None, "argmax": None, "y": np.asarray(result.outputs, np.float64), "traces": {},
               "engine": "numpy"}
        if net.readout == "max":
            R = tape[activity]
            fwd["amax"], fwd["argmax"] = R.max(axis=0), R.argmax(axis=0).astype(np.int32)
        return fwd
