"""Browser steps shared by the Playwright tests in tests/web (one place, not one copy per file)."""

from __future__ import annotations

try:
    from playwright.sync_api import expect
except ImportError:  # tests/web's browser fixture then fails every test with the install commands
    expect = None


def sign_up(page, username: str, password: str = "correct horse battery") -> None:
    """Create an account on the page and wait until the workspace is wired up (uploads are heard)."""
    page.goto("/")
    form = page.locator("#signup-form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-name")).to_have_text(username)
    expect(page.get_by_role("heading", name="Create")).to_be_visible()
    expect(page.locator("#action-form")).to_be_visible()
