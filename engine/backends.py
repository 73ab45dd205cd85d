"""Which implementation runs a job, and why: the record plugins with several backends return.

Plugins with more than one way to do their work (demucs or DSP stems, MusicGen or the
procedural composer) choose before they start and tell the user what they chose and why,
in the progress message and as ``backend`` / ``backend_reason`` in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

M = TypeVar("M")


@dataclass(frozen=True)
class BackendChoice(Generic[M]):
    """The chosen backend, why it was chosen, the device it runs on and what it loads (if anything)."""

    name: str
    reason: str
    device: str = "cpu"
    #: What the backend loads, when the plugin needs to pass it on (e.g. where the weights are).
    model: M | None = None
