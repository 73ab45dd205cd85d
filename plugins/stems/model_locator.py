"""Find Demucs weights on local disk only, and load them without touching the network.

``demucs.pretrained.get_model`` downloads whatever it cannot find (from the
Hugging Face hub, then from Meta's AWS bucket). Workers must never do that, and
``auto`` must know *before* loading whether weights exist, so we look in the
three places weights can already be:

1. the model folder (``engine.models.model_root``): first ``NAME/``, where
   ``moodmix models pull NAME`` puts demucs' hub layout (``NAME.yaml`` + ``SIG.safetensors``,
   checked against the pull's manifest before loading), then the folder itself: demucs' own
   local-repo layout (``NAME.yaml`` bag listing signatures + ``SIG[-CHECKSUM].th``), a single
   ``SIG.th``, or the Hugging Face layout;
2. the Hugging Face cache (``adefossez/HTDemucs…`` repositories, as demucs 4.1 stores them);
3. torch hub's checkpoint folder (where demucs' legacy downloader puts ``SIG-CHECKSUM.th``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Names demucs builds in code, with no weights to find.
BUILTIN_MODELS = ("demucs_unittest",)


class LoadModelError(Exception):
    """Weights were found but could not be loaded (corrupt file, missing optional package)."""


@dataclass(frozen=True)
class WeightsLocation:
    """Where a model's weights are: ``kind`` is model_dir | hf_cache | torch_cache | builtin."""

    name: str
    kind: str
    files: tuple[Path, ...] = ()
    bag: dict[str, Any] = field(default_factory=dict)  # the bag yaml (models, weights, segment)

    def describe(self) -> str:
        if self.kind == "builtin":
            return f"{self.name} (built into demucs)"
        where = self.files[0].parent if self.files else "?"
        return f"{self.name} from {self.kind} ({where})"


def _read_bag(path: Path) -> dict[str, Any]:
    import yaml

    with open(path) as fh:
        bag = yaml.safe_load(fh) or {}
    if not isinstance(bag, dict) or not isinstance(bag.get("models"), list) or not bag["models"]:
        raise LoadModelError(f"{path} is not a demucs bag-of-models file")
    return bag


def _find_th(folder: Path, sig: str) -> Path | None:
    exact = folder / f"{sig}.th"
    if exact.is_file():
        return exact
    hits = sorted(folder.glob(f"{sig}-*.th"))
    return hits[0] if hits else None


def _in_model_dir(name: str, folder: Path) -> WeightsLocation | None:
    if not folder.is_dir():
        return None
    single = _find_th(folder, name)
    if single is not None:
        return WeightsLocation(name, "model_dir", (single,))
    yaml_path = folder / f"{name}.yaml"
    if not yaml_path.is_file():
        return None
    bag = _read_bag(yaml_path)
    files: list[Path] = []
    for sig in bag["models"]:
        th = _find_th(folder, str(sig))
        st = folder / f"{sig}.safetensors"
        if th is not None:
            files.append(th)
        elif st.is_file():
            files.append(st)
        else:
            return None
    return WeightsLocation(name, "model_dir", tuple(files), bag)


#: demucs 4.1's hub namespace and repository naming (``demucs.hf``), kept here because importing
#: ``demucs.hf`` imports torch, and finding a model's files must not (:mod:`.export_manifest`).
HF_NAMESPACE = "adefossez"


def hf_repo_id(name: str) -> str:
    """The hub repository of the demucs model ``name`` (``htdemucs_ft`` -> ``adefossez/HTDemucs-ft``)."""
    namespace, short = name.split("/", 1) if "/" in name else (HF_NAMESPACE, name)
    if short == "htdemucs":
        repo = "HTDemucs"
    elif short.startswith("htdemucs_"):
        repo = "HTDemucs-" + short[len("htdemucs_"):]
    else:
        repo = "Demucs-" + short
    return f"{namespace}/{repo}"


def _torch_hub_dir() -> Path:
    """``torch.hub.get_dir()`` without importing torch: ``$TORCH_HOME/hub``, by default under the XDG cache."""
    import os

    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch")
    return Path(os.path.expanduser(home)) / "hub"


def _in_hf_cache(name: str) -> WeightsLocation | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    short = name.split("/", 1)[1] if "/" in name else name
    repo_id = hf_repo_id(name)
    yaml_path = try_to_load_from_cache(repo_id, f"{short}.yaml")
    if not isinstance(yaml_path, str):
        return None
    bag = _read_bag(Path(yaml_path))
    files: list[Path] = []
    for sig in bag["models"]:
        hit = try_to_load_from_cache(repo_id, f"{sig}.safetensors")
        if not isinstance(hit, str):
            return None
        files.append(Path(hit))
    return WeightsLocation(name, "hf_cache", tuple(files), bag)


def _in_torch_cache(name: str) -> WeightsLocation | None:
    from importlib.util import find_spec

    found = find_spec("demucs")  # its ``remote`` folder of bag files; importing demucs.pretrained imports torch
    if found is None or not found.submodule_search_locations:
        return None
    checkpoints = _torch_hub_dir() / "checkpoints"
    yaml_path = Path(next(iter(found.submodule_search_locations))) / "remote" / f"{name}.yaml"
    if not checkpoints.is_dir() or not yaml_path.is_file():
        return None
    bag = _read_bag(yaml_path)
    files = [_find_th(checkpoints, str(sig)) for sig in bag["models"]]
    if any(f is None for f in files):
        return None
    return WeightsLocation(name, "torch_cache", tuple(f for f in files if f is not None), bag)


def locate(name: str, model_dir: str | Path | None) -> WeightsLocation | None:
    """Where ``name``'s weights are on this machine, or ``None`` (never downloads)."""
    if name in BUILTIN_MODELS:
        return WeightsLocation(name, "builtin")
    if model_dir:
        root = Path(model_dir).expanduser()
        for folder in (root / name, root):
            found = _in_model_dir(name, folder)
            if found is not None:
                return found
    return _in_hf_cache(name) or _in_torch_cache(name)


def searched_places(model_dir: str | Path | None) -> str:
    """Human-readable list of where :func:`locate` looked (for fall-back reasons)."""
    places = [f"model folder {model_dir}" if model_dir else "no model folder configured (MOODMIX_MODEL_DIR)",
              "the Hugging Face cache", f"torch hub cache {_torch_hub_dir() / 'checkpoints'}"]
    return "; ".join(places)


def load(location: WeightsLocation) -> Any:
    """Build the model from local files only. Raises :class:`LoadModelError`."""
    from demucs import pretrained
    from demucs.apply import BagOfModels
    from demucs.hf import load_safetensors_model
    from demucs.states import load_model

    _check_manifest(location)
    try:
        if location.kind == "builtin":
            model = pretrained.get_model(location.name)
        elif location.kind == "model_dir":
            # demucs' own local repo (checks the checksum in SIG-CHECKSUM.th names); no network with a repo.
            if all(f.suffix == ".th" for f in location.files):
                model = pretrained.get_model(location.name, repo=location.files[0].parent)
            else:
                model = _bag_from_files(location, load_model, load_safetensors_model, BagOfModels)
        else:
            model = _bag_from_files(location, load_model, load_safetensors_model, BagOfModels)
    except LoadModelError:
        raise
    except SystemExit as exc:  # demucs.utils.fatal() exits the process on some errors
        raise LoadModelError(f"demucs refused to load {location.describe()}: {exc}") from exc
    except Exception as exc:
        raise LoadModelError(f"cannot load {location.describe()}: {exc}") from exc
    model.eval()
    return model


def _check_manifest(location: WeightsLocation) -> None:
    """A pulled model's files must still match the hashes the hub published (a corrupt file is refused)."""
    from moodmix.engine.models import check_file, read_manifest

    if location.kind != "model_dir" or not location.files:
        return
    folder = location.files[0].parent
    manifest = read_manifest(folder)
    if manifest is None:
        return
    problems = [p for f, meta in manifest["files"].items() if (p := check_file(folder / f, meta))]
    if problems:
        raise LoadModelError(f"{location.name} in {folder} is damaged ({'; '.join(problems)}): "
                             f"run `moodmix models pull {location.name}` to repair it")


def _bag_from_files(location: WeightsLocation, load_th, load_st, bag_cls) -> Any:
    models = [load_st(f) if f.suffix == ".safetensors" else load_th(f) for f in location.files]
    if not location.bag:
        return models[0]
    return bag_cls(models, location.bag.get("weights"), location.bag.get("segment"))
