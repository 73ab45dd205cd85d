"""Separation quality of the dsp backend on seeded synthetic songs, against two baselines.

One command: ``python bench/separation_quality.py`` (``--songs``, ``--seconds``, ``--set key=value``
to try DspConfig changes). Prints SDR per stem (fast-bss-eval, 512-tap distortion filter,
clamped to ±60 dB, mean of the two channels) for:

- ``mixture``: the mixture itself as every stem's estimate;
- ``hpss``: plain harmonic/percussive separation (librosa defaults): drums = percussive,
  every other stem = harmonic (all it can offer);
- ``dsp``: our separator.

Targets (issue 3): vocals and drums ≥ 3 dB above ``mixture``; mean over stems ≥ 2 dB above ``hpss``.

With ``--corpus DIR [--split heldout|train]`` it scores the real-instrument corpus of
``bench/real_corpus.py`` instead (stems whose reference is silent are left out), and reports
the median SDR per stem and over all stems, with ``rules`` (the dsp cascade without its
learned mask network, ``learned=False``) as a further baseline. Targets (issue 16, held-out split): median over
stems ≥ ``hpss`` + 3 dB and ≥ ``mixture`` + 3 dB; no stem's median below ``mixture``'s.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth_mixtures import STEMS, make_song

from moodmix.plugins.stems.dsp_separator import DspConfig, DspSeparator


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """BSS-eval SDR (dB) of one stereo estimate, averaged over channels."""
    import fast_bss_eval

    values = [float(fast_bss_eval.sdr(reference[c][None], estimate[c][None], clamp_db=60.0)[0])
              for c in range(reference.shape[0])]
    return float(np.mean(values))


def hpss_baseline(mix: np.ndarray) -> dict[str, np.ndarray]:
    import librosa

    spec = librosa.stft(mix)
    harm, perc = librosa.decompose.hpss(spec)
    h = librosa.istft(harm, length=mix.shape[-1])
    p = librosa.istft(perc, length=mix.shape[-1])
    return {"drums": p, "bass": h, "vocals": h, "other": h}


def parse_overrides(items: list[str]) -> dict[str, float]:
    fields = {f.name: f.type for f in dataclasses.fields(DspConfig)}
    out: dict[str, float] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in fields:
            raise SystemExit(f"unknown DspConfig field {key!r}; fields: {', '.join(fields)}")
        out[key] = int(value) if fields[key] in ("int", int) else float(value)
    return out


def corpus_report(root: Path, split: str, separator: DspSeparator, *, clip_seconds: float | None = None,
                  max_clips: int | None = None) -> None:
    """Median SDR per stem and over all stems of each method on one split of the corpus."""
    from real_corpus import load_clip, load_index

    methods = ("mixture", "hpss", "rules", "dsp")
    rules = DspSeparator(dataclasses.replace(separator.config, learned=False))
    scores = {m: {s: [] for s in STEMS} for m in methods}
    sep_time = audio_time = 0.0
    entries = load_index(root, split)[:max_clips]
    for e in entries:
        mix, stems = load_clip(root, e)
        if clip_seconds is not None:  # the first seconds only (quicker runs on a busy machine)
            frames = int(clip_seconds * e["sr"])
            mix, stems = mix[:, :frames], {s: a[:, :frames] for s, a in stems.items()}
            e = e | {"silent_stems": [s for s in STEMS if float(np.max(np.abs(stems[s]))) < 1e-4]}
        t0 = time.perf_counter()
        ours = separator.separate(mix, e["sr"])
        sep_time += time.perf_counter() - t0
        audio_time += mix.shape[-1] / e["sr"]
        estimates = {"mixture": {s: mix for s in STEMS}, "hpss": hpss_baseline(mix),
                     "rules": rules.separate(mix, e["sr"]), "dsp": ours}
        for s in STEMS:
            if s in e["silent_stems"]:
                continue
            for m in methods:
                scores[m][s].append(sdr(stems[s], estimates[m][s]))
        print(f"{e['id']:40s} dsp " + " ".join(f"{s}={scores['dsp'][s][-1]:5.1f}" for s in STEMS
                                                  if s not in e["silent_stems"]), flush=True)
    print(f"\nmedian SDR in dB on the {split} split ({len(entries)} clips of the corpus at {root})")
    print(f"{'method':<10}" + "".join(f"{s:>9}" for s in STEMS) + f"{'all':>9}")
    medians = {}
    for m in methods:
        per = [float(np.median(scores[m][s])) for s in STEMS]
        overall = float(np.median(np.concatenate([scores[m][s] for s in STEMS])))
        medians[m] = dict(zip(STEMS, per, strict=True)) | {"all": overall}
        print(f"{m:<10}" + "".join(f"{v:9.2f}" for v in per) + f"{overall:9.2f}")
    for base in ("mixture", "hpss", "rules"):
        diff = [medians["dsp"][s] - medians[base][s] for s in (*STEMS, "all")]
        print(f"{'dsp-' + base:<10}" + "".join(f"{v:+9.2f}" for v in diff))
    over_hpss = medians["dsp"]["all"] - medians["hpss"]["all"] >= 3
    over_mix = medians["dsp"]["all"] - medians["mixture"]["all"] >= 3
    no_worse = all(medians["dsp"][s] >= medians["mixture"][s] for s in STEMS)
    print(f"\ntargets: median +3 dB over hpss {'PASS' if over_hpss else 'FAIL'}; "
          f"+3 dB over mixture {'PASS' if over_mix else 'FAIL'}; "
          f"no stem below mixture {'PASS' if no_worse else 'FAIL'}")
    print(f"dsp separation speed: {audio_time / sep_time:.1f}x realtime (this process, all threads)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=None, help="score the real-instrument corpus in this folder")
    ap.add_argument("--split", default="heldout", choices=("train", "heldout", "all"))
    ap.add_argument("--clip-seconds", type=float, default=None, help="corpus: score the first seconds of each clip")
    ap.add_argument("--max-clips", type=int, default=None, help="corpus: score the first clips of the split")
    ap.add_argument("--songs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--set", nargs="*", default=[], help="DspConfig overrides, e.g. bass_hz=200")
    args = ap.parse_args()
    separator = DspSeparator(DspConfig(**parse_overrides(args.set)))
    if args.corpus is not None:
        corpus_report(args.corpus.expanduser(), args.split, separator, clip_seconds=args.clip_seconds,
                      max_clips=args.max_clips)
        return
    methods = ("mixture", "hpss", "dsp")
    scores = {m: {s: [] for s in STEMS} for m in methods}
    sep_time = audio_time = 0.0
    for i in range(args.songs):
        song = make_song(args.seed + i, seconds=args.seconds)
        mix = song.mix
        t0 = time.perf_counter()
        ours = separator.separate(mix, song.sr)
        sep_time += time.perf_counter() - t0
        audio_time += mix.shape[-1] / song.sr
        estimates = {"mixture": {s: mix for s in STEMS}, "hpss": hpss_baseline(mix), "dsp": ours}
        line = []
        for m in methods:
            for s in STEMS:
                scores[m][s].append(sdr(song.stems[s], estimates[m][s]))
        line = " ".join(f"{s}={scores['dsp'][s][-1]:5.1f}" for s in STEMS)
        print(f"song {i} ({song.tempo:.0f} bpm, {song.key}): dsp {line}", flush=True)

    print(f"\nSDR in dB, mean over {args.songs} songs of {args.seconds:.0f} s")
    print(f"{'method':<10}" + "".join(f"{s:>9}" for s in STEMS) + f"{'mean':>9}")
    means = {}
    for m in methods:
        per = [float(np.mean(scores[m][s])) for s in STEMS]
        means[m] = dict(zip(STEMS, per, strict=True)) | {"mean": float(np.mean(per))}
        print(f"{m:<10}" + "".join(f"{v:9.2f}" for v in per) + f"{means[m]['mean']:9.2f}")
    for base in ("mixture", "hpss"):
        diff = [means["dsp"][s] - means[base][s] for s in (*STEMS, "mean")]
        print(f"{'dsp-' + base:<10}" + "".join(f"{v:+9.2f}" for v in diff))
    vocals_ok = means["dsp"]["vocals"] - means["mixture"]["vocals"] >= 3
    drums_ok = means["dsp"]["drums"] - means["mixture"]["drums"] >= 3
    mean_ok = means["dsp"]["mean"] - means["hpss"]["mean"] >= 2
    print(f"\ntargets: vocals +3 dB over mixture {'PASS' if vocals_ok else 'FAIL'}; "
          f"drums +3 dB over mixture {'PASS' if drums_ok else 'FAIL'}; "
          f"mean +2 dB over hpss {'PASS' if mean_ok else 'FAIL'}")
    print(f"dsp separation speed: {audio_time / sep_time:.1f}x realtime (this process, all threads)")


if __name__ == "__main__":
    main()
