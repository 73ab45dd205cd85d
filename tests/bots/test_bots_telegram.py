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


async def _menu(fake, user, data: bytes, **kwargs):
    """Send a track and wait for the keyboard the bot attaches to its status message."""
    mark = len(fake.calls)
    await fake.send_audio(user, data, **kwargs)
    return await fake.wait_for("editMessageText", lambda c: "reply_markup" in c.fields, after=mark)


def _buttons(menu) -> list[str]:
    return [b["callback_data"] for row in menu.json("reply_markup")["inline_keyboard"] for b in row]


async def test_help_lists_engine_capabilities_and_genres(telegram, core):
    fake, _ = telegram
    commands = await fake.wait_for("setMyCommands")
    names = {c["command"] for c in commands.json("commands")}
    assert {"help", "jobs", "link", "remix", "stems", "mood", "analyze", "generate"} <= names
    await fake.send_text(fake.user(1001), "/start")
    reply = await fake.wait_for("sendMessage")
    catalog = await core.catalog()
    assert "/remix [genre]" in reply.fields["text"] and "/generate <prompt>" in reply.fields["text"]
    assert all(g in reply.fields["text"] for g in catalog.genre_names(catalog.capability("remix")))


async def test_bad_files_get_clear_messages(telegram, tmp_path):
    fake, _ = telegram
    ann = fake.user(1001)
    await fake.send_audio(ann, b"%PDF-1.4 not music", file_name="notes.pdf", mime="application/pdf",
                          as_document=True)
    reply = await fake.wait_for("sendMessage", lambda c: "notes.pdf" in c.fields["text"])
    assert "not an audio file" in reply.fields["text"]
    await fake.send_audio(ann, b"\x00" * 100, file_name="huge.wav", size=25 * 1024 * 1024)
    reply = await fake.wait_for("sendMessage", lambda c: "huge.wav" in c.fields["text"])
    assert "25.0 MB" in reply.fields["text"] and "at most 20 MB" in reply.fields["text"]
    await fake.send_audio(ann, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 50, file_name="broken.wav",
                          as_document=True)
    edit = await fake.wait_for("editMessageText", lambda c: "broken.wav" in c.fields["text"])
    assert edit.fields["text"].startswith("⚠️ I can't use") and "reply_markup" not in edit.fields
    assert not fake.of("sendAudio")


async def test_unknown_genre_and_pending_command(telegram, demo_track):
    fake, _ = telegram
    ann = fake.user(1001)
    await fake.send_text(ann, "/remix polka")
    reply = await fake.wait_for("sendMessage", lambda c: "polka" in c.fields["text"])
    assert "unknown genre 'polka'; choose one of:" in reply.fields["text"]
    await fake.send_text(ann, "/nosuchthing")
    assert "/help" in (await fake.wait_for("sendMessage", lambda c: "nosuchthing" in c.fields["text"])
                       ).fields["text"]
    await fake.send_text(ann, "/analyze")
    await fake.wait_for("sendMessage", lambda c: "Send me the track for analyze" in c.fields["text"])
    mark = len(fake.calls)
    await fake.send_audio(ann, demo_track.read_bytes())  # no keyboard: the pending /analyze runs
    done = await fake.wait_for("editMessageText", lambda c: c.fields["text"].startswith("✅ analyze finished"),
                               after=mark, timeout=60)
    assert "BPM" in done.fields["text"]  # the capability's own summary line
    assert not [c for c in fake.of("editMessageText", mark) if "reply_markup" in c.fields]


async def test_second_request_while_one_runs_and_other_users_buttons(telegram, tmp_path):
    from moodmix.engine.demo import write_demo_track

    fake, _ = telegram
    ann, bob = fake.user(1001), fake.user(1002, "Bob")
    # Bytes no other test has processed (a reused result would finish at once), long enough that the
    # job is still running when the second press arrives.
    menu = await _menu(fake, ann, write_demo_track(tmp_path / "unique.wav", seconds=30.75).read_bytes())
    stems = next(d for d in _buttons(menu) if d.startswith("a:") and d.endswith(":stems"))
    analyze = next(d for d in _buttons(menu) if d.endswith(":analyze"))
    mark = len(fake.calls)
    await fake.press(bob, menu, stems)
    alert = await fake.wait_for("answerCallbackQuery", after=mark)
    assert "someone else's upload" in alert.fields["text"] and alert.fields["show_alert"] == "true"
    await fake.press(ann, menu, stems)
    await fake.wait_for("answerCallbackQuery", lambda c: "starting" in c.fields.get("text", ""), after=mark)
    await fake.press(ann, menu, analyze)
    busy = await fake.wait_for(
        "answerCallbackQuery", lambda c: "already have a job running" in c.fields.get("text", ""),
        after=mark)
    assert busy.fields["show_alert"] == "true"
    await fake.wait_for("sendAudio", after=mark, timeout=60)
    await fake.send_text(bob, "/jobs")
    assert (await fake.wait_for("sendMessage", lambda c: c.fields["chat_id"] == "1002", after=mark)
            ).fields["text"].startswith("You have no jobs yet")
    await fake.send_text(ann, "/jobs")
    jobs = await fake.wait_for("sendMessage", lambda c: "Your last" in c.fields["text"], after=mark)
    assert "stems — succeeded" in jobs.fields["text"]


async def test_stems_zip_mood_picture_and_generate(telegram, tmp_path):
    import zipfile

    from moodmix.engine.demo import write_demo_track

    fake, _ = telegram
    ann = fake.user(1001)
    track = write_demo_track(tmp_path / "six.wav", seconds=6).read_bytes()
    menu = await _menu(fake, ann, track)
    mark = len(fake.calls)
    await fake.press(ann, menu, next(d for d in _buttons(menu) if d.startswith("z:") and d.endswith(":stems")))
    doc = await fake.wait_for("sendDocument", after=mark, timeout=60)
    name, data = doc.files["document"]
    (tmp_path / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / name) as zf:
        assert {"drums", "bass", "other"} <= {n.split(".")[0] for n in zf.namelist()}
    mark = len(fake.calls)
    await fake.press(ann, menu, next(d for d in _buttons(menu) if d.endswith(":mood")))
    photo = await fake.wait_for("sendPhoto", after=mark, timeout=60)
    assert photo.files["photo"][1].startswith(b"\x89PNG")
    summary = await fake.wait_for("editMessageText", lambda c: c.fields["text"].startswith("✅ mood finished"),
                                   after=mark)
    assert "mood " in summary.fields["text"] and "confidence" in summary.fields["text"]
    mark = len(fake.calls)
    await fake.send_text(ann, "/generate calm piano with rain 3")
    audio = await fake.wait_for("sendAudio", after=mark, timeout=60)
    info = _probe_bytes(tmp_path, audio.files["audio"][1], "gen.mp3")
    assert abs(info.duration - 3.0) < 0.5
    text = (await fake.wait_for("editMessageText", lambda c: c.fields["text"].startswith("✅ generate finished"),
                                after=mark)).fields["text"]
    assert "3.0 s of" in text  # the capability's own summary line


async def test_link_command(telegram, service):
    fake, _ = telegram
    web = await service.register(username="webann", password="correct horse 1")
    code = (await service.create_link_code(web["id"]))["code"]
    await fake.send_text(fake.user(1001), f"/link {code}")
    reply = await fake.wait_for("sendMessage")
    assert "Linked" in reply.fields["text"] and "webann" in reply.fields["text"]
    assert (await service.chat_user("telegram", "1001"))["id"] == web["id"]
    await fake.send_text(fake.user(1001), "/link NOPE")
    bad = await fake.wait_for("sendMessage", lambda c: c is not reply)
    assert "unknown or expired" in bad.fields["text"]


async def test_genre_press_previews_first_then_full_track_and_another_genre(telegram, demo_track, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr("moodmix.bots.core.PREVIEW_SECONDS", 2.0)  # a preview of the 4-s demo track
    fake, _ = telegram
    ann = fake.user(1001)
    menu = await _menu(fake, ann, demo_track.read_bytes())
    genre = next(d for d in _buttons(menu) if d.startswith("g:"))
    mark = len(fake.calls)
    await fake.press(ann, menu, genre)
    await fake.press(ann, menu, genre)  # a double tap: answered, one job
    answers = [await fake.wait_for("answerCallbackQuery", after=mark),
               await fake.wait_for("answerCallbackQuery", lambda c: "already on it" in c.fields.get("text", ""),
                                   after=mark)]
    assert len(answers) == 2
    preview = await fake.wait_for("sendAudio", after=mark, timeout=60)
    info = _probe_bytes(tmp_path, preview.files["audio"][1], "preview.mp3")
    assert abs(info.duration - 2.0) < 0.2  # the preview, not the track
    summary = await fake.wait_for("editMessageText", lambda c: c.fields["text"].startswith("✅ remix finished"),
                                  after=mark)
    assert "preview, 2 s from" in summary.fields["text"]
    like = await fake.wait_for("sendMessage", lambda c: "reply_markup" in c.fields, after=mark)
    buttons = [b["callback_data"] for row in like.json("reply_markup")["inline_keyboard"] for b in row]
    assert any(b.startswith("f:") for b in buttons) and any(b.startswith("n:") for b in buttons)
    assert any(b.startswith("a:") and b.endswith(":stems") for b in buttons)  # a split, from the catalog
    assert len(fake.of("sendAudio", mark)) == 1
    mark = len(fake.calls)
    like.fields["message_id"] = str(like.result["message_id"])
    await fake.press(ann, like, next(b for b in buttons if b.startswith("n:")))
    again = await fake.wait_for("sendMessage", lambda c: "another genre" in c.fields["text"], after=mark)
    assert any(b.startswith("g:") for row in again.json("reply_markup")["inline_keyboard"]
               for b in [x["callback_data"] for x in row])
    await fake.press(ann, like, next(b for b in buttons if b.startswith("f:")))
    full = await fake.wait_for("sendAudio", after=mark, timeout=60)
    info = _probe_bytes(tmp_path, full.files["audio"][1], "full.mp3")
    assert abs(info.duration - 4.0) < 0.3  # the whole track


async def test_genres_cancel_and_private_progress(telegram, core, ann):
    from moodmix.bots.core import public_reason

    fake, _ = telegram
    await fake.send_text(fake.user(1001), "/genres")
    reply = await fake.wait_for("sendMessage", lambda c: "Genres for" in c.fields["text"])
    catalog = await core.catalog()
    for genre in catalog.genres_for(catalog.capability("remix")):
        assert f"• {genre['name']} — " in reply.fields["text"]  # one line each, with what it is
    await fake.send_text(fake.user(1001), "/cancel")
    assert "Nothing to cancel" in (await fake.wait_for("sendMessage", lambda c: "cancel" in c.fields["text"])
                                   ).fields["text"]
    leaky = "separating stems (dsp: no weights in /home/ann/.cache/torch/hub/checkpoints/htdemucs.th)"
    assert public_reason(leaky) == "separating stems"
    assert "/home" not in public_reason("failed: /home/ann/x/y.wav is broken")
