"""``run`` of the generate capability: pick a backend, make the audio, write the outputs."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import numpy as np

from moodmix.engine import audio_io
from moodmix.engine.backends import BackendChoice
from moodmix.engine.capability import RunContext, RunResult
from moodmix.engine.errors import BadInput
from moodmix.plugins.generate.backends import choose_backend
from moodmix.plugins.generate.params import GenerateParams
from moodmix.plugins.generate.spec import SpecOverrides

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 2000
MUSICGEN_DEFAULT_DURATION = 20.0


def run(ctx: RunContext) -> RunResult:
    params: GenerateParams = ctx.params
    prompt = " ".join(ctx.texts.get("prompt", "").split())
    if not prompt:
        raise BadInput("generate needs a text prompt, e.g. 'sad lofi piano 80 bpm in A minor'",
                       code="missing_input")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"the prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}",
                       code="prompt_too_long")
    if params.overlap >= params.window:
        raise BadInput(f"overlap ({params.overlap:g} s) must be shorter than window ({params.window:g} s)",
                       code="bad_params")
    seed = params.seed if params.seed is not None else secrets.randbelow(2**31)
    melody_path = ctx.inputs.get("melody")
    from moodmix.engine.models import model_root
    from moodmix.plugins.generate.model_store import fetch_if_missing

    model_dir = str(model_root(ctx.settings))
    if params.backend != "procedural":  # pulls a known checkpoint only where model_download allows it
        fetch_if_missing(params.melody_model if melody_path is not None else params.model, model_dir, ctx.settings)
    choice = choose_backend(params.backend, params.model, params.melody_model, model_dir, melody_path is not None)
    log.info("generate: %s (%s)", choice.name, choice.reason)  # paths stay in the log and the result's data
    ctx.progress(0.02, f"composing with {choice.said}")
    if choice.name == "musicgen":
        return _run_musicgen(ctx, params, prompt, seed, choice)
    return _run_procedural(ctx, params, prompt, seed, choice)


def _overrides(params: GenerateParams) -> SpecOverrides:
    return SpecOverrides(duration=params.duration, tempo=params.tempo, key=params.key, genre=params.genre,
                         mood=params.mood)


def _run_procedural(ctx: RunContext, params: GenerateParams, prompt: str, seed: int,
                    choice: BackendChoice) -> RunResult:
    from moodmix.plugins.generate.procedural import generate_procedural

    notes = []
    if "melody" in ctx.inputs:
        notes.append("the procedural backend does not follow a reference melody; it was ignored")
    work = ctx.sub(0.03, 0.95)
    result = generate_procedural(prompt, _overrides(params), seed, progress=work.progress)
    spec = result.spec.to_dict()
    spec["notes"] = list(spec.get("notes", [])) + notes
    spec["sections"] = result.sections
    levels = result.master.after.as_dict()  # what the file holds (before encoding)
    spec["loudness_lufs"], spec["true_peak_dbtp"] = levels["integrated_lufs"], levels["true_peak_dbtp"]
    data = {"backend": "procedural", "backend_reason": choice.reason, "seed": seed,
            "duration": result.spec.duration, "sample_rate": result.sample_rate,
            "channels": int(result.audio.shape[0]), "spec": spec}
    return _write(ctx, params, result.audio, result.sample_rate, data, spec)


def _run_musicgen(ctx: RunContext, params: GenerateParams, prompt: str, seed: int,
                  choice: BackendChoice) -> RunResult:
    from moodmix.plugins.generate.musicgen import Sampling, generate_audio, load_musicgen
    from moodmix.plugins.generate.prompt import parse_prompt

    assert choice.model is not None and choice.model.path is not None
    facts = parse_prompt(prompt)
    duration = params.duration or facts.duration or MUSICGEN_DEFAULT_DURATION
    if duration > 300.0:
        raise BadInput(f"duration {duration:g} s is over the 300 s limit", code="bad_params")
    device = ctx.device if ctx.device else "cpu"
    ctx.progress(0.03, f"loading {choice.model.name} on {device}")
    bundle = load_musicgen(choice.model.path, device, melody=choice.model.is_melody)
    melody = melody_sr = None
    if bundle.melody and "melody" in ctx.inputs:
        melody, melody_sr = ctx.load_audio("melody", sample_rate=bundle.sampling_rate)
    text = _musicgen_text(prompt, params)
    sampling = Sampling(params.guidance_scale, params.temperature, params.top_k, params.top_p)
    work = ctx.sub(0.05, 0.95)
    audio = generate_audio(bundle, text=text, duration=duration, seed=seed, sampling=sampling,
                           window=params.window, overlap=params.overlap, melody=melody, melody_sr=melody_sr,
                           progress=work.progress)
    from moodmix.engine.loudness import limit
    from moodmix.plugins.generate.mixer import TRUE_PEAK_DB

    # MusicGen's codec can overshoot full scale: hold the same true-peak ceiling as the composer's master
    audio = limit(np.nan_to_num(audio), bundle.sampling_rate, TRUE_PEAK_DB)
    from moodmix.plugins.generate.model_store import weights_record

    spec = {"prompt": prompt, "text_sent_to_model": text, "model": choice.model.name,
            "weights": weights_record(choice.model),
            "model_path": str(choice.model.path), "device": device, "seed": seed, "duration": duration,
            "window": params.window, "overlap": params.overlap, "melody": bundle.melody and melody is not None,
            "guidance_scale": params.guidance_scale, "temperature": params.temperature, "top_k": params.top_k,
            "top_p": params.top_p, "sample_rate": bundle.sampling_rate}
    data = {"backend": "musicgen", "backend_reason": choice.reason, "seed": seed, "duration": duration,
            "sample_rate": bundle.sampling_rate, "channels": int(audio.shape[0]), "weights": spec["weights"],
            "spec": spec}
    return _write(ctx, params, audio, bundle.sampling_rate, data, spec)


def _musicgen_text(prompt: str, params: GenerateParams) -> str:
    """The prompt plus explicit overrides spelled out (MusicGen reads tempo and key from text)."""
    extra = []
    if params.genre:
        extra.append(params.genre)
    if params.mood:
        extra.append(params.mood)
    if params.tempo:
        extra.append(f"{params.tempo:g} bpm")
    if params.key:
        extra.append(f"in {params.key}")
    return ", ".join([prompt, *extra])


def _write(ctx: RunContext, params: GenerateParams, audio: np.ndarray, sr: int, data: dict[str, Any],
           spec: dict[str, Any]) -> RunResult:
    ctx.progress(0.96, "encoding")
    audio_path = audio_io.save_audio(ctx.output_path("audio", f".{params.format}"), audio, sr,
                                     format=params.format)
    spec_path = ctx.output_path("spec", ".json")
    spec_path.write_text(json.dumps({**spec, "backend": data["backend"],
                                     "backend_reason": data["backend_reason"]}, indent=2))
    data["format"] = params.format
    return RunResult(data=data, files={"audio": audio_path, "spec": spec_path}, backend=data["backend"])
