"""The API reference renders with no network, and a browser session survives a reload.

Every request to another host is aborted (and recorded), so a viewer that still needed a CDN
script, style or font would stay blank or fail the assertions. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from web_steps import sign_up

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then fails every test with the install commands
    expect = None

PASSWORD = "correct horse battery"


def offline(page, server: str) -> list[str]:
    """Abort every request that leaves the server; returns the list of those that tried."""
    host = urlsplit(server).netloc
    blocked: list[str] = []

    def handle(route):
        url = route.request.url
        if urlsplit(url).netloc == host or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", handle)
    return blocked


@pytest.mark.parametrize(("path", "viewer"), [("/schema", "redoc"), ("/schema/swagger", "swagger")])
def test_api_reference_renders_offline(page, server, artifacts, path, viewer):
    blocked = offline(page, server)
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(path)
    if viewer == "redoc":
        # ReDoc lists each operation by its summary in the side menu and as a heading.
        expect(page.get_by_role("heading", name="Upload").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("GetJob").first).to_be_attached()
    else:
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/jobs/{job_id}").first).to_be_visible(
            timeout=30_000)
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/files").first).to_be_visible()
    page.screenshot(path=str(artifacts / f"api-reference-{viewer}.png"), full_page=False)
    assert blocked == [], f"the reference tried to reach other hosts: {blocked}"
    # ReDoc's side menu shows Redocly's logo from a CDN address written into the bundle (no option turns it
    # off); the page's policy blocks it before any request leaves, and ReDoc then drops the image.
    csp_errors = [e for e in csp_errors if "cdn.redoc.ly/redoc/logo-mini.svg" not in e]
    assert csp_errors == [], csp_errors


def test_a_reload_keeps_the_session_and_reopens_the_last_track(page, server, tmp_path, artifacts):
    from moodmix.engine.demo import write_demo_track

    # A track of its own: the shared demo track's on-upload jobs would be answered from this one's
    # results in later tests (same bytes), and those tests watch progress rise from below 100 %.
    demo_track = write_demo_track(tmp_path / "reload-song.wav", seconds=4.0)
    username = f"reload_{uuid.uuid4().hex[:8]}"
    sign_up(page, username, PASSWORD)
    # Nothing that could act as a credential is stored where scripts can read it.
    storage = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert "eyJ" not in storage, storage  # no JWT
    assert page.evaluate("() => document.cookie") == ""  # the refresh cookie is HttpOnly
    cookie = next(c for c in page.context.cookies() if c["name"] == "moodmix_refresh")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/v1/auth"

    page.locator("#file-input").set_input_files(demo_track)
    expect(page.locator(".track-name")).to_have_text(demo_track.name, timeout=30_000)
    page.reload()
    expect(page.locator("#account-name")).to_have_text(username)
    expect(page.locator(".track-name")).to_have_text(demo_track.name)
    # A new tab of the same browser is signed in too.
    other = page.context.new_page()
    other.goto("/")
    expect(other.locator("#account-name")).to_have_text(username)
    other.close()
    page.screenshot(path=str(artifacts / "session-after-reload.png"))


def test_sign_out_revokes_the_refresh_token(page, server):
    username = f"signout_{uuid.uuid4().hex[:8]}"
    sign_up(page, username, PASSWORD)
    refresh = next(c for c in page.context.cookies() if c["name"] == "moodmix_refresh")["value"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#auth-view")).to_be_visible()
    page.reload()
    expect(page.locator("#auth-view")).to_be_visible()
    expect(page.locator("#account")).to_be_hidden()
    # The cookie the browser held before signing out no longer works anywhere.
    reply = httpx.post(f"{server}/api/v1/auth/refresh", cookies={"moodmix_refresh": refresh}, timeout=10)
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "session_ended"
