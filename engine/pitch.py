"""Pitch units shared by plugins (part of the plugin toolkit): MIDI note numbers to hertz.

Plain arithmetic rather than ``librosa.midi_to_hz``: a Python number in gives a Python ``float``
out, so a synth computing in float32 stays in float32 (a NumPy float64 scalar would promote
every array it touches), and importing it loads nothing.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Note = TypeVar("Note", float, np.ndarray)

#: MIDI note 69 is A4.
A4_HZ = 440.0


def midi_to_hz(note: Note) -> Note:
    """Equal-tempered frequency of MIDI ``note`` (fractional notes and arrays allowed), A4 = 440 Hz."""
    return A4_HZ * 2.0 ** ((note - 69.0) / 12.0)
