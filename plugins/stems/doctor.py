"""``moodmix doctor`` lines of the stems plugin: demucs (and where its weights are) or the DSP fallback, and why."""

from __future__ import annotations

import importlib.util
from typing import Any

from moodmix.engine.capability import DoctorCheck
from moodmix.plugins.stems.params import StemsParams


def checks(settings: Any) -> list[DoctorCheck]:
    name = StemsParams().model
    from moodmix.engine.models import model_root

    model_dir = str(model_root(settings))  # where `moodmix models pull` puts weights
    if importlib.util.find_spec("demucs") is None or importlib.util.find_spec("torch") is None:
        return [DoctorCheck("stems", False, "dsp separator (demucs or torch is not installed)",
                            hint="install moodmix with demucs and torch for neural separation")]
    from moodmix.plugins.stems import demucs_backend, model_locator

    try:
        location = model_locator.locate(name, model_dir)
    except model_locator.LoadModelError as exc:
        return [DoctorCheck("stems", False, f"dsp separator: demucs weights for {name} are unreadable ({exc})",
                            hint="replace them (delete the files and fetch them again)")]
    if location is None:
        return [DoctorCheck("stems", False, f"dsp separator: no local weights for demucs model {name}",
                            hint=demucs_backend.missing_message(name, model_dir))]
    return [DoctorCheck("stems", True, f"demucs {location.describe()}"), engine_check(settings)]


def engine_check(settings: Any) -> DoctorCheck:
    """Which engine ``auto`` takes for demucs here (without exporting anything): the fastest installed one."""
    configured = str((getattr(settings, "plugins", {}) or {}).get("stems", {}).get("engine", "auto"))
    if configured != "auto":
        return DoctorCheck("stems engine", True, f"{configured} (set in [plugins.stems] engine)")
    ort = importlib.util.find_spec("onnxruntime") is not None
    if importlib.util.find_spec("openvino") is not None:
        from moodmix.plugins.stems import demucs_openvino

        try:
            if demucs_openvino.bf16_native():
                return DoctorCheck("stems engine", True, "openvino in bfloat16 (native on this CPU; each model is "
                                   f"calibrated once, and runs on {'onnx runtime' if ort else 'torch'} if it "
                                   "loses accuracy)")
        except demucs_openvino.OpenVinoUnavailable:
            pass
    if ort:
        int8 = (getattr(settings, "plugins", {}) or {}).get("stems", {}).get("onnx_int8", True)
        precision = ("float32, the transformer's linear layers in int8 where a model's calibration allows"
                     if int8 else "float32")
        return DoctorCheck("stems engine", True, f"onnx runtime ({precision}; no native bfloat16 for openvino here)")
    return DoctorCheck("stems engine", False, "eager torch (neither openvino nor onnxruntime is importable)",
                       hint="reinstall moodmix: onnxruntime and openvino run demucs faster")
