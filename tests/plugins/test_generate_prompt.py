"""Prompt parsing and spec building for the generate capability (no audio rendered)."""

from __future__ import annotations

import pytest

from moodmix.engine.errors import BadInput
from moodmix.plugins.generate.prompt import parse_prompt
from moodmix.plugins.generate.spec import SpecOverrides, build_spec
from moodmix.plugins.generate.theory import parse_key, roman_chord


@pytest.mark.parametrize(
    ("text", "tempo", "tonic", "mode"),
    [
        ("sad lofi piano 80 bpm in A minor", 80.0, 9, "minor"),
        ("energetic house at 124 BPM in F# minor", 124.0, 6, "minor"),
        ("happy pop, tempo 96, key of Bb major", 96.0, 10, "major"),
        ("dark techno 132bpm in c sharp minor", 132.0, 1, "minor"),
        ("jazz ballad in Eb", None, 3, None),
        ("chill beat in the key of e minor", None, 4, "minor"),
        ("a tune in Dm", None, 2, "minor"),
    ],
)
def test_tempo_and_key(text: str, tempo: float | None, tonic: int, mode: str | None) -> None:
    facts = parse_prompt(text)
    assert facts.tempo == tempo
    assert facts.tonic == tonic
    assert facts.mode == mode


def test_words_that_only_look_like_keys_are_not_keys() -> None:
    facts = parse_prompt("a walk in a dark forest, 80s synthwave")
    assert facts.tonic is None
    assert facts.genre == "synthwave"
    assert facts.duration is None  # "80s" is a decade, not 80 seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("rock song, 45 seconds", 45.0), ("ambient 2 minutes", 120.0), ("ambient, 1:30 long", 90.0),
     ("house loop 30s", 30.0), ("trap 12.5 sec", 12.5)],
)
def test_duration(text: str, seconds: float) -> None:
    assert parse_prompt(text).duration == seconds


def test_genre_mood_and_instruments() -> None:
    facts = parse_prompt("Melancholic drum and bass with strings, piano and a synth bass")
    assert facts.genre == "dnb"
    assert facts.mood == "sad"
    voices = dict((role, voice) for voice, role in facts.instruments)
    assert voices["pad"] == "pad"
    assert voices["chords"] == "piano"
    assert voices["bass"] == "synth"
    assert ("drums", "drums") not in facts.instruments  # "drum and bass" named the genre, not drums


def test_no_drums_and_tempo_words() -> None:
    facts = parse_prompt("slow calm piano, no drums")
    assert facts.no_drums
    assert facts.tempo_word == "slow"
    spec = build_spec(facts, SpecOverrides(), seed=1, sample_rate=44100, max_duration=300)
    assert spec.instruments["drums"] == "none"
    assert spec.instruments["chords"] == "piano"


def test_gibberish_prompt_gets_stated_defaults() -> None:
    spec = build_spec(parse_prompt("qwzx plorp"), SpecOverrides(), seed=7, sample_rate=44100, max_duration=300)
    assert spec.genre == "pop" and spec.mood == "happy"
    assert spec.sources["genre"] == "default" and spec.sources["tempo"] == "default"
    assert spec.sources["key"] == "seed"
    assert 90 <= spec.tempo <= 128
    assert spec.duration == 20.0 and spec.sources["duration"] == "default"


def test_prompt_facts_win_over_defaults_and_params_win_over_prompt() -> None:
    facts = parse_prompt("sad lofi piano 80 bpm in A minor, 30 seconds")
    spec = build_spec(facts, SpecOverrides(), seed=1, sample_rate=44100, max_duration=300)
    assert (spec.tempo, spec.key, spec.genre, spec.mood, spec.duration) == (80.0, "A minor", "lofi", "sad", 30.0)
    assert spec.progression[0].lower().startswith("i")  # progressions start on the tonic
    override = build_spec(facts, SpecOverrides(tempo=100, key="C major", duration=12, genre="house"), seed=1,
                          sample_rate=44100, max_duration=300)
    assert (override.tempo, override.key, override.genre, override.duration) == (100.0, "C major", "house", 12)
    assert override.sources["tempo"] == "param"


def test_out_of_range_prompt_values_are_clamped_with_a_note() -> None:
    spec = build_spec(parse_prompt("techno 400 bpm, 20 minutes"), SpecOverrides(), seed=1, sample_rate=44100,
                      max_duration=300)
    assert spec.tempo == 240.0 and spec.duration == 300.0
    assert len(spec.notes) == 2


def test_bad_explicit_values_raise_bad_input() -> None:
    facts = parse_prompt("pop")
    with pytest.raises(BadInput):
        build_spec(facts, SpecOverrides(key="H major"), seed=1, sample_rate=44100, max_duration=300)
    with pytest.raises(BadInput):
        build_spec(facts, SpecOverrides(mood="confused"), seed=1, sample_rate=44100, max_duration=300)


def test_roman_numerals_follow_the_key() -> None:
    key = parse_key("A minor")
    assert [roman_chord(key, n).name for n in ("i", "VI", "III", "VII", "ii7", "v7")] == \
        ["Am", "F", "C", "G", "Bm7b5", "Em7"]
    assert roman_chord(parse_key("Bb major"), "V7").name == "F7"
