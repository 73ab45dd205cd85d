"""Which Rubber Band setting the remix uses: quality against a ground truth, and CPU time.

    python bench/remix_stretch_quality.py

Test music is rendered twice, at the source and at the target tempo (or key), so the
stretched/shifted source can be compared with what it should have become: mean
log-spectral distance (LSD, lower is better) and mean absolute mel-spectrogram
difference in dB. CPU seconds are per 30 s of stereo audio at 44.1 kHz on one thread.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and friends are imported

import time

import librosa
import numpy as np
import pedalboard

from moodmix.plugins.analyze import testsignals as ts

SR = 44_100
SETTINGS = {
    "R3 long window": {"high_quality": True},
    "R3 short window (used)": {"high_quality": True, "use_long_fft_window": False},
    "R2 (high_quality=False)": {"high_quality": False},
}


def distances(out: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    n = min(out.size, truth.size)
    a = np.abs(librosa.stft(out[:n], n_fft=2048)) ** 2
    b = np.abs(librosa.stft(truth[:n], n_fft=2048)) ** 2
    lsd = float(np.mean(np.sqrt(np.mean((np.log10(a + 1e-8) - np.log10(b + 1e-8)) ** 2, axis=0))))
    ma = librosa.feature.melspectrogram(S=a, sr=SR)
    mb = librosa.feature.melspectrogram(S=b, sr=SR)
    return lsd, float(np.mean(np.abs(librosa.power_to_db(ma + 1e-10) - librosa.power_to_db(mb + 1e-10))))


def main() -> None:
    cases = {
        "chords 112→124 BPM": (ts.chord_progression("A", "minor", chord_seconds=240 / 112, repeats=2, sr=SR),
                               ts.chord_progression("A", "minor", chord_seconds=240 / 124, repeats=2, sr=SR),
                               124 / 112, 0.0),
        "full mix 112→124 BPM": (ts.song("A", "minor", 112, 12, sr=SR), ts.song("A", "minor", 124, 12, sr=SR),
                                 124 / 112, 0.0),
        "chords 96→80 BPM": (ts.chord_progression("E", "major", chord_seconds=2.5, repeats=2, sr=SR),
                             ts.chord_progression("E", "major", chord_seconds=3.0, repeats=2, sr=SR),
                             80 / 96, 0.0),
        "chords A→G# (-1 st)": (ts.chord_progression("A", "minor", sr=SR),
                                ts.chord_progression("G#", "minor", sr=SR), 1.0, -1.0),
    }
    for case, (src, truth, ratio, pitch) in cases.items():
        for name, kwargs in SETTINGS.items():
            out = pedalboard.time_stretch(src[None, :].astype(np.float32), SR, ratio, pitch, **kwargs)[0]
            lsd, mel = distances(out, truth)
            print(f"{case:22s} {name:24s} LSD {lsd:5.3f}  mel |Δ| {mel:5.2f} dB")
    noise = np.random.default_rng(0).standard_normal((2, SR * 30)).astype(np.float32) * 0.1
    for name, kwargs in SETTINGS.items():
        cpu = time.process_time()
        pedalboard.time_stretch(noise, SR, 1.12, -1.0, **kwargs)
        print(f"cpu per 30 s stereo: {name:24s} {time.process_time() - cpu:5.2f} s")


if __name__ == "__main__":
    main()
