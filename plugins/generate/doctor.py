"""``moodmix doctor`` lines of the generate plugin: MusicGen (and where its weights are) or the procedural composer."""

from __future__ import annotations

import importlib.util
from typing import Any

from moodmix.engine.capability import DoctorCheck
from moodmix.plugins.generate.model_store import find_model
from moodmix.plugins.generate.params import DEFAULT_MODEL


def checks(settings: Any) -> list[DoctorCheck]:
    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None:
        return [DoctorCheck("generate", False, "procedural composer (transformers or torch is not installed)",
                            hint="install transformers and torch to use MusicGen")]
    from moodmix.engine.models import model_root

    location = find_model(DEFAULT_MODEL, str(model_root(settings)))  # where `moodmix models pull` puts weights
    if location.found:
        return [DoctorCheck("generate", True, f"musicgen {DEFAULT_MODEL} from {location.path}")]
    return [DoctorCheck("generate", False,
                        f"procedural composer: no local weights for {DEFAULT_MODEL} "
                        f"(looked in {', '.join(location.looked_in)})", hint=_how_to_get(DEFAULT_MODEL))]


def _how_to_get(name: str) -> str:
    from moodmix.engine.model_policy import pull_command
    from moodmix.plugins.generate.known_models import spec_for

    spec = spec_for(name)
    where = f"put {name} in the model folder (MOODMIX_MODEL_DIR) or the Hugging Face cache"
    return f"run `{pull_command(spec)}`, or {where}" if spec is not None else where
