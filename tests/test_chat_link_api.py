"""Bots act for chat users with a service token; a chat account can be linked to a web account."""

from __future__ import annotations

from helpers import signup

from moodmix.engine import auth


async def test_service_token_acts_for_chat_users_and_links(api):
    secret = api.app.state.runtime.settings.secret_key
    service = {"Authorization": f"Bearer {auth.issue_token(secret, 'bots', kind='service')}"}
    tg = {**service, "X-Moodmix-Chat": "telegram:4242"}
    chat_user = (await api.get("/api/v1/auth/me", headers=tg)).json()["data"]
    assert chat_user["username"] == "telegram-4242"
    assert (await api.get("/api/v1/auth/me", headers=tg)).json()["data"]["id"] == chat_user["id"]
    # a user token cannot impersonate chat users
    web = await signup(api)
    assert (await api.get("/api/v1/auth/me", headers={**web, "X-Moodmix-Chat": "telegram:4242"})).status_code == 401
    code = (await api.post("/api/v1/auth/link-code", headers=web)).json()["data"]["code"]
    bad = await api.post("/api/v1/auth/link-chat", headers=tg, json={"code": "WRONG123"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_link_code"
    assert (await api.post("/api/v1/auth/link-chat", headers=web, json={"code": code})).status_code == 401
    linked = await api.post("/api/v1/auth/link-chat", headers=tg, json={"code": code})
    assert linked.status_code == 200, linked.text
    web_me = (await api.get("/api/v1/auth/me", headers=web)).json()["data"]
    assert (await api.get("/api/v1/auth/me", headers=tg)).json()["data"]["id"] == web_me["id"]
    again = await api.post("/api/v1/auth/link-chat", headers=tg, json={"code": code})
    assert again.status_code == 422, "codes are single use"
