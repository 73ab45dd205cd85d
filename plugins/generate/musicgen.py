"""MusicGen through ``transformers``: loaded once per process, generated in windows.

MusicGen was trained on 30 s clips, so longer pieces are made window by window:
each new window is prompted with the last ``overlap`` seconds of audio (encoded
to codec tokens, which is how the model continues a clip) and joined with a
short crossfade. Progress comes from a logits processor that runs once per
generated token, which is also where cancellation is checked.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_WINDOW_S = 30.0
CROSSFADE_S = 0.25

ProgressFn = Callable[[float, str], None]


@dataclass
class MusicgenBundle:
    """A loaded model with what generation needs to know about it."""

    model: Any
    processor: Any | None  # None when the folder has no tokenizer files (tests pass input_ids)
    device: str
    source: str
    melody: bool

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    @property
    def num_codebooks(self) -> int:
        return int(self.model.decoder.num_codebooks)

    @property
    def channels(self) -> int:
        return int(self.model.decoder.config.audio_channels)


_CACHE: dict[tuple[str, str], MusicgenBundle] = {}
_LOCK = threading.Lock()


def load_musicgen(source: str | Path, device: str = "cpu", melody: bool | None = None) -> MusicgenBundle:
    """The model in folder ``source`` on ``device``, loaded on first use and then reused.

    ``local_files_only`` everywhere: a server never downloads weights behind the
    operator's back (``model_store.find_model`` says where they must be put).
    """
    key = (str(source), device)
    with _LOCK:
        bundle = _CACHE.get(key)
        if bundle is not None:
            return bundle
        import transformers

        if melody is None:
            config = transformers.AutoConfig.from_pretrained(source, local_files_only=True)
            melody = config.model_type == "musicgen_melody"
        cls = (transformers.MusicgenMelodyForConditionalGeneration if melody
               else transformers.MusicgenForConditionalGeneration)
        model = cls.from_pretrained(source, local_files_only=True).to(device).eval()
        try:
            processor = transformers.AutoProcessor.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError, TypeError):
            processor = None
        bundle = MusicgenBundle(model, processor, device, str(source), melody)
        _CACHE[key] = bundle
        return bundle


def cached_models() -> list[tuple[str, str]]:
    """(source, device) of every model this process holds."""
    return list(_CACHE)


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


@dataclass(frozen=True)
class Sampling:
    """The sampling knobs of one generation."""

    guidance_scale: float = 3.0
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"do_sample": True, "temperature": self.temperature, "top_k": self.top_k}
        if self.top_p > 0:
            out["top_p"] = self.top_p
        if self.guidance_scale > 1:
            out["guidance_scale"] = self.guidance_scale
        return out


def _progress_processor(total: int, report: ProgressFn):
    """A logits processor that counts generated tokens; it changes no scores."""
    from transformers import LogitsProcessor

    class TokenProgress(LogitsProcessor):
        def __init__(self) -> None:
            self.done = 0
            self.every = max(1, total // 100)

        def __call__(self, input_ids, scores):
            self.done += 1
            if self.done % self.every == 0 or self.done == total:
                report(min(1.0, self.done / total), f"{self.done}/{total} tokens")
            return scores

    return TokenProgress()


def window_plan(duration: float, window: float, overlap: float) -> list[tuple[float, float]]:
    """(context seconds, new seconds) for each window covering ``duration``."""
    window = min(window, MAX_WINDOW_S)
    plan = [(0.0, min(duration, window))]
    covered = plan[0][1]
    while covered < duration - 1e-6:
        new = round(min(window - overlap, duration - covered), 6)
        plan.append((overlap, new))
        covered += new
    return plan


def tokens_for(seconds: float, bundle: MusicgenBundle) -> int:
    """Decoder steps that yield ``seconds`` of audio (the delay pattern costs ``codebooks - 1`` steps)."""
    return math.ceil(seconds * bundle.frame_rate) + bundle.num_codebooks - 1


def generate_audio(bundle: MusicgenBundle, *, text: str | None = None, input_ids: Any = None,
                   attention_mask: Any = None, duration: float, seed: int, sampling: Sampling = Sampling(),
                   window: float = MAX_WINDOW_S, overlap: float = 10.0, melody: np.ndarray | None = None,
                   melody_sr: int | None = None, progress: ProgressFn | None = None) -> np.ndarray:
    """``duration`` seconds of audio shaped ``(channels, frames)`` at ``bundle.sampling_rate``.

    Give either ``text`` (needs the model's processor) or ``input_ids``. Identical
    arguments give identical audio: the seed is applied in a forked RNG so other
    users of torch's global generator are not disturbed.
    """
    import torch

    report = progress or (lambda f, m: None)
    conditioning = _conditioning(bundle, text, input_ids, attention_mask, melody, melody_sr)
    plan = window_plan(duration, window, overlap)
    totals = [tokens_for(new, bundle) for _, new in plan]
    sr = bundle.sampling_rate
    hop = round(sr / bundle.frame_rate)  # samples per codec frame
    done_tokens = 0
    audio: np.ndarray | None = None
    devices = [torch.device(bundle.device).index or 0] if bundle.device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode():
        torch.manual_seed(seed)
        for index, ((context_s, new_s), steps) in enumerate(zip(plan, totals, strict=True)):
            start_tokens = done_tokens

            def step_report(fraction: float, message: str, _start: int = start_tokens, _steps: int = steps,
                            _i: int = index) -> None:
                report((_start + fraction * _steps) / sum(totals),
                       f"window {_i + 1}/{len(plan)}: {message}")

            kwargs = dict(conditioning)
            # a whole number of codec frames, so the re-decoded context lines up sample for sample
            context = min(round(context_s * bundle.frame_rate) * hop, 0 if audio is None else audio.shape[1])
            if audio is not None and context > 0:
                kwargs["decoder_input_ids"] = _encode_codes(bundle, audio[:, -context:])
            out = bundle.model.generate(**kwargs, **sampling.kwargs(), max_new_tokens=steps,
                                        logits_processor=[_progress_processor(steps, step_report)])
            chunk = out[0].float().cpu().numpy()
            if audio is None:
                audio = chunk[:, : round(new_s * sr)]
            else:
                audio = _join(audio, chunk, context, round(new_s * sr), sr)
            done_tokens += steps
    assert audio is not None
    return np.ascontiguousarray(audio[:, : round(duration * sr)], dtype=np.float32)


def _conditioning(bundle: MusicgenBundle, text: str | None, input_ids: Any, attention_mask: Any,
                  melody: np.ndarray | None, melody_sr: int | None) -> dict[str, Any]:
    """Model inputs for the text (and reference melody), on the model's device."""
    if input_ids is not None:
        out = {"input_ids": input_ids}
        if attention_mask is not None:
            out["attention_mask"] = attention_mask
    else:
        if bundle.processor is None:
            raise RuntimeError(f"the model folder {bundle.source} has no tokenizer/processor files")
        extra: dict[str, Any] = {}
        if bundle.melody and melody is not None:
            extra = {"audio": melody.mean(axis=0), "sampling_rate": melody_sr}
        out = dict(bundle.processor(text=[text or ""], padding=True, return_tensors="pt", **extra))
        out.pop("padding_mask", None)
    return {k: (v.to(bundle.device) if hasattr(v, "to") else v) for k, v in out.items()}


def _encode_codes(bundle: MusicgenBundle, tail: np.ndarray) -> Any:
    """Codec tokens of ``tail`` as decoder input ids ``(codebooks, frames)``: the audio prompt."""
    import torch

    model = bundle.model
    values = torch.from_numpy(np.ascontiguousarray(tail, dtype=np.float32))[None].to(bundle.device)
    if bundle.channels == 1:
        codes = model.audio_encoder.encode(values[:, :1]).audio_codes
    else:
        left = model.audio_encoder.encode(values[:, :1]).audio_codes
        right = model.audio_encoder.encode(values[:, 1:2]).audio_codes
        codes = left.new_empty((left.shape[0], left.shape[1], 2 * left.shape[2], left.shape[3]))
        codes[:, :, ::2], codes[:, :, 1::2] = left, right
    return codes[0].reshape(codes.shape[1] * codes.shape[2], codes.shape[3])


def _join(audio: np.ndarray, chunk: np.ndarray, context: int, new: int, sr: int) -> np.ndarray:
    """Append the new part of ``chunk`` (which starts with a re-decoding of the context) with a crossfade."""
    fade = min(int(CROSSFADE_S * sr), context, audio.shape[1])
    fresh = chunk[:, context: context + new]
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        blended = audio[:, -fade:] * (1.0 - ramp) + chunk[:, context - fade: context] * ramp
        audio = np.concatenate([audio[:, :-fade], blended], axis=1)
    return np.concatenate([audio, fresh], axis=1)
