"""Tempo and pitch changes that keep quality.

Rubber Band (through pedalboard's ``time_stretch``) changes tempo and pitch
independently; varispeed (slowed, nightcore) is plain high-quality resampling, which is
what a turntable does and what those edits are meant to sound like.

Rubber Band runs its R3 ("finer") engine with the short analysis window: 2.5× less CPU
than the long window, and on test music rendered at both tempi it came out *closer* to
the truth (log-spectral distance 0.21 vs 0.47 on chords, 0.59 vs 0.68 on a full mix,
``bench/remix_stretch_quality.py``) — the long window smears note onsets.
"""

from __future__ import annotations

import numpy as np


def change_speed(audio: np.ndarray, sr: int, *, ratio: float, pitch_semitones: float = 0.0,
                 varispeed: bool = False) -> np.ndarray:
    """Play ``audio`` (channels, frames) ``ratio`` times faster: the result lasts frames / ratio.

    With ``varispeed`` the pitch follows the speed and ``pitch_semitones`` is applied on top.
    """
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if varispeed and abs(ratio - 1.0) > 1e-6:
        audio = _varispeed(audio, sr, ratio)
        ratio = 1.0
    if abs(ratio - 1.0) <= 1e-6 and abs(pitch_semitones) < 0.01:
        return audio
    import pedalboard

    out = pedalboard.time_stretch(audio, sr, stretch_factor=float(ratio),
                                  pitch_shift_in_semitones=float(pitch_semitones), high_quality=True,
                                  use_long_fft_window=False)
    return np.ascontiguousarray(out, dtype=np.float32)


def _varispeed(audio: np.ndarray, sr: int, ratio: float) -> np.ndarray:
    """Resample as if the track had been recorded at ``sr * ratio``."""
    import soxr

    out = soxr.resample(audio.T, sr * ratio, sr, quality="HQ")
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[0]).T)



#: Source audio each chunk gets before and after it, so Rubber Band starts and ends settled.
CHUNK_CONTEXT_S = 2.0
#: Length of the raised-cosine crossfade between neighbouring chunks (placed just before a downbeat).
CROSSFADE_S = 0.04


def is_identity(ratio: float, pitch_semitones: float, varispeed: bool) -> bool:
    return abs(ratio - 1.0) <= 1e-6 and abs(pitch_semitones) < 0.01


def stretch_chunks(audio: np.ndarray, sr: int, *, ratio: float, pitch_semitones: float, varispeed: bool,
                   bounds: list[int], first: int, last: int, offset: int = 0) -> tuple[np.ndarray, int]:
    """Chunks ``first``..``last - 1`` of the track stretched one by one and crossfaded.

    Why chunks: a phase vocoder's output depends on everything it has seen since it started,
    so a stretch of a 15-second preview could never match the same 15 seconds of a stretch of
    the whole track. Cut at fixed places (``bounds``: source frames, from 0 to the track's
    length, on bar lines), a chunk comes out the same whichever run computes it, and a preview
    is the full render's audio apart from its edges.

    ``audio`` holds source frames ``offset ..`` (enough for the chunks and their context).
    Returns the output and the output frame it starts at: the first chunk keeps its stretched
    lead-in context (a warm-up for the effects that follow, not part of the full render's sound).
    """
    total_out = round(bounds[-1] / ratio)
    first_in = max(0, bounds[first] - round(CHUNK_CONTEXT_S * sr))
    out_start = 0 if first == 0 else round(first_in / ratio)
    half = round(CROSSFADE_S * sr / 2)
    out_end = min(total_out, round(bounds[last] / ratio) + (half if last < len(bounds) - 1 else 0))
    out = np.zeros((audio.shape[0], max(0, out_end - out_start)), dtype=np.float32)
    for k in range(first, last):
        part = stretch_chunk(audio, sr, ratio=ratio, pitch_semitones=pitch_semitones, varispeed=varispeed,
                             bounds=bounds, k=k, lead_in=k == first, offset=offset, window=(out_start, out_end))
        if part is not None:
            keep_lo, y = part
            out[:, keep_lo - out_start:keep_lo - out_start + y.shape[1]] += y
    return out, out_start


def stretch_chunk(audio: np.ndarray, sr: int, *, ratio: float, pitch_semitones: float, varispeed: bool,
                  bounds: list[int], k: int, lead_in: bool, offset: int,
                  window: tuple[int, int]) -> tuple[int, np.ndarray] | None:
    """Chunk ``k`` stretched and faded for the overlap-add: the output frame it starts at and its audio
    (``None`` if nothing of it falls in ``window``, output frames). ``audio`` holds source frames
    ``offset ..``, at least the chunk and its context; ``lead_in``: the first chunk rendered keeps its
    stretched context instead of fading in."""
    context = round(CHUNK_CONTEXT_S * sr)
    half = round(CROSSFADE_S * sr / 2)
    end_src = offset + audio.shape[1]
    out_start, out_end = window
    in_start = max(offset, bounds[k] - context)
    in_end = min(end_src, bounds[k + 1] + context)
    y = change_speed(audio[:, in_start - offset:in_end - offset], sr, ratio=ratio,
                     pitch_semitones=pitch_semitones, varispeed=varispeed)
    y_start = round(in_start / ratio)  # output frame of y[:, 0]
    lo, hi = round(bounds[k] / ratio), round(bounds[k + 1] / ratio)
    keep_lo = y_start if lead_in else lo - half
    keep_hi = hi + half if k < len(bounds) - 2 else hi
    keep_lo, keep_hi = max(keep_lo, out_start, y_start), min(keep_hi, out_end, y_start + y.shape[1])
    if keep_hi <= keep_lo:
        return None
    gain = np.ones(keep_hi - keep_lo, dtype=np.float32)
    t = np.arange(keep_lo, keep_hi)
    if not lead_in:  # fade in over the crossfade around ``lo``
        ramp = (t - (lo - half)) / max(1, 2 * half)
        gain *= np.where(t < lo + half, 0.5 - 0.5 * np.cos(np.pi * np.clip(ramp, 0, 1)), 1.0).astype(np.float32)
    if k < len(bounds) - 2:  # fade out over the crossfade around ``hi``
        ramp = (t - (hi - half)) / max(1, 2 * half)
        gain *= np.where(t >= hi - half, 0.5 + 0.5 * np.cos(np.pi * np.clip(ramp, 0, 1)), 1.0).astype(np.float32)
    return keep_lo, y[:, keep_lo - y_start:keep_hi - y_start] * gain
