"""The one MIDI-to-hertz conversion every synth uses."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.engine.pitch import midi_to_hz


def test_equal_temperament_around_a440() -> None:
    assert midi_to_hz(69) == 440.0 and midi_to_hz(81) == 880.0
    assert midi_to_hz(60) == pytest.approx(261.6256, abs=1e-4)
    assert midi_to_hz(69.5) == pytest.approx(440.0 * 2 ** (1 / 24))


def test_a_python_number_stays_a_python_float_so_float32_synths_stay_float32() -> None:
    assert type(midi_to_hz(60)) is float
    t = np.arange(8, dtype=np.float32)
    assert (midi_to_hz(60) * t).dtype == np.float32
    assert np.array_equal(midi_to_hz(np.array([57, 69])), np.array([220.0, 440.0]))
