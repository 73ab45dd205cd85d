"""What a browser needs from stored audio: a rendition it can play, and the peaks of a waveform.

Which originals play as they are (decided by container, because that is what the upload check
records; the rules follow what current Chromium, Firefox and Safari decode in ``<audio>``):

* **WAV** (PCM), **MP3** and **FLAC** play in all three, at 8–96 kHz with one or two channels.
* **OGG** (Vorbis/Opus) plays in Chromium and Firefox but not in every Safari; **AIFF** plays only in
  Safari; **M4A/AAC** and **WebM** depend on the build's codecs. These get a preview.
* Anything above 96 kHz or with more than two channels gets a preview too (decoders refuse or
  downmix it differently).

The preview is an MP3 (LAME, as :func:`moodmix.engine.audio_io.save_audio` writes them) at 192 kbit/s,
encoded block by block so a long track never sits in memory whole. Waveform peaks are min/max pairs
over equal slices of the track, across all channels, computed once at :data:`PEAK_RESOLUTION` and
reduced to what a client asks for.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from moodmix.engine import audio_io

#: Containers every major browser plays as they are (within the limits below).
BROWSER_SAFE_FORMATS = frozenset({"wav", "mp3", "flac"})
BROWSER_MAX_RATE = 96_000
BROWSER_MAX_CHANNELS = 2
PREVIEW_BITRATE = 192
PREVIEW_SUFFIX = ".mp3"
PREVIEW_CONTENT_TYPE = "audio/mpeg"
#: Peaks are stored at this many slices; requests get that or fewer.
PEAK_RESOLUTION = 4000
MIN_POINTS = 16
_LAME_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_BLOCK = 1 << 16


def needs_preview(fmt: str | None, sample_rate: int | None = None, channels: int | None = None) -> bool:
    """Whether a stored file needs a browser-safe preview to play everywhere (see the module text)."""
    if (fmt or "").lower() not in BROWSER_SAFE_FORMATS:
        return True
    return bool((sample_rate and sample_rate > BROWSER_MAX_RATE) or (channels and channels > BROWSER_MAX_CHANNELS))


def format_of(content_type: str | None, filename: str | None = None) -> str | None:
    """The container named by a content type (or, failing that, a file suffix)."""
    for fmt, ctype in audio_io.CONTENT_TYPES.items():
        if content_type and content_type.split(";")[0].strip().lower() == ctype:
            return fmt
    suffix = Path(filename or "").suffix.lstrip(".").lower()
    return suffix if suffix in audio_io.CONTENT_TYPES else None


@contextlib.contextmanager
def _decodable(path: Path) -> Iterator[Path]:
    """``path`` itself when libsndfile reads it, else a temporary WAV decoded by ffmpeg."""
    if audio_io.sniff_format(path) not in audio_io.FFMPEG_FORMATS:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="moodmix-rend-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        audio_io._ffmpeg_decode(path, wav)
        yield wav


def _blocks(path: Path) -> Iterator[tuple[np.ndarray, int]]:
    """``(frames, channels)`` float32 blocks and the sample rate."""
    with _decodable(path) as readable, sf.SoundFile(str(readable)) as fh:
        while len(block := fh.read(_BLOCK, dtype="float32", always_2d=True)):
            yield block, int(fh.samplerate)


def write_preview(src: Path, dst: Path, *, bitrate: int = PREVIEW_BITRATE) -> Path:
    """Encode ``src`` as a stereo-or-mono MP3 at ``dst``, one block at a time."""
    import lameenc
    import soxr

    info = audio_io.probe(src)
    channels = min(info.channels, 2)
    rate = info.sample_rate if info.sample_rate in _LAME_RATES else (48000 if info.sample_rate > 44100 else 44100)
    resampler = None if rate == info.sample_rate else soxr.ResampleStream(
        info.sample_rate, rate, channels, dtype="float32", quality="HQ")
    enc = lameenc.Encoder()
    enc.set_bit_rate(int(bitrate))
    enc.set_in_sample_rate(rate)
    enc.set_channels(channels)
    enc.set_quality(5)  # a preview: LAME's speed/quality middle ground
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as out:
        blocks = _blocks(src)
        pending = next(blocks, None)
        while pending is not None:
            block = pending[0]
            pending = next(blocks, None)
            frames = audio_io.to_channels(block.T, channels).T
            if resampler is not None:
                frames = resampler.resample_chunk(np.ascontiguousarray(frames), last=pending is None)
            pcm = (np.clip(np.nan_to_num(frames), -1.0, 1.0) * 32767.0).astype("<i2")
            out.write(bytes(enc.encode(pcm.tobytes())))
        out.write(bytes(enc.flush()))
    return dst


def compute_peaks(path: Path, resolution: int = PEAK_RESOLUTION) -> dict:
    """``{"duration", "sample_rate", "min", "max"}`` over at most ``resolution`` equal slices."""
    info = audio_io.probe(path)
    hop = max(1, info.frames // (resolution * 4))  # a fine pass first (frame counts may be estimates)
    mins: list[np.ndarray] = []
    maxs: list[np.ndarray] = []
    carry_min = carry_max = np.empty(0, np.float32)
    frames = 0
    sample_rate = info.sample_rate
    for block, rate in _blocks(path):
        frames += len(block)
        sample_rate = rate
        lo = np.concatenate([carry_min, np.nan_to_num(block.min(axis=1))])
        hi = np.concatenate([carry_max, np.nan_to_num(block.max(axis=1))])
        whole = len(lo) // hop * hop
        mins.append(lo[:whole].reshape(-1, hop).min(axis=1))
        maxs.append(hi[:whole].reshape(-1, hop).max(axis=1))
        carry_min, carry_max = lo[whole:], hi[whole:]
    if len(carry_min):
        mins.append(carry_min.min(keepdims=True))
        maxs.append(carry_max.max(keepdims=True))
    fine_min = np.concatenate(mins) if mins else np.zeros(1, np.float32)
    fine_max = np.concatenate(maxs) if maxs else np.zeros(1, np.float32)
    low, high = reduce_peaks(fine_min, fine_max, resolution)
    return {"duration": frames / sample_rate if sample_rate else 0.0, "sample_rate": sample_rate,
            "min": low, "max": high}


def reduce_peaks(low: np.ndarray | list[float], high: np.ndarray | list[float], points: int
                 ) -> tuple[list[float], list[float]]:
    """Fold min/max pairs into ``points`` equal groups (fewer when there are fewer pairs)."""
    low = np.asarray(low, dtype=np.float32)
    high = np.asarray(high, dtype=np.float32)
    if len(low) > points:
        edges = np.linspace(0, len(low), points + 1).astype(int)[:-1]
        low, high = np.minimum.reduceat(low, edges), np.maximum.reduceat(high, edges)
    return [round(float(v), 4) for v in low], [round(float(v), 4) for v in high]
