"""Which backend runs a request, and why (the reason is returned to the user)."""

from __future__ import annotations

from moodmix.engine.backends import BackendChoice
from moodmix.engine.errors import CapabilityFailed
from moodmix.plugins.generate.model_store import ModelLocation, find_model


def choose_backend(requested: str, model: str, melody_model: str, model_dir: str | None,
                   has_melody: bool) -> BackendChoice[ModelLocation]:
    """``auto`` picks MusicGen only when its weights are already on disk; nothing is downloaded."""
    if requested == "procedural":
        return BackendChoice("procedural", "requested")
    wanted = melody_model if has_melody else model
    location = find_model(wanted, model_dir)
    if has_melody and not location.found:  # a plain model still follows the prompt
        plain = find_model(model, model_dir)
        if plain.found:
            return BackendChoice("musicgen", f"{melody_model} not found; {model} found at {plain.path} "
                                             "(the melody input is ignored)", model=plain)
    if location.found:
        why = "requested" if requested == "musicgen" else "weights found locally"
        return BackendChoice("musicgen", f"{why}: {wanted} at {location.path}", model=location)
    looked = "; ".join(location.looked_in)
    if requested == "musicgen":
        from moodmix.plugins.generate.known_models import spec_for

        spec = spec_for(wanted)
        fix = (f"run `moodmix models pull {spec.name} --accept-licence`" if spec is not None
               else "put the model folder under MOODMIX_MODEL_DIR")
        raise CapabilityFailed(
            f"MusicGen weights for {wanted!r} are not on this server (looked in: {looked}): {fix}, "
            "or use backend=procedural.", code="model_unavailable")
    return BackendChoice("procedural", f"no local MusicGen weights for {wanted!r} (looked in: {looked}); "
                                       "used the offline procedural composer")
