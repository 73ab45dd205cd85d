"""What the remix learns about a track once (beats, key, bar grid, structure), kept by content hash.

A preview and the full render that follows it (or a remix in another genre) need the same
analysis; it is the slow, genre-independent part. It is stored as small JSON files in a folder
the remix plugin owns under the engine's data folder (``<data_dir>/plugins/remix/tracks``),
keyed by the input's SHA-256, so any worker of the same installation finds it. Without
engine settings (a bare ``run_capability``) nothing is cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from moodmix.engine.capability import RunContext

#: Bump when what is stored changes meaning; older entries are then ignored.
VERSION = 1


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class TrackCache:
    """``get``/``put`` of one JSON document per (track hash, section)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @classmethod
    def for_run(cls, ctx: RunContext) -> TrackCache:
        data_path = getattr(ctx.settings, "data_path", None)
        return cls(Path(data_path) / "plugins" / "remix" / "tracks" if data_path else None)

    def _path(self, sha: str, section: str) -> Path | None:
        return None if self.folder is None else self.folder / sha[:2] / f"{sha}.{section}.json"

    def get(self, sha: str, section: str) -> dict[str, Any] | None:
        path = self._path(sha, section)
        if path is None or not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # a torn or foreign file is a miss, not an error
        return doc.get("value") if isinstance(doc, dict) and doc.get("version") == VERSION else None

    def put(self, sha: str, section: str, value: dict[str, Any]) -> None:
        path = self._path(sha, section)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": VERSION, "value": value}))
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except OSError:
            pass  # a read-only data folder only costs speed
