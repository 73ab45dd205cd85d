"""Hand-made FLAC streams of digital silence, for bomb-like corpus cases.

Encoding hours of silence with libFLAC takes real CPU; a FLAC frame of one CONSTANT
subframe is a dozen bytes, so we write them directly: three hours at 48 kHz is ~1.6 MB
of file that decodes to half a billion samples, generated in well under a second.
"""

from __future__ import annotations

import struct

BLOCK = 4096
_BLOCK_CODE = 0b1100  # 256 * 2**(12 - 8) = 4096 samples per frame
_RATE_CODES = {8000: 0b0100, 16000: 0b0101, 22050: 0b0110, 24000: 0b0111, 32000: 0b1000,
               44100: 0b1001, 48000: 0b1010, 96000: 0b1011}


def _crc_table(bits: int, poly: int) -> list[int]:
    top, mask = 1 << (bits - 1), (1 << bits) - 1
    table = []
    for i in range(256):
        crc = i << (bits - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return table


_CRC8 = _crc_table(8, 0x07)
_CRC16 = _crc_table(16, 0x8005)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's "UTF-8" coding of the frame number (up to 31 bits here)."""
    if n < 0x80:
        return bytes([n])
    for length, limit in ((2, 0x800), (3, 0x10000), (4, 0x200000), (5, 0x4000000), (6, 0x80000000)):
        if n < limit:
            tail = [0x80 | ((n >> (6 * i)) & 0x3F) for i in range(length - 1)][::-1]
            first = ((0xFF << (8 - length)) & 0xFF) | (n >> (6 * (length - 1)))
            return bytes([first, *tail])
    raise ValueError("frame number too large")


def _streaminfo(rate: int, total_samples: int) -> bytes:
    """STREAMINFO: fixed 4096-sample blocks, mono, 16 bit; ``total_samples`` may lie (0 = unknown)."""
    packed = (rate << 44) | (0 << 41) | (15 << 36) | (total_samples & 0xFFFFFFFFF)
    body = struct.pack(">HH", BLOCK, BLOCK) + b"\x00\x00\x00" * 2 + packed.to_bytes(8, "big") + b"\x00" * 16
    return bytes([0x80]) + len(body).to_bytes(3, "big") + body  # last-metadata-block flag set


def _frame(number: int, rate_code: int) -> bytes:
    header = bytes([0xFF, 0xF8, (_BLOCK_CODE << 4) | rate_code, 0b0000_1000]) + _utf8_number(number)
    header += bytes([_crc8(header)])
    body = header + b"\x00" + b"\x00\x00"  # CONSTANT subframe, value 0 (16-bit)
    return body + _crc16(body).to_bytes(2, "big")


def silent_flac(seconds: float, rate: int = 8000, *, declared_samples: int | None = None) -> bytes:
    """Mono 16-bit FLAC holding ``seconds`` of silence; STREAMINFO claims ``declared_samples``."""
    frames = max(1, int(seconds * rate) // BLOCK)
    total = frames * BLOCK if declared_samples is None else declared_samples
    code = _RATE_CODES[rate]
    # Frames differ only in their number: build each once.
    return b"fLaC" + _streaminfo(rate, total) + b"".join(_frame(i, code) for i in range(frames))
