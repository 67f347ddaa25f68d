"""What the compiled loop of a program stores and passes: tape slots, records, constants, the argument lists.

The generator (:mod:`~brianmodes.neurons.compiled_kernel`) and the engine
(:mod:`~brianmodes.neurons.compiled`) share one :class:`Layout`, so that the
C code and the ctypes call agree on every index.

The **tape** holds, per trial and step, only what the adjoint step reads
(``Adjoint.needed``: ``v__1``, ``s__1``, the mask, ...) and the activity (the
recurrence's and the readout's weight gradients read it), all in the compute
type (as bytes, spikes and the mask would force a 64-lane vectorisation that
N = 100 neurons cannot fill), and ``k = xi_out^T r`` (P numbers).
An old value ``v__0`` is read from the final ``v`` of the step before.
"""

from __future__ import annotations

from .codegen import constant_names
from .symbolic import MASK, SPIKE

#: Pointer arguments of ``bm_run``, in order (NULL where unused).
POINTERS = ("x", "W_in_T", "xi_in_T", "xi_out_T", "lam", "W", "W_T", "W_out", "params", "consts", "y", "count",
            "amax", "argmax", "tape_r", "tape_u", "tape_k", "gy", "target", "tmask", "labels", "ds", "g64", "gr",
            "ktrace", "records")
#: Integer arguments of ``bm_run``, in order.
INTEGERS = ("T", "B", "N", "NI", "P", "K", "modes", "per_step", "do_fwd", "do_bwd", "tape_mode", "seed", "sur",
            "threads", "n_ref", "record", "ftz", "Nt", "x_u8")
#: Double arguments of ``bm_run``, in order.
DOUBLES = ("dt", "slope", "t_ref")
#: ``tape_mode``: one step's scratch (no training), the whole trial per thread (fused), a global tape.
TAPE_NONE, TAPE_LOCAL, TAPE_GLOBAL = 0, 1, 2
#: ``seed``: dL/dy given, a linear error ``mask * (y - target)``, softmax minus one-hot (per trial).
SEED_GIVEN, SEED_ERROR, SEED_SOFTMAX = 0, 1, 2
#: Surrogate families the loop knows, by their ``kind`` index.
SURROGATE_KINDS = ("fast_sigmoid", "sigmoid", "triangle")


class Layout:
    """The compiled loop's view of a program.

    Attributes
    ----------
    states : tuple of str
    spike : str or None
        The threshold's target (``s__1``), stored as a byte.
    real_slots, byte_slots : tuple of str
        Tape slots per step, in order.
    old_slot : dict
        ``x__0`` to the tape slot of the final value of ``x``.
    taped_states : dict
        The states the forward loop reads back from the previous step's tape row (their final
        value is a real slot anyway, and the recurrence does not read them from the state
        rows), to that slot: they are not kept in the state rows as well.
    constants : tuple of str
        The hoisted constants (``codegen.constant_names`` order).
    per_neuron : dict
        Constant name to True when it has one value per neuron.
    parameters : tuple of str
        Parameter names, sorted (the rows of the ``params`` argument).
    trainable : tuple of str
        The trainable constants (``Program.trainable_constants`` order).
    records : tuple of (str, str)
        Recordable values: (name, 'real' or 'byte'), the rows of ``records``.

    Examples
    --------
    >>> from brianmodes.neurons import lif
    >>> from brianmodes.neurons.derive import program_for
    >>> layout = Layout(program_for(lif("single")))
    >>> layout.real_slots, layout.byte_slots
    (('not_refractory', 'r__2', 's__1', 'v__1'), ())
    """

    def __init__(self, program, adjoint=None):
        model = program.model
        self.program = program
        self.adjoint = adjoint if adjoint is not None else program.adjoint(
            frozenset({model.activity} | ({SPIKE} if model.spiking else set())))
        self.states = program.states
        self.activity = model.activity
        self.recurrent = model.recurrent
        self.final = {x: program.final[x].name for x in self.states}
        self.spike = next((st.target.name for st in program.statements if st.kind == "threshold"), None)
        olds = {program.old[x].name: x for x in self.states}
        real_slots, byte_slots, self.old_slot = [], [], {}

        def add(name):  # spikes and the mask too: one element width keeps the neuron loops fully vectorised
            if name not in real_slots:
                real_slots.append(name)

        for name in self.adjoint.needed:
            if name in olds:
                add(self.final[olds[name]])
                self.old_slot[name] = self.final[olds[name]]
            else:
                add(name)
        add(self.final[self.activity])
        self.real_slots, self.byte_slots = tuple(sorted(real_slots)), tuple(sorted(byte_slots))
        self.taped_states = {x: self.real_slots.index(self.final[x]) for x in self.states
                             if x != self.activity and self.final[x] in self.real_slots}
        self.constants = constant_names(program)
        per_neuron = {n for n, p in model.parameters.items() if p.per_neuron}
        by_name = {c.name: e for c, e in program.constants.items()}
        self.per_neuron = {c: bool({s.name for s in by_name[c].free_symbols} & per_neuron) for c in self.constants}
        self.expressions = by_name
        self.parameters = tuple(sorted(model.parameters))
        self.trainable = tuple(c.name for c in program.trainable_constants)
        targets = [st.target.name for st in program.statements]
        records = [(name, "real") for name in targets]
        if self.spike is not None:
            records.append((SPIKE, "byte"))
        if program.masked:
            records.append(("m", "byte"))
        records.append((self.recurrent, "real"))
        self.records = tuple(records)
        self.seeded = tuple(x for x in self.states if x in self.adjoint.seeds)

    def slot(self, name):
        """(region, index) of a tape value: ``'r'`` (compute type) or ``'u'`` (bytes)."""
        if name in self.byte_slots:
            return "u", self.byte_slots.index(name)
        return "r", self.real_slots.index(name)

    def record_value(self, name):
        """The C value written for a recordable name inside the forward neuron loop."""
        if name == SPIKE:
            return self.spike
        if name == "m":
            return MASK
        return name

    def key(self):
        """What the generated source depends on beyond the program (used in its hash)."""
        return (self.real_slots, self.byte_slots, self.records, self.trainable)
