"""Recipes, genre presets, parameter parsing and tempo planning: the remix plugin's data side."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from moodmix.engine.errors import BadInput
from moodmix.plugins.remix.genres import GENRES
from moodmix.plugins.remix.params import RemixParams, parse_stem_gains, parse_stem_list
from moodmix.plugins.remix.pipeline import apply_overrides, choose_recipe, transpose_key
from moodmix.plugins.remix.recipe import Delay, Recipe, Reverb, parse_recipe, recipe_to_json
from moodmix.plugins.remix.tempo import BeatGrid, fit_beat_grid, plan_tempo
from moodmix.testing import make_registry

REQUIRED = {"lofi", "house", "trap", "drum-and-bass", "synthwave", "reggaeton", "chiptune", "acoustic",
            "slowed-reverb", "nightcore"}


@pytest.fixture(scope="module")
def registry():
    return make_registry()


def test_required_genres_are_registered_through_the_hook(registry) -> None:
    assert set(registry.genres) >= REQUIRED
    assert registry.genre("Drum & Bass").name == "drum-and-bass"
    assert registry.genre("slowed + reverb").name == "slowed-reverb"
    builtin = [g for g in registry.genres.values() if g.name in {p.name for p in GENRES}]
    assert len(builtin) == len(GENRES)  # a third-party genre (the example plugin's polka) may sit beside them
    for genre in builtin:
        assert genre.description and isinstance(genre.recipe, Recipe)


@pytest.mark.parametrize("genre", GENRES, ids=lambda g: g.name)
def test_every_preset_round_trips_as_a_user_recipe(genre) -> None:
    recipe = genre.recipe
    assert recipe.tempo is not None or recipe.tempo_ratio is not None
    assert parse_recipe(recipe_to_json(recipe)) == recipe
    assert parse_recipe(msgspec.to_builtins(recipe)) == recipe


@pytest.mark.parametrize(("raw", "field"), [
    ({"stems": {"vocals": {"effects": [{"type": "Reverb", "room_size": 5}]}}},
     "recipe.stems.vocals.effects[0].room_size"),
    ({"stems": {"vocals": {"effects": [{"type": "Wobble"}]}}}, "recipe.stems.vocals.effects[0].type"),
    ({"stems": {"flute": {}}}, "recipe.stems"),
    ({"tempo": 500}, "recipe.tempo"),
    ({"tempo": 120, "tempo_ratio": 1.1}, "recipe"),
    ({"drums": {"kick": "x..y"}}, "recipe.drums.kick"),
    ({"drums": {"kit": "909"}}, "recipe.drums"),
    ({"master": [{"type": "Delay", "feedback": 1.5}]}, "recipe.master[0].feedback"),
])
def test_invalid_recipe_names_the_bad_field(raw, field) -> None:
    with pytest.raises(BadInput) as info:
        parse_recipe(raw)
    assert info.value.details["field"] == field
    assert field in info.value.message
    assert info.value.status == 422


def test_recipe_as_json_text_and_broken_json() -> None:
    recipe = parse_recipe('{"tempo": 90, "master": [{"type": "Reverb", "room_size": 0.3}]}')
    assert recipe.tempo == 90 and recipe.master == [Reverb(room_size=0.3)]
    with pytest.raises(BadInput, match="not valid JSON"):
        parse_recipe('{"tempo": 90')


def test_engine_param_validation_names_the_recipe_field(registry) -> None:
    cap = registry.capability("remix")
    with pytest.raises(BadInput, match=r"recipe\.stems\.bass\.gain_db"):
        cap.parse_params({"recipe": {"stems": {"bass": {"gain_db": 99}}}})
    assert {"genre", "recipe", "tempo", "pitch", "loudness", "format"} <= set(cap.params_schema()["properties"])


def test_unknown_genre_lists_the_valid_ones(registry) -> None:
    with pytest.raises(BadInput) as info:
        choose_recipe(RemixParams(genre="zydeco-metal"), registry)
    for name in REQUIRED:
        assert name in info.value.message
    with pytest.raises(BadInput, match="not both"):
        choose_recipe(RemixParams(genre="house", recipe=Recipe()), registry)
    with pytest.raises(BadInput, match=r"valid genres: .*house"):
        choose_recipe(RemixParams(genre=None), registry)


def test_the_default_genre_is_lofi_and_yields_to_a_recipe(registry) -> None:
    assert choose_recipe(RemixParams(), registry)[0] == "lofi"
    name, recipe = choose_recipe(RemixParams(recipe=Recipe(tempo=99)), registry)
    assert name is None and recipe.tempo == 99


def test_overrides_copy_the_preset_and_leave_it_alone(registry) -> None:
    _, preset = choose_recipe(RemixParams(genre="house"), registry)
    params = RemixParams(genre="house", tempo=128, pitch=2, gain_db="vocals=3,drums=-2", mute="bass",
                         drums=False)
    applied = apply_overrides(preset, params)
    assert applied.tempo == 128 and applied.pitch_semitones == 2 and applied.drums is None
    assert applied.stems.vocals.gain_db == preset.stems.vocals.gain_db + 3
    assert applied.stems.drums.gain_db == preset.stems.drums.gain_db - 2
    assert applied.stems.bass.mute and not preset.stems.bass.mute
    assert registry.genre("house").recipe.tempo == 124 and registry.genre("house").recipe.drums is not None


def test_a_broken_third_party_preset_is_the_plugins_fault() -> None:
    from moodmix.engine.capability import Genre
    from moodmix.engine.errors import CapabilityFailed
    from moodmix.plugins.remix.genre_lookup import genre_recipe

    with pytest.raises(CapabilityFailed, match="without a recipe"):
        genre_recipe(Genre("polka", "no recipe"))
    with pytest.raises(CapabilityFailed, match=r"recipe of genre 'bad'\.tempo"):
        genre_recipe(Genre("bad", "tempo out of range", {"tempo": 1000}))
    assert genre_recipe(Genre("ok", "dict recipe", {"tempo": 100})).tempo == 100


def test_stem_list_and_gain_strings() -> None:
    assert parse_stem_list("Vocals, drums", "mute") == ["vocals", "drums"]
    assert parse_stem_gains("bass=-4.5", "gain_db") == {"bass": -4.5}
    with pytest.raises(BadInput, match="flute"):
        parse_stem_list(["flute"], "mute")
    with pytest.raises(BadInput, match="gain_db"):
        parse_stem_gains("bass=loud", "gain_db")


def test_fit_beat_grid_survives_missing_late_and_extra_beats() -> None:
    rng = np.random.default_rng(3)
    period, phase = 60 / 97.3, 0.21
    beats = phase + period * np.arange(150) + rng.normal(0, 0.006, 150)
    beats = np.delete(beats, [10, 11, 40, 90])  # missed beats
    beats = np.sort(np.concatenate([beats, [5.03, 33.3]]))  # spurious ones
    beats[0] += 0.05  # a late first beat, as onset detectors give
    grid = fit_beat_grid(beats.tolist(), None)
    assert grid.tempo == pytest.approx(97.3, abs=0.03)
    assert grid.first_beat == pytest.approx(phase, abs=0.01)
    assert grid.start == pytest.approx(phase, abs=0.01)
    # The analyzer's BPM wins when the beats agree with it.
    assert fit_beat_grid(beats.tolist(), 97.31).tempo == pytest.approx(97.31)


def test_plan_tempo_folds_octaves_and_links_pitch_for_varispeed() -> None:
    source = BeatGrid(120.0, 0.1)
    dnb = plan_tempo(Recipe(tempo=174), source)
    assert dnb.ratio == pytest.approx(174 / 240) and dnb.target_tempo == 174
    assert dnb.grid.first_beat == pytest.approx(0.1 / dnb.ratio)
    assert plan_tempo(Recipe(tempo=174, fold_octaves=False), source).ratio == pytest.approx(1.45)
    far = plan_tempo(Recipe(tempo=220, fold_octaves=False), BeatGrid(60.0, 0.0))
    assert far.ratio == 2.0 and far.target_tempo == 120.0  # out of reach: drums follow the music
    slowed = plan_tempo(Recipe(tempo_ratio=0.8, varispeed=True, pitch_semitones=1), source)
    assert slowed.target_tempo == pytest.approx(96.0)
    assert slowed.pitch_semitones == pytest.approx(1 + 12 * math.log2(0.8))


def test_no_beat_keeps_the_timing_and_drums_start_at_zero() -> None:
    guessed = fit_beat_grid([0.4], None)
    assert not guessed.steady
    plan = plan_tempo(Recipe(tempo=124), guessed)
    assert plan.ratio == 1.0 and plan.target_tempo == 124 and plan.grid.first_beat == 0.0


def test_transpose_key() -> None:
    assert transpose_key("A", -1) == "G#"
    assert transpose_key("Bb", 2) == "C"
    assert transpose_key("E minor", 12) == "E minor"
    assert transpose_key(None, 3) is None and transpose_key("H", 1) is None


def test_delay_in_beats_reads_like_pedalboard() -> None:
    recipe = parse_recipe({"master": [{"type": "Delay", "beats": 0.75, "mix": 0.2}]})
    assert recipe.master == [Delay(beats=0.75, mix=0.2)]


def test_the_readme_example_recipe_is_valid() -> None:
    """The plugin's README shows a custom recipe; it must stay one the API accepts."""
    from pathlib import Path

    import moodmix.plugins.remix as remix

    readme = (Path(remix.__file__).parent / "README.md").read_text()
    example = readme.split("<!-- example-recipe -->\n```json\n", 1)[1].split("```", 1)[0]
    recipe = parse_recipe(example)
    assert recipe.tempo == 86 and recipe.stems.drums.mute and recipe.drums.sidechain.depth_db == 4
