"""The stems plugin's settings: ``[plugins.stems]`` in the TOML file or ``MOODMIX_PLUGINS__STEMS__*``."""

from __future__ import annotations

from typing import Literal

import msgspec


class StemsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    #: How Demucs runs (``MOODMIX_PLUGINS__STEMS__ENGINE``): ``onnx`` (ONNX Runtime, about twice as fast on
    #: CPU), ``torch`` (eager PyTorch), or ``auto``: ONNX Runtime when the model exports, else torch.
    engine: Literal["auto", "torch", "onnx"] = "auto"
    #: Where exported ONNX graphs are kept (``MOODMIX_PLUGINS__STEMS__ONNX_CACHE``); empty: ``<data_dir>/cache/onnx``.
    onnx_cache: str = ""
