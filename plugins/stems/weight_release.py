"""A demucs model's torch weights, given back while an exported engine runs it.

Once ONNX Runtime or OpenVINO holds the exported graph with its own copy of the weights, the torch
model is only used for its STFT, mask and inverse STFT, which read no weight: its parameters (136 MB
resident for htdemucs) would sit in every worker unused. They are released, and loaded again from the
model's files when torch needs them (the ``torch`` engine, or an export into another cache folder).
Only models loaded from files are released: a model handed over in memory has nowhere to come back from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Set on a model by its loader: a callable returning the same model freshly loaded from its files.
RELOAD = "_moodmix_reload"
RELEASED = "_moodmix_weights_released"


def set_reload(model: Any, reload: Callable[[], Any]) -> None:
    model.__dict__[RELOAD] = reload


def is_released(model: Any) -> bool:
    return bool(model.__dict__.get(RELEASED))


def release(model: Any) -> int:
    """Drop every parameter and buffer of ``model`` (a model loaded from files); bytes released."""
    import torch

    if is_released(model) or not callable(model.__dict__.get(RELOAD)):
        return 0
    released = 0
    for tensor in (*model.parameters(), *model.buffers()):
        released += tensor.numel() * tensor.element_size()
        tensor.data = torch.empty(0, dtype=tensor.dtype, device=tensor.device)
    model.__dict__[RELEASED] = True
    return released


def restore(model: Any) -> None:
    """Put back the weights of a released model, in place, from its files."""
    if not is_released(model):
        return
    fresh = model.__dict__[RELOAD]()
    tensors = {**dict(fresh.named_parameters()), **dict(fresh.named_buffers())}
    for name, tensor in (*model.named_parameters(), *model.named_buffers()):
        tensor.data = tensors[name].data
    model.__dict__[RELEASED] = False
