"""record_outputs: one description of a run's files for the worker and ``moodmix run``."""

from __future__ import annotations

import hashlib

from moodmix.engine.capability import Capability, OutputSpec, RunResult
from moodmix.engine.outputs import jsonable, record_outputs


def test_records_name_kind_filename_type_size_and_hash(tmp_path):
    cap = Capability(name="demo", description="d", run=lambda ctx: RunResult(),
                     outputs=(OutputSpec("vocals", "audio"), OutputSpec("report", "json")))
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 40)
    extra = tmp_path / "notes.bin"
    extra.write_bytes(b"abc")
    records = {r.name: (r, p) for r, p in record_outputs(cap, {"vocals": wav, "unlisted": extra})}
    vocals, path = records["vocals"]
    assert path == wav
    assert vocals.as_dict() == {"name": "vocals", "kind": "audio", "filename": "vocals.wav",
                                "content_type": "audio/wav", "size_bytes": 44,
                                "sha256": hashlib.sha256(wav.read_bytes()).hexdigest()}
    unlisted, _ = records["unlisted"]
    assert (unlisted.kind, unlisted.filename, unlisted.content_type) == ("other", "unlisted.bin",
                                                                        "application/octet-stream")


def test_jsonable_turns_numpy_and_paths_into_plain_json(tmp_path):
    import numpy as np

    assert jsonable({"a": np.float32(0.5), "b": np.arange(2), "p": tmp_path / "f.wav"}) == {
        "a": 0.5, "b": [0, 1], "p": "f.wav"}
