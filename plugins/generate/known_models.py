"""The MusicGen checkpoints ``moodmix models`` can pull (transformers layout, from ``facebook/``).

Each is a Hugging Face repository that ``transformers`` loads with ``from_pretrained``:
``config.json`` and ``generation_config.json``, the weights as ``model*.safetensors`` (plus
the index when sharded), and the T5 tokenizer files. A pull copies only those into
``<model folder>/musicgen-*/``, which :func:`model_store.find_model` finds for the hub id.
The weights are CC-BY-NC 4.0: a user must accept that licence before the first download.
"""

from __future__ import annotations

from typing import Any

from moodmix.engine.models import ModelSpec

LICENCE = "CC-BY-NC-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by-nc/4.0/"
LAYOUT = "transformers: config.json, generation_config.json, model*.safetensors, tokenizer and processor files"
FILES = ("config.json", "*.safetensors")
OPTIONAL = ("generation_config.json", "model.safetensors.index.json", "preprocessor_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "spiece.model")

_CHECKPOINTS = {
    "musicgen-small": (2_400_000_000, "MusicGen 300M: text to music, 32 kHz mono"),
    "musicgen-medium": (8_000_000_000, "MusicGen 1.5B: better, ~4x slower than small"),
    "musicgen-melody": (6_500_000_000, "MusicGen 1.5B melody: follows a reference melody's chroma"),
}

MODELS = [
    ModelSpec(name=name, task="generate", repo_id=f"facebook/{name}", files=FILES, optional_files=OPTIONAL,
              size=size, licence=LICENCE,
              licence_url=LICENCE_URL, non_commercial=True, description=description, layout=LAYOUT,
              aliases=(f"facebook/{name}",))
    for name, (size, description) in _CHECKPOINTS.items()
]


def spec_for(name: str) -> ModelSpec | None:
    """The known checkpoint ``name`` means (a hub id, a short name, or a folder named like one)."""
    return next((s for s in MODELS if s.matches(name) or s.matches(str(name).rstrip("/").split("/")[-1])), None)


def check_weights(params: Any, registry: Any) -> None:
    """``backend=musicgen`` without weights is refused at request time (422 naming the pull command)."""
    from moodmix.engine.errors import BadInput
    from moodmix.engine.model_policy import may_fetch, pull_command
    from moodmix.engine.models import model_root
    from moodmix.plugins.generate.model_store import find_model

    settings = getattr(registry, "settings", None)
    if getattr(params, "backend", None) != "musicgen" or settings is None:
        return
    root = model_root(settings)
    if find_model(params.model, root).found:
        return
    spec = spec_for(params.model)
    if spec is not None and may_fetch(spec, settings):
        return
    fix = f"run `{pull_command(spec)}`" if spec is not None else "put its folder in the server's model folder"
    raise BadInput(f"MusicGen weights for {params.model!r} are not installed: {fix}, "
                   "or use backend=auto or backend=procedural", code="model_not_installed")
