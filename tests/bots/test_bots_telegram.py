"""The Telegram bot against a local fake Bot API server, with a real engine behind it."""

from __future__ import annotations

from moodmix.engine import audio_io


def _probe_bytes(tmp_path, data: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(data)
    return audio_io.probe(path)


async def test_audio_keyboard_genre_progress_and_result(telegram, demo_track, tmp_path):
    fake, _ = telegram
    ann = fake.user(1001)
    await fake.send_audio(ann, demo_track.read_bytes())
    receiving = await fake.wait_for("sendMessage", lambda c: "receiving" in c.fields["text"])
    menu = await fake.wait_for("editMessageText", lambda c: "reply_markup" in c.fields)
    assert int(menu.fields["message_id"]) == receiving.result["message_id"]  # one message, edited
    buttons = [b for row in menu.json("reply_markup")["inline_keyboard"] for b in row]
    datas = [b["callback_data"] for b in buttons]
    genre_buttons = [d for d in datas if d.startswith("g:")]
    assert any(d.endswith(":analyze") for d in datas) and genre_buttons
    mark = len(fake.calls)
    await fake.press(ann, menu, genre_buttons[0])
    answered = await fake.wait_for("answerCallbackQuery", after=mark)
    assert "starting" in answered.fields.get("text", "")
    audio_call = await fake.wait_for("sendAudio", after=mark, timeout=60)
    edits = [c.fields["text"] for c in fake.of("editMessageText", mark)]
    assert any("%" in t for t in edits), edits  # live progress
    assert any(t.startswith("✅") for t in edits)
    filename, data = audio_call.files["audio"]
    assert filename.endswith(".mp3")  # re-encoded: Telegram plays mp3 inline
    info = _probe_bytes(tmp_path, data, filename)
    assert info.format == "mp3" and abs(info.duration - 4.0) < 0.3
    assert audio_call.fields["chat_id"] == "1001"
