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
