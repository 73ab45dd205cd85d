"""Accessibility basics of the web page: named controls, keyboard use, visible focus.

Names come from Chromium's own accessibility tree (CDP), so they are what a screen reader hears.
"""

from __future__ import annotations

import uuid

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then fails every test with the install commands
    expect = None

CONTROL_ROLES = {"button", "textbox", "combobox", "checkbox", "radio", "slider", "spinbutton",
                 "progressbar", "searchbox", "listbox"}

# A short description of whatever has focus, to follow the Tab order.
FOCUSED = """() => {
  const el = document.activeElement;
  return { id: el.id, tag: el.tagName.toLowerCase(), type: el.type || "", value: el.value || "",
           label: el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].textContent.trim())
                  || el.textContent.trim().slice(0, 40),
           outline: getComputedStyle(el).outlineStyle };
}"""


def unnamed_controls(page) -> list[str]:
    """Interactive nodes of the accessibility tree that have no accessible name."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    missing = []
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        if node.get("ignored") or role not in CONTROL_ROLES:
            continue
        if not str((node.get("name") or {}).get("value") or "").strip():
            missing.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return missing


def tab_through(page, presses: int = 80) -> list[dict]:
    """Focus the first stop (the skip link), then follow Tab."""
    page.locator(".skip-link").focus()
    seen = [page.evaluate(FOCUSED)]
    for _ in range(presses):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
    return seen


def test_signed_out_controls_are_named_and_reachable(page):
    page.goto("/")
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    assert unnamed_controls(page) == []
    order = [f["id"] or f["label"] for f in tab_through(page, 12)]
    for control in ("signin-identifier", "signin-password", "Sign in", "signup-username", "signup-password",
                    "Create account"):
        assert control in order, f"Tab never reaches {control!r}: {order}"
    assert order.index("signin-identifier") < order.index("signin-password") < order.index("Sign in")


def test_workspace_is_keyboard_usable(page, tmp_path):
    from moodmix.engine.demo import write_demo_track

    # A track of its own: the shared demo track's on-upload jobs would otherwise be answered from this
    # test's results later, and the end-to-end test watches their progress rise from below 100 %.
    demo_track = write_demo_track(tmp_path / "keyboard-song.wav", seconds=5.0)
    page.goto("/")
    form = page.locator("#signup-form")
    form.get_by_label("Username").fill(f"kbd_{uuid.uuid4().hex[:8]}")
    form.get_by_label("Password").fill("correct horse battery")
    form.get_by_label("Password").press("Enter")  # submitting with the keyboard signs up
    expect(page.locator("#app-view")).to_be_visible()
    page.locator("#file-input").set_input_files(demo_track)
    expect(page.locator("#track-view .player")).to_have_attribute("data-ready", "true")
    assert unnamed_controls(page) == []

    # Tab reaches the main controls, in reading order, with a visible focus ring.
    stops = tab_through(page)
    order = [f["id"] or f["label"] for f in stops]
    run = next(i for i, f in enumerate(stops) if f["label"].startswith("Run "))
    picker = next(i for i, f in enumerate(stops) if f["type"] == "radio")
    play = next(i for i, f in enumerate(stops) if f["label"] == f"Play {demo_track.name}")
    seek = next(i for i, f in enumerate(stops) if f["label"] == f"Position in {demo_track.name}")
    assert order.index("sign-out") < order.index("file-input") < play < seek < picker < run, order
    assert stops[run]["outline"] != "none", "the focused Run button shows no focus outline"

    # Arrow keys move between capabilities; the form follows.
    page.locator(".cap-picker input:checked").focus()
    first = page.evaluate("document.activeElement.value")
    page.keyboard.press("ArrowRight")
    second = page.evaluate("document.activeElement.value")
    assert second != first
    expect(page.locator("#action-form")).to_have_attribute("data-capability", second)
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#action-form")).to_have_attribute("data-capability", first)

    # Enter on the Run button starts the job; focus moves to its card so its progress is read out.
    page.locator("#action-form button[type=submit]").focus()
    page.keyboard.press("Enter")
    card = page.locator(f"article.job-card[data-capability='{first}']").first
    expect(card).to_be_visible()
    page.wait_for_function("() => document.activeElement.classList.contains('job-card')")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuemin", "0")
