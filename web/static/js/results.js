// What a finished job shows: its summary as the headline, the prompt and how it was read, the recipe,
// key figures of its data, players (with A/B against the original), a mixer when there are several
// audio outputs, pictures, and actions: share an expiring link, download everything as a zip.
// Decided by output kinds and data shape, never by which capability ran, so new capabilities render too.

import { api, downloadTo, fetchBlob, fileUrl } from "./api.js";
import { downloadButton } from "./download.js";
import { createMixer } from "./mixer.js";
import { createPlayer } from "./player.js";
import { capability, jobFileId, resultSummary, state } from "./state.js";
import { fmtDate, fmtNumber, fmtTime, h, humanize, icon, notify, showError, uid } from "./ui.js";

const pct = (v) => `${Math.round(v * 100)}%`;
const signed = (v) => (v >= 0 ? "+" : "") + v.toFixed(2);

// Figures worth a headline, in display order, with their formatting.
const HIGHLIGHTS = [
  ["label", "Label", humanize],
  ["confidence", "Confidence", pct],
  ["valence", "Valence", signed],
  ["arousal", "Arousal", signed],
  ["genre", "Genre", humanize],
  ["tempo", "Tempo", (v) => `${fmtNumber(v, 1)} BPM`],
  ["key_name", "Key", String],
  ["camelot", "Camelot", String],
  ["duration", "Duration", fmtTime],
  ["seed", "Seed", String],
];

/** The name of the track a job worked on (without its suffix), if it worked on an upload. */
export function jobTrack(job) {
  const name = state.fileNames.get(jobFileId(job));
  return name ? name.replace(/\.[^.]+$/, "") : null;
}

export function renderResult(job) {
  const result = job.result || {};
  const outputs = result.outputs || [];
  const audio = outputs.filter((o) => o.kind === "audio");
  const images = outputs.filter((o) => o.kind === "image");
  const files = outputs.filter((o) => o.kind !== "audio" && o.kind !== "image");
  const cap = capability(job.capability) || { ui: {} };
  // Several audio outputs of one job are parts of one piece (a capability may opt out with ui.mixer=false).
  const useMixer = audio.length >= 2 && !(cap.ui && cap.ui.mixer === false);
  const title = (o) => `${humanize(job.capability)} ${o.name}`;
  const fileId = jobFileId(job);
  const track = jobTrack(job);
  const compare = fileId ? { url: fileUrl(fileId), label: `the original${track ? ` (${track})` : ""}` } : null;

  return h("div", { class: "result" },
    renderPrompt(result.data),
    renderRecipe(result.data),
    renderData(result.data, (cap.ui && cap.ui.colours) || {}),
    useMixer ? createMixer(audio, { title: humanize(job.capability), compare,
      exportName: `${track || humanize(job.capability)} \u2013 mix.wav` }) : audio.map((o) =>
      h("div", { class: "output", dataset: { output: o.name } },
        h("h4", {}, humanize(o.name)),
        createPlayer({ url: o.url, title: title(o), filename: o.filename, compare }))),
    images.map((o) => imageOutput(o, title(o))),
    files.length ? h("div", { class: "downloads" }, h("span", { class: "muted" }, "Files:"),
      files.map((o) => downloadButton(o, title(o)))) : null,
    outputs.length ? resultActions(job, audio, outputs) : null,
    rawData(result.data),
    result.backend ? h("p", { class: "muted small" }, `Made with: ${result.backend}`) : null);
}

/** The one-line summary, shown as the card's headline. */
export function headline(job) {
  return resultSummary(job.result);
}

// ---- actions: share, download all --------------------------------------------------------------

function resultActions(job, audio, outputs) {
  const zip = outputs.length > 1 ? h("button", { type: "button", class: "button button-small",
    "aria-label": `Download all ${humanize(job.capability)} results as a zip`, dataset: { action: "zip" },
    onclick: () => downloadTo(`/api/v1/jobs/${job.id}/outputs.zip`, "results.zip")
      .catch((e) => showError(e, "Download failed")) },
  icon("archive"), h("span", {}, "Download all (zip)")) : null;
  return h("div", { class: "result-actions" }, audio.length ? shareControl(job, audio) : null, zip);
}

const EXPIRIES = [["3600", "1 hour"], ["86400", "1 day"], ["604800", "7 days"], ["2592000", "30 days"]];

function shareControl(job, audio) {
  const id = uid("share");
  const which = audio.length > 1 ? h("select", { id: `${id}-output` },
    audio.map((o) => h("option", { value: o.name }, humanize(o.name)))) : null;
  const expiry = h("select", { id: `${id}-expiry` },
    EXPIRIES.map(([value, label]) => h("option", { value, selected: value === "604800" }, label)));
  const create = h("button", { type: "button", class: "button button-small button-primary" }, "Create link");
  const out = h("div", { class: "share-result", hidden: true });
  create.addEventListener("click", async () => {
    create.disabled = true;
    const name = which ? which.value : audio[0].name;
    try {
      const share = await api(`/jobs/${job.id}/outputs/${encodeURIComponent(name)}/share`,
        { method: "POST", body: { expires_in_s: Number(expiry.value) } });
      out.replaceChildren(shareLink(share, humanize(name)));
      out.hidden = false;
      out.querySelector("input").select();
    } catch (error) {
      showError(error, "Could not create the link");
    } finally {
      create.disabled = false;
    }
  });
  return h("details", { class: "share", dataset: { action: "share" } },
    h("summary", { class: "button button-small" }, icon("share"), h("span", {}, "Share")),
    h("div", { class: "share-panel" },
      which ? h("div", { class: "field" }, h("label", { for: which.id }, "Which part"), which) : null,
      h("div", { class: "field" }, h("label", { for: expiry.id }, "Link works for"), expiry),
      h("div", { class: "share-create" }, create),
      out));
}

function shareLink(share, name) {
  const id = uid("share-url");
  const url = share.url || new URL(share.path, window.location.origin).href;
  const input = h("input", { id, type: "url", readonly: true, value: url, class: "share-url" });
  const copy = h("button", { type: "button", class: "button button-small", "aria-label": `Copy the link to ${name}` },
    icon("copy"), h("span", {}, "Copy"));
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      input.select(); // no clipboard permission: leave it selected for Ctrl+C
      document.execCommand && document.execCommand("copy");
    }
    copy.replaceChildren(icon("check"), h("span", {}, "Copied"));
    notify("Link copied", "success");
  });
  return h("div", { class: "share-link" },
    h("label", { for: id }, `Link to ${name}`),
    h("div", { class: "share-row" }, input, copy),
    h("small", { class: "help" }, `Anyone with the link can listen until ${fmtDate(share.expires_at)}.`));
}

// ---- what the result says ----------------------------------------------------------------------

/** A value of a spec, in words: "90 BPM", "piano chords, electric bass", "A minor". */
function readingValue(key, value) {
  if (value && typeof value === "object") {
    return Object.entries(value).map(([part, what]) => `${what} ${part}`).join(", ");
  }
  if (typeof value === "number") {
    if (key === "tempo") return `${fmtNumber(value, 0)} BPM`;
    if (key === "duration") return `${fmtNumber(value, 1)} s`;
    return fmtNumber(value);
  }
  return humanize(value);
}

/**
 * A prompt and how it was read: data.spec holding a prompt is the spec the music was made from, and
 * its `sources` say which of its fields came from the words and which were chosen.
 */
function renderPrompt(data) {
  const spec = data && data.spec;
  if (!spec || typeof spec !== "object" || typeof spec.prompt !== "string") return null;
  const sources = spec.sources && typeof spec.sources === "object" ? spec.sources : {};
  const items = Object.keys(sources).filter((key) => spec[key] !== undefined && spec[key] !== null && spec[key] !== "")
    .map((key) => [key, humanize(key), readingValue(key, spec[key])]);
  return h("section", { class: "prompt-reading", "aria-label": "Prompt and how it was read" },
    h("blockquote", { class: "prompt" }, spec.prompt),
    items.length ? h("h4", {}, "How it was read") : null,
    items.length ? h("dl", { class: "reading" }, items.map(([key, name, value]) =>
      h("div", { class: "figure", dataset: { reading: key } }, h("dt", {}, name), h("dd", {}, value),
        h("dd", { class: "source muted small" }, sources[key] === "prompt" ? "from your words" : "chosen for you"))))
      : null);
}

const words = (type) => String(type).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
const db = (v) => `${v > 0 ? "+" : ""}${fmtNumber(v, 1)} dB`;
const isChain = (v) => Array.isArray(v) && v.length > 0 && v.every((e) => e && typeof e.type === "string");
const isPart = (v) => v && typeof v === "object" && !Array.isArray(v)
  && ("effects" in v || "gain_db" in v || "mute" in v);
const isPartMap = (v) => v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0
  && Object.values(v).every(isPart);

/** One part's settings in words: "-7 dB · lowpass filter, bitcrush". */
function partLine(settings) {
  const bits = [];
  if (typeof settings.gain_db === "number" && settings.gain_db) bits.push(db(settings.gain_db));
  if (isChain(settings.effects)) bits.push(settings.effects.map((e) => words(e.type)).join(", "));
  if (settings.mute) bits.push("muted");
  return bits.join(" · ");
}

/**
 * A recipe (data.recipe) in a few lines, read by shape: tempo and pitch; a map of parts to their
 * level and effects; effect chains; added patterns (objects naming a kit).
 */
function renderRecipe(data) {
  const recipe = data && data.recipe;
  if (!recipe || typeof recipe !== "object") return null;
  const lines = [];
  const moves = [];
  if (typeof recipe.tempo === "number") moves.push(`${fmtNumber(recipe.tempo, 0)} BPM`);
  if (recipe.pitch_semitones) moves.push(`${recipe.pitch_semitones > 0 ? "+" : ""}${recipe.pitch_semitones} semitones`);
  if (moves.length) lines.push(["Tempo and pitch", moves.join(", ")]);
  for (const [name, value] of Object.entries(recipe)) {
    if (isPartMap(value)) {
      for (const [part, settings] of Object.entries(value)) {
        const line = partLine(settings);
        if (line) lines.push([humanize(part), line]);
      }
    } else if (isChain(value)) {
      lines.push([humanize(name), value.map((e) => words(e.type)).join(", ")]);
    } else if (value && typeof value === "object" && typeof value.kit === "string") {
      lines.push([`Added ${words(name)}`, `${humanize(value.kit)} kit${value.swing ? `, swing ${pct(value.swing)}` : ""}`]);
    }
  }
  if (!lines.length) return null;
  return h("section", { class: "recipe", "aria-label": "Recipe" }, h("h4", {}, "Recipe"),
    h("dl", { class: "recipe-lines" }, lines.map(([name, value]) =>
      h("div", {}, h("dt", {}, name), h("dd", {}, value)))));
}

function imageOutput(output, title) {
  const img = h("img", { alt: `${title} (picture produced by the job)`, class: "result-image" });
  fetchBlob(output.url).then((blob) => { img.src = URL.createObjectURL(blob); })
    .catch((e) => showError(e, `Could not load ${title}`));
  return h("figure", { class: "output", dataset: { output: output.name } }, img,
    h("figcaption", {}, humanize(output.name), " ", downloadButton(output, title)));
}

// palette: label → colour, from the capability's ui.colours (the colours of its own pictures); labels
// it does not name get a colour from their name. The distribution bars and the timeline share it, so
// the bars read as the timeline's legend.
function renderData(data, palette = {}) {
  if (!data || typeof data !== "object") return null;
  const parts = [];
  const shown = HIGHLIGHTS.filter(([key]) => data[key] !== undefined && data[key] !== null
    && typeof data[key] !== "object");
  const loudness = data.loudness && data.loudness.integrated_lufs;
  const figures = shown.map(([key, name, format]) => [key, name, format(data[key])]);
  if (typeof loudness === "number") figures.push(["loudness", "Loudness", `${fmtNumber(loudness, 1)} LUFS`]);
  if (figures.length) {
    parts.push(h("dl", { class: "figures" }, figures.map(([key, name, value]) =>
      h("div", { class: "figure", dataset: { figure: key } }, h("dt", {}, name), h("dd", {}, value)))));
  }
  const colourOf = (label) => palette[label] || colour(label);
  if (isDistribution(data.distribution)) parts.push(distribution(data.distribution, colourOf));
  if (Array.isArray(data.timeline) && data.timeline.length) parts.push(timeline(data.timeline, colourOf));
  return parts.length ? h("div", { class: "result-data" }, parts) : null;
}

function isDistribution(value) {
  return value && typeof value === "object" && !Array.isArray(value)
    && Object.values(value).every((v) => typeof v === "number");
}

function distribution(dist, colourOf) {
  const rows = Object.entries(dist).sort((a, b) => b[1] - a[1]);
  return h("div", { class: "distribution" }, h("h4", {}, "Distribution"),
    h("ul", { class: "bars" }, rows.map(([name, value]) =>
      h("li", {}, h("span", { class: "bar-name" }, humanize(name)),
        h("span", { class: "bar-track", "aria-hidden": "true" },
          h("span", { class: "bar-fill", dataset: { label: name },
            style: `width:${Math.max(0, Math.min(100, value * 100))}%; background:${colourOf(name)}` })),
        h("span", { class: "bar-value" }, pct(value))))));
}

// A coloured strip of the timeline windows; the text list underneath is what screen readers read.
function timeline(points, colourOf) {
  const total = Math.max(...points.map((p) => p.end || 0)) || points.length;
  // A window's name: its label, else its first text value.
  const name = (p) => p.label || Object.values(p).find((v) => typeof v === "string") || "";
  const strip = h("div", { class: "timeline-strip", "aria-hidden": "true" }, points.map((p) =>
    h("span", {
      class: "timeline-seg", title: `${fmtTime(p.start)}–${fmtTime(p.end)}: ${name(p)}`, dataset: { label: name(p) },
      style: `flex:${((p.end ?? 1) - (p.start ?? 0)) / total}; background:${colourOf(name(p))}; `
        + `color:${inkOn(colourOf(name(p)))}`,
    }, humanize(name(p)))));
  const changes = points.filter((p, i) => i === 0 || name(p) !== name(points[i - 1]));
  return h("div", { class: "timeline" }, h("h4", {}, "Timeline"), strip,
    h("p", { class: "muted small" }, changes.map((p) => `${fmtTime(p.start)} ${name(p)}`).join(" → ")));
}

/** Black or white text, whichever reads better on a #rrggbb background (anything else: black). */
function inkOn(background) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(background);
  if (!m) return "#111";
  const [r, g, b] = m.slice(1).map((x) => parseInt(x, 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 ? "#fff" : "#111";
}

function colour(label) {
  let hash = 0;
  for (const ch of label) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${hash} 60% 62%)`;
}

function rawData(data) {
  if (data === null || data === undefined) return null;
  let text = JSON.stringify(data, null, 2);
  if (text.length > 20000) text = `${text.slice(0, 20000)}\n…`;
  return h("details", { class: "raw" }, h("summary", {}, "All data (JSON)"), h("pre", {}, text));
}
