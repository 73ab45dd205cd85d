"""The ONNX Runtime engine with the transformer's linear layers in int8, where a calibration allows it.

On CPUs without bfloat16 (no OpenVINO fast path) ONNX Runtime runs the exported HTDemucs core in
float32, and the cross-transformer's weight matrices (the query/key/value/output projections and the
feed-forward layers: 60 MatMuls, two thirds of the graph's bytes) take about a sixth of a forward.
Dynamic quantisation (``onnxruntime.quantization.quantize_dynamic``: int8 weights per output
channel, activations quantised per call) runs them on the CPU's integer dot products instead.

Whether int8 is close enough depends on the weights, so each exported graph is **calibrated** once,
like OpenVINO's bfloat16: the probe mix (:func:`.demucs_openvino.probe_mix`) goes through the float32
and the int8 graph, and int8 is used only when every stem stays within :data:`MIN_SNR_DB` of float32.
The verdict is kept beside the graph. Quantising and calibrating run in a child process (two sessions
and the graph being rewritten would otherwise stay in the worker's peak memory); neither needs torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from moodmix.plugins.stems import calibration_verdict
from moodmix.plugins.stems.demucs_openvino import MIN_SNR_DB

#: Bumped when the quantisation or the probe changes, so stored verdicts are measured again.
CALIBRATION_VERSION = "1"


class Int8Unavailable(RuntimeError):
    """The int8 graph could not be made or measured (no quantisation tools, a failed child)."""


@dataclass(frozen=True)
class Int8Verdict:
    """Which graph ONNX Runtime runs for an export, and why."""

    use_int8: bool
    snr_db: float | None
    why: str


def int8_graph_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".int8.onnx")


def verdict_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".int8.json")


def _verdict_key() -> str:
    import onnxruntime

    return f"{CALIBRATION_VERSION}|{onnxruntime.__version__}"


def _decide(snr: float) -> Int8Verdict:
    if snr >= MIN_SNR_DB:
        return Int8Verdict(True, snr, f"int8 transformer: {snr:.1f} dB against float32 on the calibration probe")
    return Int8Verdict(False, snr, f"float32: the int8 transformer reached only {snr:.1f} dB on the calibration "
                                   f"probe (needs {MIN_SNR_DB:.0f})")


def stored(onnx_path: Path) -> Int8Verdict | None:
    """The verdict kept for ``onnx_path`` by this ONNX Runtime version, or ``None`` (not calibrated yet)."""
    snr = calibration_verdict.read_snr(verdict_path(onnx_path), _verdict_key())
    if snr is None:
        return None
    verdict = _decide(snr)
    if verdict.use_int8 and not int8_graph_path(onnx_path).exists():
        return None  # the graph was removed: make it again
    return verdict


def prepare(onnx_path: Path, spec_json: dict, threads: int) -> Int8Verdict:
    """The stored verdict, or quantise and calibrate now (in a child process) and keep the verdict."""
    verdict = stored(onnx_path)
    if verdict is not None:
        return verdict
    done = subprocess.run([sys.executable, "-m", __name__, str(onnx_path), json.dumps(spec_json), str(threads)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines()
        raise Int8Unavailable(f"int8 calibration failed: {lines[-1] if lines else f'exit code {done.returncode}'}")
    snr = float(done.stdout.strip().splitlines()[-1])
    calibration_verdict.write_snr(verdict_path(onnx_path), _verdict_key(), snr)
    return _decide(snr)


def quantize(onnx_path: Path) -> Path:
    """Write the int8 graph beside ``onnx_path`` (atomically): the MatMuls with constant weights only; the
    attention's activation-by-activation products and the convolutions stay float32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = int8_graph_path(onnx_path)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    quantize_dynamic(str(onnx_path), str(tmp), op_types_to_quantize=["MatMul"], per_channel=True,
                     weight_type=QuantType.QInt8)
    tmp.replace(target)
    return target


def _calibrate_child(onnx_path: Path, spec_json: dict, threads: int) -> float:
    """Quantise, then the lowest per-stem SNR (dB) of int8 against float32 on the probe."""
    from moodmix.plugins.stems import demucs_runtime, exported_net
    from moodmix.plugins.stems.demucs_openvino import probe_mix

    spec = exported_net.ExportedNet.from_json(spec_json)
    int8 = quantize(onnx_path)
    mix = probe_mix(spec.samplerate, spec.training_length, spec.audio_channels)[None]
    reference = exported_net.CoreNet(spec, onnx_path, exported_net.OrtCore(onnx_path, threads))(mix)[0]
    estimate = exported_net.CoreNet(spec, int8, exported_net.OrtCore(int8, threads))(mix)[0]
    return min(demucs_runtime.snr_db(reference[k], estimate[k]) for k in range(reference.shape[0]))


if __name__ == "__main__":  # ``python -m moodmix.plugins.stems.onnx_int8 GRAPH.onnx SPEC_JSON THREADS``
    print(_calibrate_child(Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])))
