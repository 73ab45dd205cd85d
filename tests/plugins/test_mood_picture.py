"""The mood picture: titled with the track's name (not the storage's), one colour per mood throughout."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from matplotlib.colors import to_hex

from moodmix.engine.execution import execute
from moodmix.plugins.mood import picture
from moodmix.plugins.mood.picture import COLOURS, LINE_COLOURS, figure, track_title
from moodmix.plugins.mood.taxonomy import MOOD_NAMES
from moodmix.testing import make_registry, tone, write_wav


def _result() -> dict:
    moods = ["calm", "tense", "calm"]
    timeline = []
    for i, mood in enumerate(moods):
        dist = {m: (0.65 if m == mood else 0.05) for m in MOOD_NAMES}
        timeline.append({"start": 10.0 * i, "end": 10.0 * (i + 1), "mood": mood, "confidence": 0.65,
                         "valence": 0.3 - 0.4 * i, "arousal": -0.2 + 0.3 * i, "distribution": dist})
    return {"mood": "calm", "confidence": 0.5, "valence": 0.1, "arousal": 0.0, "timeline": timeline,
            "distribution": {m: 1 / len(MOOD_NAMES) for m in MOOD_NAMES}}


def test_title_is_the_track_name_without_its_extension() -> None:
    fig = figure(_result(), title="Night Drive.ogg")
    assert fig._suptitle.get_text().startswith("Night Drive — calm · 50%")
    assert track_title("Mr. Blue Sky.mp3") == "Mr. Blue Sky" and track_title("demo take") == "demo take"
    assert figure(_result())._suptitle.get_text().startswith("calm · 50%")


def test_the_timeline_uses_the_legends_colours() -> None:
    result = _result()
    plane, bands, strip = figure(result).axes
    legend = {text.get_text(): to_hex(handle.get_facecolor())
              for text, handle in zip(bands.get_legend().get_texts(), bands.get_legend().legend_handles, strict=True)}
    assert legend == COLOURS
    # Each window's point on the valence/arousal plane has its mood's legend colour.
    window_points = next(c for c in plane.collections if len(c.get_offsets()) == len(result["timeline"]))
    assert [to_hex(c) for c in window_points.get_facecolors()] == [COLOURS[p["mood"]] for p in result["timeline"]]
    # Valence and arousal lines use colours no mood has, so no line reads as a mood.
    lines = {line.get_label(): to_hex(line.get_color()) for line in strip.get_lines() if line.get_label()[0] != "_"}
    assert lines == LINE_COLOURS and not set(lines.values()) & set(COLOURS.values())


def test_the_picture_is_titled_by_the_name_the_runner_passes(tmp_path: Path, monkeypatch) -> None:
    """Inputs arrive named by content hash; ctx.input_names carries the upload's name to the title."""
    wav = write_wav(tmp_path / "x.wav", tone(seconds=6.0, sr=22050), 22050)
    stored = tmp_path / "blobs" / hashlib.sha256(wav.read_bytes()).hexdigest()
    stored.parent.mkdir()
    shutil.copy(wav, stored)
    titles = []
    real_draw = picture.draw
    monkeypatch.setattr(picture, "draw", lambda result, path, title="": titles.append(title)
                        or real_draw(result, path, title))
    registry = make_registry()
    cap = registry.capability("mood")
    execute(cap, cap.parse_params({"backend": "features", "window_seconds": 5}), registry=registry,
            inputs={"audio": stored}, texts={}, output_dir=tmp_path / "out",
            input_names={"audio": "Night Drive.ogg"})
    assert titles == ["Night Drive.ogg"]
    execute(cap, cap.parse_params({"backend": "features", "window_seconds": 5}), registry=registry,
            inputs={"audio": wav}, texts={}, output_dir=tmp_path / "out2")
    assert titles[-1] == "x.wav"  # the CLI's own files keep their names
