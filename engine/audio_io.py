"""Decode, check, resample and encode audio.

Arrays are ``float32`` shaped ``(channels, frames)``. Every decode is checked
(sample rate, channel count, length, NaN/inf) so that nothing downstream — demucs
included, which panics on some inputs — ever sees audio we have not validated.
The container type is sniffed from the bytes, never from the file name.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from moodmix.engine.errors import AudioError, BadInput, MissingTool, TooLarge, UnsupportedAudio

MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 32
MAX_ABS_SAMPLE = 1e4  # float formats may exceed ±1.0; beyond +80 dBFS it is garbage, not audio

#: Containers soundfile decodes itself; others go through ffmpeg.
NATIVE_FORMATS = {"wav", "flac", "ogg", "mp3", "aiff"}
FFMPEG_FORMATS = {"m4a", "webm"}
#: What libsndfile must report for each sniffed container (anything else is smuggled in).
SNDFILE_FORMATS = {"wav": {"WAV", "WAVEX", "RF64"}, "flac": {"FLAC"}, "ogg": {"OGG"}, "mp3": {"MP3"},
                   "aiff": {"AIFF"}}
ENCODE_FORMATS = ("wav", "flac", "mp3", "ogg")
CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
    "m4a": "audio/mp4",
    "webm": "audio/webm",
}


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learned about a file, before decoding it whole."""

    format: str
    sample_rate: int
    channels: int
    frames: int
    duration: float
    subtype: str | None = None


def sniff_format(path: str | Path) -> str | None:
    """The container named by the file's first bytes (``None`` when it is not audio we know)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> str | None:
    if len(head) < 4:
        return None
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:
        return "mp3"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return None


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def probe(path: str | Path, *, max_seconds: float | None = None) -> AudioInfo:
    """Check a file is decodable audio within limits, reading headers only where possible."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise AudioError("the file is empty", code="empty_file")
    fmt = sniff_format(path)
    if fmt is None:
        raise UnsupportedAudio(
            "this is not an audio file moodmix can read (supported: wav, flac, ogg, mp3, aiff; "
            "m4a/aac with ffmpeg)")
    if fmt == "wav":
        _check_riff_sizes(path)
    if fmt in FFMPEG_FORMATS:
        info = _probe_with_ffmpeg(path, fmt)
    else:
        try:
            raw = sf.info(str(path))
        except Exception as exc:  # libsndfile's message is the useful part
            raise AudioError(f"cannot decode {fmt} file: {_short(exc)}", code="corrupt_audio") from exc
        if raw.format not in SNDFILE_FORMATS[fmt]:
            # e.g. an ID3 tag in front of an AU file: libsndfile skips the tag and parses what follows.
            raise UnsupportedAudio(f"the file starts like {fmt} but holds {raw.format} audio, which moodmix "
                                   "does not take")
        frames = int(raw.frames)
        info = AudioInfo(fmt, int(raw.samplerate), int(raw.channels), frames,
                         frames / raw.samplerate if raw.samplerate else 0.0, raw.subtype)
    _check_info(info, max_seconds)
    return info


def _check_riff_sizes(path: Path) -> None:
    """Refuse a WAV whose ``data`` chunk claims more bytes than the file holds (a cut upload)."""
    import struct

    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF":
            return  # RF64/RIFX: sizes live elsewhere; libsndfile checks them
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            if len(chunk) < 8:
                break
            cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if length != 0xFFFFFFFF and pos + 8 + length > size:
                    raise AudioError(
                        f"the WAV file is truncated: it declares {length} bytes of audio but holds "
                        f"{max(0, size - pos - 8)}", code="truncated_audio")
                return
            pos += 8 + length + (length & 1)
    raise AudioError("the WAV file has no audio data chunk", code="corrupt_audio")


def verify_decodable(path: str | Path, *, max_seconds: float | None = None) -> AudioInfo:
    """Probe, then decode the whole file block by block: catches cut or corrupt streams and NaN/inf.

    Memory stays bounded (one block at a time) however long the file is.
    """
    path = Path(path)
    info = probe(path, max_seconds=max_seconds)
    if info.format in FFMPEG_FORMATS:
        return info  # decoded completely by ffmpeg during the probe
    total = 0
    # Headers can understate the length (an MP3 without a frame count): stop decoding at the limit.
    limit = None if max_seconds is None else int(max_seconds * info.sample_rate) + 1
    try:
        with sf.SoundFile(str(path)) as fh:
            # Plain reads, not blocks(): for MP3 the header's frame count is an estimate, and a block
            # buffer sized from it can carry uninitialised samples past the real end.
            while len(block := fh.read(1 << 16, dtype="float32", always_2d=True)):
                check_samples(block)
                total += len(block)
                if limit is not None and total > limit:
                    raise TooLarge(f"the audio is longer than the {max_seconds / 60:.0f}-minute limit",
                                   code="too_long")
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(f"cannot decode {info.format} file: {_short(exc)}", code="corrupt_audio") from exc
    if total == 0:
        raise AudioError("the file holds no audio samples", code="empty_audio")
    if total != info.frames:
        info = AudioInfo(info.format, info.sample_rate, info.channels, total, total / info.sample_rate,
                         info.subtype)
        _check_info(info, max_seconds)
    return info


def check_samples(block: np.ndarray) -> None:
    """NaN/inf, or float samples so large (3e38 is a valid float WAV) that DSP overflows to inf."""
    if not np.isfinite(block).all():
        raise AudioError("the audio contains NaN or infinite samples", code="non_finite_audio")
    peak = float(np.abs(block).max()) if block.size else 0.0
    if peak > MAX_ABS_SAMPLE:
        raise AudioError(f"the audio has samples of magnitude {peak:.3g} (more than {MAX_ABS_SAMPLE:g}, "
                         f"i.e. +80 dB over full scale): it is not usable audio", code="bad_levels")


def _check_info(info: AudioInfo, max_seconds: float | None) -> None:
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"unsupported sample rate {info.sample_rate} Hz "
            f"(allowed {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz)", code="bad_sample_rate")
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioError(f"unsupported channel count {info.channels}", code="bad_channels")
    if info.frames <= 0:
        raise AudioError("the file holds no audio samples", code="empty_audio")
    if max_seconds is not None and info.duration > max_seconds:
        raise TooLarge(
            f"the audio is {info.duration / 60:.1f} minutes long; the limit is {max_seconds / 60:.0f} minutes",
            code="too_long")


#: Frames decoded per block: the (frames, channels) block is copied into the (channels, frames) result.
DECODE_BLOCK = 1 << 18


def _read_planar(path: Path, start: int, frames: int, mono: bool = False) -> tuple[np.ndarray, int]:
    """``(channels, frames)`` float32 (``mono``: the channels' mean) filled block by block: a whole-file
    read interleaved, transposed and then downmixed would hold the track two or three times over (850 MB
    for 20 minutes of stereo) before the work starts."""
    with sf.SoundFile(str(path)) as fh:
        if start:
            fh.seek(start)
        left = max(0, fh.frames - start)
        total = left if frames < 0 else min(frames, left)
        audio = np.empty((1 if mono else fh.channels, total), dtype=np.float32)
        done = 0
        while done < total:
            block = fh.read(min(DECODE_BLOCK, total - done), dtype="float32", always_2d=True)
            if not len(block):
                break
            check_samples(block)  # block by block: np.abs of the whole track would hold it twice
            audio[:, done:done + len(block)] = block.T.mean(axis=0, keepdims=True) if mono else block.T
            done += len(block)
        return (audio if done == total else audio[:, :done].copy()), fh.samplerate


def load_audio(path: str | Path, *, sample_rate: int | None = None, mono: bool = False,
               max_seconds: float | None = None, offset: float = 0.0,
               duration: float | None = None) -> tuple[np.ndarray, int]:
    """Decode to ``(channels, frames)`` float32, optionally resampled and/or downmixed.

    Raises :class:`AudioError` for anything that is not finite audio within limits.
    """
    path = Path(path)
    info = probe(path, max_seconds=max_seconds)
    if info.format in FFMPEG_FORMATS:
        with tempfile.TemporaryDirectory(prefix="moodmix-ff-") as tmp:
            wav = Path(tmp) / "decoded.wav"
            _ffmpeg_decode(path, wav)
            return load_audio(wav, sample_rate=sample_rate, mono=mono, offset=offset, duration=duration)
    start = int(offset * info.sample_rate)
    frames = -1 if duration is None else int(duration * info.sample_rate)
    try:
        audio, sr = _read_planar(path, start, frames, mono=mono)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(f"cannot decode {info.format} file: {_short(exc)}", code="corrupt_audio") from exc
    if audio.size == 0:
        raise AudioError("the file holds no audio samples", code="empty_audio")
    if sample_rate and sample_rate != sr:
        audio = resample(audio, sr, sample_rate)
        sr = sample_rate
    return audio, int(sr)


def read_blocks(path: str | Path, *, block: int = DECODE_BLOCK, start: int = 0,
                stop: int | None = None) -> Iterator[np.ndarray]:
    """Frames ``start..stop`` of a file we wrote (a scratch float WAV) as ``(channels, frames)`` float32
    blocks, for passes over audio too long to hold whole."""
    with sf.SoundFile(str(path)) as fh:
        end = fh.frames if stop is None else min(stop, fh.frames)
        if start:
            fh.seek(start)
        pos = start
        while pos < end:
            data = fh.read(min(block, end - pos), dtype="float32", always_2d=True)
            if not len(data):
                break
            pos += len(data)
            yield np.ascontiguousarray(data.T)


def resample(audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """High-quality resampling (soxr) of a ``(channels, frames)`` array."""
    if sr_from == sr_to:
        return audio
    import soxr

    out = soxr.resample(np.ascontiguousarray(audio.T), sr_from, sr_to, quality="HQ")
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[0]).T)


def to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Downmix to mono or duplicate mono to ``channels``."""
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.shape[0] == channels:
        return audio
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    if audio.shape[0] == 1:
        return np.repeat(audio, channels, axis=0)
    return audio[:channels] if audio.shape[0] > channels else np.concatenate(
        [audio, np.repeat(audio[-1:], channels - audio.shape[0], axis=0)])


WRITE_BLOCK = 1 << 16
WAV_SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT", "32": "PCM_32"}
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def save_audio(path: str | Path, audio: np.ndarray, sample_rate: int, *, format: str | None = None,
               bit_depth: str = "16", mp3_bitrate: int = 320) -> Path:
    """Encode ``audio`` (``(channels, frames)`` or 1-D) to wav/flac/mp3/ogg; returns the path.

    The format comes from ``format`` or the file suffix. Samples are clipped to
    [-1, 1] for integer formats. One :class:`AudioWriter` write: the same encoder as streamed output.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    with AudioWriter(path, sample_rate, audio.shape[0], format=format, bit_depth=bit_depth,
                     mp3_bitrate=mp3_bitrate) as writer:
        writer.write(audio)
    return writer.path


class AudioWriter:
    """Encode ``(channels, frames)`` blocks as they are produced, so a long output never sits in memory whole.

    WAV, FLAC and MP3 files decode to what :func:`save_audio` writes for the blocks joined (NaN/inf made
    finite, integer formats clipped; Vorbis packets depend on how the encoder is fed); use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int, *, format: str | None = None,
                 bit_depth: str = "16", mp3_bitrate: int = 320) -> None:
        self.path = Path(path)
        fmt = (format or self.path.suffix.lstrip(".")).lower()
        if fmt not in ENCODE_FORMATS:
            raise BadInput(f"cannot encode {fmt!r}; choose one of {', '.join(ENCODE_FORMATS)}",
                           code="bad_format")
        self.format, self.channels, self.frames = fmt, int(channels), 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._mp3: _Mp3Stream | None = None
        self._fh: sf.SoundFile | None = None
        if fmt == "mp3":
            self._mp3 = _Mp3Stream(self.path, sample_rate, self.channels, mp3_bitrate)
            self.clip = False  # after resampling, in _Mp3Stream
            return
        if fmt == "wav":
            subtype = WAV_SUBTYPES.get(str(bit_depth), "PCM_16")
        elif fmt == "flac":
            subtype = "PCM_24" if str(bit_depth) in ("24", "float", "32") else "PCM_16"
        else:
            subtype = "VORBIS"
        self.clip = subtype != "FLOAT"
        self._fh = sf.SoundFile(str(self.path), "w", sample_rate, self.channels, subtype=subtype,
                                format=fmt.upper())

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (``(channels, frames)`` or 1-D for mono)."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[None, :]
        if block.shape[0] != self.channels:
            raise ValueError(f"block has {block.shape[0]} channels, the file {self.channels}")
        if not np.isfinite(block).all():
            block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
        self.frames += block.shape[1]
        for start in range(0, block.shape[1], WRITE_BLOCK):
            # in pieces: libsndfile 1.2 segfaults on a single Vorbis write of ~2.5 M frames or more
            frames = block[:, start:start + WRITE_BLOCK].T
            if self.clip:
                frames = np.clip(frames, -1.0, 1.0)
            if self._mp3 is not None:
                self._mp3.write(frames)
            else:
                self._fh.write(frames)

    def close(self) -> Path:
        if self._mp3 is not None:
            self._mp3.close()
            self._mp3 = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        return self.path

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Mp3Stream:
    """MP3 through lame (lameenc), fed block by block: libsndfile's MP3 writer is not in every build.

    Rates lame does not take are resampled on the way (soxr's streaming resampler); more than two
    channels keep the first two.
    """

    def __init__(self, path: Path, sample_rate: int, channels: int, bitrate: int) -> None:
        import lameenc

        self.out = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.channels = min(channels, 2)
        self.resampler = None
        if sample_rate not in MP3_RATES:
            import soxr

            target = 44100 if sample_rate > 24000 else 22050
            self.resampler = soxr.ResampleStream(sample_rate, target, self.channels, dtype="float32",
                                                 quality="HQ")
            sample_rate = target
        self.enc = lameenc.Encoder()
        self.enc.set_bit_rate(int(bitrate))
        self.enc.set_in_sample_rate(int(sample_rate))
        self.enc.set_channels(self.channels)
        self.enc.set_quality(2)

    def write(self, frames: np.ndarray, last: bool = False) -> None:
        frames = np.ascontiguousarray(frames[:, :self.channels])
        if self.resampler is not None:
            frames = self.resampler.resample_chunk(frames, last=last)
        pcm = (np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2")
        self.out.write(bytes(self.enc.encode(pcm.tobytes())))

    def close(self) -> None:
        if self.resampler is not None:
            self.write(np.zeros((0, self.channels), np.float32), last=True)
        self.out.write(bytes(self.enc.flush()))
        self.out.close()


def _probe_with_ffmpeg(path: Path, fmt: str) -> AudioInfo:
    with tempfile.TemporaryDirectory(prefix="moodmix-ff-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        _ffmpeg_decode(path, wav)
        raw = sf.info(str(wav))
        return AudioInfo(fmt, int(raw.samplerate), int(raw.channels), int(raw.frames),
                         raw.frames / raw.samplerate, "aac")


def _ffmpeg_decode(src: Path, dst: Path) -> None:
    exe = ffmpeg_path()
    if exe is None:
        raise MissingTool("m4a/aac audio needs ffmpeg, which is not installed on this server "
                          "(install the 'ffmpeg' package)")
    proc = subprocess.run(
        [exe, "-nostdin", "-v", "error", "-y", "-i", str(src), "-vn", "-f", "wav", "-c:a", "pcm_f32le",
         "-t", "7200", str(dst)],
        capture_output=True, timeout=600,
    )
    if proc.returncode != 0 or not dst.exists():
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        reason = msg[-1].replace(str(src), "the file") if msg else "ffmpeg failed"
        raise AudioError(f"cannot decode file: {reason[:200]}", code="corrupt_audio")


_OPENING = re.compile(r"Error opening '[^']*': ")
_QUOTED_PATH = re.compile(r"'(?:/|[A-Za-z]:\\)[^']*'")


def _short(exc: BaseException) -> str:
    """libsndfile's reason, without the server-side path it quotes (clients must not see temp paths)."""
    text = str(exc).strip().splitlines()
    reason = text[-1] if text else type(exc).__name__
    reason = _QUOTED_PATH.sub("the file", _OPENING.sub("", reason)).strip()
    return (reason or type(exc).__name__)[:200]
