"""User-given file names, kept readable in any script and made safe for storage and headers.

Names are only ever shown and sent back (``Content-Disposition`` with RFC 5987 encoding); bytes
are stored under content hashes. So a name keeps its letters, digits, emoji and punctuation in any
language; what goes is what can hurt: path separators, control and formatting characters (bidi
overrides that flip an extension on screen), characters Windows forbids, and leading dots.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

MAX_NAME_CHARS = 200
#: Unicode categories dropped: controls, format (bidi overrides, zero-width), surrogates,
#: private use and unassigned code points.
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
_FORBIDDEN = set('/\\:*?"<>|')


def safe_filename(name: str | None, default_ext: str) -> str:
    """A readable, storable file name; ``upload.<default_ext>`` when nothing usable is left.

    The extension survives when a long name is cut.
    """
    raw = unicodedata.normalize("NFC", (name or "").replace("\\", "/"))
    base = PurePath(raw).name if "/" in raw else raw
    cleaned = "".join("_" if ch in _FORBIDDEN else ch for ch in base
                      if unicodedata.category(ch) not in _DROP_CATEGORIES)
    cleaned = " ".join(cleaned.split()).strip(" .")
    if not cleaned or set(cleaned) <= {"_", "."}:
        return f"upload.{default_ext}"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = cleaned, ""
    if len(cleaned) > MAX_NAME_CHARS:
        keep = MAX_NAME_CHARS - (len(ext) + 1 if ext else 0)
        cleaned = stem[:keep].rstrip(" .") + (f".{ext}" if ext else "")
    return cleaned
