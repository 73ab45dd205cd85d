"""Demucs' segment loop, streamed: the same sums as ``demucs.apply.apply_model``, emitted as they finish.

``apply_model`` adds every segment's weighted output into one ``(sources, channels, frames)`` tensor
for the whole track (about 1.7 GB for 20 minutes) and divides by the summed weights at the end. The
sums here are the same, term for term and in the same order, so the output matches it to the bit on
the same machine; but each *lane* (one model of a bag, one random shift) keeps only the stretch that a
later segment can still reach, and a frame leaves as soon as every lane has finished it.

What is reproduced (demucs 4.1): segments of ``segment`` seconds every ``(1 - overlap)`` of one, the
triangular transition weight, each segment padded around with real neighbouring audio to the model's
valid length and centre-trimmed back; ``shifts`` passes over the track delayed by a random
``0..0.5 s`` (drawn from :mod:`random` in ``apply_model``'s order) and averaged; a bag's models
weighted per source. The model is only called as ``model(batch)`` on a ``(1, channels, frames)``
tensor returning ``(1, sources, channels, frames)``, so a faster runtime with the same attributes
(``sources``, ``samplerate``, ``audio_channels``, ``segment``) drops in; one that says ``takes_arrays``
is called on numpy arrays instead, and the loop itself is numpy: with the network on ONNX Runtime or
OpenVINO a separation never imports torch.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: ``read(start, frames)``: the normalised mix over ``start..start+frames`` as ``(channels, frames)``
#: float32, zeros outside the track (``start`` may be negative).
Reader = Callable[[int, int], np.ndarray]
OnSegment = Callable[[], None]


def submodels(model: Any) -> list[tuple[Any, list[float] | None]]:
    """``(model, per-source weights)`` for each model of a bag; the model itself, unweighted, otherwise."""
    if hasattr(model, "models") and hasattr(model, "weights"):
        return list(zip(model.models, model.weights, strict=True))
    return [(model, None)]


def _is_htdemucs(model: Any) -> bool:
    from demucs.htdemucs import HTDemucs

    return isinstance(model, HTDemucs)


def call_model(model: Any, x: np.ndarray) -> np.ndarray:
    """``model`` on the ``(1, channels, frames)`` batch ``x``: directly when it takes arrays, else as a torch
    tensor (under ``inference_mode``), its output back as a float32 array."""
    if getattr(model, "takes_arrays", False):
        return model(x)
    import torch

    with torch.inference_mode():
        return model(torch.from_numpy(x)).cpu().numpy()


@dataclass(frozen=True)
class Plan:
    """One model's segment grid at the model's rate."""

    seg_len: int
    stride: int
    fixed_input: int | None  # every segment goes in padded to this length (HTDemucs with a set segment)


def plan_for(model: Any, segment: float | None, overlap: float) -> Plan:
    sr = model.samplerate
    seg_len = int(sr * (segment if segment is not None else model.segment))
    stride = int((1 - overlap) * seg_len)
    # apply_model pads HTDemucs segments to the asked segment; a runtime without valid_length is taken
    # to be one (it says nothing else about its input)
    htdemucs_like = not hasattr(model, "valid_length") or _is_htdemucs(model)
    fixed = int(segment * sr) if segment is not None and htdemucs_like else None
    return Plan(seg_len, stride, fixed)


def valid_length(model: Any, plan: Plan, length: int) -> int:
    if plan.fixed_input is not None:
        return plan.fixed_input
    if hasattr(model, "valid_length"):
        return int(model.valid_length(length))
    return int(model.segment * model.samplerate) if getattr(model, "segment", None) else length


def count_segments(model: Any, length: int, segment: float | None, overlap: float, shifts: int) -> int:
    """How many times the model will be called for a track of ``length`` frames (upper bound with shifts)."""
    total = 0
    for sub, _ in submodels(model):
        plan = plan_for(sub, segment, overlap)
        extra = int(0.5 * sub.samplerate) if shifts else 0
        total += max(1, shifts) * len(range(0, length + extra, max(1, plan.stride)))
    return max(1, total)


def _lane(model: Any, read: Reader, length: int, plan: Plan, delay: int,
          on_segment: OnSegment | None) -> Iterator[np.ndarray]:
    """One pass of ``apply_model``'s split loop over the mix delayed by ``delay`` frames (0: no shift).

    Yields consecutive finished ``(1, sources, channels, n)`` arrays of the pass's output, already cut
    back to the track's frames (``apply_model``'s ``shifted_out[..., max_shift - offset:]``).
    """
    span = length + delay  # the shifted input: ``delay`` frames of (padding or) lead-in, then the track
    ramp = np.concatenate([np.arange(1, plan.seg_len // 2 + 1), np.arange(plan.seg_len - plan.seg_len // 2, 0, -1)])
    # apply_model's int64 ramp over its maximum is float32 division (transition_power 1, its default)
    weight = ramp.astype(np.float32) / np.float32(ramp.max())
    offsets = range(0, span, plan.stride)
    acc = None  # running sums from ``base`` on
    wsum = None
    base = 0
    emitted = 0  # frames of the pass's output (shifted coordinates) already yielded or dropped
    for i, offset in enumerate(offsets):
        n = min(span - offset, plan.seg_len)
        padded = valid_length(model, plan, n)
        start = offset - (padded - n) // 2
        out = call_model(model, read(start - delay, padded)[None])
        trim = out.shape[-1] - n
        if trim:
            out = out[..., trim // 2:out.shape[-1] - (trim - trim // 2)]
        if on_segment is not None:
            on_segment()
        if acc is None:
            acc = np.zeros((*out.shape[:-1], plan.seg_len + plan.stride), dtype=out.dtype)
            wsum = np.zeros(plan.seg_len + plan.stride, dtype=weight.dtype)
        at = offset - base
        acc[..., at:at + n] += weight[:n] * out
        wsum[at:at + n] += weight[:n]
        done = offsets[i + 1] if i + 1 < len(offsets) else span  # no later segment reaches before this
        finished = acc[..., emitted - base:done - base] / wsum[emitted - base:done - base]
        keep_from = max(emitted, delay)  # the shifted pass's lead-in is cut off
        if done > keep_from:
            yield finished[..., keep_from - emitted:]
        emitted = done
        # slide: keep what later segments still add to
        acc = np.concatenate([acc[..., done - base:], np.zeros_like(acc[..., :done - base])], axis=-1)
        wsum = np.concatenate([wsum[done - base:], np.zeros_like(wsum[:done - base])])
        base = done


def _zip_lanes(lanes: list[Iterator[Any]], combine: Callable[[list[Any]], Any]) -> Iterator[Any]:
    """Blocks of ``combine([block of each lane])`` over the frames that every lane has finished."""
    pending: list[list[Any]] = [[] for _ in lanes]
    have = [0] * len(lanes)
    live = set(range(len(lanes)))
    while live:
        k = min(live, key=lambda i: have[i])  # the lane furthest behind: they stay level
        block = next(lanes[k], None)
        if block is None:
            live.discard(k)
            continue
        pending[k].append(block)
        have[k] += block.shape[-1]
        ready = min(have)
        if not ready:
            continue
        parts = []
        for i, blocks in enumerate(pending):
            joined = np.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]
            parts.append(joined[..., :ready])
            pending[i] = [joined[..., ready:]] if joined.shape[-1] > ready else []
            have[i] -= ready
        yield combine(parts)


def _average_shifts(shifts: int) -> Callable[[list[Any]], Any]:
    def combine(parts: list[Any]) -> Any:
        if not shifts:
            return parts[0]
        total = 0.0 + parts[0]  # apply_model: ``out = 0.; out += ...; out /= shifts``
        for part in parts[1:]:
            total += part
        total /= shifts
        return total

    return combine


def _weigh_bag(weights: list[list[float] | None]) -> Callable[[list[Any]], Any]:
    if weights == [None]:
        return lambda parts: parts[0]
    totals = [0.0] * len(weights[0])
    for model_weights in weights:
        for k, w in enumerate(model_weights):
            totals[k] += w

    def combine(parts: list[Any]) -> Any:
        estimates: Any = 0.0
        for part, model_weights in zip(parts, weights, strict=True):
            part = part.copy()
            for k, w in enumerate(model_weights):
                part[:, k, :, :] *= w
            estimates += part
        for k in range(estimates.shape[1]):
            estimates[:, k, :, :] /= totals[k]
        return estimates

    return combine


def stream_sources(model: Any, read: Reader, length: int, *, segment: float | None = None,
                   overlap: float = 0.25, shifts: int = 1, on_segment: OnSegment | None = None
                   ) -> Iterator[np.ndarray]:
    """Consecutive ``(1, sources, channels, n)`` float32 blocks of ``apply_model(model, mix, shifts,
    split=True, overlap, segment)`` for a ``length``-frame mix read through ``read``."""
    per_model = []
    weights = []
    for sub, sub_weights in submodels(model):
        plan = plan_for(sub, segment, overlap)
        max_shift = int(0.5 * sub.samplerate)
        # apply_model delays the track by max_shift - offset with offset = randint(0, max_shift)
        delays = [max_shift - random.randint(0, max_shift) for _ in range(shifts)] or [0]
        lanes = [_lane(sub, read, length, plan, d, on_segment) for d in delays]
        per_model.append(_zip_lanes(lanes, _average_shifts(shifts)))
        weights.append(sub_weights)
    yield from _zip_lanes(per_model, _weigh_bag(weights))
