"""The ``remix`` capability end to end through the engine: real stems (dsp) and analyze plugins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from moodmix import hookimpl
from moodmix.engine import audio_io
from moodmix.engine.capability import Genre
from moodmix.engine.errors import BadInput
from moodmix.plugins.analyze import testsignals as ts
from moodmix.plugins.remix.genre_lookup import use_registry
from moodmix.plugins.remix.recipe import Recipe, parse_recipe
from moodmix.testing import make_registry, run_local, tone, write_wav


@pytest.fixture(scope="module")
def registry():
    """Built-ins only; remixes look genres up in it (not in the process-wide, entry-point one)."""
    registry = make_registry()
    with use_registry(registry):
        yield registry


def song_file(path: Path, *, bpm: float, seconds: float, sr: int, tonic: str = "A") -> Path:
    left = ts.song(tonic, "minor", bpm, seconds, sr=sr)
    return write_wav(path, np.stack([left, 0.8 * left]) * 0.6, sr)


def check_master(path: Path, loudness: float = -14.0, ceiling: float = -1.0) -> tuple[np.ndarray, int]:
    """Decode a result and check it independently of the plugin's own meters."""
    audio, sr = audio_io.load_audio(path)
    assert np.isfinite(audio).all() and audio.shape[0] == 2
    measured = pyloudnorm.Meter(sr).integrated_loudness(audio.T.astype(np.float64))
    assert measured == pytest.approx(loudness, abs=1.0)
    true_peak = 20 * np.log10(np.abs(signal.resample_poly(audio.astype(np.float64), 8, 1, axis=-1)).max())
    assert true_peak <= ceiling + 0.1  # 24-bit file; 8× oversampling by an independent filter
    return audio, sr


@pytest.mark.parametrize(("genre", "sr"), [("house", 44100), ("lofi", 22050), ("slowed-reverb", 22050)])
def test_full_genre_remix(registry, tmp_path: Path, genre: str, sr: int) -> None:
    src = song_file(tmp_path / "song.wav", bpm=112.0, seconds=7.0, sr=sr)
    progress: list = []
    result = run_local("remix", tmp_path / "out", inputs={"audio": src}, params={"genre": genre},
                       registry=registry, progress=progress)
    data = result.data
    assert data["genre"] == genre and data["stems_backend"] == "dsp" == result.backend
    assert data["source_tempo"] == pytest.approx(112.0, abs=1.0)
    assert data["source_key"] == "A"
    audio, out_sr = check_master(result.files["remix"])
    assert out_sr == sr
    # Duration follows the stretch ratio exactly (to the sample, give or take rounding).
    assert audio.shape[1] == pytest.approx(7.0 * sr / data["tempo_ratio"], abs=4)
    assert data["duration_s"] == pytest.approx(7.0 / data["tempo_ratio"], abs=1e-3)
    preset = registry.genre(genre).recipe
    if preset.tempo is not None:
        assert data["target_tempo"] == preset.tempo
    else:
        assert data["target_tempo"] == pytest.approx(data["source_tempo"] * preset.tempo_ratio, abs=0.05)
    applied = parse_recipe(result.files["recipe"].read_bytes())
    assert applied == preset and json.loads(result.files["recipe"].read_text()) == data["recipe"]
    assert result.files["waveform"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_every_registered_genre_on_a_short_clip(registry, tmp_path: Path) -> None:
    """Separated once by the real stems plugin, then given as stems to each genre's remix."""
    src = song_file(tmp_path / "clip.wav", bpm=100.0, seconds=4.0, sr=22050, tonic="D")
    stems = run_local("stems", tmp_path / "stems", inputs={"audio": src}, params={"backend": "dsp"},
                      registry=registry).files
    inputs = {"audio": src} | {n: stems[n] for n in ("drums", "bass", "vocals", "other")}
    assert len(registry.genres) >= 10
    for name in registry.genres:
        result = run_local("remix", tmp_path / name, inputs=inputs, params={"genre": name}, registry=registry)
        audio, sr = check_master(result.files["remix"])
        assert audio.shape[1] == pytest.approx(4.0 * sr / result.data["tempo_ratio"], abs=4), name
        assert result.data["loudness_lufs"] == pytest.approx(-14.0, abs=0.5), name
        assert result.data["true_peak_dbtp"] <= -1.0, name


def test_custom_recipe_with_overrides_and_other_targets(registry, tmp_path: Path) -> None:
    src = song_file(tmp_path / "song.wav", bpm=120.0, seconds=5.0, sr=22050)
    recipe = {"tempo": 100, "stems": {"other": {"effects": [{"type": "Chorus", "mix": 0.3}]}},
              "drums": {"kit": "breaks", "kick": "X.......", "snare": "....X..."},
              "master": [{"type": "HighpassFilter", "cutoff_frequency_hz": 40}]}
    result = run_local("remix", tmp_path / "out", inputs={"audio": src},
                       params={"recipe": json.dumps(recipe), "tempo": "110", "pitch": "2", "loudness": "-16",
                               "true_peak": "-2", "format": "flac", "gain_db": "vocals=-3",
                               "stems_backend": "dsp", "stretch": "stems"},
                       registry=registry)
    data = result.data
    assert data["genre"] is None and data["target_tempo"] == 110.0 and data["pitch_semitones"] == 2
    assert data["target_key"] == "B"
    assert data["recipe"]["stems"]["vocals"]["gain_db"] == -3
    assert result.files["remix"].suffix == ".flac"
    audio, sr = check_master(result.files["remix"], loudness=-16.0, ceiling=-2.0)
    assert audio.shape[1] == pytest.approx(5.0 * sr / data["tempo_ratio"], abs=4)  # stems stretched one by one


def test_unknown_genre_is_a_4xx_listing_valid_genres(registry, tmp_path: Path) -> None:
    src = write_wav(tmp_path / "t.wav", tone(seconds=3.0))
    with pytest.raises(BadInput) as info:
        run_local("remix", tmp_path / "out", inputs={"audio": src}, params={"genre": "zydeco"},
                  registry=registry)
    assert info.value.status == 422 and "zydeco" in info.value.message
    for name in ("lofi", "house", "drum-and-bass", "nightcore"):
        assert name in info.value.message


def test_invalid_recipe_is_a_4xx_naming_the_field(registry, tmp_path: Path) -> None:
    src = write_wav(tmp_path / "t.wav", tone(seconds=3.0))
    bad = '{"stems": {"drums": {"effects": [{"type": "Compressor", "ratio": 0.5}]}}}'
    with pytest.raises(BadInput) as info:
        run_local("remix", tmp_path / "out", inputs={"audio": src}, params={"recipe": bad}, registry=registry)
    assert info.value.details["field"] == "recipe.stems.drums.effects[0].ratio"
    assert "recipe.stems.drums.effects[0].ratio" in info.value.message


class PolkaPlugin:
    """A third-party plugin: one genre, its recipe given as plain JSON-like data."""

    @hookimpl
    def register_genres(self):
        recipe = {"tempo": 130, "drums": {"kit": "acoustic", "kick": "X...", "snare": "..X."},
                  "master": [{"type": "Compressor", "threshold_db": -18, "ratio": 2}]}
        return [Genre("polka", "Oom-pah at 130 BPM.", recipe, aliases=("oompah",))]


def test_third_party_genre_is_usable_by_name(tmp_path: Path) -> None:
    registry = make_registry(PolkaPlugin())
    assert "polka" in registry.genres and "house" in registry.genres
    src = song_file(tmp_path / "song.wav", bpm=120.0, seconds=5.0, sr=22050)
    with use_registry(registry):
        result = run_local("remix", tmp_path / "out", inputs={"audio": src},
                           params={"genre": "Oom-Pah", "stems_backend": "dsp"}, registry=registry)
    assert result.data["genre"] == "polka" and result.data["target_tempo"] == 130.0
    assert parse_recipe(result.files["recipe"].read_bytes()).drums.kit == "acoustic"
    check_master(result.files["remix"])


def test_muting_a_given_stem_removes_it(registry, tmp_path: Path) -> None:
    """Stems given as inputs skip separation; each is a tone, so what is left can be measured."""
    sr = 22050
    mix_path = song_file(tmp_path / "song.wav", bpm=120.0, seconds=5.0, sr=sr)
    stems = {"drums": ts.drum_track(120.0, 5.0, sr=sr), "bass": tone(110.0, 5.0, sr)[0],
             "vocals": tone(880.0, 5.0, sr)[0], "other": tone(440.0, 5.0, sr)[0]}
    inputs = {"audio": mix_path} | {n: write_wav(tmp_path / f"{n}.wav", y[None, :], sr) for n, y in stems.items()}
    plain = {"recipe": {"tempo_ratio": 1.0}}

    def band_levels(params: dict, name: str) -> dict[float, float]:
        result = run_local("remix", tmp_path / name, inputs=inputs, params=params, registry=registry)
        assert result.data["stems_backend"] == "given"
        audio, _ = audio_io.load_audio(result.files["remix"], mono=True)
        spectrum = np.abs(np.fft.rfft(audio[0]))
        freqs = np.fft.rfftfreq(audio.shape[1], 1 / sr)
        return {f: float(spectrum[np.abs(freqs - f) < 3].max()) for f in (440.0, 880.0)}

    both = band_levels(plain, "both")
    muted = band_levels(plain | {"mute": ["vocals"]}, "muted")
    assert both[880.0] / both[440.0] > 0.5  # the vocal tone is there before muting
    assert muted[880.0] / muted[440.0] < 0.01  # and gone after
    with pytest.raises(BadInput, match="all four stems"):
        run_local("remix", tmp_path / "x", inputs={"audio": mix_path, "vocals": inputs["vocals"]},
                  params={"genre": "house"}, registry=registry)
    with pytest.raises(BadInput, match="nothing left to play"):
        run_local("remix", tmp_path / "y", inputs=inputs, registry=registry,
                  params={"recipe": {}, "mute": "drums,bass,vocals,other"})


def test_recipe_struct_default_is_a_no_op_recipe() -> None:
    assert Recipe() == parse_recipe({}) and Recipe().drums is None


def test_without_the_analyze_plugin_beats_come_from_librosa(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODMIX_DISABLE_PLUGINS", "analyze")
    registry = make_registry()
    assert "analyze" not in registry.capabilities
    src = song_file(tmp_path / "song.wav", bpm=120.0, seconds=5.0, sr=22050)
    with use_registry(registry):
        result = run_local("remix", tmp_path / "out", inputs={"audio": src},
                           params={"genre": "reggaeton", "stems_backend": "dsp"}, registry=registry)
    assert result.data["source_tempo"] == pytest.approx(120.0, abs=2.0)
    assert result.data["source_key"] is None and result.data["target_tempo"] == 95.0
    check_master(result.files["remix"])


def test_a_track_without_a_beat_keeps_its_timing(registry, tmp_path: Path) -> None:
    noise = np.random.default_rng(5).standard_normal((2, 4 * 22050)).astype(np.float32) * 0.1
    src = write_wav(tmp_path / "noise.wav", noise)
    result = run_local("remix", tmp_path / "out", inputs={"audio": src},
                       params={"genre": "house", "stems_backend": "dsp"}, registry=registry)
    assert result.data["source_tempo"] is None and result.data["tempo_ratio"] == 1.0
    assert result.data["duration_s"] == pytest.approx(4.0, abs=1e-3)
    audio, sr = check_master(result.files["remix"])

    def low_to_mid(y: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(y.mean(axis=0))) ** 2
        freqs = np.fft.rfftfreq(y.shape[1], 1 / sr)
        return spectrum[(freqs > 40) & (freqs < 100)].sum() / spectrum[(freqs > 1000) & (freqs < 1060)].sum()

    assert low_to_mid(audio) > 3 * low_to_mid(noise)  # the house kick was laid over the noise
