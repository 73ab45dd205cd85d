"""bind_inputs: the one place a caller's inputs meet a capability's declared ones (no I/O)."""

from __future__ import annotations

import pytest

from moodmix.engine.capability import Capability, InputSpec, RunResult
from moodmix.engine.errors import BadInput
from moodmix.engine.inputs import MAX_TEXT_INPUT, bind_inputs


def _cap(*inputs: InputSpec) -> Capability:
    return Capability(name="demo", description="d", run=lambda ctx: RunResult(), inputs=inputs)


TRACK_AND_PROMPT = _cap(InputSpec("track", "audio"), InputSpec("melody", "audio", required=False),
                        InputSpec("words", "text", required=False))


def test_shortcuts_fill_the_first_input_of_their_kind():
    bound = bind_inputs(TRACK_AND_PROMPT, audio="file-1", prompt="calm piano")
    assert bound.audio == {"track": "file-1"} and bound.texts == {"words": "calm piano"}


def test_a_named_input_wins_over_a_shortcut():
    bound = bind_inputs(TRACK_AND_PROMPT, {"track": "named", "melody": {"job_id": "j", "output": "o"}},
                        audio="shortcut")
    assert bound.audio == {"track": "named", "melody": {"job_id": "j", "output": "o"}}


@pytest.mark.parametrize(("given", "kwargs", "code"), [
    ({"nope": "x"}, {}, "bad_input_name"),
    ({}, {}, "missing_input"),
    ({"track": ""}, {}, "missing_input"),
    ({"track": "f", "words": "   "}, {}, "bad_input"),
    ({"track": "f", "words": 7}, {}, "bad_input"),
    ({"track": "f", "words": "x" * (MAX_TEXT_INPUT + 1)}, {}, "bad_input"),
])
def test_bad_bindings_are_named(given, kwargs, code):
    with pytest.raises(BadInput) as err:
        bind_inputs(TRACK_AND_PROMPT, given, **kwargs)
    assert err.value.code == code


def test_a_shortcut_without_a_matching_input_is_refused():
    with pytest.raises(BadInput) as err:
        bind_inputs(_cap(InputSpec("track", "audio")), prompt="hello")
    assert err.value.code == "bad_input" and "takes no text input" in err.value.message
    with pytest.raises(BadInput) as err:
        bind_inputs(_cap(InputSpec("prompt", "text")), audio="file-1")
    assert "takes no audio input" in err.value.message


def test_optional_inputs_may_be_left_out():
    bound = bind_inputs(TRACK_AND_PROMPT, {"track": "f"})
    assert bound.audio == {"track": "f"} and bound.texts == {}
