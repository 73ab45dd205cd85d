"""Mood quality and speed: the musicnn backend against the features-only model, in the same run.

    python bench/mood_quality.py [--soundtracks DIR ...] [--per-mood 24 --held-out-per-mood 10] [--speed-seconds 180]

1. Held-out split of the synthetic corpus (other voices, kit, effects and codec
   than training; never fitted or tuned on), from the cache that
   ``python -m moodmix.plugins.mood.training.train_musicnn`` leaves: accuracy and
   per-mood recall of both shipped models on the very same clips.
2. Real soundtracks (Debian's ``hyperrogue-music`` and ``singularity-music``:
   ``apt-get download NAME && dpkg-deb -x NAME*.deb DIR``): a table of track,
   label hint, mood, valence, arousal and top tags per model. Only tracks whose
   role in the game is stated (singularity's ``win``/``lose`` jingles) or whose
   title is unambiguous (hell, graveyard) carry a hint, as an expected valence sign.
3. Patch sampling: the musicnn result with its bounded, evenly spread patches
   against every grid patch (the sampling before the bound), on the same tracks:
   how often the track's and the windows' moods change, and by how much.
4. Speed on one pinned core and one thread: CPU seconds per track and the
   realtime factor of both backends, musicnn with its bounded patches and with every grid patch.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

#: Expected valence sign from the game's own labelling (win/lose jingles) or an unambiguous title.
HINTS = {"Chimes They Fade": ("sad (lose jingle)", -1), "March Thee to Dis": ("dark (lose jingle)", -1),
         "Apex Aleph": ("triumph (win jingle)", 1), "hr3-hell": ("dark (hell)", -1),
         "hr3-graveyard": ("dark (graveyard)", -1)}


def held_out(per_mood: int, held_out_per_mood: int, seed: int) -> None:
    from moodmix.plugins.mood.model import SHIPPED_MODEL, SHIPPED_MUSICNN_MODEL, MoodModel
    from moodmix.plugins.mood.taxonomy import MOOD_NAMES
    from moodmix.plugins.mood.training.dataset import evaluate
    from moodmix.plugins.mood.training.train_musicnn import as_features, corpus

    _, data = corpus(per_mood, held_out_per_mood, seed)
    results = {"musicnn": evaluate(MoodModel.load(SHIPPED_MUSICNN_MODEL), data),
               "features": evaluate(MoodModel.load(SHIPPED_MODEL), as_features(data))}
    print(f"\n## Held-out split: {len(data.files)} clips, {held_out_per_mood} per mood (seed {seed})")
    print(f"{'mood':<10}" + "".join(f"{name:>12}" for name in results))
    for mood in MOOD_NAMES:
        cells = []
        for r in results.values():
            i = r["labels"].index(mood)
            row = r["confusion"][i]
            cells.append(f"{row[i] / max(sum(row), 1):>12.2f}")
        print(f"{mood:<10}" + "".join(cells))
    print(f"{'accuracy':<10}" + "".join(f"{r['accuracy']:>12.3f}" for r in results.values()))


def soundtracks(folders: list[Path], limit: int) -> None:
    from moodmix.plugins.mood.analysis import analyse_audio, load_mono
    from moodmix.plugins.mood.model import SHIPPED_MODEL, SHIPPED_MUSICNN_MODEL, MoodModel

    models = {"musicnn": MoodModel.load(SHIPPED_MUSICNN_MODEL), "features": MoodModel.load(SHIPPED_MODEL)}
    files = sorted(p for folder in folders for p in folder.rglob("*.ogg") if p.stat().st_size > 300_000)[:limit]
    print(f"\n## Real soundtracks: {len(files)} tracks")
    print(f"{'track':<22}{'hint':<22}{'model':<9}{'mood':<10}{'val':>6}{'aro':>6}  top tags (musicnn)")
    agree = {name: [0, 0] for name in models}
    arousal = {name: [] for name in models}
    for path in files:
        y = load_mono(path)
        hint, sign = HINTS.get(path.stem, ("", 0))
        for name, model in models.items():
            r = analyse_audio(y, model)
            tags = ", ".join(r.get("tags", {}).get("top", [])[:6])
            print(f"{path.stem[:21]:<22}{hint[:21]:<22}{name:<9}{r['mood']:<10}{r['valence']:>+6.2f}"
                  f"{r['arousal']:>+6.2f}  {tags}")
            arousal[name].append(r["arousal"])
            if sign:
                agree[name][0] += int(np.sign(r["valence"]) == sign)
                agree[name][1] += 1
    for name, (hits, total) in agree.items():
        spread = np.ptp(arousal[name]) if arousal[name] else 0.0
        print(f"{name}: valence sign matches the hint on {hits}/{total} hinted tracks; arousal spread {spread:.2f}")


def speed(seconds: float) -> None:
    import torch

    from moodmix.plugins.mood import features as F
    from moodmix.plugins.mood.analysis import analyse_audio
    from moodmix.plugins.mood.model import SHIPPED_MODEL, SHIPPED_MUSICNN_MODEL, MoodModel
    from moodmix.plugins.mood.musicnn import features as MF

    torch.set_num_threads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    y = synthetic_track(seconds)
    models = {"features": MoodModel.load(SHIPPED_MODEL), "musicnn": MoodModel.load(SHIPPED_MUSICNN_MODEL)}
    analyse_audio(y[: F.SAMPLE_RATE * 20], models["musicnn"])  # warm-up: imports, numba, weights
    print(f"\n## Speed: {seconds:.0f} s track, one pinned core, one thread (CPU time)")
    for label, name, bounded in (("features", "features", True),
                                 (f"musicnn, <= 1 patch / {MF.SECONDS_PER_PATCH:g} s", "musicnn", True),
                                 (f"musicnn, 1 patch in {MF.PATCH_EVERY}", "musicnn", False)):
        with patch_sampling(bounded):
            cpu, wall = time.process_time(), time.perf_counter()
            r = analyse_audio(y, models[name])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        patches = r.get("tags", {}).get("patches", "-")
        print(f"{label:<28} {cpu:6.2f} s CPU ({seconds / cpu:5.0f}x realtime)   {wall:6.2f} s wall   patches {patches}")


@contextmanager
def patch_sampling(bounded: bool) -> Iterator[None]:
    """musicnn's bounded patch sampling (the default), or every grid patch (``PATCH_EVERY``) as before it."""
    from moodmix.plugins.mood.musicnn import features as MF

    saved = MF.SECONDS_PER_PATCH, MF.MAX_PATCHES
    if not bounded:
        MF.SECONDS_PER_PATCH, MF.MAX_PATCHES = 1e-9, 10**9
    try:
        yield
    finally:
        MF.SECONDS_PER_PATCH, MF.MAX_PATCHES = saved


def sampling(folders: list[Path], limit: int, seconds: float) -> None:
    """What bounding the musicnn patches changes: the result with it against every grid patch, same audio."""
    from moodmix.plugins.mood.analysis import analyse_audio, load_mono
    from moodmix.plugins.mood.model import SHIPPED_MUSICNN_MODEL, MoodModel
    from moodmix.plugins.mood.musicnn import features as MF
    from moodmix.plugins.mood.taxonomy import MOOD_NAMES

    model = MoodModel.load(SHIPPED_MUSICNN_MODEL)
    tracks = [("synthetic", synthetic_track(seconds))]
    files = sorted(p for folder in folders for p in folder.rglob("*.ogg") if p.stat().st_size > 300_000)[:limit]
    tracks += [(p.stem, load_mono(p)) for p in files]
    print(f"\n## Patch sampling: bounded (<= 1 patch / {MF.SECONDS_PER_PATCH:g} s) vs every grid patch, musicnn")
    print(f"{'track':<22}{'s':>5}{'patches':>9}  {'mood (all -> bounded)':<22}{'dmax':>6}{'dval':>6}{'daro':>6}"
          f"{'windows same':>13}")
    same_mood, same_windows, total_windows, dmax_all = 0, 0, 0, []
    for name, y in tracks:
        with patch_sampling(False):
            full = analyse_audio(y, model)
        bounded = analyse_audio(y, model)
        dmax = max(abs(full["distribution"][m] - bounded["distribution"][m]) for m in MOOD_NAMES)
        agree = sum(a["mood"] == b["mood"] for a, b in zip(full["timeline"], bounded["timeline"], strict=True))
        same_mood += full["mood"] == bounded["mood"]
        same_windows += agree
        total_windows += len(full["timeline"])
        dmax_all.append(dmax)
        print(f"{name[:21]:<22}{full['duration']:5.0f}{full['tags']['patches']:>4} ->{bounded['tags']['patches']:>3}  "
              f"{full['mood'] + ' -> ' + bounded['mood']:<22}{dmax:6.3f}"
              f"{bounded['valence'] - full['valence']:+6.2f}{bounded['arousal'] - full['arousal']:+6.2f}"
              f"{agree:>7}/{len(full['timeline'])}")
    print(f"track mood unchanged on {same_mood}/{len(tracks)} tracks; window moods unchanged on "
          f"{same_windows}/{total_windows}; largest distribution change median {np.median(dmax_all):.3f}, "
          f"max {max(dmax_all):.3f}")


def synthetic_track(seconds: float) -> np.ndarray:
    """Consecutive 12 s rendered clips of every mood (seed 7), as one track at the analysis rate."""
    from moodmix.plugins.mood import features as F
    from moodmix.plugins.mood.taxonomy import MOOD_NAMES
    from moodmix.plugins.mood.training import synth

    rng = np.random.default_rng(7)
    return np.concatenate([synth.render_clip(MOOD_NAMES[i % 8], rng, seconds=12.0)[0]
                           for i in range(int(np.ceil(seconds / 12)))])[: int(seconds * F.SAMPLE_RATE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--soundtracks", type=Path, nargs="*",
                        default=[Path("/tmp/st/x/usr/share/games/singularity/music"),
                                 Path("/tmp/st/x/usr/share/hyperrogue/music")])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--per-mood", type=int, default=24)
    parser.add_argument("--held-out-per-mood", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--speed-seconds", type=float, default=180.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["held-out", "soundtracks", "sampling", "speed"])
    args = parser.parse_args()
    if "held-out" not in args.skip:
        held_out(args.per_mood, args.held_out_per_mood, args.seed)
    if "soundtracks" not in args.skip:
        soundtracks([p for p in args.soundtracks if p.is_dir()], args.limit)
    if "sampling" not in args.skip:
        sampling([p for p in args.soundtracks if p.is_dir()], args.limit, args.speed_seconds)
    if "speed" not in args.skip:
        speed(args.speed_seconds)


if __name__ == "__main__":
    main()
