"""Convert musicnn 0.1.0's TF1 checkpoints into the ``weights.npz`` shipped beside this file.

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python -m moodmix.plugins.mood.musicnn.convert /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

Reads the MSD_musicnn and MTT_musicnn checkpoints straight out of the wheel (no
TensorFlow, nothing installed), keeps the inference variables (convolutions,
dense layers, batch-norm statistics; not Adam's slots) as float32 and writes a
deflate-compressed ``.npz`` whose zip entries carry a fixed timestamp and sorted
names, so the same wheel always gives the same bytes (:data:`MANIFEST`).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from moodmix.plugins.mood.musicnn.checkpoint import tensors_from_bytes

MODELS = ("MSD_musicnn", "MTT_musicnn")
WEIGHTS = Path(__file__).with_name("weights.npz")
#: What the shipped file was made from, and what it must hash to.
MANIFEST = {
    "wheel": "musicnn-0.1.0-py3-none-any.whl",
    "wheel_sha256": "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa",
    "weights_sha256": "e4813643705d6bad044608ca807a84a912dc9b7e69f5a68b48d1990725bd9a6b",
}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def inference_tensors(wheel: Path) -> dict[str, np.ndarray]:
    """``{"MSD_musicnn/conv2d/kernel": array, ...}`` for both models, read from the wheel."""
    out = {}
    with zipfile.ZipFile(wheel) as archive:
        for model in MODELS:
            index = archive.read(f"musicnn/{model}/.index")
            data = archive.read(f"musicnn/{model}/.data-00000-of-00001")
            for name, array in tensors_from_bytes(index, data).items():
                if "Adam" in name or name.endswith("_power"):
                    continue
                out[f"{model}/{name}"] = np.asarray(array, dtype=np.float32)
    return out


def write_npz(tensors: dict[str, np.ndarray], path: Path) -> Path:
    """A byte-reproducible ``np.load``-able archive (``np.savez_compressed`` stamps the current time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(tensors):
            payload = io.BytesIO()
            np.lib.format.write_array(payload, np.ascontiguousarray(tensors[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload.getvalue(), compresslevel=9)
    path.write_bytes(buffer.getvalue())
    return path


def convert(wheel: Path, output: Path = WEIGHTS) -> str:
    """Write the weights from ``wheel`` to ``output``; returns the output's sha256."""
    write_npz(inference_tensors(wheel), output)
    return sha256(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl (pip download --no-deps)")
    parser.add_argument("-o", "--output", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    wheel_hash = sha256(args.wheel)
    if MANIFEST["wheel_sha256"] and wheel_hash != MANIFEST["wheel_sha256"]:
        print(f"warning: {args.wheel} has sha256 {wheel_hash}, the shipped weights came from "
              f"{MANIFEST['wheel_sha256']}", file=sys.stderr)
    digest = convert(args.wheel, args.output)
    status = "matches the manifest" if digest == MANIFEST["weights_sha256"] else "differs from the manifest"
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB), sha256 {digest} ({status})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
