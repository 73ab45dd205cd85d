"""The CLI on local files: outputs + result.json, and one-line errors (exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def moodmix(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOODMIX_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "moodmix", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def test_run_analyze_writes_result_json(demo_wav, tmp_path):
    out = tmp_path / "out"
    proc = moodmix("run", "analyze", str(demo_wav), "-o", str(out), "-q", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "result.json").read_text())
    assert doc["capability"] == "analyze" and doc["backend"]
    assert abs(doc["data"]["tempo"] - 120) < 2.5 and doc["data"]["key"] == "A"
    names = {o["name"]: o for o in doc["outputs"]}
    assert (out / names["analysis"]["filename"]).is_file()


@pytest.mark.parametrize("case", ["missing", "text", "unknown_cap", "bad_param", "no_equals"])
def test_bad_input_is_one_line(case, demo_wav, tmp_path):
    text = tmp_path / "song.mp3"
    text.write_text("not audio at all\n")
    args = {
        "missing": ["run", "analyze", str(tmp_path / "nope.wav")],
        "text": ["run", "analyze", str(text)],
        "unknown_cap": ["run", "frobnicate", str(demo_wav)],
        "bad_param": ["run", "analyze", str(demo_wav), "--param", "bogus=1"],
        "no_equals": ["run", "analyze", str(demo_wav), "--param", "bogus"],
    }[case]
    proc = moodmix(*args, "-o", str(tmp_path / "out"), "-q", tmp_path=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert lines and ("error" in lines[-1].lower())
    assert not (tmp_path / "out" / "result.json").exists()


def test_capabilities_and_doctor(tmp_path):
    proc = moodmix("capabilities", "--json", tmp_path=tmp_path)
    assert proc.returncode == 0
    names = {c["name"] for c in json.loads(proc.stdout)}
    assert {"analyze", "reverse"} <= names
    doctor = moodmix("doctor", tmp_path=tmp_path)
    assert doctor.returncode == 0 and "device: cpu" in doctor.stdout


def test_generate_prompt_as_param_or_option(tmp_path):
    out = tmp_path / "gen"
    proc = moodmix("run", "generate", "--param", "prompt=calm piano 90 bpm in C major", "--param", "duration=4",
                   "--param", "seed=3", "-o", str(out), "-q", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "result.json").read_text())
    assert doc["backend"] == "procedural" and doc["params"]["seed"] == 3
    audio = next(o for o in doc["outputs"] if o["name"] == "audio")
    assert (out / audio["filename"]).stat().st_size > 10_000
