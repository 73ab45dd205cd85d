"""Which backend runs a request, and why (the reason is returned to the user)."""

from __future__ import annotations

import logging

from moodmix.engine.backends import BackendChoice
from moodmix.engine.errors import CapabilityFailed
from moodmix.plugins.generate.model_store import ModelLocation, find_model

log = logging.getLogger(__name__)


def choose_backend(requested: str, model: str, melody_model: str, model_dir: str | None,
                   has_melody: bool) -> BackendChoice[ModelLocation]:
    """``auto`` picks MusicGen only when its weights are already on disk; nothing is downloaded."""
    if requested == "procedural":
        return BackendChoice("procedural", "requested", note="the offline composer")
    wanted = melody_model if has_melody else model
    location = find_model(wanted, model_dir)
    if has_melody and not location.found:  # a plain model still follows the prompt
        plain = find_model(model, model_dir)
        if plain.found:
            return BackendChoice("musicgen", f"{melody_model} not found; {model} found at {plain.path} "
                                             "(the melody input is ignored)", model=plain,
                                 note="MusicGen without the melody (its melody model is not installed)")
    if location.found:
        why = "requested" if requested == "musicgen" else "weights found locally"
        return BackendChoice("musicgen", f"{why}: {wanted} at {location.path}", model=location, note="MusicGen")
    looked = "; ".join(location.looked_in)
    if requested == "musicgen":
        from moodmix.plugins.generate.known_models import spec_for

        spec = spec_for(wanted)
        fix = (f"run `moodmix models pull {spec.name} --accept-licence`" if spec is not None
               else "put the model folder under MOODMIX_MODEL_DIR")
        log.warning("generate: no MusicGen weights for %r (looked in: %s)", wanted, looked)
        raise CapabilityFailed(
            f"MusicGen weights for {wanted!r} are not on this server: {fix}, or use backend=procedural.",
            code="model_unavailable")
    return BackendChoice("procedural", f"no local MusicGen weights for {wanted!r} (looked in: {looked}); "
                                       "used the offline procedural composer",
                         note="the offline composer — MusicGen is not installed on this server")
