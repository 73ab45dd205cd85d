"""MusicGen through ``transformers``: loaded once per process, generated in windows.

MusicGen was trained on 30 s clips, so longer pieces are made window by window:
each new window is prompted with the last ``overlap`` seconds of audio (encoded
to codec tokens, which is how the model continues a clip) and joined with a
short crossfade. Progress comes from a counter that ``generate`` calls once per
decoding step, which is also where cancellation is checked.
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
    tokenizer: Any | None  # None when the folder has no tokenizer files (callers pass input_ids)
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

        from moodmix.plugins.generate.model_store import check_manifest

        check_manifest(Path(source))  # a pulled checkpoint whose files no longer match is refused
        if melody is None:
            config = transformers.AutoConfig.from_pretrained(source, local_files_only=True)
            melody = config.model_type == "musicgen_melody"
        cls = (transformers.MusicgenMelodyForConditionalGeneration if melody
               else transformers.MusicgenForConditionalGeneration)
        model = cls.from_pretrained(source, local_files_only=True).to(device).eval()
        try:  # only the tokenizer: audio prompts and melody chroma are prepared here, without torchaudio
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError, TypeError):
            tokenizer = None
        bundle = MusicgenBundle(model, tokenizer, device, str(source), melody)
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


def _progress_counter(total: int, report: ProgressFn):
    """A stopping criterion that never stops generation: it counts decoding steps and reports them.

    ``generate`` calls it once per step, so this is also where a cancelled job raises.
    Not a logits processor (``LogitsProcessorList`` inspects every processor's signature
    on every step) and not a streamer (MusicGen's ``generate`` only streams the prompt).
    """
    import torch
    from transformers import StoppingCriteria

    class TokenProgress(StoppingCriteria):
        def __init__(self) -> None:
            self.done = 0
            self.every = max(1, total // 100)
            self.never: torch.Tensor | None = None

        def __call__(self, input_ids, scores, **kwargs):
            self.done += 1
            if self.done % self.every == 0 or self.done == total:
                report(min(1.0, self.done / total), f"{self.done}/{total} tokens")
            if self.never is None or self.never.shape[0] != input_ids.shape[0]:
                self.never = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
            return self.never

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

    Give either ``text`` (needs the model's tokenizer) or ``input_ids``. A ``melody``
    (``(channels, frames)`` at ``melody_sr``) conditions a melody model, window by
    window. Identical arguments give identical audio: the seed is applied in a
    forked RNG so other users of torch's global generator are not disturbed.
    """
    import torch

    report = progress or (lambda f, m: None)
    conditioning = _text_inputs(bundle, text, input_ids, attention_mask)
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
            if bundle.melody and melody is not None and melody_sr:
                begin = (0 if audio is None else audio.shape[1]) - context  # this window's span, in samples
                end = begin + context + new_s * sr
                segment = melody[:, round(begin * melody_sr / sr): round(end * melody_sr / sr)]
                if segment.shape[-1] > 0:
                    kwargs["input_features"] = melody_features(segment, melody_sr).to(bundle.device)
            out = bundle.model.generate(**kwargs, **sampling.kwargs(), max_new_tokens=steps,
                                        stopping_criteria=[_progress_counter(steps, step_report)])
            chunk = out[0].float().cpu().numpy()
            if audio is None:
                audio = chunk[:, : round(new_s * sr)]
            else:
                audio = _join(audio, chunk, context, round(new_s * sr), sr)
            done_tokens += steps
    assert audio is not None
    return np.ascontiguousarray(audio[:, : round(duration * sr)], dtype=np.float32)


def _text_inputs(bundle: MusicgenBundle, text: str | None, input_ids: Any, attention_mask: Any) -> dict[str, Any]:
    """Token ids (and mask) for the text prompt, on the model's device."""
    if input_ids is not None:
        out = {"input_ids": input_ids}
        if attention_mask is not None:
            out["attention_mask"] = attention_mask
    else:
        if bundle.tokenizer is None:
            raise RuntimeError(f"the model folder {bundle.source} has no tokenizer files")
        encoded = bundle.tokenizer([text or ""], padding=True, return_tensors="pt")
        out = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
    return {k: v.to(bundle.device) for k, v in out.items()}


def melody_features(melody: np.ndarray, sr: int, n_fft: int = 16384, hop: int = 4096) -> Any:
    """The melody model's conditioning: the dominant chroma bin per frame, one-hot ``(1, frames, 12)``.

    Same recipe as transformers' ``MusicgenMelodyFeatureExtractor`` (power spectrogram,
    chroma filter bank, argmax), done with librosa so torchaudio is not needed.
    """
    import librosa
    import torch

    mono = np.asarray(melody, dtype=np.float32).mean(axis=0) if melody.ndim == 2 else melody
    n_fft = min(n_fft, 1 << max(8, int(np.log2(max(len(mono), 256)))))
    power = np.abs(librosa.stft(mono, n_fft=n_fft, hop_length=hop, window="hann", center=True)) ** 2
    chroma = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0) @ power
    one_hot = np.zeros((chroma.shape[1], 12), dtype=np.float32)
    one_hot[np.arange(chroma.shape[1]), chroma.argmax(axis=0)] = 1.0
    return torch.from_numpy(one_hot)[None]


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
