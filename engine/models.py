"""Known model weights, where they are installed, and whether the installed files are intact.

Plugins declare the weights they can use with the ``register_models`` hook (a list of
:class:`ModelSpec`); ``moodmix models`` lists, pulls, verifies and removes them. Each
pulled model lives in its own folder, ``<model root>/<name>/``, laid out exactly as its
home repository on the hub, plus a manifest (``.moodmix-model.json``) recording the
revision, the licence and every file's size and hash, as the hub published them.
The engine names no plugin and no model here; downloading is in :mod:`model_hub`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = ".moodmix-model.json"


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model, as a plugin declares it.

    ``files`` are names or glob patterns matched against the repository's file list (each
    must match something), ``optional_files`` likewise but may match nothing;
    ``size`` is approximate (bytes, shown before a download; the hub's own sizes are
    recorded when it is pulled). ``non_commercial`` licences must be accepted explicitly.
    """

    name: str
    task: str
    repo_id: str
    files: tuple[str, ...]
    #: Names or patterns fetched when the repository has them (tokenizer files, a shard index…).
    optional_files: tuple[str, ...] = ()
    revision: str = "main"
    size: int = 0
    licence: str = ""
    licence_url: str = ""
    non_commercial: bool = False
    description: str = ""
    #: How the folder is read, in words (e.g. "demucs bag: NAME.yaml + SIG.safetensors").
    layout: str = ""
    #: Other names that mean this model (e.g. the hub id ``facebook/musicgen-small``).
    aliases: tuple[str, ...] = ()
    #: Filled in by :func:`known_models`: the plugin that declared it.
    plugin: str = field(default="", compare=False)

    def matches(self, name: str) -> bool:
        return name == self.name or name in self.aliases or name == self.repo_id

    def record(self, folder: Path | None = None) -> dict[str, Any]:
        """What a result says about the weights it used: model, where from, revision, licence."""
        manifest = read_manifest(folder) if folder is not None else None
        return {"name": self.name, "repo_id": self.repo_id,
                "revision": (manifest or {}).get("commit") or self.revision,
                "licence": self.licence, "licence_url": self.licence_url,
                "non_commercial": self.non_commercial}


def model_root(settings: Any) -> Path:
    """Where pulled models live: ``model_dir`` if set, else ``<data_dir>/models``."""
    configured = str(getattr(settings, "model_dir", "") or "")
    if configured:
        return Path(configured).expanduser()
    return Path(getattr(settings, "data_dir", "./data")).expanduser().resolve() / "models"


def install_dir(spec: ModelSpec, root: Path) -> Path:
    return Path(root) / spec.name


def known_models(pm: Any = None) -> dict[str, ModelSpec]:
    """Every model the loaded plugins declare, by name (the first plugin to name one wins)."""
    if pm is None:
        from moodmix.engine.plugin_manager import get_plugin_manager

        pm = get_plugin_manager()
    out: dict[str, ModelSpec] = {}
    for impl in pm.hook.register_models.get_hookimpls():
        for spec in impl.function() or []:
            if spec.name not in out:
                out[spec.name] = ModelSpec(**{**asdict(spec), "plugin": impl.plugin_name})
    return dict(sorted(out.items()))


def find_spec(name: str, specs: dict[str, ModelSpec] | list[ModelSpec]) -> ModelSpec | None:
    """The spec called ``name`` (or with ``name`` as an alias or hub id), if any."""
    values = specs.values() if isinstance(specs, dict) else specs
    return next((s for s in values if s.matches(name)), None)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def write_manifest(folder: Path, spec: ModelSpec, commit: str, files: dict[str, dict[str, Any]]) -> None:
    doc = {"name": spec.name, "repo_id": spec.repo_id, "revision": spec.revision, "commit": commit,
           "licence": spec.licence, "licence_url": spec.licence_url, "non_commercial": spec.non_commercial,
           "files": files}
    (Path(folder) / MANIFEST).write_text(json.dumps(doc, indent=2))


def installed_folder(spec: ModelSpec, root: Path) -> Path | None:
    """The model's folder if a completed pull left it there (manifest and every file present)."""
    folder = install_dir(spec, root)
    manifest = read_manifest(folder)
    if manifest is None or not all((folder / f).is_file() for f in manifest["files"]):
        return None
    return folder


def installed_size(folder: Path) -> int:
    manifest = read_manifest(folder) or {"files": {}}
    return sum(int(meta.get("size") or 0) for meta in manifest["files"].values())


def file_hash(path: Path, kind: str) -> str:
    """``sha256`` of the bytes, or ``git_sha1``: the git blob id the hub reports for small files."""
    digest = hashlib.sha256() if kind == "sha256" else hashlib.sha1()
    if kind == "git_sha1":
        digest.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, meta: dict[str, Any]) -> str | None:
    """Why ``path`` does not match its manifest entry, or ``None`` when it does."""
    if not path.is_file():
        return f"{path.name}: missing"
    size = meta.get("size")
    if size is not None and path.stat().st_size != int(size):
        return f"{path.name}: {path.stat().st_size} bytes, expected {size}"
    for kind in ("sha256", "git_sha1"):
        if meta.get(kind) and file_hash(path, kind) != meta[kind]:
            return f"{path.name}: {kind} does not match the hub's ({meta[kind][:12]}…)"
    return None


def verify(spec: ModelSpec, root: Path) -> list[str]:
    """Problems with the installed copy of ``spec`` (empty when every file matches the manifest)."""
    folder = install_dir(spec, root)
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"{spec.name} is not installed in {folder}"]
    return [p for f, meta in manifest["files"].items() if (p := check_file(folder / f, meta))]


def remove(spec: ModelSpec, root: Path) -> bool:
    """Delete the model's folder (and any unfinished download of it); ``True`` if there was one."""
    from moodmix.engine.model_hub import staging_dir

    found = False
    for folder in (install_dir(spec, root), staging_dir(spec, root)):
        if folder.exists():
            shutil.rmtree(folder)
            found = True
    return found
