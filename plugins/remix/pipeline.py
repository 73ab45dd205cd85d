"""The remix run: stems → per-stem gain and effects → tempo/pitch → drums and ducking → master.

Order matters for speed: in the default ``mix`` mode the stems are processed at the
source tempo and summed, so Rubber Band runs once instead of four times (stretching
is most of the work). Delay times are given in target beats, so they are converted to
the source tempo before the stretch and come out right after it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.capability import RunContext, RunResult
from moodmix.engine.errors import BadInput, CapabilityFailed
from moodmix.engine.loudness import Normalized, integrated_loudness, normalize
from moodmix.engine.registry import Registry
from moodmix.plugins.remix.drums import duck_envelope, render_pattern
from moodmix.plugins.remix.effects import apply_effects_chunked
from moodmix.plugins.remix.genre_lookup import current_registry, genre_recipe
from moodmix.plugins.remix.params import DEFAULT_GENRE, RemixParams, parse_stem_gains, parse_stem_list
from moodmix.plugins.remix.preview import (
    PreviewLevels,
    Span,
    chunk_bounds,
    crossfade_frames,
    effect_context,
    output_bounds,
    preview_span,
)
from moodmix.plugins.remix.recipe import STEM_NAMES, Recipe, parse_recipe, recipe_to_json
from moodmix.plugins.remix.separation import CHUNKS_PER_PIECE, separate_span
from moodmix.plugins.remix.streamed import music_stream, render_whole
from moodmix.plugins.remix.stretch import is_identity, stretch_chunks
from moodmix.plugins.remix.tempo import TempoPlan, plan_tempo
from moodmix.plugins.remix.track_facts import Analysis, TrackFacts
from moodmix.plugins.remix.waveform_plot import envelope, plot_envelopes

#: Level the track is brought to before processing, so recipe thresholds mean the same on every upload.
REFERENCE_LUFS = -20.0
MIN_SR, MAX_SR = 22_050, 48_000
#: The whole track is rendered in files, block by block (bounded memory); ``False``: as whole arrays,
#: the reference the streamed render is checked against (tests, ``bench/memory.py``).
STREAM_WHOLE_TRACK = True
NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}


def choose_recipe(params: RemixParams, registry: Registry) -> tuple[str | None, Recipe]:
    """The genre's recipe or the user's; a recipe replaces the default genre, but not one asked for."""
    if params.genre and params.genre != DEFAULT_GENRE and params.recipe is not None:
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
    info = audio_io.probe(ctx.inputs["audio"])
    work_sr = min(MAX_SR, max(MIN_SR, info.sample_rate))
    # The analysis first, before the track is held here: on a long track both at once cost a track more.
    facts = TrackFacts.load(ctx, lambda: _mono_mix(ctx, info, work_sr), work_sr)
    ctx.release_audio("audio")  # the analysis's own decodes
    original, sr = ctx.load_audio("audio")
    mix = audio_io.to_channels(audio_io.resample(original, sr, work_sr), 2)
    frames = mix.shape[1]
    analysis, source_grid = facts.analysis(), facts.grid()
    plan = plan_tempo(recipe, source_grid)
    bounds = chunk_bounds(source_grid, frames, work_sr)
    span = Span.whole(bounds, plan.ratio)
    if params.preview_seconds:
        span = preview_span(facts.bar_scores(mix, work_sr), bounds, plan.ratio, work_sr,
                            params.preview_seconds, step=1 if given else CHUNKS_PER_PIECE,
                            phase=0 if given else 1) or span

    start_level = integrated_loudness(mix, work_sr)
    level = 10 ** ((REFERENCE_LUFS - start_level) / 20) if start_level is not None else 1.0
    before = original[:, round(span.src_window[0] * sr / work_sr):round(span.src_window[1] * sr / work_sr)]
    before_env, before_s = envelope(before), before.shape[-1] / sr
    streamed = not span.preview and STREAM_WHOLE_TRACK
    source: np.ndarray | Callable[[int, int], np.ndarray] | None = mix
    copy = None
    if streamed:  # the rest works in files: the decoded track goes, separation reads pieces from a copy
        source = None
        if not given:
            copy = audio_io.save_audio(ctx.temp_dir / "mix.wav", mix, work_sr, format="wav", bit_depth="float")
            source = partial(_read_frames, copy)
        del mix, original, before
        ctx.release_audio("audio")
    stem_paths, stems_backend = _stem_files(ctx, params, given, source, work_sr, span, bounds)
    if copy is not None:
        copy.unlink(missing_ok=True)
    remix_path = ctx.output_path("remix", f".{params.format}")
    if not streamed:
        report, out_frames, after_env = _render_in_memory(ctx, params, recipe, plan, stem_paths, mix, work_sr,
                                                          span, bounds, level, start_level, remix_path)
    else:  # the whole track: in files, block by block
        music = music_stream(ctx, stem_paths, recipe, plan, work_sr, bounds, level, params.stretch)
        report, out_frames, after_env = render_whole(
            ctx, music, recipe, plan, work_sr, bounds, seed=params.seed, target_lufs=params.loudness,
            ceiling_dbtp=params.true_peak, remix_path=remix_path, reference_lufs=REFERENCE_LUFS)
    reached, peak = report.after.integrated_lufs, report.after.true_peak_dbtp
    if reached is None or peak is None:
        raise CapabilityFailed("the remix came out silent; nothing to master")

    ctx.progress(0.93, "writing files")
    recipe_path = ctx.output_path("recipe", ".json")
    recipe_path.write_bytes(recipe_to_json(recipe))
    source_bpm = f"{source_grid.tempo:.1f}" if source_grid.steady else "no steady beat"
    title = (f"{genre_name or 'custom recipe'}: {source_bpm} → {plan.target_tempo:.1f} BPM, "
             f"{reached:.1f} LUFS, {peak:.1f} dBTP")
    waveform_path = plot_envelopes(ctx.output_path("waveform", ".png"), before_env, before_s, after_env,
                                   out_frames / work_sr, title=title)
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
        "duration_s": round(out_frames / work_sr, 3),
        "preview": span.describe(work_sr) if span.preview else None,
        "analysis_reused": facts.reused,
    }
    files = {"remix": remix_path, "recipe": recipe_path, "waveform": waveform_path}
    return RunResult(data=data, files=files, backend=stems_backend)


def _read_frames(path: Path, lo: int, hi: int) -> np.ndarray:
    """Frames ``lo..hi`` of a float WAV we wrote."""
    return next(audio_io.read_blocks(path, block=hi - lo, start=lo, stop=hi))


def _mono_mix(ctx: RunContext, info: audio_io.AudioInfo, work_sr: int) -> np.ndarray:
    """``mix.mean(axis=0)`` of the stereo mix at ``work_sr``, without holding the stereo mix when the
    decoder's own downmix is the same samples (one or two channels at the working rate)."""
    if info.sample_rate == work_sr and info.channels <= 2:
        mono, _ = ctx.load_audio("audio", mono=True)
        return mono[0]
    original, sr = ctx.load_audio("audio")
    return audio_io.to_channels(audio_io.resample(original, sr, work_sr), 2).mean(axis=0)


def _render_in_memory(ctx: RunContext, params: RemixParams, recipe: Recipe, plan: TempoPlan,
                      stem_paths: dict[str, Path], mix: np.ndarray, work_sr: int, span: Span, bounds: list[int],
                      level: float, start_level: float | None,
                      remix_path: Path) -> tuple[Normalized, int, tuple[np.ndarray, np.ndarray]]:
    """The span rendered as whole arrays (a preview; the whole track's reference): the loudness report,
    the remix's length and its waveform envelope; the remix is written to ``remix_path``."""
    music, out_start = _music_bus(ctx, stem_paths, recipe, plan, work_sr, span, bounds, level, params.stretch)
    levels = PreviewLevels.estimate(mix, work_sr, start_level, span) if span.preview else None
    ctx.progress(0.8, "drums")
    music_ref = levels.music_full(music, work_sr, span, out_start) if levels else None
    out_bounds = output_bounds(bounds, plan.ratio)
    mixed, drums = _add_drums(music, recipe, plan, work_sr, params.seed, out_bounds=out_bounds,
                              out_start=out_start, music_level=music_ref)
    ctx.progress(0.85, "mastering")
    mastered = apply_effects_chunked(mixed, work_sr, recipe.master, bpm=plan.target_tempo, bounds=out_bounds,
                                     offset=out_start, context=effect_context(work_sr, plan.ratio),
                                     fade=crossfade_frames(work_sr))
    mastered = span.crop(mastered, out_start, work_sr)
    target = params.loudness
    if levels is not None:
        target = levels.preview_target(mastered, span.crop(music, out_start, work_sr),
                                       None if drums is None else span.crop(drums, out_start, work_sr),
                                       work_sr, span, target)
    out, report = normalize(mastered, work_sr, target_lufs=target, ceiling_dbtp=params.true_peak)
    if report.after.integrated_lufs is None or report.after.true_peak_dbtp is None:
        raise CapabilityFailed("the remix came out silent; nothing to master")
    if not np.isfinite(out).all():
        raise CapabilityFailed("the remix contains NaN or infinite samples")
    audio_io.save_audio(remix_path, out, work_sr, format=params.format, bit_depth="24")
    return report, out.shape[1], envelope(out)


def _plan_data(plan: TempoPlan, analysis: Analysis) -> dict[str, Any]:
    return {
        "target_tempo": round(plan.target_tempo, 2),
        "tempo_ratio": round(plan.ratio, 8),
        "pitch_semitones": round(plan.pitch_semitones, 3),
        "target_key": transpose_key(analysis.key, plan.pitch_semitones),
    }


def _stem_files(ctx: RunContext, params: RemixParams, given: dict[str, Path],
                mix: np.ndarray | Callable[[int, int], np.ndarray] | None, sr: int,
                span: Span, bounds: list[int]) -> tuple[dict[str, Path], str]:
    """The four stem files: as uploaded (the whole track), or separated over the span (a preview
    separates only the pieces its window needs)."""
    if given:
        return given, "given"
    ctx.progress(0.1, "separating stems")
    return separate_span(ctx, mix, sr, bounds, span.src_lo, span.src_hi, span.src_window,
                         backend=params.stems_backend, progress=(0.1, 0.5))


def _load_stem(path: Path, sr: int, span: Span, whole_track: bool) -> np.ndarray:
    """One stem at ``sr``, stereo, exactly the span's source frames (loaded only when needed: long tracks)."""
    audio, stem_sr = audio_io.load_audio(path)
    audio = audio_io.to_channels(audio_io.resample(audio, stem_sr, sr), 2)
    if whole_track:
        audio = audio[:, span.src_lo:]
    return _fit(audio, span.src_hi - span.src_lo)


def _music_bus(ctx: RunContext, stem_paths: dict[str, Path], recipe: Recipe, plan: TempoPlan, sr: int,
               span: Span, bounds: list[int], level: float, stretch_mode: str) -> tuple[np.ndarray, int]:
    """Sum of the processed stems over the span, at the target tempo and pitch, and the output frame
    it starts at; one stem in memory at a time."""
    per_stem = stretch_mode == "stems"
    pitch = float(recipe.pitch_semitones)
    bpm = plan.target_tempo if per_stem else plan.target_tempo / plan.ratio
    whole_track = any(name in ctx.inputs for name in STEM_NAMES)  # uploaded stems cover the whole track

    def speed(x: np.ndarray) -> tuple[np.ndarray, int]:
        if is_identity(plan.ratio, pitch, recipe.varispeed):
            return x, span.src_lo
        return stretch_chunks(x, sr, ratio=plan.ratio, pitch_semitones=pitch, varispeed=recipe.varispeed,
                              bounds=bounds, first=span.first, last=span.last, offset=span.src_lo)

    if per_stem and not is_identity(plan.ratio, pitch, recipe.varispeed):
        domain, domain_offset = output_bounds(bounds, plan.ratio), None  # offset: from the stretch
    else:
        domain, domain_offset = bounds, span.src_lo
    bus: np.ndarray | None = None
    out_start = span.src_lo
    for i, name in enumerate(STEM_NAMES):
        ctx.progress(0.55 + 0.05 * i, f"processing {name}")
        settings = recipe.stems.get(name)
        if settings.mute:
            continue
        x = _load_stem(stem_paths[name], sr, span, whole_track)
        x *= np.float32(level * 10 ** (settings.gain_db / 20))
        if per_stem:
            x, out_start = speed(x)
        x = apply_effects_chunked(x, sr, settings.effects, bpm=bpm, bounds=domain,
                                  offset=out_start if domain_offset is None else domain_offset,
                                  context=effect_context(sr, plan.ratio), fade=crossfade_frames(sr))
        if bus is None:
            bus = x
        else:
            bus += x  # in place: one whole-track bus, not a new one per stem
    if bus is None:  # every stem muted: the drums play alone over silence of the right length
        bus, out_start = speed(np.zeros((2, span.src_hi - span.src_lo), dtype=np.float32))
    elif not per_stem:
        ctx.progress(0.75, "changing tempo and pitch")
        bus, out_start = speed(bus)
    return bus, out_start


def _add_drums(music: np.ndarray, recipe: Recipe, plan: TempoPlan, sr: int, seed: int, *, out_bounds: list[int],
               out_start: int = 0, music_level: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Music plus the recipe's drum pattern on the stretched beat grid, the music ducked under the kick;
    and the drums alone. ``music`` starts at output frame ``out_start``; ``music_level`` is the whole
    track's music loudness when ``music`` is only part of it."""
    pattern = recipe.drums
    if pattern is None:
        return music, None
    frames = music.shape[1]
    # Always the whole track's pattern (velocities are drawn in order), then the part this run needs.
    total = max(out_bounds[-1], out_start + frames)
    rendered = render_pattern(pattern, plan.grid, sr=sr, frames=total, seed=seed)
    part = rendered.audio[out_start:out_start + frames]
    drums = apply_effects_chunked(np.stack([part, part]), sr, pattern.effects, bpm=plan.target_tempo,
                                  bounds=out_bounds, offset=out_start, context=effect_context(sr, plan.ratio),
                                  fade=crossfade_frames(sr))
    if music_level is None:
        music_level = integrated_loudness(music, sr)
    drum_level = integrated_loudness(drums, sr)
    if drum_level is not None:
        reference = music_level if music_level is not None else REFERENCE_LUFS
        drums *= np.float32(10 ** ((reference + pattern.level_db - drum_level) / 20))
    if pattern.sidechain is not None and rendered.kick_times.size:
        envelope = duck_envelope(rendered.kick_times, pattern.sidechain, sr=sr, frames=total)
        music = music * envelope[None, out_start:out_start + frames]
    return music + drums, drums


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
