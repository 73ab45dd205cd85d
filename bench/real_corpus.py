"""A development corpus of real (sampled) instruments with exact stems, tempo and key.

    python bench/real_corpus.py build [--out ~/.cache/moodmix-corpus] [--n 90] [--seconds 24] [--jobs 2] [--first 0]
    python bench/real_corpus.py list [--out DIR]

Needs (none of it is a runtime dependency of moodmix):
``apt-get install -y fluidsynth fluid-soundfont-gm``, ``pip install music21 mido`` and the MIDI
files of Debian's ``planetblupi-music-midi`` (downloaded and unpacked into the cache by this
script with ``apt-get download`` + ``dpkg-deb -x`` when missing; skipped if that fails).

About two thirds of the clips are our own arrangements in eleven genres, a fifth Bach
chorales from music21's corpus, the rest game tunes from Debian (see ``corpus_midi``); each is
rendered stem by stem with FluidSynth and mixed with random levels, balance, EQ, compression,
reverb and MP3 round trips (``corpus_mix``). Everything is seeded: the same command gives the
same corpus.

The split is by piece and fixed: a piece is held out when the CRC-32 of its id is divisible
by three, whatever ``--n`` is, so no piece has clips on both sides. Tune on ``train`` only;
report ``heldout``. ``--first K`` starts each source K pieces further on (other seeds, other
chorales), for a training corpus with other material than the default one.

Layout: ``DIR/index.json`` (one entry per clip: id, piece, source, genre, split, tempo, key,
mode, mp3, sr, seconds) and ``DIR/clips/<id>/{mix,drums,bass,vocals,other}.flac``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_midi import GENRES, STEMS

DEFAULT_DIR = Path.home() / ".cache" / "moodmix-corpus"
SPLITS = ("train", "heldout")
MIDI_PACKAGES = ("planetblupi-music-midi",)


def split_of(piece_id: str) -> str:
    """The fixed split of a piece: one in three held out, by a hash of its id."""
    return "heldout" if zlib.crc32(piece_id.encode()) % 3 == 0 else "train"


def debian_midi_files(root: Path) -> list[Path]:
    """MIDI files of the Debian packages in :data:`MIDI_PACKAGES`, unpacked under ``root/debian``."""
    unpacked = root / "debian"
    files = sorted(unpacked.rglob("*.mid"))
    if files:
        return files
    debs = root / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for package in MIDI_PACKAGES:
        try:
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"skipping {package}: {exc}", file=sys.stderr)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    return sorted(unpacked.rglob("*.mid"))


def chorale_paths(count: int) -> list[str]:
    """The first ``count`` four-part Bach chorales of music21's corpus (sorted, so stable)."""
    from music21 import corpus

    names = ((str(p), Path(str(p)).stem) for p in corpus.getComposer("bach"))
    paths = sorted(p for p, stem in names if stem.startswith("bwv") and "-" not in stem)
    return paths[:count]


def plan(n: int, root: Path, first: int = 0) -> list[dict]:
    """What to render: ~65 % arrangements, ~20 % chorales, ~15 % Debian MIDI (two clips per file)."""
    n_midi_files = debian_midi_files(root)
    n_chorales = round(0.2 * n)
    n_midi = min(round(0.15 * n), 2 * len(n_midi_files))
    n_gen = n - n_chorales - n_midi
    jobs: list[dict] = []
    genres = sorted(GENRES)
    for i in range(first, first + n_gen):
        jobs.append({"kind": "generated", "genre": genres[i % len(genres)], "seed": 1000 + i})
    # Chorales whose key cannot be read are skipped, so ask for a few extra.
    first_chorale = round(0.2 * first)
    for i, path in enumerate(chorale_paths(first_chorale + n_chorales + 8)[first_chorale:], first_chorale):
        jobs.append({"kind": "chorale", "path": path, "seed": 5000 + i,
                     "optional": i >= first_chorale + n_chorales})
    for i in range(n_midi):
        jobs.append({"kind": "midi", "path": str(n_midi_files[i // 2]), "seed": 7000 + i,
                     "offset": 2.0 + 26.0 * (i % 2)})
    return jobs


def build_one(job: dict, out: Path, sr: int, seconds: float) -> dict | None:
    """Render and mix one clip; its index entry (None when the source was unusable)."""
    import corpus_midi
    from corpus_mix import mix_piece

    if job["kind"] == "generated":
        piece = corpus_midi.arrangement(job["seed"], job["genre"], seconds + 1)
    elif job["kind"] == "chorale":
        piece = corpus_midi.chorale(job["path"], job["seed"])
    else:
        piece = corpus_midi.midi_file(Path(job["path"]), until_seconds=job.get("offset", 0.0) + seconds + 2)
    if piece is None:
        return None
    clip_id = f"{piece.piece_id}-{job['seed']}"
    stems, mix, info = mix_piece(piece, job["seed"], sr=sr, seconds=seconds, offset=job.get("offset", 0.0))
    if float(np.sqrt(np.mean(mix ** 2))) < 1e-3:
        return None
    folder = out / "clips" / clip_id
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / "mix.flac", mix.T, sr, subtype="PCM_16")
    for stem in STEMS:
        sf.write(folder / f"{stem}.flac", stems[stem].T, sr, subtype="PCM_16")
    return {"id": clip_id, "piece": piece.piece_id, "source": piece.source, "genre": piece.genre,
            "split": split_of(piece.piece_id), "tempo": piece.tempo, "key": piece.key, "mode": piece.mode,
            "mp3": info["mp3"], "sr": sr, "seconds": seconds,
            "silent_stems": [s for s in STEMS if float(np.max(np.abs(stems[s]))) < 1e-4]}


def build(out: Path, n: int, sr: int, seconds: float, jobs: int, first: int = 0) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    todo = plan(n, out, first)
    started = time.perf_counter()
    entries: list[dict] = []
    wanted = sum(not j.get("optional") for j in todo)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(build_one, job, out, sr, seconds) for job in todo]
        for job, future in zip(todo, futures, strict=True):
            entry = future.result()
            if entry is None or (job.get("optional") and len(entries) >= wanted):
                continue
            entries.append(entry)
            print(f"{len(entries):3d} {entry['split']:7s} {entry['id']}", flush=True)
    (out / "index.json").write_text(json.dumps(entries, indent=1))
    counts = {s: sum(e["split"] == s for e in entries) for s in SPLITS}
    print(f"{len(entries)} clips ({counts}) in {time.perf_counter() - started:.0f} s -> {out}")
    return entries


def load_index(root: Path = DEFAULT_DIR, split: str | None = None) -> list[dict]:
    """Index entries, optionally of one split only."""
    path = Path(root) / "index.json"
    if not path.exists():
        raise SystemExit(f"no corpus at {root}: run `python bench/real_corpus.py build --out {root}`")
    entries = json.loads(path.read_text())
    return [e for e in entries if split in (None, "all", e["split"])]


def load_clip(root: Path, entry: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(mix, stems)`` of one clip, each ``(2, frames)`` float32."""
    folder = Path(root) / "clips" / entry["id"]
    mix = sf.read(folder / "mix.flac", dtype="float32", always_2d=True)[0].T
    stems = {s: sf.read(folder / f"{s}.flac", dtype="float32", always_2d=True)[0].T for s in STEMS}
    return mix, stems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("build", "list"))
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--n", type=int, default=90)
    ap.add_argument("--seconds", type=float, default=24.0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--first", type=int, default=0, help="skip this many pieces of each source")
    args = ap.parse_args()
    if args.command == "build":
        build(args.out.expanduser(), args.n, args.sr, args.seconds, args.jobs, args.first)
    else:
        for e in load_index(args.out.expanduser()):
            print(f"{e['split']:7s} {e['genre']:8s} {e['tempo']!s:>6} {e['key']!s:>3} {e['mode']!s:5} {e['id']}")


if __name__ == "__main__":
    main()
