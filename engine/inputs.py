"""What a caller gave, bound to a capability's declared inputs: the one place that is done.

The API, ``moodmix run`` and the bots all call :func:`bind_inputs`. It checks names, kinds and
required inputs, and turns the shortcuts (a file for the first audio input, a prompt for the
first text input) into named inputs. What an audio value *is* (an uploaded file id, another job's
output, a local path) is for the caller to resolve; binding never touches storage or disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moodmix.engine.capability import Capability
from moodmix.engine.errors import BadInput

MAX_TEXT_INPUT = 2000


@dataclass(frozen=True)
class BoundInputs:
    """Audio inputs by name (the caller's references, unresolved) and text inputs by name."""

    audio: dict[str, Any]
    texts: dict[str, str]


def bind_inputs(cap: Capability, given: Mapping[str, Any] | None = None, *, audio: Any = None,
                prompt: str | None = None) -> BoundInputs:
    """Bind ``given`` (input name -> value) plus the ``audio``/``prompt`` shortcuts to ``cap``'s inputs.

    A named input wins over a shortcut aimed at the same input. Raises :class:`BadInput` for an
    unknown name, a shortcut the capability has no input for, a missing required input or bad text.
    """
    values = dict(given or {})
    for value, specs, kind in ((audio, cap.audio_inputs, "audio"), (prompt, cap.text_inputs, "text")):
        if value is None:
            continue
        if not specs:
            raise BadInput(f"{cap.name!r} takes no {kind} input (inputs: "
                           f"{', '.join(i.name for i in cap.inputs) or 'none'})", code="bad_input")
        values.setdefault(specs[0].name, value)
    known = [i.name for i in cap.inputs]
    for name in values:
        if name not in known:
            raise BadInput(f"{cap.name!r} has no input {name!r} (inputs: {', '.join(known) or 'none'})",
                           code="bad_input_name")
    bound = BoundInputs(audio={}, texts={})
    for spec in cap.inputs:
        value = values.get(spec.name)
        if value is None or value == "":
            if spec.required:
                raise BadInput(f"{cap.name!r} needs its {spec.kind} input {spec.name!r}", code="missing_input")
            continue
        if spec.kind == "audio":
            bound.audio[spec.name] = value
            continue
        if not isinstance(value, str) or not value.strip():
            raise BadInput(f"input {spec.name!r} must be non-empty text", code="bad_input")
        if len(value) > MAX_TEXT_INPUT:
            raise BadInput(f"input {spec.name!r} is longer than {MAX_TEXT_INPUT} characters", code="bad_input")
        bound.texts[spec.name] = value
    return bound
