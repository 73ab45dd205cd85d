"""Which exported graphs a demucs model's files became, kept beside the graphs.

Exporting needs the model in torch; running the export does not. Once a process has exported a model
(and, for OpenVINO, calibrated it), it writes a manifest here: the model's sources, rates, segment and
STFT sizes and its graphs' names (:class:`~.exported_net.ExportedModel`), under a key made from the
model's files. A later worker finds the manifest from the files alone and runs the graphs without
importing torch or loading the weights: about 190 MB of torch and the model's own size less per
worker, and no load time.

The key is each file's resolved path, size and modification time: a file replaced (a new download, a
fine-tuned model under the same name) gives a new key, and the model is exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from moodmix.plugins.stems.demucs_runtime import EXPORT_VERSION
from moodmix.plugins.stems.exported_net import ExportedModel

log = logging.getLogger(__name__)
MANIFEST_VERSION = "1"


def files_key(files: list[Path]) -> str:
    """A key for these model files as they are now on disk (``OSError`` when one is gone)."""
    digest = hashlib.sha256(f"{MANIFEST_VERSION}|{EXPORT_VERSION}".encode())
    for path in sorted(Path(f).resolve() for f in files):
        stat = path.stat()
        digest.update(f"|{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def manifest_path(cache_dir: Path, files: list[Path]) -> Path:
    return Path(cache_dir) / f"model-{files_key(files)}.json"


def write(cache_dir: Path, name: str, files: list[Path], spec: ExportedModel) -> Path:
    """Record that ``files`` (the model ``name``) run as ``spec``'s graphs in ``cache_dir`` (atomically)."""
    path = manifest_path(cache_dir, files)
    doc = {"model": name, "files": [Path(f).name for f in files], "spec": spec.to_json()}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
    return path


def read(cache_dir: Path, files: list[Path]) -> ExportedModel | None:
    """The spec recorded for ``files``, or ``None`` when there is none, it is unreadable, or a graph it
    names is gone."""
    try:
        path = manifest_path(cache_dir, files)
        doc: Any = json.loads(path.read_text())
        spec = ExportedModel.from_json(doc["spec"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("demucs: ignoring an unreadable export manifest (%s)", exc)
        return None
    if not all((Path(cache_dir) / net.graph).exists() for net in spec.nets):
        return None
    return spec
