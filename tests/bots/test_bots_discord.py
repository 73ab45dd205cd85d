"""The Discord bot: real discord.py interaction handling against a local fake REST API and CDN."""

from __future__ import annotations

from fake_discord_api import EPHEMERAL, user_payload

from moodmix.engine import audio_io

ANN = user_payload(700000000000000001, "ann")


def feed(client, payload: dict) -> None:
    """Hand a gateway INTERACTION_CREATE payload to discord.py, as its websocket would."""
    client._connection.parse_interaction_create(payload)


async def test_commands_are_synced_from_the_engine(discord_bot, core):
    fake, _client = discord_bot
    names = {c["name"] for c in fake.commands}
    catalog = await core.catalog()
    assert {c["name"] for c in catalog.track_actions() + catalog.prompt_actions()} <= names
    assert {"jobs", "help", "link"} <= names
    remix = next(c for c in fake.commands if c["name"] == "remix")
    genre = next(o for o in remix["options"] if o["name"] == "genre")
    assert genre["autocomplete"] is True
    assert next(o for o in remix["options"] if o["name"] == "file")["type"] == 11  # attachment


async def test_remix_upload_genre_buttons_progress_and_audio(discord_bot, demo_track, tmp_path):
    fake, client = discord_bot
    att = fake.add_attachment("demo.wav", demo_track.read_bytes(), "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "remix", [{"name": "file", "type": 11, "value": att["id"]}], attachment=att))
    deferred = await fake.wait_for(lambda c: c.path.endswith("/callback"), after=mark)
    assert deferred.json["type"] == 5 and not deferred.flags & EPHEMERAL
    picker = await fake.wait_for(lambda c: c.method == "PATCH" and c.json.get("components"), after=mark)
    assert "pick a genre" in picker.content
    buttons = [b for row in picker.json["components"] for b in row["components"]]
    assert buttons and all(b["custom_id"].startswith("mm:") for b in buttons)
    mark = len(fake.calls)
    feed(client, fake.button_press(ANN, picker.result, buttons[0]["custom_id"]))
    ack = await fake.wait_for(lambda c: c.path.endswith("/callback"), after=mark)
    assert ack.json["type"] == 7  # update the message the buttons are on
    final = await fake.wait_for(lambda c: c.method == "PATCH" and c.files, after=mark, timeout=60)
    progress = [c.content for c in fake.since(mark) if c.method == "PATCH" and not c.files]
    assert any("%" in t for t in progress), progress
    assert final.content.startswith("✅ remix finished")
    name, data = next(f for f in final.files.values() if not f[0].endswith(".png"))
    path = tmp_path / name
    path.write_bytes(data)
    info = audio_io.probe(path)
    assert abs(info.duration - 4.0) < 0.3


BOB = user_payload(700000000000000002, "bob")


def _file_option(att: dict) -> dict:
    return {"name": "file", "type": 11, "value": att["id"]}


async def _ephemeral_reply(fake, mark: int, text: str):
    call = await fake.wait_for(lambda c: text in c.content and c.method == "POST", after=mark)
    assert call.flags & EPHEMERAL, call.json
    return call


async def test_genre_autocomplete_offers_engine_genres(discord_bot, core):
    fake, client = discord_bot
    catalog = await core.catalog()
    genre = catalog.genre_names(catalog.capability("remix"))[0]  # remix's own genre set
    att = fake.add_attachment("demo.wav", b"x", "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "remix", [_file_option(att),
                                             {"name": "genre", "type": 3, "value": genre[:3], "focused": True}],
                              attachment=att, kind=4))
    answer = await fake.wait_for(lambda c: c.path.endswith("/callback"), after=mark)
    assert answer.json["type"] == 8
    assert genre in [c["value"] for c in answer.json["data"]["choices"]]


async def test_bad_input_gets_ephemeral_answers(discord_bot, demo_track):
    fake, client = discord_bot
    mark = len(fake.calls)
    pdf = fake.add_attachment("notes.pdf", b"%PDF-1.4", "application/pdf")
    feed(client, fake.command(ANN, "stems", [_file_option(pdf)], attachment=pdf))
    await _ephemeral_reply(fake, mark, "is not an audio file")
    wav = fake.add_attachment("demo.wav", demo_track.read_bytes(), "audio/x-wav")
    feed(client, fake.command(ANN, "remix", [_file_option(wav), {"name": "genre", "type": 3, "value": "polka"}],
                              attachment=wav))
    await _ephemeral_reply(fake, mark, "unknown genre 'polka'")
    big = {**fake.add_attachment("big.wav", b"RIFF", "audio/x-wav"), "size": 500 * 1024 * 1024}
    feed(client, fake.command(ANN, "stems", [_file_option(big)], attachment=big))
    await _ephemeral_reply(fake, mark, "500.0 MB")
    broken = fake.add_attachment("broken.wav", b"RIFF\x10\x00\x00\x00WAVEjunk" * 40, "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "stems", [_file_option(broken)], attachment=broken))
    deleted = await fake.wait_for(lambda c: c.method == "DELETE", after=mark)
    assert deleted.path.endswith("/messages/@original")  # the public "thinking…" goes away…
    followup = await fake.wait_for(lambda c: c.method == "POST" and c.path.startswith("/webhooks/"), after=mark)
    assert followup.flags & EPHEMERAL and followup.content.startswith("⚠️")  # …for a private reason
    assert not [c for c in fake.since(mark) if c.method == "PATCH"]


async def test_second_request_while_running_and_jobs_scoping(discord_bot, tmp_path):
    from moodmix.engine.demo import write_demo_track

    fake, client = discord_bot
    # Bytes no other test has processed (a reused result would finish at once), long enough that the
    # job is still running — with persisted progress — when the second request arrives.
    data = write_demo_track(tmp_path / "unique.wav", seconds=30.25).read_bytes()
    first = fake.add_attachment("demo.wav", data, "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "stems", [_file_option(first)], attachment=first))
    await fake.wait_for(lambda c: c.method == "PATCH" and "%" in c.content, after=mark)
    second = fake.add_attachment("again.wav", data, "audio/x-wav")
    feed(client, fake.command(ANN, "analyze", [_file_option(second)], attachment=second))
    await _ephemeral_reply(fake, mark, "already have a job running")
    await fake.wait_for(lambda c: c.method == "PATCH" and c.files, after=mark, timeout=60)
    feed(client, fake.command(BOB, "jobs", []))
    await _ephemeral_reply(fake, mark, "no jobs yet")
    feed(client, fake.command(ANN, "jobs", []))
    listing = await _ephemeral_reply(fake, mark, "Your last")
    assert "stems — succeeded" in listing.content and "analyze" not in listing.content


async def test_other_users_cannot_press_my_genre_buttons(discord_bot, demo_track):
    fake, client = discord_bot
    att = fake.add_attachment("demo.wav", demo_track.read_bytes(), "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "remix", [_file_option(att)], attachment=att))
    picker = await fake.wait_for(lambda c: c.method == "PATCH" and c.json.get("components"), after=mark)
    custom_id = picker.json["components"][0]["components"][0]["custom_id"]
    mark = len(fake.calls)
    feed(client, fake.button_press(BOB, picker.result, custom_id))
    await _ephemeral_reply(fake, mark, "someone else's upload")
    assert not [c for c in fake.since(mark) if c.method == "PATCH"]


async def test_generate_too_big_for_the_chat_falls_back_to_a_link(discord_bot, service):
    fake, client = discord_bot
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "generate", [{"name": "prompt", "type": 3, "value": "calm piano"},
                                                {"name": "duration", "type": 10, "value": 3}],
                              size_limit=10_000))
    final = await fake.wait_for(lambda c: c.method == "PATCH" and "finished" in c.content, after=mark, timeout=60)
    assert not final.files
    assert "Too large for this chat" in final.content
    url = next(w for w in final.content.split() if w.startswith("http://moodmix.test/s/"))
    key, filename, _ = await service.open_share(url.rsplit("/", 1)[1])  # a working public share link
    assert filename.startswith("audio") and key


async def test_help_and_link(discord_bot, service):
    fake, client = discord_bot
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "help", []))
    help_ = await _ephemeral_reply(fake, mark, "moodmix")
    assert "/remix file [genre]" in help_.content and "/generate prompt" in help_.content
    web = await service.register(username="webann", password="correct horse 1")
    code = (await service.create_link_code(web["id"]))["code"]
    feed(client, fake.command(ANN, "link", [{"name": "code", "type": 3, "value": code}]))
    await _ephemeral_reply(fake, mark, "webann")
    assert (await service.chat_user("discord", ANN["id"]))["id"] == web["id"]


def _buttons_of(call) -> list[dict]:
    return [b for row in call.json.get("components") or [] for b in row["components"]]


async def test_genre_press_previews_first_double_press_and_full_track(discord_bot, demo_track, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr("moodmix.bots.core.PREVIEW_SECONDS", 2.0)  # a preview of the 4-s demo track
    fake, client = discord_bot
    att = fake.add_attachment("demo.wav", demo_track.read_bytes(), "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "remix", [_file_option(att)], attachment=att))
    picker = await fake.wait_for(lambda c: c.method == "PATCH" and c.json.get("components"), after=mark)
    custom_id = _buttons_of(picker)[0]["custom_id"]
    mark = len(fake.calls)
    feed(client, fake.button_press(ANN, picker.result, custom_id))
    feed(client, fake.button_press(ANN, picker.result, custom_id))  # a double click
    await fake.wait_for(lambda c: c.path.endswith("/callback") and c.json["type"] == 7, after=mark)
    again = await _ephemeral_reply(fake, mark, "Already on it")
    assert again.path.endswith("/callback")  # the second press is acknowledged, not left to fail
    preview = await fake.wait_for(lambda c: c.method == "PATCH" and c.files, after=mark, timeout=60)
    assert "preview, 2 s from" in preview.content
    name, data = next(f for f in preview.files.values() if not f[0].endswith(".png"))
    (tmp_path / name).write_bytes(data)
    assert abs(audio_io.probe(tmp_path / name).duration - 2.0) < 0.1
    buttons = {b["custom_id"].split(":")[1]: b for b in _buttons_of(preview)}
    assert {"full", "again", "split"} <= set(buttons)
    assert len([c for c in fake.since(mark) if c.files]) == 1  # one job ran, not two
    mark = len(fake.calls)
    feed(client, fake.button_press(ANN, preview.result, buttons["full"]["custom_id"]))
    deferred = await fake.wait_for(lambda c: c.path.endswith("/callback"), after=mark)
    assert deferred.json["type"] == 5  # a new message follows the full render; the preview stays
    full = await fake.wait_for(lambda c: c.method == "PATCH" and c.files, after=mark, timeout=60)
    name, data = next(f for f in full.files.values() if not f[0].endswith(".png"))
    (tmp_path / name).write_bytes(data)
    assert abs(audio_io.probe(tmp_path / name).duration - 4.0) < 0.3
    assert "preview" not in full.content and not full.json.get("components")


async def test_expired_token_and_refused_upload_still_deliver_the_result(discord_bot, demo_track, service):
    fake, client = discord_bot
    fake.token_lifetime_s = 0.3  # the job outlives the interaction token
    fake.max_request_bytes = 2_000  # and every upload is refused (413)
    att = fake.add_attachment("demo.wav", demo_track.read_bytes(), "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "remix", [_file_option(att), {"name": "genre", "type": 3, "value": "house"},
                                             {"name": "render", "type": 3, "value": "full"}], attachment=att))
    refused = await fake.wait_for(lambda c: c.path.startswith("/webhooks/") and c.method == "PATCH"
                                  and c.result.get("code") == 50027, after=mark, timeout=30)
    assert refused  # the edit through the expired token failed…
    final = await fake.wait_for(lambda c: c.path.startswith("/channels/") and "Download here" in c.content,
                                after=mark, timeout=60)
    assert final.result.get("code") is None  # …and the result went out with the bot token, as links
    assert [c for c in fake.since(mark) if c.files and c.result.get("code") == 40005]  # files were refused
    url = next(w for w in final.content.split() if w.startswith("http://moodmix.test/s/"))
    key, filename, _ = await service.open_share(url.rsplit("/", 1)[1])
    assert key and filename
    progress = [c.content for c in fake.since(mark) if "%" in c.content]
    assert progress and not any("/" in line.split("—", 1)[-1] for line in progress)  # no paths in public lines


async def test_genres_and_autocomplete_with_descriptions(discord_bot, core):
    fake, client = discord_bot
    names = {c["name"] for c in fake.commands}
    assert {"genres", "cancel"} <= names
    remix = next(c for c in fake.commands if c["name"] == "remix")
    render = next(o for o in remix["options"] if o["name"] == "render")
    assert {c["value"] for c in render["choices"]} == {"preview", "full"}
    att = fake.add_attachment("demo.wav", b"x", "audio/x-wav")
    mark = len(fake.calls)
    feed(client, fake.command(ANN, "remix", [_file_option(att),
                                             {"name": "genre", "type": 3, "value": "lo", "focused": True}],
                              attachment=att, kind=4))
    answer = await fake.wait_for(lambda c: c.path.endswith("/callback"), after=mark)
    choices = answer.json["data"]["choices"]
    assert choices and all(" — " in c["name"] and len(c["name"]) <= 100 for c in choices)
    feed(client, fake.command(ANN, "genres", []))
    listing = await _ephemeral_reply(fake, mark, "Genres for remix")
    catalog = await core.catalog()
    assert all(f"• {g} — " in listing.content for g in catalog.genre_names(catalog.capability("remix"))[:5])


async def test_a_press_no_view_handles_is_still_answered(discord_bot, demo_track):
    fake, client = discord_bot
    message = fake.message_payload(fake.next_id(), "old buttons")
    mark = len(fake.calls)
    feed(client, fake.button_press(ANN, message, "mm:deadbeef:remix:house"))  # e.g. from before a restart
    answer = await _ephemeral_reply(fake, mark, "expired")
    assert answer.path.endswith("/callback")
