"""A plugin with a table, two migrations, settings and routes (tests/plugin_with_data), tested through
``moodmix.testing``'s fixtures, as its author would (plus this repository's Postgres helpers, to run the
same plugin on the production database)."""

from __future__ import annotations

import plugin_with_data
import pytest
from support import CONFIGS, PG_URL, require_services, reset_postgres


@pytest.fixture(autouse=True)
def notes(moodmix_plugin):
    return moodmix_plugin(plugin_with_data, name="notes")


async def test_each_user_stores_and_reads_their_own_rows(moodmix_client):
    alice, bob = await moodmix_client.signup("alice"), await moodmix_client.signup("bob")
    for text, pinned in (("buy strings", False), ("tune the bass", True)):
        resp = await moodmix_client.post("/api/v1/plugins/notes/notes", headers=alice,
                                         json={"text": text, "pinned": pinned})
        assert resp.status_code == 201, resp.text
    assert (await moodmix_client.post("/api/v1/plugins/notes/notes", headers=bob,
                                      json={"text": "practise"})).status_code == 201

    mine = (await moodmix_client.get("/api/v1/plugins/notes/notes", headers=alice)).json()
    assert mine == {"greeting": "Hello, alice", "notes": [{"text": "buy strings", "pinned": False},
                                                          {"text": "tune the bass", "pinned": True}]}
    theirs = (await moodmix_client.get("/api/v1/plugins/notes/notes", headers=bob)).json()
    assert theirs["notes"] == [{"text": "practise", "pinned": False}]


async def test_rows_need_a_token_and_bad_input_gets_the_envelope(moodmix_client):
    for method, kwargs in (("GET", {}), ("POST", {"json": {"text": "sneaky"}})):
        resp = await moodmix_client.request(method, "/api/v1/plugins/notes/notes", **kwargs)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_missing"
    headers = await moodmix_client.signup()
    empty = await moodmix_client.post("/api/v1/plugins/notes/notes", headers=headers, json={"text": "  "})
    assert empty.status_code == 422
    assert empty.json()["error"] == {"code": "bad_note", "message": "a note holds 1 to 200 characters"}
    malformed = await moodmix_client.post("/api/v1/plugins/notes/notes", headers=headers, json={"txt": "x"})
    assert malformed.status_code == 400 and malformed.json()["success"] is False
    assert (await moodmix_client.get("/api/v1/plugins/notes/notes", headers=headers)).json()["notes"] == []


@pytest.mark.parametrize("moodmix_env", [{"MOODMIX_PLUGINS__NOTES__GREETING": "Ahoy",
                                          "MOODMIX_PLUGINS__NOTES__MAX_LENGTH": "5"}])
async def test_settings_from_the_environment_change_the_answers(moodmix_client):
    assert (await moodmix_client.get("/api/v1/plugins/notes/greeting")).json()["greeting"] == "Ahoy"
    headers = await moodmix_client.signup("carol")
    assert (await moodmix_client.get("/api/v1/plugins/notes/notes", headers=headers)).json()["greeting"] == \
        "Ahoy, carol"
    long = await moodmix_client.post("/api/v1/plugins/notes/notes", headers=headers, json={"text": "too long"})
    assert long.status_code == 422 and "1 to 5 characters" in long.json()["error"]["message"]


async def test_default_settings_without_the_environment(moodmix_client):
    greeting = (await moodmix_client.get("/api/v1/plugins/notes/greeting")).json()
    assert greeting["greeting"] == "Hello" and greeting["capabilities"] >= 5


@pytest.mark.parametrize(("moodmix_env", "expected"), [({}, "Hello, Dana"),
                                                       ({"MOODMIX_PLUGINS__NOTES__GREETING": "Hi"}, "Hi, Dana")])
def test_run_gets_the_plugin_settings(moodmix_run, expected):
    assert moodmix_run("notes-greet", texts={"name": "Dana"}).data["summary"] == expected


@pytest.mark.parametrize("moodmix_env", [{"MOODMIX_PLUGINS__NOTES__MAX_LENGTH": "lots"}])
def test_a_bad_setting_is_refused_naming_its_key(moodmix_registry):
    with pytest.raises(ValueError, match=r"plugins\.notes\.max_length"):
        moodmix_registry()


async def test_routes_are_in_the_openapi_schema(moodmix_client):
    paths = (await moodmix_client.get("/schema/openapi.json")).json()["paths"]
    notes = paths["/api/v1/plugins/notes/notes"]
    assert set(notes) == {"get", "post"} and notes["get"]["tags"] == ["plugin: notes"]
    assert "401" in notes["post"]["responses"] and "422" in notes["post"]["responses"]
    assert paths["/api/v1/plugins/notes/greeting"]["get"].get("security") in (None, [], [{}])  # open
    assert notes["post"]["security"] == [{"bearer": []}]  # asks for `user`: a token



@pytest.mark.production
@pytest.mark.skipif("production" not in CONFIGS, reason="MOODMIX_TEST_CONFIGS leaves out production")
class TestOnPostgres:
    """The same plugin on Postgres (this session's private database, emptied first)."""

    @pytest.fixture
    async def moodmix_env(self, moodmix_env):
        require_services()
        await reset_postgres()
        return {**moodmix_env, "MOODMIX_DATABASE_URL": PG_URL}

    async def test_rows_per_user(self, moodmix_client):
        alice, bob = await moodmix_client.signup(), await moodmix_client.signup()
        assert (await moodmix_client.post("/api/v1/plugins/notes/notes", headers=alice,
                                          json={"text": "on postgres", "pinned": True})).status_code == 201
        assert (await moodmix_client.get("/api/v1/plugins/notes/notes", headers=alice)).json()["notes"] == [
            {"text": "on postgres", "pinned": True}]
        assert (await moodmix_client.get("/api/v1/plugins/notes/notes", headers=bob)).json()["notes"] == []
        assert moodmix_client.app.state.runtime.settings.database_url == PG_URL
