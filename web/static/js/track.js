// The track panel: drag & drop / picker upload with progress, the track's facts, waveform player,
// and the results of what the server runs on every upload (capabilities declaring on_upload).

import { api, fileUrl, uploadFile } from "./api.js";
import { startJob } from "./jobs.js";
import { createPlayer } from "./player.js";
import {
  emit, jobFileId, on, onUploadCapabilities, resultSummary, setCurrentFile, setTrackResult, state,
} from "./state.js";
import { $, fmtBytes, fmtNumber, fmtTime, h, humanize, notify, progressBar, showError } from "./ui.js";

export function initTrackPanel() {
  const dropzone = $("#dropzone");
  const input = $("#file-input");
  input.addEventListener("change", () => {
    if (input.files.length) upload(input.files[0]);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("is-over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    dropzone.addEventListener(type, () => dropzone.classList.remove("is-over"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) upload(file);
  });
  on("file", renderTrack);
  on("track-results", renderTrackResults);
  renderTrack(state.currentFile);
}

async function upload(file) {
  const status = $("#upload-status");
  const bar = progressBar(`Uploading ${file.name}`);
  const text = h("span", { class: "upload-text" }, `Uploading ${file.name}…`);
  status.replaceChildren(text, bar);
  status.hidden = false;
  try {
    const record = await uploadFile(file, (fraction) => {
      bar.set(fraction * 100, "uploading");
      // The server decodes the whole file before answering: say so once the bytes are sent.
      text.textContent = fraction < 1 ? `Uploading ${file.name}… ${Math.round(fraction * 100)}%`
        : `Checking ${file.name}…`;
    });
    status.hidden = true;
    notify(`Uploaded ${record.filename}`, "success");
    setCurrentFile(record);
    emit("files-changed");
    runOnUpload();
  } catch (error) {
    status.hidden = true;
    showError(error, `Upload of ${file.name} failed`);
  }
}

/** Run every capability the server declares for new uploads (on_upload) on the current track. */
async function runOnUpload() {
  await Promise.all(onUploadCapabilities().map(runOnTrack));
}

async function runOnTrack(cap) {
  const file = state.currentFile;
  if (!file) return;
  markPending(cap, `${humanize(cap.name)}: running…`);
  try {
    const job = await api("/jobs", { method: "POST", body: { capability: cap.name, file_id: file.id } });
    const final = await startJob(job, { quiet: true });
    if (final.status !== "succeeded") markPending(cap, `${humanize(cap.name)} ${final.status}`);
  } catch (error) {
    markPending(cap, `${humanize(cap.name)} unavailable`);
    showError(error, `${humanize(cap.name)} failed`);
  }
}

/** Show the last successful on-upload results of a file chosen from "My files", if there are any. */
export async function openFile(file) {
  setCurrentFile(file);
  for (const cap of onUploadCapabilities()) {
    try {
      const page = await api("/jobs", { query: { capability: cap.name, status: "succeeded", per_page: 100 } });
      const job = page.items.find((j) => jobFileId(j) === file.id && j.result);
      if (job) setTrackResult(file.id, cap.name, job.result);
      else markPending(cap, null);
    } catch (error) {
      showError(error, `Could not load the ${humanize(cap.name)} result`);
    }
  }
}

function renderTrack(file) {
  const view = $("#track-view");
  if (!file) {
    view.replaceChildren(h("p", { class: "muted" }, "No track yet — upload one to begin."));
    return;
  }
  const facts = h("dl", { class: "facts" },
    fact("Duration", fmtTime(file.duration)),
    fact("Format", String(file.format || "").toUpperCase()),
    fact("Sample rate", file.sample_rate ? `${(file.sample_rate / 1000).toFixed(1)} kHz` : "–"),
    fact("Channels", file.channels === 1 ? "mono" : file.channels === 2 ? "stereo" : file.channels),
    fact("Size", fmtBytes(file.size_bytes)));
  view.replaceChildren(
    h("div", { class: "track-head" },
      h("h3", { class: "track-name", title: file.filename }, file.filename)),
    facts,
    h("div", { id: "track-results", "aria-live": "polite" }),
    createPlayer({ url: fileUrl(file.id), title: file.filename, filename: file.filename,
      duration: file.duration }),
  );
  view.querySelector(".player").dataset.track = file.id;
  renderTrackResults(state.trackResults);
}

function fact(name, value) {
  return h("div", { class: "fact" }, h("dt", {}, name), h("dd", {}, value ?? "–"));
}

/** A capability's slot beside the waveform: a message while it runs, or a button to run it. */
function markPending(cap, message) {
  const slot = document.querySelector(`#track-results [data-on-upload="${CSS.escape(cap.name)}"]`);
  if (!slot || state.trackResults[cap.name]) return;
  slot.replaceChildren(message ? h("span", { class: "chip chip-pending" }, message)
    : h("button", { type: "button", class: "button button-small", onclick: () => runOnTrack(cap) },
      `Run ${humanize(cap.name)}`));
}

// Figures found in the results' data (by their shape, whichever capability produced them).
const CHIPS = [
  ["tempo", "Tempo", (d) => (typeof d.tempo === "number" && d.tempo ? `${fmtNumber(d.tempo, 1)} BPM` : null)],
  ["key", "Key", (d) => d.key_name || null],
  ["camelot", "Camelot", (d) => d.camelot || null],
  ["loudness", "Loudness", (d) => (d.loudness && typeof d.loudness.integrated_lufs === "number"
    ? `${fmtNumber(d.loudness.integrated_lufs, 1)} LUFS` : null)],
];

function renderTrackResults(results) {
  const host = $("#track-results");
  if (!host) return;
  host.replaceChildren(...onUploadCapabilities().map((cap) => {
    const result = results[cap.name];
    const slot = h("div", { class: "on-upload", dataset: { onUpload: cap.name } });
    if (!result) return slot;
    const data = result.data || {};
    const chips = CHIPS.map(([key, name, value]) => [key, name, value(data)]).filter(([, , v]) => v);
    const summary = resultSummary(result);
    slot.replaceChildren(
      chips.length ? h("div", { class: "chips" }, chips.map(([key, name, value]) =>
        h("span", { class: "chip", dataset: { fact: key } }, h("span", { class: "chip-label" }, name), " ", value)))
        : null,
      summary ? h("p", { class: "muted small on-upload-summary" }, summary) : null);
    return slot;
  }));
  for (const cap of onUploadCapabilities()) {
    if (!results[cap.name]) markPending(cap, null);
  }
}
