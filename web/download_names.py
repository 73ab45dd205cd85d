"""Names a downloaded result is saved under: the track's name and the operation (``Song – vocals.wav``).

Stored names stay as they are (``vocals.wav``); only what the browser is told changes.
"""

from __future__ import annotations

from pathlib import PurePath

from moodmix.engine.errors import NotFound
from moodmix.engine.filenames import safe_filename
from moodmix.engine.service import Service

DASH = "\u2013"
MAX_TITLE = 60


def download_name(track: str | None, operation: str, filename: str) -> str:
    """``"<track> – <operation><suffix>"``; the stored ``filename`` alone when the job has no track name."""
    suffix = PurePath(filename).suffix
    if not track:
        return filename
    # Separators would make safe_filename keep only the last "path" part of the name.
    track = track.replace("/", "_").replace("\\", "_")
    return safe_filename(f"{track} {DASH} {operation}{suffix}", suffix.lstrip(".") or "bin")


def _title_of_text(text: str) -> str:
    words = " ".join(text.split())
    if len(words) <= MAX_TITLE:
        return words
    return words[:MAX_TITLE].rsplit(" ", 1)[0] + "…"


async def track_name(service: Service, user_id: str, job: dict, depth: int = 0) -> str | None:
    """What the job worked on, in words: its source file's name (without suffix), the track of the job
    whose output it took (followed a few steps), else the start of its text input (a prompt)."""
    inputs = job.get("inputs") or {}
    for ref in (inputs.get("audio") or {}).values():
        if not isinstance(ref, dict):
            continue
        try:
            if ref.get("file_id"):
                return PurePath((await service.get_file(user_id, ref["file_id"]))["filename"]).stem
            if ref.get("job_id") and depth < 3:
                parent = await service.get_job(user_id, ref["job_id"])
                name = await track_name(service, user_id, parent, depth + 1)
                if name:
                    return f"{name} {DASH} {ref.get('output')}" if ref.get("output") else name
        except NotFound:
            continue  # the source was deleted since
    for text in (inputs.get("texts") or {}).values():
        if isinstance(text, str) and text.strip():
            return _title_of_text(text)
    return None
