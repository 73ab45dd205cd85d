"""Upload names in any script stay readable; dangerous characters go; extensions survive cutting."""

from __future__ import annotations

import pytest

from moodmix.engine.filenames import MAX_NAME_CHARS, safe_filename


@pytest.mark.parametrize("given", ["名前.wav", "a–b.wav", "café.wav", "song 🎵.wav", "שיר.wav", "أغنية.mp3",
                                   "Ünïcödé (live) [2024].flac"])
def test_readable_names_are_kept(given):
    assert safe_filename(given, "wav") == given


def test_decomposed_accents_are_composed():
    assert safe_filename("cafe\u0301.wav", "wav") == "café.wav"


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\song.wav", "song.wav"),
    ("evil\u202egnp.wav", "evilgnp.wav"),  # a right-to-left override would flip the shown extension
    ("a\x00b\r\n.wav", "ab.wav"),
    ('what?*"<>|.wav', "what______.wav"),
    ("  ..hidden.wav  ", "hidden.wav"),
    ("", "upload.mp3"),
    (None, "upload.mp3"),
    ("....", "upload.mp3"),
    ("///", "upload.mp3"),
])
def test_unsafe_parts_are_removed(given, expected):
    assert safe_filename(given, "mp3") == expected


def test_long_names_keep_their_extension():
    name = "ü" * 500 + ".flac"
    out = safe_filename(name, "wav")
    assert len(out) == MAX_NAME_CHARS and out.endswith(".flac")
    assert safe_filename("x" * 300, "wav") == "x" * MAX_NAME_CHARS
