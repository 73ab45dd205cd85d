"""The stems plugin's settings: ``[plugins.stems]`` in the TOML file or ``MOODMIX_PLUGINS__STEMS__*``."""

from __future__ import annotations

from typing import Literal

import msgspec


class StemsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    #: How Demucs runs (``MOODMIX_PLUGINS__STEMS__ENGINE``): ``openvino`` (OpenVINO, bfloat16 where the CPU
    #: has it and the model's calibration allows, else float32), ``onnx`` (ONNX Runtime, float32), ``torch``
    #: (eager PyTorch), or ``auto``: OpenVINO when it runs the model in bfloat16, else ONNX Runtime when the
    #: model exports, else torch.
    engine: Literal["auto", "torch", "onnx", "openvino"] = "auto"
    #: Where exported ONNX graphs are kept (``MOODMIX_PLUGINS__STEMS__ONNX_CACHE``); empty: ``<data_dir>/cache/onnx``.
    onnx_cache: str = ""
    #: Let ONNX Runtime run the transformer's linear layers in int8 (``MOODMIX_PLUGINS__STEMS__ONNX_INT8``):
    #: used only for a model whose calibration keeps every stem within 43 dB of float32; false: always float32.
    onnx_int8: bool = True
