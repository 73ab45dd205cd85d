"""A generated corpus of malformed, hostile and odd-but-valid audio files.

    python tests/hardening/corpus.py OUT_DIR      # write every case to OUT_DIR (and list them)

Each :class:`Case` says what a careful server must do with it: ``reject`` (a 4xx with one
of ``codes``), ``accept`` (it is valid audio: a job on it must then succeed or fail cleanly),
or ``either``. Everything is built in memory from code — no fixtures to download — and the
biggest case (one hour of 8 kHz 8-bit silence) is 28.8 MB.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from flac_craft import silent_flac

RATE = 8000
ID3_TAG = b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16  # an empty 16-byte ID3v2.4 tag
BAD_AUDIO = frozenset({"corrupt_audio", "truncated_audio", "unsupported_format", "empty_audio", "empty_file",
                       "bad_sample_rate", "bad_channels", "non_finite_audio", "bad_levels"})


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    data: bytes
    expect: str  # reject | accept | either
    why: str
    codes: frozenset[str] = field(default=BAD_AUDIO)
    #: For accepted uploads: the name the server must keep (readable, made safe).
    stored_name: str | None = None


# ---- building blocks ------------------------------------------------------------------------------

def tone(seconds: float = 1.0, rate: int = RATE, channels: int = 1) -> np.ndarray:
    """A quiet 440 Hz tone shaped ``(frames, channels)``."""
    t = np.arange(int(seconds * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def encode(audio: np.ndarray, rate: int = RATE, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def wav_header(*, channels: int = 1, rate: int = RATE, bits: int = 16, fmt_tag: int = 1, data_len: int = 0,
               riff_len: int | None = None, block_align: int | None = None, extra: bytes = b"",
               magic: bytes = b"RIFF", form: bytes = b"WAVE") -> bytes:
    """A canonical RIFF/WAVE header whose every field can lie; ``extra`` chunks go before ``data``."""
    align = block_align if block_align is not None else channels * max(1, bits // 8)
    fmt = struct.pack("<HHIIHH", fmt_tag, channels & 0xFFFF, rate & 0xFFFFFFFF, (rate * align) & 0xFFFFFFFF,
                      align & 0xFFFF, bits)
    body = form + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra + b"data" + struct.pack("<I", data_len)
    size = riff_len if riff_len is not None else len(body) + data_len
    return magic + struct.pack("<I", size & 0xFFFFFFFF) + body


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def chunk(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


def mp3_bytes(seconds: float = 1.0) -> bytes:
    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(64)
    enc.set_in_sample_rate(16000)
    enc.set_channels(1)
    pcm = (tone(seconds, 16000)[:, 0] * 32767).astype("<i2").tobytes()
    return bytes(enc.encode(pcm) + enc.flush())


def float_wav(values: np.ndarray, rate: int = RATE) -> bytes:
    """An IEEE-float WAV holding ``values`` exactly (soundfile writes NaN/inf as given)."""
    return encode(values.astype(np.float32)[:, None], rate, "WAV", "FLOAT")


# ---- the cases ------------------------------------------------------------------------------------

def _structure_cases() -> list[Case]:
    good = encode(tone(1.0), subtype="PCM_16")
    data = pcm16(tone(0.5)[:, 0])
    return [
        Case("empty", "empty.wav", b"", "reject", "zero bytes", frozenset({"empty_file"})),
        Case("one_byte", "one.wav", b"R", "reject", "a single byte"),
        Case("header_only_wav", "header.wav", good[:44], "reject", "44-byte header, audio cut off",
             frozenset({"truncated_audio"})),
        Case("truncated_wav", "cut.wav", good[: len(good) // 2], "reject", "upload cut in half",
             frozenset({"truncated_audio"})),
        Case("wrong_magic", "song.wav", b"RIFX" + good[4:8] + b"WAVX" + good[12:], "reject",
             "RIFF replaced by garbage magic", frozenset({"unsupported_format"})),
        Case("text_as_mp3", "notes.mp3", b"this is not audio, just text\n" * 50, "reject", "text named .mp3",
             frozenset({"unsupported_format"})),
        Case("raw_pcm_no_header", "raw.wav", data, "reject", "headerless PCM", frozenset({"unsupported_format"})),
        Case("huge_declared_length", "huge.wav", wav_header(data_len=0xFFFFFFF0) + data, "reject",
             "data chunk claims 4 GB, holds 8 KB", frozenset({"truncated_audio"})),
        Case("streaming_sentinel_length", "stream.wav", wav_header(data_len=0xFFFFFFFF, riff_len=0xFFFFFFFF) + data,
             "either", "data length 0xFFFFFFFF (streamed WAV): sizes unknown, audio follows"),
        Case("zero_data_chunk", "zero.wav", wav_header(data_len=0), "reject", "a data chunk of 0 bytes"),
        Case("no_data_chunk", "nodata.wav", wav_header(data_len=0)[:-8], "reject", "fmt chunk, no data chunk"),
        Case("zero_channels", "zeroch.wav", wav_header(channels=0, block_align=2, data_len=len(data)) + data,
             "reject", "fmt declares 0 channels"),
        Case("65535_channels", "manych.wav", wav_header(channels=65535, data_len=len(data)) + data, "reject",
             "fmt declares 65535 channels"),
        Case("33_channels", "ch33.wav", encode(tone(0.1, channels=33), fmt="WAV", subtype="PCM_16"), "reject",
             "33 channels: over the 32-channel limit", frozenset({"bad_channels"})),
        Case("zero_sample_rate", "zerohz.wav", wav_header(rate=0, data_len=len(data)) + data, "reject",
             "0 Hz sample rate (demucs' reader panics on it)"),
        Case("one_hz_sample_rate", "onehz.wav", wav_header(rate=1, data_len=len(data)) + data, "reject",
             "1 Hz sample rate", frozenset({"bad_sample_rate"})),
        Case("max_uint_sample_rate", "maxhz.wav", wav_header(rate=0xFFFFFFFF, data_len=len(data)) + data, "reject",
             "4294967295 Hz sample rate"),
        Case("768k_sample_rate", "768k.wav", wav_header(rate=768_000, data_len=len(data)) + data, "reject",
             "768 kHz: above the 384 kHz limit", frozenset({"bad_sample_rate"})),
        Case("bits_per_sample_7", "bits7.wav", wav_header(bits=7, data_len=len(data)) + data, "either",
             "7-bit PCM declared"),
        Case("block_align_zero", "align0.wav", wav_header(block_align=0, data_len=len(data)) + data, "either",
             "block_align 0 (division by zero bait)"),
        Case("unknown_codec_tag", "codec.wav", wav_header(fmt_tag=0x1234, data_len=len(data)) + data, "reject",
             "fmt tag 0x1234: no such codec"),
        Case("chunk_past_eof", "list.wav", good[:36] + b"LIST" + struct.pack("<I", 0x7FFFFFF0) + b"x" * 64, "reject",
             "a LIST chunk claiming 2 GB, no data chunk"),
        Case("many_tiny_chunks", "chunky.wav",
             wav_header(extra=b"junk\x00\x00\x00\x00" * 100_000, data_len=len(data)) + data, "either",
             "100,000 empty chunks before the audio (parser loop bait)"),
    ]


def _sample_cases() -> list[Case]:
    mixed = tone(1.0)[:, 0].copy()
    mixed[4000] = np.nan
    return [
        Case("nan_samples", "nan.wav", float_wav(np.full(1000, np.nan)), "reject", "every sample NaN",
             frozenset({"non_finite_audio"})),
        Case("inf_samples", "inf.wav", float_wav(np.array([np.inf, -np.inf] * 500)), "reject", "±inf samples",
             frozenset({"non_finite_audio"})),
        Case("one_nan_in_the_middle", "onenan.wav", float_wav(mixed), "reject", "one NaN among 8000 samples",
             frozenset({"non_finite_audio"})),
        Case("huge_float_values", "loud.wav", float_wav(np.full(8000, 3.0e38)), "reject",
             "finite but absurd float samples (3e38): DSP on them overflows to inf", frozenset({"bad_levels"})),
        Case("hot_float_values", "hot.wav", float_wav(tone(1.0)[:, 0] * 20), "accept",
             "float samples peaking at +16 dBFS: legal in float formats"),
        Case("subnormal_floats", "denorm.wav", float_wav(np.full(8000, 1e-40)), "accept", "subnormal floats"),
        Case("one_sample", "one_sample.wav", encode(np.array([[0.5]], np.float32)), "either", "a single frame"),
        Case("one_sample_flac", "one_sample.flac", encode(np.array([[0.5]], np.float32), fmt="FLAC"), "either",
             "a single frame of FLAC"),
        Case("dc_full_scale", "dc.wav", encode(np.ones((8000, 1), np.float32), subtype="PCM_16"), "accept",
             "constant full-scale DC"),
        Case("digital_silence_1s", "silence.wav", encode(np.zeros((8000, 1), np.float32)), "accept",
             "one second of zeros"),
        Case("384k_sample_rate", "384k.wav", encode(tone(0.25, 384_000), 384_000), "accept",
             "384 kHz: the highest rate allowed"),
        Case("4k_sample_rate", "4k.wav", encode(tone(1.0, 4000), 4000), "accept", "4 kHz: the lowest rate allowed"),
        Case("32_channels", "ch32.wav", encode(tone(0.25, channels=32), subtype="PCM_16"), "accept",
             "32 channels: the limit"),
        Case("ulaw_wav", "ulaw.wav", encode(tone(1.0), subtype="ULAW"), "accept", "µ-law WAV"),
        Case("ima_adpcm_wav", "adpcm.wav", encode(tone(1.0), subtype="IMA_ADPCM"), "accept", "IMA ADPCM WAV"),
        Case("u8_wav", "u8.wav", encode(tone(1.0), subtype="PCM_U8"), "accept", "unsigned 8-bit WAV"),
    ]


def _container_cases() -> list[Case]:
    flac = encode(tone(1.0), fmt="FLAC")
    mp3 = mp3_bytes(2.0)
    rng = np.random.default_rng(7)
    garbage = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    mp3_mangled = bytearray(mp3)
    mid = len(mp3) // 2
    mp3_mangled[mid: mid + 2000] = garbage[:2000]
    ogg = encode(tone(1.0), fmt="OGG", subtype="VORBIS")
    return [
        Case("flac_named_wav", "song.wav", flac, "accept", "valid FLAC with a .wav name (type is sniffed)"),
        Case("wav_named_exe", "setup.exe", encode(tone(1.0)), "accept", "valid WAV named .exe"),
        Case("truncated_flac", "cut.flac", flac[: len(flac) // 2], "either", "FLAC cut in half"),
        Case("flac_header_only", "head.flac", flac[:42], "reject", "STREAMINFO, no frames"),
        Case("flac_garbage_frames", "junk.flac", flac[:42] + garbage, "reject", "STREAMINFO then random bytes"),
        Case("mp3_garbage_frames", "junk.mp3", b"\xff\xfb\x90\x64" + garbage, "either",
             "an MPEG frame sync followed by noise"),
        Case("mp3_mangled_middle", "mangled.mp3", bytes(mp3_mangled), "either", "valid MP3, 2 KB of noise inside"),
        Case("mp3_valid", "ok.mp3", mp3, "accept", "a valid MP3 (lame)"),
        Case("id3_tag_only", "tag.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16, "reject",
             "an ID3 tag and nothing else"),
        Case("id3_then_wav", "tagged.mp3", ID3_TAG + encode(tone(0.5)), "reject",
             "an ID3 tag hiding a WAV: it is not the MP3 it claims to be", frozenset({"unsupported_format"})),
        Case("id3_then_au", "tagged2.mp3", ID3_TAG + encode(tone(0.5), fmt="AU", subtype="PCM_16"), "reject",
             "an ID3 tag smuggling Sun AU past the sniffer into another libsndfile parser",
             frozenset({"unsupported_format"})),
        Case("ogg_garbage", "junk.ogg", b"OggS" + garbage, "reject", "Ogg magic then noise"),
        Case("ogg_vorbis_truncated", "cut.ogg", ogg[: len(ogg) // 2], "either", "Ogg Vorbis cut in half"),
        Case("aiff_truncated", "cut.aiff", encode(tone(1.0), fmt="AIFF")[:200], "either", "AIFF cut short"),
        Case("fake_m4a", "song.m4a", b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00" + garbage[:4000], "reject",
             "an ftyp box then noise (ffmpeg path)",
             frozenset({*BAD_AUDIO, "missing_tool"})),
        Case("fake_webm", "clip.webm", b"\x1a\x45\xdf\xa3" + garbage[:4000], "reject", "EBML magic then noise",
             frozenset({*BAD_AUDIO, "missing_tool"})),
        Case("rf64_valid", "big.wav", encode(tone(1.0), fmt="RF64", subtype="PCM_16"), "accept", "an RF64 file"),
        Case("rf64_lying_ds64", "bad64.wav", _rf64_lying(), "either",
             "RF64 whose ds64 claims 2^62 bytes (libsndfile trusts the file size)"),
        Case("w64_disguised", "w64.wav", encode(tone(0.5), fmt="W64"), "reject", "Sony Wave64: not a format we take",
             frozenset({"unsupported_format"})),
    ]


def _rf64_lying() -> bytes:
    raw = bytearray(encode(tone(0.5), fmt="RF64", subtype="PCM_16"))
    pos = raw.find(b"ds64")
    struct.pack_into("<QQ", raw, pos + 8, 1 << 62, 1 << 62)  # RIFF size and data size
    return bytes(raw)


def _bomb_cases() -> list[Case]:
    hour = 3600
    return [
        Case("silence_1h_u8_wav", "hour.wav", wav_header(bits=8, data_len=hour * RATE) + b"\x80" * (hour * RATE),
             "reject", "one hour of 8 kHz 8-bit silence (28.8 MB): over the 20-minute limit",
             frozenset({"too_long"})),
        Case("silence_1h_flac", "hour.flac", silent_flac(hour, RATE), "reject",
             "one hour of silence in ~85 KB of FLAC", frozenset({"too_long"})),
        Case("flac_bomb_3h_48k", "bomb.flac", silent_flac(3 * hour, 48_000), "reject",
             "1.7 MB of FLAC that decodes to 2 GB of samples", frozenset({"too_long"})),
        Case("flac_bomb_lying_streaminfo", "liar.flac", silent_flac(3 * hour, 48_000, declared_samples=48_000),
             "either", "STREAMINFO says 1 s, the frames hold 3 h: only the declared second may be decoded"),
        Case("flac_unknown_length", "unknown.flac", silent_flac(hour, RATE, declared_samples=0), "reject",
             "STREAMINFO total 0 (unknown) over an hour of frames", frozenset({"too_long", *BAD_AUDIO})),
        Case("ogg_vorbis_25min_silence", "long.ogg", _ogg_silence(25 * 60), "reject",
             "25 minutes of Ogg Vorbis silence in a few KB", frozenset({"too_long"})),
    ]


def _ogg_silence(seconds: int) -> bytes:
    """Written block by block: libsndfile 1.2 segfaults on one big Vorbis write (see audio_io.save_audio)."""
    buf = io.BytesIO()
    block = np.zeros((65536, 1), np.float32)
    with sf.SoundFile(buf, "w", 4000, 1, format="OGG", subtype="VORBIS") as fh:
        for _ in range(seconds * 4000 // len(block)):
            fh.write(block)
    return buf.getvalue()


def _polyglot_cases() -> list[Case]:
    wav = encode(tone(0.5))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("payload.txt", "x" * 100_000)
        zf.writestr("../../evil.sh", "#!/bin/sh\nrm -rf /\n")
    html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    data = pcm16(tone(0.5)[:, 0])
    return [
        Case("wav_zip_polyglot", "poly.wav", wav + zbuf.getvalue(), "either", "a WAV that is also a zip archive"),
        Case("zip_named_wav", "archive.wav", zbuf.getvalue(), "reject", "a zip (with a traversal entry) named .wav",
             frozenset({"unsupported_format"})),
        Case("wav_html_polyglot", "page.wav", wav_header(extra=chunk(b"html", html), data_len=len(data)) + data,
             "accept", "a WAV carrying an HTML/script chunk: must be served as audio, never as HTML"),
        Case("html_with_riff_head", "page.html", b"RIFF\x00\x10\x00\x00WAVE" + html, "reject",
             "RIFF/WAVE magic over an HTML page"),
        Case("pdf_named_flac", "doc.flac", b"%PDF-1.7\n" + b"0" * 4000, "reject", "a PDF named .flac",
             frozenset({"unsupported_format"})),
    ]


def _name_cases() -> list[Case]:
    """Valid audio under names from every script (the server once refused anything outside Latin-1)."""
    wav = encode(tone(0.5))
    named = [("cjk", "名前.wav", "名前.wav"), ("en_dash", "a–b.wav", "a–b.wav"),
             ("emoji", "song 🎵.wav", "song 🎵.wav"),
             ("hebrew", "שיר חדש.wav", "שיר חדש.wav"), ("arabic", "أغنية.wav", "أغنية.wav"),
             ("accented", "café.wav", "café.wav"), ("rtl_override", "evil\u202egnp.wav", "evilgnp.wav"),
             ("long_unicode", "ü" * 400 + ".wav", "ü" * 196 + ".wav"), ("path_in_name", "../../x/名前.wav", "名前.wav")]
    return [Case(f"name_{key}", filename, wav, "accept", f"valid WAV named {filename[:40]!r}", stored_name=stored)
            for key, filename, stored in named]


BUILDERS: tuple[Callable[[], list[Case]], ...] = (_name_cases, _structure_cases, _sample_cases, _container_cases,
                                                  _bomb_cases, _polyglot_cases)


def build_corpus() -> list[Case]:
    """Every case, with unique names."""
    cases = [c for build in BUILDERS for c in build()]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "corpus case names must be unique"
    return cases


def write_corpus(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in build_corpus():
        path = out_dir / f"{case.name}{Path(case.filename).suffix}"
        path.write_bytes(case.data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "malformed-audio")
    for case, path in zip(build_corpus(), write_corpus(target), strict=True):
        print(f"{case.expect:7s} {len(case.data):>10,d} B  {path.name:32s} {case.why}")
