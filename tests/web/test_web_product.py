"""Issue 17, page side: every upload plays, waveforms come from the server, results read like a music app.

The API half is tests/test_web_product_api.py (every configuration: local and S3 storage). This drives
the real server in Chromium with real recordings (a Vorbis OGG from Debian's hyperrogue-music, an MP3 and a
FLAC made from it), shares a result into a fresh browser context, downloads everything as a zip and
takes screenshots at 360, 1366 and 1920 px with a check that no control overflows its box.
"""

from __future__ import annotations

import re
import uuid
import zipfile

import soundfile as sf
from web_steps import sign_up

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then fails every test with the install commands
    expect = None

DASH = "\u2013"


# ---- the page ---------------------------------------------------------------------------------------

JOB_TIMEOUT_MS = 90_000
WIDTHS = (360, 1366, 1920)
BUILT_IN = ("analyze", "mood", "generate", "remix", "stems")

# Every visible control that sticks out of the viewport or its box, or whose content is wider than it.
OVERFLOWS = """() => {
  const vw = document.documentElement.clientWidth;
  const bad = [];
  const boxes = ".card, .mixer, .player, .share-panel, .topbar, .job-progress, .field, .dropzone, .result-tabs, .pager";
  const selector = "button, input, select, textarea, summary, a.button, label.button, .result-tabs";
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    if (r.width <= 2 || r.height <= 2 || el.closest("[hidden]")) continue; // hidden or visually hidden
    const fold = el.closest("details:not([open])");
    if (fold && !el.closest("summary")) continue; // inside a closed fold
    if (el.closest(".result-tabs") && el !== el.closest(".result-tabs")) continue; // a strip that scrolls
    const label = (el.getAttribute("aria-label") || el.textContent || el.id).trim().slice(0, 40);
    const name = `${el.tagName.toLowerCase()} "${label}"`;
    if (r.left < -0.5 || r.right > vw + 0.5) {
      bad.push(`${name} is outside the viewport (${Math.round(r.left)}..${Math.round(r.right)} of ${vw})`);
    }
    const scrolls = ["auto", "scroll"].includes(getComputedStyle(el).overflowX); // meant to scroll sideways
    if (!scrolls && !["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1) {
      bad.push(`${name} clips its content (${el.scrollWidth} > ${el.clientWidth})`);
    }
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX === "visible") continue; // a box that clips (or scrolls) it
      const c = up.getBoundingClientRect();
      if (r.left < c.left - 0.5 || r.right > c.right + 0.5) bad.push(`${name} is cut off by ${up.className}`);
      break;
    }
    const box = el.parentElement && el.parentElement.closest(boxes);
    if (box) {
      const b = box.getBoundingClientRect();
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5) bad.push(`${name} sticks out of its ${box.className} box`);
    }
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) bad.push(`the page scrolls sideways (${page.scrollWidth} > ${vw})`);
  return bad;
}"""




def shown_card(page, capability: str):
    """The newest card of a capability in the results tab on show."""
    return page.locator(f"[role=tabpanel]:not([hidden]) article.job-card[data-capability='{capability}']").first


def wait_succeeded(page, capability: str):
    card = shown_card(page, capability)
    expect(card).to_have_attribute("data-status", re.compile("succeeded|failed|cancelled"), timeout=JOB_TIMEOUT_MS)
    assert card.get_attribute("data-status") == "succeeded", card.locator(".job-error").text_content()
    return card


def upload_and_play(page, path, rendition: str) -> None:
    """Upload through the picker; the track plays (its audio clock moves) from the expected rendition,
    under a waveform drawn from the server's peaks."""
    with page.expect_response(re.compile(r"/files/[^/]+/waveform\?points=")) as peaks:
        page.locator("#file-input").set_input_files(path)
        expect(page.locator(".track-name")).to_have_text(path.name)
    assert peaks.value.ok
    player = page.locator("#track-view .player")
    expect(player).to_have_attribute("data-ready", "true")
    expect(player).to_have_attribute("data-rendition", rendition)
    expect(player.locator(".badge-preview")).to_be_visible() if rendition == "preview" else \
        expect(player.locator(".badge-preview")).to_be_hidden()
    expect(player.locator(".waveform")).not_to_have_class(re.compile("is-loading"))
    player.locator(".play-button").click()
    expect(player).to_have_attribute("data-state", "playing")
    page.wait_for_function("a => a.currentTime > 0.3", arg=player.locator("audio").element_handle())
    player.locator(".play-button").click()
    expect(player).to_have_attribute("data-state", "paused")


def test_upload_play_run_everything_share_download_all_and_fit_every_width(
        page, browser, server, capabilities, recordings, artifacts):
    sign_up(page, f"product_{uuid.uuid4().hex[:8]}")
    on_upload = [n for n, c in capabilities.items() if c["on_upload"]]

    # The Vorbis OGG plays through its MP3 preview; MP3 and FLAC play as they are.
    upload_and_play(page, recordings["ogg"], "preview")
    for name in on_upload:
        wait_succeeded(page, name)
    upload_and_play(page, recordings["mp3"], "original")
    upload_and_play(page, recordings["flac"], "original")
    for name in on_upload:
        wait_succeeded(page, name)

    # Each built-in capability that does not run by itself, on the FLAC (or from a prompt). The server
    # may carry the test plugins too (a slow one, a flaky one): they are not what this test is about.
    assert set(BUILT_IN) <= set(capabilities), sorted(capabilities)
    for name in (n for n in BUILT_IN if n not in on_upload):
        page.locator(f"label.cap-option[data-capability='{name}']").click()
        form = page.locator("#action-form")
        expect(form).to_have_attribute("data-capability", name)
        prompt = form.get_by_role("textbox", name="Prompt")
        if prompt.count():
            prompt.fill("warm lofi piano with vinyl crackle, 90 bpm")
            form.locator("[data-param='duration'] input").fill("4")
        genre = form.locator("[data-param='genre'] select")
        if genre.count() and not genre.input_value():  # a genre is required: take the first offered
            genre.select_option(index=1)
        form.get_by_role("button", name=re.compile("^Run ")).click()
        card = wait_succeeded(page, name)
        expect(card.locator(".job-headline")).to_have_text(re.compile(r"\S"))  # the summary is the headline
        if prompt.count():  # the prompt and how it was read
            expect(card.locator(".prompt")).to_have_text("warm lofi piano with vinyl crackle, 90 bpm")
            expect(card.locator("[data-reading='tempo'] dd").first).to_have_text("90 BPM")
            expect(page.get_by_role("tab", selected=True)).to_contain_text("From prompts")
        else:
            expect(page.get_by_role("tab", selected=True)).to_contain_text("Crossroads excerpt.flac")

    # The mixer: a waveform per part, A/B against the original, export of the current mix.
    mixer = page.locator("[role=tabpanel]:not([hidden]) .mixer").first
    expect(mixer).to_have_attribute("data-state", "ready", timeout=30_000)
    waves = mixer.locator(".mixer-row .waveform-small")
    assert waves.count() >= 2
    expect(mixer.locator(".waveform-small.is-loading")).to_have_count(0)
    ab = mixer.get_by_role("button", name=re.compile("^Compare with the original"))
    expect(ab).to_be_enabled(timeout=20_000)
    ab.click()
    expect(mixer).to_have_attribute("data-listening", "original")
    ab.click()
    expect(mixer).to_have_attribute("data-listening", "mix")
    mixer.get_by_role("button", name=re.compile("^Mute ")).first.click()
    with page.expect_download() as exported:
        mixer.get_by_role("button", name=re.compile("^Export the current")).click()
    assert exported.value.suggested_filename == f"Crossroads excerpt {DASH} mix.wav"
    info = sf.info(str(exported.value.path()))
    assert abs(info.duration - 12.0) < 0.1 and info.subtype == "PCM_16"

    # Download all: one zip, every file named after the track.
    stems_card = mixer.locator("xpath=ancestor::article")
    with page.expect_download() as zipped:
        stems_card.get_by_role("button", name=re.compile("^Download all")).click()
    assert zipped.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(zipped.value.path()) as zf:
        names = zf.namelist()
    assert len(names) >= 2 and all(n.startswith(f"Crossroads excerpt {DASH} ") for n in names), names

    # A single download carries the track's name too.
    player_card = page.locator("[role=tabpanel]:not([hidden]) article.job-card:has(.output .player)").first
    with page.expect_download() as single:
        player_card.locator(".output .player").first.get_by_role("button", name=re.compile("^Download")).click()
    assert single.value.suggested_filename.startswith(f"Crossroads excerpt {DASH} ")

    # Share: an expiring link with a copy button, opened in a fresh browser context (no account).
    player_card.locator("details.share > summary").click()
    player_card.get_by_role("button", name="Create link").click()
    link = player_card.locator("input.share-url")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/s/"))
    expect(player_card.get_by_role("button", name=re.compile("^Copy the link"))).to_be_visible()
    stranger = browser.new_context()
    try:
        response = stranger.new_page().goto(link.input_value())
        assert response.status == 200 and response.headers["content-type"].startswith("audio/")
    finally:
        stranger.close()

    # Fits from a phone to a wide screen: screenshots, and no control sticks out or clips its content.
    problems = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)  # reflow and canvas redraw
        page.screenshot(path=str(artifacts / f"web-product-{width}.png"), full_page=True)
        found = page.evaluate(OVERFLOWS)
        if found:
            problems[width] = found
    assert not problems, "\n".join(f"{w}px: {p}" for w, ps in problems.items() for p in ps)
