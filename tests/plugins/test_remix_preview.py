"""Remix previews: the window lands on the chorus, the preview is the full render's window, reuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodmix.engine import audio_io
from moodmix.engine.config import load_settings
from moodmix.plugins.remix.genre_lookup import use_registry
from moodmix.plugins.remix.preview import chunk_bounds, preview_span
from moodmix.plugins.remix.stretch import stretch_chunks
from moodmix.plugins.remix.structure import bar_starts, score_bars
from moodmix.plugins.remix.tempo import BeatGrid
from moodmix.plugins.remix.testsongs import structured_song
from moodmix.testing import make_registry, run_local, write_wav

SR = 22050


@pytest.fixture(scope="module")
def song():
    return structured_song(sr=SR, section_bars=4)  # 8-s sections: 4-s intro, 56 s in all


def test_window_lands_on_the_loudest_most_repeated_section(song) -> None:
    audio, sections = song
    grid = BeatGrid(120.0, 0.0)
    frames = audio.shape[1]
    scores = score_bars(audio.mean(axis=0), SR, bar_starts(0.0, 2.0, frames / SR))
    span = preview_span(scores, chunk_bounds(grid, frames, SR), 1.0, SR, 7.5)
    start = span.src_window[0] / SR
    name = next(n for n, lo, hi in sections if lo - 0.1 <= start < hi - 0.1)
    assert name == "chorus", (start, sections)
    # The verse repeats too, and the chorus is louder: both scores must favour the chorus bars.
    chorus = [i for i, t in enumerate(scores.starts) if any(n == "chorus" and lo <= t < hi
                                                            for n, lo, hi in sections)]
    intro = [i for i, t in enumerate(scores.starts) if t < sections[0][2]]
    combined = scores.combined()
    assert combined[chorus].mean() > combined[intro].mean() + 0.3


def test_chunked_stretch_of_a_part_is_the_whole_stretch_of_that_part(song) -> None:
    audio, _ = song
    frames = audio.shape[1]
    bounds = chunk_bounds(BeatGrid(120.0, 0.0), frames, SR)
    whole, start = stretch_chunks(audio, SR, ratio=1.1, pitch_semitones=0.0, varispeed=False, bounds=bounds,
                                  first=0, last=len(bounds) - 1)
    assert start == 0 and abs(whole.shape[1] - frames / 1.1) <= 2
    lo, hi = bounds[2] - 3 * SR, bounds[4] + 2 * SR
    part, part_start = stretch_chunks(audio[:, lo:hi], SR, ratio=1.1, pitch_semitones=0.0, varispeed=False,
                                      bounds=bounds, first=2, last=4, offset=lo)
    a, b = round(bounds[2] / 1.1) + 500, round(bounds[4] / 1.1) - 500  # inside the crossfades
    np.testing.assert_allclose(part[:, a - part_start:b - part_start], whole[:, a:b], atol=1e-5)


def test_preview_then_full_render_reuses_the_analysis(song, tmp_path: Path) -> None:
    audio, sections = song
    src = write_wav(tmp_path / "song.wav", audio, SR)
    settings = load_settings(environ={"MOODMIX_DATA_DIR": str(tmp_path / "data")})
    registry = make_registry(settings=settings)
    with use_registry(registry):
        def remix(name: str, **params):
            return run_local("remix", tmp_path / name, inputs={"audio": src}, registry=registry,
                             settings=settings, params={"genre": "house", **params})

        preview = remix("preview", preview_seconds=8)
        full = remix("full")
        too_long = remix("long", preview_seconds=60)
    window = preview.data["preview"]
    assert window["seconds"] == pytest.approx(8.0, abs=0.01)
    assert any(n == "chorus" and lo - 0.1 <= window["start_s"] < hi for n, lo, hi in sections)
    assert not preview.data["analysis_reused"] and full.data["analysis_reused"]
    assert full.data["preview"] is None and too_long.data["preview"] is None  # longer than the track: all
    p, _ = audio_io.load_audio(preview.files["remix"])
    f, _ = audio_io.load_audio(full.files["remix"])
    assert p.shape[1] == round(8.0 * SR)
    lo = round(window["output_start_s"] * SR)
    ref = f[:, lo:lo + p.shape[1]]
    gain = float((ref * p).sum() / (p * p).sum())
    snr = 10 * np.log10((ref ** 2).sum() / ((ref - gain * p) ** 2).sum())
    # The same chain on the same window: alike well beyond chance (a misaligned or differently
    # processed window scores near 0 dB); stems separated from the window alone cost some.
    assert snr > 6.0 and abs(20 * np.log10(gain)) < 2.0
    assert "preview" in full.data and preview.data["duration_s"] == pytest.approx(8.0, abs=0.01)


async def test_preview_and_full_render_through_the_api(moodmix_client, tmp_path: Path) -> None:
    from moodmix.engine.demo import write_demo_track

    headers = await moodmix_client.signup()
    file_id = await moodmix_client.upload(headers, write_demo_track(tmp_path / "demo.wav", seconds=6))

    async def remix(**params) -> dict:
        resp = await moodmix_client.post("/api/v1/jobs", headers=headers, json={
            "capability": "remix", "inputs": {"audio": file_id}, "params": {"genre": "lofi", **params}})
        assert resp.status_code in (200, 201, 202), resp.text
        return await moodmix_client.wait_job(headers, resp.json()["data"]["id"])

    preview, full = await remix(preview_seconds=3), await remix()
    assert preview["status"] == full["status"] == "succeeded"
    assert preview["result"]["data"]["preview"]["seconds"] == pytest.approx(3.0, abs=0.01)
    assert preview["result"]["summary"].startswith("preview, 3 s from")
    assert full["result"]["data"]["preview"] is None and "preview" not in full["result"]["summary"]
    assert full["result"]["data"]["analysis_reused"]  # the preview's analysis, by content hash
    bad = await moodmix_client.post("/api/v1/jobs", headers=headers, json={
        "capability": "remix", "inputs": {"audio": file_id}, "params": {"genre": "lofi", "preview_seconds": -1}})
    assert 400 <= bad.status_code < 500


def test_preview_through_the_cli(tmp_path: Path, monkeypatch) -> None:
    import json

    from click.testing import CliRunner

    from moodmix.cli import cli
    from moodmix.engine.demo import write_demo_track

    monkeypatch.setenv("MOODMIX_DATA_DIR", str(tmp_path / "data"))
    src = write_demo_track(tmp_path / "demo.wav", seconds=6)
    result = CliRunner().invoke(cli, ["run", "remix", str(src), "-p", "genre=lofi", "-p", "preview_seconds=3",
                                      "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    assert "preview, 3 s from" in result.output
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["data"]["preview"]["seconds"] == pytest.approx(3.0, abs=0.01)
