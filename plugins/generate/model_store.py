"""Find MusicGen weights on this machine; fetch a known one only when the download policy allows.

Looked up, in order: the name as a folder path, ``<model_dir>/<name>``,
``<model_dir>/<last part of name>`` (where ``moodmix models pull musicgen-small`` puts
``facebook/musicgen-small``), ``<model_dir>/<org>--<name>``, then the Hugging Face cache
(offline lookup only). ``auto`` uses this to decide whether the musicgen backend can run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt")


@dataclass(frozen=True)
class ModelLocation:
    """Where a model was found (``path`` is ``None`` when it was not), and where we looked."""

    name: str
    path: Path | None
    looked_in: tuple[str, ...] = field(default_factory=tuple)

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def is_melody(self) -> bool:
        """True for musicgen-melody checkpoints (they take a reference melody)."""
        if self.path is None:
            return "melody" in self.name.lower()
        try:
            config = json.loads((self.path / "config.json").read_text())
        except (OSError, ValueError):
            return "melody" in self.name.lower()
        return config.get("model_type") == "musicgen_melody"


def has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        any(folder.glob(pattern)) for pattern in WEIGHT_PATTERNS)


def find_model(name: str, model_dir: str | Path | None) -> ModelLocation:
    """Locate ``name`` (a hub id such as ``facebook/musicgen-small`` or a folder) locally."""
    looked: list[str] = []
    candidates: list[Path] = []
    as_path = Path(name).expanduser()
    if as_path.is_absolute() or name.startswith("."):
        candidates.append(as_path)
    if model_dir:
        root = Path(model_dir).expanduser()
        candidates += [root / name, root / name.split("/")[-1], root / name.replace("/", "--")]
    for folder in candidates:
        looked.append(str(folder))
        if folder.is_dir() and has_weights(folder):
            return ModelLocation(name, folder, tuple(looked))
    cached = _hf_cache_folder(name)
    looked.append("Hugging Face cache")
    if cached is not None and has_weights(cached):
        return ModelLocation(name, cached, tuple(looked))
    return ModelLocation(name, None, tuple(looked))


def _hf_cache_folder(repo_id: str) -> Path | None:
    """The cached snapshot folder of ``repo_id``, looked up offline (never downloads)."""
    if "/" not in repo_id or repo_id.count("/") > 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id=repo_id, filename="config.json")
    except Exception:  # invalid repo id, unreadable cache: simply not available
        return None
    return Path(hit).parent if isinstance(hit, str) else None


def fetch_if_missing(name: str, model_dir: str | Path | None, settings: object) -> None:
    """Pull the known checkpoint ``name`` when it is not here and ``model_download`` allows it now."""
    from moodmix.engine.model_policy import fetch_if_allowed
    from moodmix.plugins.generate.known_models import spec_for

    spec = spec_for(name)
    if spec is not None and not find_model(name, model_dir).found:
        fetch_if_allowed(spec, settings)


def weights_record(location: ModelLocation) -> dict:
    """What a result says about the weights: the checkpoint, its folder, revision and licence."""
    from moodmix.plugins.generate.known_models import spec_for

    spec = spec_for(location.name)
    record = spec.record(location.path) if spec is not None else {"name": location.name,
                                                                   "licence": "unknown (not a known model)"}
    record["path"] = str(location.path)
    return record


def check_manifest(folder: Path) -> None:
    """A pulled checkpoint's files must still match the hub's hashes; raises ``OSError`` naming the bad file."""
    from moodmix.engine.models import check_file, read_manifest

    manifest = read_manifest(folder)
    if manifest is None:
        return
    problems = [p for f, meta in manifest["files"].items() if (p := check_file(folder / f, meta))]
    if problems:
        name = manifest.get("name", folder.name)
        raise OSError(f"the MusicGen weights in {folder} are damaged ({'; '.join(problems)}): "
                      f"run `moodmix models pull {name} --accept-licence` to repair them")
