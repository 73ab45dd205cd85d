"""How a run's output files are described: one record per file, for the worker and ``moodmix run`` alike."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from moodmix.engine.audio_io import CONTENT_TYPES
from moodmix.engine.capability import Capability
from moodmix.engine.storage.base import sha256_file

EXTRA_CONTENT_TYPES = {".json": "application/json", ".png": "image/png", ".zip": "application/zip",
                       ".mid": "audio/midi", ".txt": "text/plain"}


def content_type_for(path: Path) -> str:
    suffix = path.suffix.lower()
    return CONTENT_TYPES.get(suffix.lstrip("."), EXTRA_CONTENT_TYPES.get(suffix, "application/octet-stream"))


@dataclass(frozen=True)
class OutputRecord:
    """One output file as the API and ``result.json`` list it."""

    name: str
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_outputs(cap: Capability, files: dict[str, Path]) -> list[tuple[OutputRecord, Path]]:
    """Describe each output file (hashing it: blocking, run it in a thread from async code).

    The file name is the output's name plus the suffix the plugin chose (``vocals.wav``).
    """
    kinds = {o.name: o.kind for o in cap.outputs}
    records = []
    for name, path in files.items():
        path = Path(path)
        records.append((OutputRecord(name=name, kind=kinds.get(name, "other"), filename=f"{name}{path.suffix}",
                                     content_type=content_type_for(path), size_bytes=path.stat().st_size,
                                     sha256=sha256_file(path)), path))
    return records


def jsonable(data: Any) -> Any:
    """Round-trip through JSON so numpy scalars and Paths never reach the database or result.json."""
    import msgspec

    def enc(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, Path):
            return obj.name
        raise TypeError(f"cannot serialise {type(obj).__name__}")

    return json.loads(msgspec.json.encode(data, enc_hook=enc))
