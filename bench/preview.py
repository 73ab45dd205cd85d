"""Remix previews: how much faster than the full render, and how close to the same window of it.

    python bench/preview.py [--genre house] [--seconds 15] [--minutes 3]

A generated 3-minute song with a known structure (intro, verses, three choruses, outro) is
remixed in one process: a warm-up on a short clip (imports, models), then, each on a cold
analysis cache, the preview and the full render; then the full render again right after a
preview (the analysis reused). Printed: wall times, the ratio preview / full (target ≤ 0.25),
where the window landed, and the SNR of the preview against the same window of the full
render (target ≥ 20 dB) — raw, and gain-matched (the preview's loudness is an estimate).
The SNR is given twice: end to end (each run separates its own stems, piece by piece) and
for the remix chain alone (both runs given the same, whole-track stems). Runs on the CPU; the
numbers move with whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.config import load_settings
from moodmix.plugins.remix.genre_lookup import use_registry
from moodmix.plugins.remix.testsongs import structured_song
from moodmix.testing import make_registry, run_local, write_wav

SR = 44_100
STEMS = ("drums", "bass", "vocals", "other")


def snr(preview: Path, full: Path, start_s: float) -> tuple[float, float, float]:
    """(raw SNR, gain-matched SNR, gain in dB) of the preview against the full render's window."""
    p, _ = audio_io.load_audio(preview)
    f, _ = audio_io.load_audio(full)
    lo = round(start_s * SR)
    ref = f[:, lo:lo + p.shape[1]].astype(np.float64)
    p = p[:, :ref.shape[1]].astype(np.float64)
    gain = float((ref * p).sum() / max(1e-12, (p * p).sum()))
    raw = 10 * np.log10((ref ** 2).sum() / max(1e-12, ((ref - p) ** 2).sum()))
    matched = 10 * np.log10((ref ** 2).sum() / max(1e-12, ((ref - gain * p) ** 2).sum()))
    return float(raw), float(matched), 20 * np.log10(max(gain, 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genre", default="house")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    bars = max(2, round(args.minutes * 60 / 12))  # six long sections of 2-s bars (two are half length)
    audio, sections = structured_song(sr=SR, section_bars=bars)
    with tempfile.TemporaryDirectory(prefix="moodmix-preview-bench-") as tmp:
        root = Path(tmp)
        src = write_wav(root / "song.wav", audio, SR)
        warm = write_wav(root / "warm.wav", audio[:, : 20 * SR], SR)

        def remix(name: str, data_dir: str, inputs: dict | None = None, **params) -> tuple[float, object]:
            settings = load_settings(environ={"MOODMIX_DATA_DIR": str(root / data_dir)})
            registry = make_registry(settings=settings)
            with use_registry(registry):
                started = time.perf_counter()
                result = run_local("remix", root / name, inputs=inputs or {"audio": src},
                                   params={"genre": args.genre, **params}, registry=registry, settings=settings)
                return time.perf_counter() - started, result

        remix("warm", "warm", {"audio": warm}, preview_seconds=5)
        t_full, full = remix("full", "cold-full")
        t_prev, prev = remix("preview", "cold-preview", preview_seconds=args.seconds)
        t_after, after = remix("after", "cold-preview")
        window = prev.data["preview"]
        raw, matched, gain = snr(prev.files["remix"], full.files["remix"], window["output_start_s"])
        stems = run_local("stems", root / "stems", inputs={"audio": src}, params={"mode": "4stems"})
        given = {"audio": src, **{n: stems.files[n] for n in STEMS}}
        _, chain_full = remix("chain-full", "chain", given)
        _, chain_prev = remix("chain-prev", "chain", given, preview_seconds=args.seconds)
        c_raw, c_matched, c_gain = snr(chain_prev.files["remix"], chain_full.files["remix"],
                                       chain_prev.data["preview"]["output_start_s"])
    where = next((name for name, lo, hi in sections if lo <= window["start_s"] + 0.5 < hi), "?")
    print(f"track: {sections[-1][2]:.0f} s generated song, genre {args.genre}, "
          f"stems backend {full.data['stems_backend']}")
    print(f"full render  : {t_full:6.1f} s (cold analysis)")
    print(f"preview      : {t_prev:6.1f} s (cold analysis) -> ratio {t_prev / t_full:.2f} (target <= 0.25)")
    print(f"full after it: {t_after:6.1f} s (analysis reused: {after.data['analysis_reused']})")
    print(f"window       : {window['start_s']:.1f}-{window['end_s']:.1f} s of the source, in the {where}")
    print(f"SNR end to end : {raw:5.1f} dB raw, {matched:5.1f} dB gain-matched (gain {gain:+.2f} dB)")
    print(f"SNR remix chain: {c_raw:5.1f} dB raw, {c_matched:5.1f} dB gain-matched (gain {c_gain:+.2f} dB)")


if __name__ == "__main__":
    main()
