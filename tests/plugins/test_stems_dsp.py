"""The dsp separator: masks sum to one, stems add back to the input, sources land in the right stem."""

from __future__ import annotations

import numpy as np
import pytest

from moodmix.plugins.stems.dsp_separator import (
    STEMS,
    DspConfig,
    DspSeparator,
    istft,
    masks,
    repeating_model,
    stft,
)

SR = 22050


def _voice(seconds: float, sr: int = SR) -> np.ndarray:
    """A vibrato melody with formant-like harmonics (what the vocal mask should take)."""
    t = np.arange(int(seconds * sr)) / sr
    notes = 330 * 2 ** (np.floor(t / 0.6) % 5 * 2 / 12)  # a new note every 0.6 s, never looping in 3 s
    f0 = notes * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    return sum(np.sin(h * phase) / h for h in range(1, 12)).astype(np.float32) * 0.1


def _kicks(seconds: float, sr: int = SR, bpm: float = 120) -> np.ndarray:
    rng = np.random.default_rng(1)
    y = np.zeros(int(seconds * sr), np.float32)
    hit = rng.standard_normal(int(0.05 * sr)) * np.exp(-np.linspace(0, 10, int(0.05 * sr)))
    for start in range(0, len(y) - len(hit), int(60 / bpm * sr)):
        y[start:start + len(hit)] += hit * 0.5
    return y


def _bass(seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32)


def test_stft_round_trip_is_exact() -> None:
    x = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
    y = istft(stft(x, 512), 512, x.shape[-1])
    assert y.shape == x.shape
    assert np.max(np.abs(x - y)) < 1e-4


def test_masks_sum_to_one_and_stay_in_range() -> None:
    mag = np.abs(stft(np.stack([_voice(2.0) + _kicks(2.0)]), 1024)).mean(axis=0)
    mag[:, :5] = 0.0  # silent bins must still be shared out
    out = masks(mag, SR, 1024, DspConfig())
    assert set(out) == set(STEMS)
    total = sum(out.values())
    assert np.allclose(total, 1.0, atol=1e-5)
    assert all(m.min() >= -1e-6 and m.max() <= 1 + 1e-6 for m in out.values())


def test_stems_add_back_to_the_input() -> None:
    mix = np.stack([_voice(3.0) + _kicks(3.0) + _bass(3.0), _voice(3.0) * 0.5 + _kicks(3.0)])
    stems = DspSeparator().separate(mix, SR)
    assert set(stems) == set(STEMS)
    assert all(s.shape == mix.shape for s in stems.values())
    residual = sum(stems.values()) - mix
    assert np.max(np.abs(residual)) < 1e-4 * np.max(np.abs(mix)) + 1e-5


def test_chunked_processing_still_sums_to_input_and_reports_each_chunk() -> None:
    mix = np.stack([_voice(6.0) + _kicks(6.0)])
    reports: list[tuple[float, str | None]] = []
    sep = DspSeparator(DspConfig(chunk_seconds=2.0, crossfade_seconds=0.25))
    stems = sep.separate(mix, SR, progress=lambda f, m=None: reports.append((f, m)))
    assert np.max(np.abs(sum(stems.values()) - mix)) < 1e-4
    fractions = [f for f, _ in reports]
    assert len(fractions) >= 3 and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    # chunk borders leave no seam: the chunked drums stay close to the unchunked ones
    whole = DspSeparator().separate(mix, SR)["drums"]
    err = np.linalg.norm(stems["drums"] - whole) / np.linalg.norm(whole)
    assert err < 0.35


def _share(stems: dict[str, np.ndarray], name: str, source: np.ndarray) -> float:
    """How much of ``source``'s energy the stem ``name`` holds, by projection."""
    est = stems[name][0]
    return float(np.dot(est, source) / np.dot(source, source))


def test_each_source_goes_mostly_to_its_stem() -> None:
    # The rule cascade on its own (the learned masks have their own test below).
    voice, kicks, bass = _voice(3.0), _kicks(3.0), _bass(3.0)
    stems = DspSeparator(DspConfig(learned=False)).separate(np.stack([voice + kicks + bass]), SR)
    assert _share(stems, "drums", kicks) > 0.7
    assert _share(stems, "bass", bass) > 0.9
    assert _share(stems, "vocals", voice) > 0.5
    # and not to the wrong ones
    assert _share(stems, "vocals", kicks) < 0.15
    assert _share(stems, "drums", bass) < 0.1
    assert _share(stems, "bass", voice) < 0.15


def test_silence_gives_silent_stems() -> None:
    stems = DspSeparator().separate(np.zeros((2, SR), np.float32), SR)
    assert all(np.all(s == 0) for s in stems.values())


@pytest.mark.parametrize("sr", [8000, 96000])
def test_any_sample_rate_keeps_length_and_sum(sr: int) -> None:
    t = np.arange(sr) / sr
    mix = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sign(np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    stems = DspSeparator().separate(mix[None], sr)
    assert stems["vocals"].shape == (1, sr)
    assert np.max(np.abs(sum(stems.values()) - mix)) < 1e-4


def test_repeating_model_keeps_the_loop_and_drops_the_one_off() -> None:
    rng = np.random.default_rng(4)
    loop = rng.random((10, 40)).astype(np.float32)  # a 10-frame pattern ...
    frames = np.tile(loop, (8, 1))  # ... repeated 8 times
    frames[35, 20] += 5.0  # a one-off event (a sung note that never comes back)
    model = repeating_model(frames, min_gap=5, neighbours=4, top=40)
    assert model is not None
    assert model[35, 20] == pytest.approx(loop[5, 20], abs=1e-6)
    assert np.allclose(model, np.tile(loop, (8, 1)), atol=1e-6)
    assert repeating_model(frames[:12], min_gap=5, neighbours=4, top=40) is None  # too short to repeat


def test_learned_masks_sum_to_one_and_stems_add_back() -> None:
    from moodmix.plugins.stems.mask_net import shipped

    net = shipped()
    assert net is not None, "mask_net.npz ships with the package"
    mix = np.stack([_voice(3.0) + _kicks(3.0) + _bass(3.0), _voice(3.0) * 0.5 + _kicks(3.0)])
    spec = stft(mix, 1024)
    mag = np.abs(spec).mean(axis=0)
    out = masks(mag, SR, 1024, DspConfig(), side=np.abs(spec[0] - spec[1]) / 2, net=net)
    assert np.allclose(sum(out.values()), 1.0, atol=1e-5)
    assert all(m.min() >= 0.0 and m.max() <= 1.0 + 1e-6 for m in out.values())
    stems = DspSeparator().separate(mix, SR)
    assert np.max(np.abs(sum(stems.values()) - mix)) < 1e-4 * np.max(np.abs(mix)) + 1e-5


def test_learned_and_rule_masks_differ_and_rules_stay_available() -> None:
    mix = np.stack([_voice(3.0) + _kicks(3.0) + _bass(3.0)] * 2)
    learned = DspSeparator().separate(mix, SR)
    rules = DspSeparator(DspConfig(learned=False)).separate(mix, SR)
    assert not np.allclose(learned["drums"], rules["drums"])
    # Both send the kicks mostly to the drums and the 55 Hz sine mostly to the bass.
    for stems in (learned, rules):
        assert _share({k: v[:1] for k, v in stems.items()}, "drums", _kicks(3.0)) > 0.5
        assert _share({k: v[:1] for k, v in stems.items()}, "bass", _bass(3.0)) > 0.6
