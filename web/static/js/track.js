// The track panel: drag & drop / picker upload with progress, the track's facts, waveform player.

import { api, fileUrl, uploadFile } from "./api.js";
import { startJob } from "./jobs.js";
import { createPlayer } from "./player.js";
import { capability, emit, jobFileId, on, setAnalysis, setCurrentFile, state } from "./state.js";
import { $, fmtBytes, fmtNumber, fmtTime, h, notify, progressBar, showError } from "./ui.js";

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
  on("analysis", renderAnalysis);
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
    analyzeCurrent();
  } catch (error) {
    status.hidden = true;
    showError(error, `Upload of ${file.name} failed`);
  }
}

/** Measure tempo and key of the current track with the analyze capability, when installed. */
async function analyzeCurrent() {
  const file = state.currentFile;
  if (!file || !capability("analyze")) return;
  markAnalysis("Measuring tempo and key…");
  try {
    const job = await api("/jobs", { method: "POST", body: { capability: "analyze", file_id: file.id } });
    const final = await startJob(job, { quiet: true });
    if (final.status !== "succeeded") markAnalysis(`Analysis ${final.status}`);
  } catch (error) {
    markAnalysis("Analysis unavailable");
    showError(error, "Analysis failed");
  }
}

/** Show the last successful analysis of a file chosen from "My files", if there is one. */
export async function openFile(file) {
  setCurrentFile(file);
  if (!capability("analyze")) return;
  try {
    const page = await api("/jobs", { query: { capability: "analyze", status: "succeeded", per_page: 100 } });
    const job = page.items.find((j) => jobFileId(j) === file.id && j.result);
    if (job) setAnalysis(file.id, job.result.data);
    else markAnalysis(null);
  } catch (error) {
    showError(error, "Could not load the analysis");
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
    h("div", { id: "analysis-chips", class: "chips", "aria-live": "polite" }),
    createPlayer({ url: fileUrl(file.id), title: file.filename, filename: file.filename,
      duration: file.duration }),
  );
  view.querySelector(".player").dataset.track = file.id;
  renderAnalysis(state.analysis);
}

function fact(name, value) {
  return h("div", { class: "fact" }, h("dt", {}, name), h("dd", {}, value ?? "–"));
}

function markAnalysis(message) {
  const chips = $("#analysis-chips");
  if (!chips) return;
  if (!message && capability("analyze")) {
    chips.replaceChildren(h("button", { type: "button", class: "button button-small", onclick: analyzeCurrent },
      "Measure tempo & key"));
    return;
  }
  chips.replaceChildren(message ? h("span", { class: "chip chip-pending" }, message) : "");
}

function renderAnalysis(data) {
  const chips = $("#analysis-chips");
  if (!chips || !data) return;
  const items = [];
  if (data.tempo) items.push(["Tempo", `${fmtNumber(data.tempo, 1)} BPM`, "tempo"]);
  if (data.key_name || data.key) items.push(["Key", data.key_name || `${data.key} ${data.mode || ""}`, "key"]);
  if (data.camelot) items.push(["Camelot", data.camelot, "camelot"]);
  const lufs = data.loudness && data.loudness.integrated_lufs;
  if (typeof lufs === "number") items.push(["Loudness", `${fmtNumber(lufs, 1)} LUFS`, "loudness"]);
  chips.replaceChildren(...items.map(([name, value, key]) =>
    h("span", { class: "chip", dataset: { fact: key } }, h("span", { class: "chip-label" }, name), " ", value)));
}
