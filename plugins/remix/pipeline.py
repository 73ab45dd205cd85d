"""The remix run: stems → per-stem gain and effects → tempo/pitch → drums and ducking → master.

Order matters for speed: in the default ``mix`` mode the stems are processed at the
source tempo and summed, so Rubber Band runs once instead of four times (stretching
is most of the work). Delay times are given in target beats, so they are converted to
the source tempo before the stretch and come out right after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.capability import RunContext, RunResult
from moodmix.engine.errors import BadInput, CapabilityFailed, NotFound
from moodmix.engine.loudness import integrated_loudness, normalize
from moodmix.engine.registry import Registry
from moodmix.plugins.remix.downbeat import align_to_bars
from moodmix.plugins.remix.drums import duck_envelope, render_pattern
from moodmix.plugins.remix.effects import apply_effects
from moodmix.plugins.remix.genre_lookup import current_registry, genre_recipe
from moodmix.plugins.remix.params import RemixParams, parse_stem_gains, parse_stem_list
from moodmix.plugins.remix.recipe import STEM_NAMES, Recipe, parse_recipe, recipe_to_json
from moodmix.plugins.remix.stretch import change_speed
from moodmix.plugins.remix.tempo import TempoPlan, fit_beat_grid, plan_tempo
from moodmix.plugins.remix.waveform_plot import plot_before_after

#: Level the track is brought to before processing, so recipe thresholds mean the same on every upload.
REFERENCE_LUFS = -20.0
MIN_SR, MAX_SR = 22_050, 48_000
NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}


@dataclass
class Analysis:
    tempo: float | None
    beats: list[float] = field(default_factory=list)
    key: str | None = None
    mode: str | None = None
    precise_tempo: bool = True  # False: a tempogram-bin estimate, to be refined from the beats
    confidence: float | None = None  # the analyzer's tempo confidence (0..1), passed on to clients


def choose_recipe(params: RemixParams, registry: Registry) -> tuple[str | None, Recipe]:
    """The genre's recipe or the user's; exactly one of them must be given."""
    if params.genre and params.recipe is not None:
        raise BadInput("give either genre or recipe, not both", code="bad_params")
    if params.recipe is not None:
        return None, parse_recipe(params.recipe)
    if not params.genre:
        valid = ", ".join(sorted(registry.genres)) or "none"
        raise BadInput(f"give a genre or a recipe; valid genres: {valid}", code="missing_genre")
    genre = registry.genre(params.genre)
    return genre.name, genre_recipe(genre)


def apply_overrides(recipe: Recipe, params: RemixParams) -> Recipe:
    """The recipe with the request's tempo, pitch, gain trims, mutes and drum switch applied (a copy)."""
    replace = msgspec.structs.replace
    if params.tempo is not None:
        recipe = replace(recipe, tempo=params.tempo, tempo_ratio=None)
    if params.pitch is not None:
        recipe = replace(recipe, pitch_semitones=params.pitch)
    gains = parse_stem_gains(params.gain_db, "gain_db")
    muted = set(parse_stem_list(params.mute, "mute"))
    stems = recipe.stems
    for name in STEM_NAMES:
        settings = stems.get(name)
        if name in gains:
            settings = replace(settings, gain_db=max(-60.0, min(24.0, settings.gain_db + gains[name])))
        if name in muted:
            settings = replace(settings, mute=True)
        stems = replace(stems, **{name: settings})
    recipe = replace(recipe, stems=stems)
    if not params.drums:
        recipe = replace(recipe, drums=None)
    return recipe


def run(ctx: RunContext) -> RunResult:
    params: RemixParams = ctx.params
    genre_name, recipe = choose_recipe(params, current_registry(ctx))
    recipe = apply_overrides(recipe, params)
    if all(recipe.stems.get(n).mute for n in STEM_NAMES) and recipe.drums is None:
        raise BadInput("nothing left to play: every stem is muted and no drums are added", code="bad_params")
    given = {n: p for n, p in ctx.inputs.items() if n in STEM_NAMES}
    if given and len(given) != len(STEM_NAMES):
        missing = ", ".join(n for n in STEM_NAMES if n not in given)
        raise BadInput(f"give all four stems or none (missing: {missing})", code="missing_input")

    ctx.progress(0.01, "reading the track")
    original, sr = ctx.load_audio("audio")
    work_sr = min(MAX_SR, max(MIN_SR, sr))
    mix = audio_io.to_channels(audio_io.resample(original, sr, work_sr), 2)
    frames = mix.shape[1]

    stem_paths, stems_backend = _stem_files(ctx, params, given)
    analysis = _analyse(ctx)
    source_grid = fit_beat_grid(analysis.beats, analysis.tempo, trust_tempo=analysis.precise_tempo)
    source_grid = align_to_bars(source_grid, mix.mean(axis=0), work_sr)
    plan = plan_tempo(recipe, source_grid)

    start_level = integrated_loudness(mix, work_sr)
    level = 10 ** ((REFERENCE_LUFS - start_level) / 20) if start_level is not None else 1.0
    music = _music_bus(ctx, stem_paths, recipe, plan, work_sr, frames, level, params.stretch)
    ctx.progress(0.8, "drums")
    mixed = _add_drums(music, recipe, plan, work_sr, params.seed)
    ctx.progress(0.85, "mastering")
    mixed = apply_effects(mixed, work_sr, recipe.master, bpm=plan.target_tempo)
    out, report = normalize(mixed, work_sr, target_lufs=params.loudness, ceiling_dbtp=params.true_peak)
    reached, peak = report.after.integrated_lufs, report.after.true_peak_dbtp
    if reached is None or peak is None:
        raise CapabilityFailed("the remix came out silent; nothing to master")
    if not np.isfinite(out).all():
        raise CapabilityFailed("the remix contains NaN or infinite samples")

    ctx.progress(0.93, "writing files")
    remix_path = audio_io.save_audio(ctx.output_path("remix", f".{params.format}"), out, work_sr,
                                     format=params.format, bit_depth="24")
    recipe_path = ctx.output_path("recipe", ".json")
    recipe_path.write_bytes(recipe_to_json(recipe))
    source_bpm = f"{source_grid.tempo:.1f}" if source_grid.steady else "no steady beat"
    title = (f"{genre_name or 'custom recipe'}: {source_bpm} → {plan.target_tempo:.1f} BPM, "
             f"{reached:.1f} LUFS, {peak:.1f} dBTP")
    waveform_path = plot_before_after(ctx.output_path("waveform", ".png"), original, sr, out, work_sr,
                                      title=title)
    data = {
        "genre": genre_name,
        "recipe": msgspec.to_builtins(recipe),
        "source_tempo": round(source_grid.tempo, 2) if source_grid.steady else None,
        "source_tempo_confidence": analysis.confidence,
        "source_key": analysis.key,
        "source_mode": analysis.mode,
        **_plan_data(plan, analysis),
        "loudness_lufs": round(reached, 2),
        "loudness_target": params.loudness,
        "true_peak_dbtp": round(peak, 2),
        "limiter_reduction_db": round(report.peak_reduction_db, 2),
        "stems_backend": stems_backend,
        "sample_rate": work_sr,
        "source_duration_s": round(frames / work_sr, 3),
        "duration_s": round(out.shape[1] / work_sr, 3),
    }
    files = {"remix": remix_path, "recipe": recipe_path, "waveform": waveform_path}
    return RunResult(data=data, files=files, backend=stems_backend)


def _plan_data(plan: TempoPlan, analysis: Analysis) -> dict[str, Any]:
    return {
        "target_tempo": round(plan.target_tempo, 2),
        "tempo_ratio": round(plan.ratio, 8),
        "pitch_semitones": round(plan.pitch_semitones, 3),
        "target_key": transpose_key(analysis.key, plan.pitch_semitones),
    }


def _stem_files(ctx: RunContext, params: RemixParams, given: dict[str, Path]) -> tuple[dict[str, Path], str]:
    """The four stem files: as uploaded, or from the stems capability (run in this job)."""
    if given:
        return given, "given"
    ctx.progress(0.03, "separating stems")
    result = ctx.call("stems", inputs={"audio": ctx.inputs["audio"]},
                      params={"mode": "4stems", "backend": params.stems_backend, "format": "wav"},
                      progress=(0.03, 0.45))
    missing = [n for n in STEM_NAMES if n not in result.files]
    if missing:
        raise CapabilityFailed(f"the stems capability returned no {', '.join(missing)} stem")
    return {n: result.files[n] for n in STEM_NAMES}, result.backend or "unknown"


def _load_stem(path: Path, sr: int, frames: int) -> np.ndarray:
    """One stem at ``sr``, stereo, exactly ``frames`` long (loaded only when needed: long tracks)."""
    audio, stem_sr = audio_io.load_audio(path)
    return _fit(audio_io.to_channels(audio_io.resample(audio, stem_sr, sr), 2), frames)


def _analyse(ctx: RunContext) -> Analysis:
    """Tempo, beats and key from the analyze capability (librosa beat tracking if it is absent)."""
    ctx.progress(0.46, "finding the beat")
    try:
        result = ctx.call("analyze", inputs={"audio": ctx.inputs["audio"]}, params={}, progress=(0.46, 0.55))
    except NotFound:
        return _fallback_analysis(ctx.inputs["audio"])
    data = result.data
    beats = [float(b) for b in data.get("beats") or []]
    tempo = data.get("tempo")
    confidence = data.get("tempo_confidence")
    return Analysis(float(tempo) if tempo else None, beats, data.get("key"), data.get("mode"),
                    confidence=float(confidence) if confidence is not None else None)


def _fallback_analysis(path: Path) -> Analysis:
    import librosa

    mono, sr = audio_io.load_audio(path, sample_rate=22_050, mono=True)
    tempo, beats = librosa.beat.beat_track(y=mono[0], sr=sr, units="time")
    return Analysis(float(np.atleast_1d(tempo)[0]), [float(b) for b in beats], precise_tempo=False)


def _music_bus(ctx: RunContext, stem_paths: dict[str, Path], recipe: Recipe, plan: TempoPlan, sr: int,
               frames: int, level: float, stretch_mode: str) -> np.ndarray:
    """Sum of the processed stems, at the target tempo and pitch; one stem in memory at a time."""
    per_stem = stretch_mode == "stems"
    pitch = float(recipe.pitch_semitones)
    bpm = plan.target_tempo if per_stem else plan.target_tempo / plan.ratio

    def speed(x: np.ndarray) -> np.ndarray:
        return change_speed(x, sr, ratio=plan.ratio, pitch_semitones=pitch, varispeed=recipe.varispeed)

    bus: np.ndarray | None = None
    for i, name in enumerate(STEM_NAMES):
        ctx.progress(0.55 + 0.05 * i, f"processing {name}")
        settings = recipe.stems.get(name)
        if settings.mute:
            continue
        x = _load_stem(stem_paths[name], sr, frames) * np.float32(level * 10 ** (settings.gain_db / 20))
        if per_stem:
            x = speed(x)
        x = apply_effects(x, sr, settings.effects, bpm=bpm)
        bus = x if bus is None else bus + x
    if bus is None:  # every stem muted: the drums play alone over silence of the right length
        bus = np.zeros((2, frames), dtype=np.float32)
    if not per_stem:
        ctx.progress(0.75, "changing tempo and pitch")
        bus = speed(bus)
    return bus


def _add_drums(music: np.ndarray, recipe: Recipe, plan: TempoPlan, sr: int, seed: int) -> np.ndarray:
    """Music plus the recipe's drum pattern on the stretched beat grid, the music ducked under the kick."""
    pattern = recipe.drums
    if pattern is None:
        return music
    frames = music.shape[1]
    rendered = render_pattern(pattern, plan.grid, sr=sr, frames=frames, seed=seed)
    drums = apply_effects(np.stack([rendered.audio, rendered.audio]), sr, pattern.effects,
                          bpm=plan.target_tempo)
    music_level = integrated_loudness(music, sr)
    drum_level = integrated_loudness(drums, sr)
    if drum_level is not None:
        reference = music_level if music_level is not None else REFERENCE_LUFS
        drums *= np.float32(10 ** ((reference + pattern.level_db - drum_level) / 20))
    if pattern.sidechain is not None and rendered.kick_times.size:
        music = music * duck_envelope(rendered.kick_times, pattern.sidechain, sr=sr, frames=frames)[None, :]
    return music + drums


def _fit(audio: np.ndarray, frames: int) -> np.ndarray:
    if audio.shape[1] >= frames:
        return audio[:, :frames]
    return np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))


def transpose_key(key: str | None, semitones: float) -> str | None:
    """``"A"`` shifted by ``semitones`` (rounded) → ``"G#"``; ``None`` when the key is unknown."""
    if not key:
        return None
    name = key.strip()
    note = name[:2] if len(name) > 1 and name[1] in "#b" else name[:1]
    rest = name[len(note):]
    note = FLATS.get(note[0].upper() + note[1:], note[0].upper() + note[1:])
    if note not in NOTES:
        return None
    return NOTES[(NOTES.index(note) + round(semitones)) % 12] + rest
