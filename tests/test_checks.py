"""The package's one set of argument checks: what each accepts, and the one message form."""

import numpy as np
import pytest

from brianmodes import BrianModesError, ModeNetwork
from brianmodes.checks import (TIME_UNITS, as_seconds, choice, integer, number, positive_int, positive_seconds,
                               seconds_per_unit)
from brianmodes.data import to_seconds
from brianmodes.train.trainer import Trainer


@pytest.mark.parametrize("value", [0, -3, 1.5, "2", True, None, np.float64(2.0)])
def test_positive_int_refuses_what_is_not_a_positive_integer(value):
    with pytest.raises(BrianModesError, match=r"^batches must be a positive integer, got "):
        positive_int(value, "batches")


def test_integers_come_back_as_python_ints():
    assert type(positive_int(np.int64(4), "P")) is int
    assert integer(0, "seed", minimum=0) == 0
    assert positive_int(None, "batch_size", none=True) is None
    with pytest.raises(BrianModesError, match=r"seed must be an integer >= 0, got -1"):
        integer(-1, "seed", minimum=0)
    with pytest.raises(BrianModesError, match=r"eval_every must be a positive integer or None, got 0"):
        positive_int(0, "eval_every", none=True)


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), float("inf"), "0.1", False])
def test_positive_number_refuses_zero_negative_non_finite_and_strings(value):
    with pytest.raises(BrianModesError, match=r"^lr must be a positive number, got "):
        number(value, "lr", positive=True)


def test_number_bounds():
    assert number(0, "spread", minimum=0) == 0.0
    with pytest.raises(BrianModesError, match=r"spread must be a number >= 0, got -0.5"):
        number(-0.5, "spread", minimum=0)


def test_choice_names_the_options_and_follows_aliases():
    assert choice("exp", "filter", ("single", "double"), aliases={"exp": "single"}) == "single"
    with pytest.raises(BrianModesError, match=r"^filter must be one of single, double, got 'triple'$"):
        choice("triple", "filter", ("single", "double"))
    with pytest.raises(BrianModesError, match=r"got \['single'\]"):
        choice(["single"], "filter", ("single", "double"))  # unhashable: still the same error


@pytest.mark.parametrize("text, expected", [("2 ms", 2e-3), ("2ms", 2e-3), ("250us", 250e-6), ("250 µs", 250e-6),
                                            ("3 ns", 3e-9), ("0.5", 0.5), ("1e-3 s", 1e-3)])
def test_times_from_strings(text, expected):
    assert as_seconds(text) == pytest.approx(expected)


def test_times_from_numbers_and_brian2_quantities():
    from brian2 import ms, mV

    assert as_seconds(0.01) == 0.01 and as_seconds(5 * ms) == pytest.approx(5e-3)
    with pytest.raises(BrianModesError, match=r"^tau must be a time, got"):
        as_seconds(5 * mV, "tau")
    with pytest.raises(BrianModesError, match=r"^dt must be a time such as '2 ms'"):
        as_seconds("two ms", "dt")
    with pytest.raises(BrianModesError, match=r"^dt must be a positive time, got '-1 ms'"):
        positive_seconds("-1 ms", "dt")


def test_one_table_of_time_units_for_strings_and_recordings():
    """Every unit a time string accepts, a recording's time_unit accepts too (and means the same)."""
    for unit, scale in TIME_UNITS.items():
        assert as_seconds(f"3 {unit}") == pytest.approx(3 * scale)
        assert to_seconds([3.0], unit)[0] == pytest.approx(3 * scale)
        assert seconds_per_unit(unit) == scale
    with pytest.raises(BrianModesError, match="time_unit must be one of s, ms, us, µs, ns, got 'minutes'"):
        seconds_per_unit("minutes")


def test_the_network_trainer_and_brian2_code_use_the_same_words():
    with pytest.raises(BrianModesError, match=r"^P \(the number of modes\) must be a positive integer, got 0$"):
        ModeNetwork(N=10, P=0, N_in=2, N_out=1)
    with pytest.raises(BrianModesError, match=r"^lr must be a positive number, got -1$"):
        Trainer(lr=-1).validate()
    with pytest.raises(BrianModesError, match=r"^engine must be one of auto, numpy, compiled, got 'gpu'$"):
        Trainer(engine="gpu").validate()
    with pytest.raises(BrianModesError, match=r"^dt must be a positive number, got 0$"):
        from brianmodes.neurons import Engine, lif

        Engine(lif("double"), 0)
