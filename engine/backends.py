"""Which implementation runs a job, and why: the record plugins with several backends return.

Plugins with more than one way to do their work (demucs or DSP stems, MusicGen or the
procedural composer) choose before they start and tell the user what they chose and why,
in the progress message (``note``: a few words, no paths) and as ``backend`` / ``backend_reason`` (the
details) in the result.
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
    #: The choice in a few words for people (progress text, summaries): no paths, no exception text.
    #: ``reason`` keeps the details, for the log and the result's data.
    note: str = ""

    @property
    def said(self) -> str:
        """What to show people: the note, else the backend's name."""
        return self.note or self.name
