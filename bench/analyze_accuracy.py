"""How often do ``analyze``'s tempo and key come out right, on songs with a known answer?

    python bench/analyze_accuracy.py [--songs 48] [--seconds 20] [--first-seed 1000]

Each song is :func:`moodmix.plugins.analyze.testsignals.rich_song` — random key,
mode, tempo (80–160 BPM), progression, timbre and detuning; two in three have
drums. Keys are scored exactly and with the MIREX weights (fifth 0.5, relative
0.3, parallel 0.2) for every key profile; tempo within ±2 BPM, and within ±2 BPM
of the tempo or its half/double ("octave" errors excused).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from moodmix.plugins.analyze import testsignals
from moodmix.plugins.analyze.features import spectral_features
from moodmix.plugins.analyze.key import PITCH_CLASSES, PROFILES, estimate_key_from_chroma
from moodmix.plugins.analyze.tempo import estimate_tempo_from_onsets

SR = 22050


def mirex_key_score(found: tuple[str | None, str | None], truth: tuple[str, str]) -> float:
    """1 exact, 0.5 fifth above/below (same mode), 0.3 relative, 0.2 parallel, else 0."""
    if found[0] is None:
        return 0.0
    if found == truth:
        return 1.0
    step = (PITCH_CLASSES.index(found[0]) - PITCH_CLASSES.index(truth[0])) % 12
    if found[1] == truth[1]:
        return 0.5 if step in (5, 7) else 0.0
    if step == 0:
        return 0.2
    relative = 9 if truth[1] == "major" else 3
    return 0.3 if step == relative else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args()
    exact = dict.fromkeys(PROFILES, 0)
    weighted = dict.fromkeys(PROFILES, 0.0)
    tempo_exact = tempo_octave = 0
    started = time.perf_counter()
    for i in range(args.songs):
        seed = args.first_seed + i
        rng = np.random.default_rng(seed)
        tonic = PITCH_CLASSES[int(rng.integers(12))]
        mode = ("major", "minor")[i % 2]
        bpm = float(rng.uniform(80.0, 160.0))
        y = testsignals.rich_song(tonic, mode, bpm, args.seconds, sr=SR, seed=seed, drums=bool(i % 3))
        features = spectral_features(y, SR)
        for profile in PROFILES:
            key = estimate_key_from_chroma(features.chroma, bass_chroma=features.bass_chroma,
                                           profile=profile)
            exact[profile] += (key.key, key.mode) == (tonic, mode)
            weighted[profile] += mirex_key_score((key.key, key.mode), (tonic, mode))
        tempo = estimate_tempo_from_onsets(features.onset_envelope, SR, hop_length=features.hop_length,
                                           low_envelope=features.low_onset_envelope,
                                           high_envelope=features.high_onset_envelope).bpm
        if tempo is not None:
            tempo_exact += abs(tempo - bpm) <= 2.0
            tempo_octave += any(abs(tempo - bpm * f) <= 2.0 for f in (0.5, 1.0, 2.0))
    n = args.songs
    print(f"{n} songs of {args.seconds:g} s in {time.perf_counter() - started:.1f} s")
    print(f"tempo  ±2 BPM: {tempo_exact / n:6.1%}   allowing half/double: {tempo_octave / n:6.1%}")
    for profile in PROFILES:
        print(f"key {profile:10s} exact: {exact[profile] / n:6.1%}   MIREX score: {weighted[profile] / n:6.1%}")


if __name__ == "__main__":
    main()
