"""Forms for people (issue 17): labels and help from each parameter's title and description, distinct
checkbox names, a default genre, and what is wrong with a value said in plain words under its field,
whether the page sees it (the JSON schema) or the server does (a 422 naming the parameter). Also the
mood result: its timeline is coloured like its distribution (the legend), in the plugin's colours.
"""

from __future__ import annotations

import json
import re
import uuid

from web_steps import sign_up

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then fails every test with the install commands
    expect = None

BUILT_IN = ("analyze", "mood", "generate", "remix", "stems")
JOB_TIMEOUT_MS = 120_000




def choose_action(page, capability: str) -> None:
    page.locator(f"label.cap-option[data-capability='{capability}']").click()
    expect(page.locator("#action-form")).to_have_attribute("data-capability", capability)


def sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…", ")")) else f"{text}."


def simple(prop: dict) -> dict | None:
    """The schema a form field is built from (params.js: optional values unwrapped), else None."""
    if "anyOf" not in prop:
        return prop
    options = [o for o in prop["anyOf"] if o.get("type") != "null"]
    lists = [o for o in options if o.get("type") == "array" and "enum" in o.get("items", {})]
    if lists:
        return {**lists[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    return {**options[0], **{k: v for k, v in prop.items() if k != "anyOf"}} if len(options) == 1 else None


def test_labels_and_help_are_the_parameters_titles_and_descriptions(page, capabilities):
    sign_up(page, f"forms_{uuid.uuid4().hex[:8]}")
    for name in BUILT_IN:
        cap = capabilities[name]
        choose_action(page, name)
        form = page.locator("#action-form")
        form.locator("details.advanced-options").evaluate_all("ds => ds.forEach((d) => { d.open = true; })")
        for param, prop in cap["params_schema"]["properties"].items():
            schema = simple(prop)
            if schema is None:  # nested values go to the JSON box, which names them by title
                title = prop.get("title") or param
                expect(form.locator("[data-param='__json__'] .help")).to_contain_text(title)
                continue
            assert schema.get("title"), f"{name}.{param} has no title: the page would guess a label"
            assert schema.get("description"), f"{name}.{param} has no description: the page shows no help"
            field = form.locator(f"[data-param='{param}']")
            label = field.locator("legend" if schema.get("type") == "array" else "label").first
            expect(label).to_have_text(schema["title"])
            if param in cap.get("genre_params", {}):
                continue  # its help describes the chosen genre
            # The description alone, as a sentence; a range, when there is one, on a line of its own.
            expect(field.locator(".help").first).to_have_text(sentence(schema["description"]))


def test_remix_defaults_to_a_genre_and_its_drum_boxes_say_what_they_do(page, capabilities, demo_track, artifacts):
    remix = capabilities["remix"]
    default = remix["params_schema"]["properties"]["genre"]["default"]
    assert default, "remix has no default genre"
    sign_up(page, f"genre_{uuid.uuid4().hex[:8]}")
    page.locator("#file-input").set_input_files(demo_track)
    expect(page.locator(".track-name")).to_have_text(demo_track.name, timeout=30_000)
    choose_action(page, "remix")
    form = page.locator("#action-form")
    genre = form.locator("[data-param='genre'] select")
    expect(genre).to_have_value(default)
    assert "" not in genre.locator("option").evaluate_all("os => os.map((o) => o.value)")  # no empty choice

    # Two boxes used to be called "Drums": one adds the genre's beat, one leaves the track's drums out.
    expect(form.get_by_role("checkbox", name="Drums", exact=True)).to_have_count(0)
    beat = form.get_by_role("checkbox", name=remix["params_schema"]["properties"]["drums"]["title"])
    expect(beat).to_be_checked()
    mute = form.get_by_role("checkbox", name=re.compile(r"^Mute .*: Drums$"))
    expect(mute).to_have_count(1)
    expect(mute).not_to_be_checked()
    expect(form.locator("[data-param='mute'] legend")).to_be_visible()
    form.screenshot(path=str(artifacts / "web-form-remix.png"))

    # Run with the default genre: the page leaves it to the server, which remixes in it.
    with page.expect_request(lambda r: r.url.endswith("/api/v1/jobs") and r.method == "POST") as sent:
        form.get_by_role("button", name="Run Remix").click()
    assert "genre" not in json.loads(sent.value.post_data)["params"]
    card = page.locator("article.job-card[data-capability='remix']").first
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(card.locator(".job-headline")).to_contain_text(f"{default}: ")


def test_bad_values_are_explained_under_their_field(page, capabilities, artifacts):
    sign_up(page, f"valid_{uuid.uuid4().hex[:8]}")
    choose_action(page, "generate")
    form = page.locator("#action-form")
    form.get_by_role("textbox", name="Prompt").fill("calm piano")
    duration = form.locator("[data-param='duration']")
    duration.locator("input").fill("999")
    form.get_by_role("button", name="Run Generate").click()
    title = capabilities["generate"]["params_schema"]["properties"]["duration"]["anyOf"][0]["title"]
    expect(duration.locator(".field-error")).to_have_text("Enter a number above 0 and at most 300.")
    expect(duration.locator("input")).to_have_attribute("aria-invalid", "true")
    described = duration.locator("input").get_attribute("aria-describedby").split()
    assert duration.locator(".field-error").get_attribute("id") in described  # read out with the field
    expect(form.locator(".form-error")).to_have_text(f"Check the setting marked below: {title}.")
    expect(page.locator("article.job-card")).to_have_count(0)  # nothing was sent
    duration.locator("input").fill("30")  # editing the field clears what was said about it
    expect(duration.locator(".field-error")).to_be_hidden()
    expect(duration.locator("input")).not_to_have_attribute("aria-invalid", "true")

    # A whole number where one is needed, and a value in a form the schema refuses, in the fold.
    choose_action(page, "stems")
    form = page.locator("#action-form")
    form.locator("details.advanced-options summary").click()
    form.locator("[data-param='shifts'] input").fill("1.5")
    form.locator("[data-param='model'] input").fill("no spaces allowed")
    form.get_by_role("button", name="Run Stems").click()
    expect(form.locator("[data-param='shifts'] .field-error")).to_have_text("Enter a whole number, from 0 to 10.")
    expect(form.locator("[data-param='model'] .field-error")).to_have_text(
        "This is not in the form this setting takes.")
    expect(form.locator("[data-param='model'] input")).to_be_focused()  # the first one shown
    form.screenshot(path=str(artifacts / "web-form-validation.png"))


def test_a_server_refusal_that_names_a_field_is_shown_there(page, demo_track):
    sign_up(page, f"server_{uuid.uuid4().hex[:8]}")
    page.locator("#file-input").set_input_files(demo_track)
    expect(page.locator(".track-name")).to_have_text(demo_track.name, timeout=30_000)
    choose_action(page, "remix")
    form = page.locator("#action-form")
    form.locator("details.advanced-options summary").click()
    # The JSON box skips the page's checks: the server's 422 names tempo, and the page says it there.
    form.locator("[data-param='__json__'] textarea").fill('{"tempo": 500}')
    form.get_by_role("button", name="Run Remix").click()
    expect(form.locator("[data-param='tempo'] .field-error")).to_have_text("Enter 220 or less.")
    expect(form.locator(".form-error")).to_have_text("Check the setting marked below.")
    expect(page.locator("article.job-card[data-capability='remix']")).to_have_count(0)
    form.locator("[data-param='__json__'] textarea").fill("{not json")
    form.get_by_role("button", name="Run Remix").click()
    expect(form.locator("[data-param='__json__'] .field-error")).to_contain_text("not valid JSON")
    expect(form.locator("[data-param='tempo'] .field-error")).to_be_hidden()


def test_mood_timeline_is_coloured_like_its_legend(page, capabilities, recordings, artifacts):
    colours = capabilities["mood"]["ui"].get("colours")
    assert colours, "mood declares no colours for its labels"
    sign_up(page, f"mood_{uuid.uuid4().hex[:8]}")
    page.locator("#file-input").set_input_files(recordings["mp3"])  # a 12 s excerpt: two timeline windows
    expect(page.locator(".track-name")).to_have_text(recordings["mp3"].name, timeout=30_000)
    choose_action(page, "mood")
    page.get_by_role("button", name="Run Mood").click()
    card = page.locator("article.job-card[data-capability='mood']").first
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    to_rgb = "(els) => els.map((e) => [e.dataset.label, getComputedStyle(e).backgroundColor])"
    legend = dict(card.locator(".bar-fill").evaluate_all(to_rgb))
    segments = card.locator(".timeline-seg").evaluate_all(to_rgb)
    assert segments and set(legend) == set(colours)
    card.locator(".result-data").screenshot(path=str(artifacts / "web-mood-timeline.png"))
    for label, rgb in segments:
        assert rgb == legend[label], (label, rgb, legend[label])
        hexed = colours[label].lstrip("#")
        assert rgb == "rgb({}, {}, {})".format(*(int(hexed[i:i + 2], 16) for i in (0, 2, 4)))
