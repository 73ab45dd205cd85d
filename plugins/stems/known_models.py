"""The Demucs weights ``moodmix models`` can pull, in demucs 4.1's own hub layout.

demucs 4.1 publishes each pretrained bag as a Hugging Face repository
(``adefossez/HTDemucs``, ``adefossez/HTDemucs-ft``, …; see ``demucs.hf``): ``NAME.yaml``
lists the member signatures (plus weights and segment) and each member is
``SIG.safetensors`` with its class and arguments in the file's metadata. A pull copies
those files into ``<model folder>/NAME/``, and :mod:`model_locator` reads that folder
with demucs' own loader (``demucs.hf.load_safetensors_model`` + ``BagOfModels``).
"""

from __future__ import annotations

from typing import Any

from moodmix.engine.models import ModelSpec

LICENCE = "MIT"
LICENCE_URL = "https://github.com/facebookresearch/demucs/blob/main/LICENSE"
LAYOUT = "demucs bag: NAME.yaml (member signatures) + SIG.safetensors per member"

# name -> (hub repository, member signatures, approximate bytes, description)
_BAGS = {
    "htdemucs": ("adefossez/HTDemucs", ("955717e8",), 84_000_000,
                 "Hybrid Transformer Demucs: 4 stems, 9.0 dB SDR on MUSDB-HQ (the default)"),
    "htdemucs_ft": ("adefossez/HTDemucs-ft", ("f7e0c4bc", "d12395a8", "92cfc3b6", "04573f0d"), 336_000_000,
                    "htdemucs fine-tuned per source: a bag of 4, slightly better, 4x slower"),
    "htdemucs_6s": ("adefossez/HTDemucs-6s", ("5c90dfd2",), 55_000_000,
                    "6 sources (adds guitar and piano; moodmix folds them into other)"),
    "mdx_extra": ("adefossez/Demucs-mdx_extra", ("e51eebcc", "a1d90b5c", "5d2d6c55", "cfa93e08"), 670_000_000,
                  "Hybrid Demucs v3 bag trained with extra data (MDX 2021)"),
}

MODELS = [
    ModelSpec(name=name, task="stems", repo_id=repo, files=(f"{name}.yaml", *(f"{sig}.safetensors" for sig in sigs)),
              size=size, licence=LICENCE, licence_url=LICENCE_URL, description=description, layout=LAYOUT)
    for name, (repo, sigs, size, description) in _BAGS.items()
]


def spec_for(name: str) -> ModelSpec | None:
    return next((s for s in MODELS if s.matches(name)), None)


def check_weights(params: Any, registry: Any) -> None:
    """``backend=demucs`` without its weights is refused when the job is requested (422 naming the pull).

    Reads the model folder and download policy from the settings the registry was built with.
    """
    from moodmix.engine.errors import BadInput
    from moodmix.engine.model_policy import may_fetch
    from moodmix.engine.models import model_root
    from moodmix.plugins.stems import model_cache, model_locator

    settings = getattr(registry, "settings", None)
    if params.backend != "demucs" or settings is None:
        return
    if any(name == params.model for name, _ in model_cache.cached_keys()):
        return
    root = model_root(settings)
    try:
        if model_locator.locate(params.model, root) is not None:
            return
    except model_locator.LoadModelError:
        return  # present but unreadable: the run says why
    spec = spec_for(params.model)
    if spec is not None and may_fetch(spec, settings):
        return
    from moodmix.engine.model_policy import pull_command

    # Said to people through the API, the page and the bots: no paths (the log and doctor have them).
    fix = f"run `{pull_command(spec)}`" if spec is not None else "put its files in the server's model folder"
    raise BadInput(f"the demucs model {params.model!r} is not installed: {fix}, or use backend=auto or backend=dsp",
                   code="model_not_installed")
