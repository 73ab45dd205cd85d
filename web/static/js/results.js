// What a finished job shows: its summary line, key figures of its data, players, a mixer when there are
// several audio outputs, pictures, downloads. Decided by output kinds and data shape, never by which
// capability ran, so new capabilities render too.

import { fetchBlob } from "./api.js";
import { downloadButton } from "./download.js";
import { createMixer } from "./mixer.js";
import { createPlayer } from "./player.js";
import { capability, resultSummary } from "./state.js";
import { fmtNumber, fmtTime, h, humanize, showError } from "./ui.js";

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
  const summary = resultSummary(result);

  return h("div", { class: "result" },
    summary ? h("p", { class: "summary" }, summary) : null,
    renderData(result.data),
    useMixer ? createMixer(audio, { title: humanize(job.capability) }) : audio.map((o) =>
      h("div", { class: "output", dataset: { output: o.name } },
        h("h4", {}, humanize(o.name)),
        createPlayer({ url: o.url, title: title(o), filename: o.filename }))),
    images.map((o) => imageOutput(o, title(o))),
    files.length ? h("div", { class: "downloads" }, h("span", { class: "muted" }, "Files:"),
      files.map((o) => downloadButton(o, title(o)))) : null,
    rawData(result.data),
    result.backend ? h("p", { class: "muted small" }, `Backend: ${result.backend}`) : null);
}

function imageOutput(output, title) {
  const img = h("img", { alt: `${title} (picture produced by the job)`, class: "result-image" });
  fetchBlob(output.url).then((blob) => { img.src = URL.createObjectURL(blob); })
    .catch((e) => showError(e, `Could not load ${title}`));
  return h("figure", { class: "output", dataset: { output: output.name } }, img,
    h("figcaption", {}, humanize(output.name), " ", downloadButton(output, title)));
}

function renderData(data) {
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
  if (isDistribution(data.distribution)) parts.push(distribution(data.distribution));
  if (Array.isArray(data.timeline) && data.timeline.length) parts.push(timeline(data.timeline));
  return parts.length ? h("div", { class: "result-data" }, parts) : null;
}

function isDistribution(value) {
  return value && typeof value === "object" && !Array.isArray(value)
    && Object.values(value).every((v) => typeof v === "number");
}

function distribution(dist) {
  const rows = Object.entries(dist).sort((a, b) => b[1] - a[1]);
  return h("div", { class: "distribution" }, h("h4", {}, "Distribution"),
    h("ul", { class: "bars" }, rows.map(([name, value]) =>
      h("li", {}, h("span", { class: "bar-name" }, humanize(name)),
        h("span", { class: "bar-track", "aria-hidden": "true" },
          h("span", { class: "bar-fill", style: `width:${Math.max(0, Math.min(100, value * 100))}%` })),
        h("span", { class: "bar-value" }, pct(value))))));
}

// A coloured strip of the timeline windows; the text list underneath is what screen readers read.
function timeline(points) {
  const total = Math.max(...points.map((p) => p.end || 0)) || points.length;
  // A window's name: its label, else its first text value.
  const name = (p) => p.label || Object.values(p).find((v) => typeof v === "string") || "";
  const strip = h("div", { class: "timeline-strip", "aria-hidden": "true" }, points.map((p) =>
    h("span", {
      class: "timeline-seg", title: `${fmtTime(p.start)}–${fmtTime(p.end)}: ${name(p)}`,
      style: `flex:${((p.end ?? 1) - (p.start ?? 0)) / total}; background:${colour(name(p))}`,
    }, humanize(name(p)))));
  const changes = points.filter((p, i) => i === 0 || name(p) !== name(points[i - 1]));
  return h("div", { class: "timeline" }, h("h4", {}, "Timeline"), strip,
    h("p", { class: "muted small" }, changes.map((p) => `${fmtTime(p.start)} ${name(p)}`).join(" → ")));
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
