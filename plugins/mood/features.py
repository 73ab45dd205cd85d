"""Mood features from one shared analysis of the track.

Every descriptor comes from one STFT (plus its mel/chroma projections) and one
onset envelope, computed once in chunks so memory stays flat on long tracks.
Windows of the timeline and the whole track are then *summaries* of slices of
those frame-level arrays, so the timeline costs almost nothing extra.

:data:`FEATURE_NAMES` is the model's input, in order; changing it means bumping
:data:`FEATURE_SET_VERSION`, which makes old model files refuse to load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512
N_MELS = 64
N_MFCC = 13
N_CONTRAST_BANDS = 6
#: STFT frames per chunk (~47 s): bounds memory, costs nothing in accuracy.
CHUNK_FRAMES = 2048
#: Tempogram length in frames (~8.9 s), librosa's default autocorrelation size.
TEMPOGRAM_FRAMES = 384
#: librosa's default autocorrelation span (seconds) of the tempo estimate behind beat tracking.
TEMPO_AC_SECONDS = 8.0

FEATURE_SET_VERSION = 1
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# Krumhansl–Kessler key profiles (probe-tone ratings), tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

FEATURE_NAMES: tuple[str, ...] = (
    "tempo_bpm", "beat_strength", "pulse_clarity", "onset_rate", "onset_strength",
    "key_strength", "mode_major", "mode_score",
    *(f"chroma_rel_{i}" for i in range(12)), "chroma_entropy", "chroma_flux",
    *(f"mfcc_mean_{i}" for i in range(N_MFCC)), *(f"mfcc_std_{i}" for i in range(N_MFCC)),
    "centroid_mean", "centroid_std", "rolloff_mean", "rolloff_std", "flatness_mean", "flatness_std",
    *(f"contrast_{i}" for i in range(N_CONTRAST_BANDS + 1)),
    "zcr_mean", "zcr_std", "rms_db_mean", "rms_db_std", "dynamic_range_db", "hp_ratio_db",
)

ProgressFn = Callable[[float, str], None]


@dataclass
class FrameAnalysis:
    """Frame-level descriptors of a whole track (one column per STFT hop)."""

    sr: int
    duration: float
    mfcc: np.ndarray  # (13, T)
    chroma: np.ndarray  # (12, T), each frame max-normalised
    centroid: np.ndarray  # (T,) Hz
    rolloff: np.ndarray  # (T,) Hz
    flatness: np.ndarray  # (T,)
    contrast: np.ndarray  # (7, T) dB
    zcr: np.ndarray  # (T,)
    rms: np.ndarray  # (T,)
    onset_env: np.ndarray  # (T,)
    harmonic: np.ndarray  # (T,) harmonic energy per frame
    percussive: np.ndarray  # (T,) percussive energy per frame
    onsets: np.ndarray  # onset frame indices
    beats: np.ndarray  # beat frame indices

    @property
    def n_frames(self) -> int:
        return int(self.rms.shape[0])

    def frame_of(self, seconds: float) -> int:
        return round(seconds * self.sr / HOP)


def analyse(y: np.ndarray, sr: int = SAMPLE_RATE, progress: ProgressFn | None = None) -> FrameAnalysis:
    """Run the shared analysis on mono audio ``y`` (1-D float32 at ``sr``)."""
    import librosa

    y = np.ascontiguousarray(y, dtype=np.float32)
    report = progress or (lambda f, m: None)
    n_frames = 1 + len(y) // HOP
    mel_basis = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS)
    chroma_basis = librosa.filters.chroma(sr=sr, n_fft=N_FFT)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=N_FFT)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "mel", "chroma", "centroid", "rolloff", "flatness", "contrast", "zcr", "rms")}
    for start in range(0, n_frames, CHUNK_FRAMES):
        stop = min(n_frames, start + CHUNK_FRAMES)
        segment = _zero_padded(y, start * HOP - N_FFT // 2, (stop - 1) * HOP + N_FFT // 2)
        _analyse_chunk(segment, sr, mel_basis, chroma_basis, freqs, parts)
        report(0.8 * stop / n_frames, "spectral analysis")
    cat = {k: np.concatenate(v, axis=-1) for k, v in parts.items()}
    mel_power = cat.pop("mel")
    mel_db = librosa.power_to_db(mel_power, ref=1.0, top_db=None)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP)
    harmonic, percussive = librosa.decompose.hpss(mel_power, kernel_size=(31, 9))
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr, hop_length=HOP)
    _, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=HOP, bpm=beat_tempo(onset_env, sr))
    report(0.9, "rhythm analysis")
    return FrameAnalysis(
        sr=sr, duration=len(y) / sr, mfcc=mfcc, chroma=cat["chroma"], centroid=cat["centroid"],
        rolloff=cat["rolloff"], flatness=cat["flatness"], contrast=cat["contrast"], zcr=cat["zcr"],
        rms=cat["rms"], onset_env=onset_env, harmonic=harmonic.sum(axis=0),
        percussive=percussive.sum(axis=0), onsets=np.asarray(onsets), beats=np.asarray(beats),
    )


def _zero_padded(y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``y[lo:hi]`` with zeros where it runs past either end: a slice of the centred STFT's padded
    signal, without holding a padded copy of the whole track."""
    inner = y[max(lo, 0):min(hi, len(y))]
    if lo >= 0 and hi <= len(y):
        return inner
    return np.pad(inner, (max(-lo, 0), max(hi - len(y), 0)))


def beat_tempo(onset_env: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """The tempo ``librosa.beat.beat_track`` would estimate for itself, with memory bounded by chunks.

    beat_track takes the mean of one tempogram of the whole track (8-s lags x every
    frame, float64, plus its FFT work arrays): about 1 GB on a 20-minute track. Each
    tempogram column needs only the 8 s of onset envelope around it, so the same
    mean is summed over chunks of :data:`CHUNK_FRAMES` columns of the padded envelope.
    """
    import librosa

    win = int(librosa.time_to_frames(TEMPO_AC_SECONDS, sr=sr, hop_length=HOP))
    n = len(onset_env)
    padded = np.pad(onset_env, win // 2, mode="linear_ramp", end_values=(0, 0))  # as tempogram(center=True)
    total = np.zeros(win)
    for start in range(0, n, CHUNK_FRAMES):
        stop = min(n, start + CHUNK_FRAMES)
        total += librosa.feature.tempogram(onset_envelope=padded[start:stop + win - 1], sr=sr, hop_length=HOP,
                                           win_length=win, center=False).sum(axis=1)
    return float(librosa.feature.tempo(tg=(total / max(n, 1))[:, None], sr=sr, hop_length=HOP)[0])


def _analyse_chunk(segment: np.ndarray, sr: int, mel_basis: np.ndarray, chroma_basis: np.ndarray,
                   freqs: np.ndarray, parts: dict[str, list[np.ndarray]]) -> None:
    """Frame-level descriptors of one chunk, from a single STFT of it."""
    import librosa

    mag = np.abs(librosa.stft(segment, n_fft=N_FFT, hop_length=HOP, center=False))
    power = mag * mag
    total = mag.sum(axis=0) + 1e-10
    parts["mel"].append(mel_basis @ power)
    chroma = chroma_basis @ power
    parts["chroma"].append(chroma / (chroma.max(axis=0, keepdims=True) + 1e-10))
    parts["centroid"].append((freqs @ mag) / total)
    cumulative = np.cumsum(mag, axis=0)
    parts["rolloff"].append(freqs[np.argmax(cumulative >= 0.85 * cumulative[-1], axis=0)])
    log_mean = np.log(power + 1e-10).mean(axis=0)
    parts["flatness"].append(np.exp(log_mean) / (power.mean(axis=0) + 1e-10))
    parts["contrast"].append(librosa.feature.spectral_contrast(S=mag, sr=sr, n_fft=N_FFT,
                                                               n_bands=N_CONTRAST_BANDS))
    # Time-domain frame statistics through running sums: O(samples), not O(samples x frame).
    frames = mag.shape[1]
    starts = np.arange(frames) * HOP
    energy = np.concatenate(([0.0], np.cumsum(segment.astype(np.float64) ** 2)))
    parts["rms"].append(np.sqrt(np.maximum(energy[starts + N_FFT] - energy[starts], 0.0) / N_FFT))
    crossings = np.concatenate(([0], np.cumsum(np.signbit(segment[1:]) != np.signbit(segment[:-1]))))
    parts["zcr"].append((crossings[starts + N_FFT - 1] - crossings[starts]) / N_FFT)


def window_bounds(duration: float, window_seconds: float = 10.0) -> list[tuple[float, float]]:
    """Split ``duration`` into equal windows of about ``window_seconds`` (at least one).

    The count is ``duration / window_seconds`` rounded half up, so a 25 s track gets
    three ~8.3 s windows and a 14 s track one window.
    """
    count = max(1, int(duration / window_seconds + 0.5))
    edges = np.linspace(0.0, duration, count + 1)
    return [(float(a), float(b)) for a, b in pairwise(edges)]


def window_tempogram(fa: FrameAnalysis, a: int, b: int) -> np.ndarray:
    """Mean onset autocorrelation (tempogram) over frames ``a..b``."""
    import librosa

    tg = librosa.feature.tempogram(onset_envelope=fa.onset_env[a:b], sr=fa.sr, hop_length=HOP,
                                   win_length=TEMPOGRAM_FRAMES)
    return tg.mean(axis=1)


def summarise(fa: FrameAnalysis, a: int, b: int, tempogram: np.ndarray | None = None) -> dict[str, float]:
    """Feature values (named as :data:`FEATURE_NAMES`) for frames ``a..b`` of the analysis."""
    import librosa

    a, b = max(0, a), min(fa.n_frames, max(b, a + 1))
    seconds = max((b - a) * HOP / fa.sr, 1e-6)
    tg = window_tempogram(fa, a, b) if tempogram is None else tempogram
    tempo = float(librosa.feature.tempo(tg=tg[:, None], sr=fa.sr, hop_length=HOP)[0])
    lags = np.arange(len(tg)) * HOP / fa.sr
    in_range = (lags >= 60 / 300) & (lags <= 60 / 30)
    env = fa.onset_env[a:b]
    beats = fa.beats[(fa.beats >= a) & (fa.beats < b)]
    beat_strength = float(env[beats - a].mean() / (env.mean() + 1e-10)) if len(beats) else 1.0
    onset_count = int(((fa.onsets >= a) & (fa.onsets < b)).sum())

    rms = fa.rms[a:b]
    rms_db = 20 * np.log10(rms + 1e-5)
    weights = rms / (rms.sum() + 1e-10)
    chroma = fa.chroma[:, a:b]
    tonal = key_from_chroma(chroma @ weights)
    profile = np.roll(chroma @ weights, -tonal["tonic"])
    profile = profile / (profile.sum() + 1e-10)
    harmonic, percussive = fa.harmonic[a:b].sum(), fa.percussive[a:b].sum()
    mfcc = fa.mfcc[:, a:b]
    values: dict[str, float] = {
        "tempo_bpm": tempo,
        "beat_strength": beat_strength,
        "pulse_clarity": float(tg[in_range].max()) if in_range.any() else 0.0,
        "onset_rate": onset_count / seconds,
        "onset_strength": float(env.mean()),
        "key_strength": tonal["strength"],
        "mode_major": 1.0 if tonal["mode"] == "major" else 0.0,
        "mode_score": tonal["mode_score"],
        **{f"chroma_rel_{i}": float(profile[i]) for i in range(12)},
        "chroma_entropy": float(-(profile * np.log2(profile + 1e-10)).sum()),
        "chroma_flux": float(np.abs(np.diff(chroma, axis=1)).sum(axis=0).mean()) if b - a > 1 else 0.0,
        **{f"mfcc_mean_{i}": float(v) for i, v in enumerate(mfcc.mean(axis=1))},
        **{f"mfcc_std_{i}": float(v) for i, v in enumerate(mfcc.std(axis=1))},
        "centroid_mean": float(fa.centroid[a:b].mean()),
        "centroid_std": float(fa.centroid[a:b].std()),
        "rolloff_mean": float(fa.rolloff[a:b].mean()),
        "rolloff_std": float(fa.rolloff[a:b].std()),
        "flatness_mean": float(fa.flatness[a:b].mean()),
        "flatness_std": float(fa.flatness[a:b].std()),
        **{f"contrast_{i}": float(v) for i, v in enumerate(fa.contrast[:, a:b].mean(axis=1))},
        "zcr_mean": float(fa.zcr[a:b].mean()),
        "zcr_std": float(fa.zcr[a:b].std()),
        "rms_db_mean": float(rms_db.mean()),
        "rms_db_std": float(rms_db.std()),
        "dynamic_range_db": float(np.percentile(rms_db, 95) - np.percentile(rms_db, 10)),
        "hp_ratio_db": float(10 * np.log10((harmonic + 1e-10) / (percussive + 1e-10))),
    }
    return values


def key_from_chroma(chroma_mean: np.ndarray) -> dict:
    """Key and mode by correlating a chroma profile with the 24 Krumhansl–Kessler keys."""
    major = np.array([_corr(chroma_mean, np.roll(MAJOR_PROFILE, k)) for k in range(12)])
    minor = np.array([_corr(chroma_mean, np.roll(MINOR_PROFILE, k)) for k in range(12)])
    is_major = major.max() >= minor.max()
    tonic = int(major.argmax() if is_major else minor.argmax())
    return {
        "tonic": tonic,
        "mode": "major" if is_major else "minor",
        "key": f"{PITCH_NAMES[tonic]} {'major' if is_major else 'minor'}",
        "strength": float(max(major.max(), minor.max())),
        "mode_score": float(major.max() - minor.max()),
    }


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else 0.0


@dataclass
class TrackFeatures:
    """Features of every timeline window and of the whole track."""

    windows: list[tuple[float, float]]
    per_window: list[dict[str, float]]
    whole: dict[str, float]
    key: str
    beats: int


def track_features(fa: FrameAnalysis, window_seconds: float = 10.0) -> TrackFeatures:
    """Summarise each timeline window and the whole track (sharing the window tempograms)."""
    windows = window_bounds(fa.duration, window_seconds)
    per_window, tempograms, lengths = [], [], []
    for start, end in windows:
        a, b = fa.frame_of(start), fa.frame_of(end)
        tg = window_tempogram(fa, a, b)
        tempograms.append(tg)
        lengths.append(b - a)
        per_window.append(summarise(fa, a, b, tg))
    whole_tg = np.average(np.stack(tempograms), axis=0, weights=np.asarray(lengths, dtype=float))
    whole = summarise(fa, 0, fa.n_frames, whole_tg)
    rms = fa.rms / (fa.rms.sum() + 1e-10)
    key = key_from_chroma(fa.chroma @ rms)["key"]
    return TrackFeatures(windows, per_window, whole, key, len(fa.beats))


def as_matrix(rows: list[dict[str, float]]) -> np.ndarray:
    """Rows of named features as the model's input matrix (columns in :data:`FEATURE_NAMES` order)."""
    return np.array([[row[name] for name in FEATURE_NAMES] for row in rows], dtype=np.float64)
