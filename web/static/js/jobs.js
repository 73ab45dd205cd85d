// Job cards in the Results panel, in one tab per track (jobs made from a prompt share a tab): live
// progress (SSE) with the queue position and ETA when the server gives them, cancel, errors, then the
// result under its one-line summary.

import { api, followJob, TERMINAL } from "./api.js";
import { headline, jobTrack, renderResult } from "./results.js";
import { capability, emit, jobFileId, on, setTrackResult, state } from "./state.js";
import { $, capabilityIcon, fmtDate, h, humanize, icon, progressBar, showError } from "./ui.js";

const cards = new Map(); // job id → card element
const following = new Map(); // job id → promise of the final job
const groups = new Map(); // group key → {tab, panel}
let selectedGroup = null;

/**
 * Show a job in the Results panel and follow it until it ends; resolves to the final job.
 * Options: quiet (do not move focus to the card).
 */
export function startJob(job, { quiet = false } = {}) {
  const card = cards.get(job.id) || createCard(job);
  const group = groupFor(job);
  if (card.parentElement !== group.panel) group.panel.prepend(card);
  else if (!quiet) group.panel.prepend(card);
  refreshCounts();
  selectGroup(groupKey(job));
  updateCard(card, job);
  if (!quiet) card.focus({ preventScroll: false });
  if (TERMINAL.has(job.status)) {
    finish(card, job);
    return Promise.resolve(job);
  }
  if (!following.has(job.id)) {
    const done = followJob(job.id, (update) => updateCard(card, update))
      .then((final) => {
        finish(card, final);
        return final;
      })
      .catch((error) => {
        showError(error, `Lost track of the ${humanize(job.capability)} job`);
        throw error;
      })
      .finally(() => following.delete(job.id));
    following.set(job.id, done);
  }
  return following.get(job.id);
}

/** Follow the current track: its tab comes forward when it has one. */
export function initResultTabs() {
  on("file", (file) => {
    if (file && groups.has(file.id)) selectGroup(file.id);
  });
}

// ---- tabs --------------------------------------------------------------------------------------

function groupKey(job) {
  return jobFileId(job) || "other";
}

function groupLabel(job) {
  const track = state.fileNames.get(jobFileId(job));
  if (track) return track;
  return job.inputs && job.inputs.texts && Object.keys(job.inputs.texts).length ? "From prompts" : "Other results";
}

function groupFor(job) {
  const key = groupKey(job);
  if (groups.has(key)) return groups.get(key);
  const id = `results-${groups.size + 1}`;
  const tab = h("button", { type: "button", role: "tab", id: `${id}-tab`, class: "result-tab",
    "aria-controls": `${id}-panel`, "aria-selected": "false", tabindex: "-1", dataset: { group: key } },
  h("span", { class: "result-tab-name" }, groupLabel(job)), h("span", { class: "result-tab-count" }));
  const panel = h("div", { role: "tabpanel", id: `${id}-panel`, class: "job-cards", "aria-labelledby": tab.id,
    hidden: true, dataset: { group: key } });
  tab.addEventListener("click", () => selectGroup(key));
  tab.addEventListener("keydown", (event) => {
    const keys = [...groups.keys()];
    const moves = { ArrowRight: 1, ArrowLeft: -1 };
    let next = null;
    if (event.key in moves) next = keys[(keys.indexOf(key) + moves[event.key] + keys.length) % keys.length];
    else if (event.key === "Home") next = keys[0];
    else if (event.key === "End") next = keys[keys.length - 1];
    if (next === null) return;
    event.preventDefault();
    selectGroup(next);
    groups.get(next).tab.focus();
  });
  $("#result-tabs").append(tab);
  $("#job-cards").append(panel);
  $("#result-tabs").hidden = false;
  const group = { tab, panel };
  groups.set(key, group);
  return group;
}

function selectGroup(key) {
  if (!groups.has(key)) return;
  selectedGroup = key;
  for (const [k, { tab, panel }] of groups) {
    const on = k === key;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    panel.hidden = !on;
  }
}

function refreshCounts() {
  for (const [key, { tab, panel }] of groups) {
    const count = panel.querySelectorAll(".job-card").length;
    if (!count) {
      tab.remove();
      panel.remove();
      groups.delete(key);
      continue;
    }
    tab.querySelector(".result-tab-count").textContent = String(count);
  }
  if (!groups.has(selectedGroup) && groups.size) selectGroup([...groups.keys()][0]);
  $("#result-tabs").hidden = groups.size === 0;
  $("#results-empty").hidden = groups.size > 0;
}

// ---- cards -------------------------------------------------------------------------------------

function createCard(job) {
  const cap = capability(job.capability);
  const titleId = `job-title-${job.id}`;
  const source = jobTrack(job);
  const cancel = h("button", { type: "button", class: "button button-small button-danger" }, "Cancel");
  const dismiss = h("button", {
    type: "button", class: "icon-button", "aria-label": `Close the ${humanize(job.capability)} result`,
  }, icon("close"));
  const card = h("article", {
    class: "job-card card", tabindex: "-1", "aria-labelledby": titleId,
    dataset: { jobId: job.id, capability: job.capability },
  },
  h("header", { class: "job-head" },
    h("span", { class: "job-icon" }, capabilityIcon(cap)),
    h("div", { class: "job-titles" },
      h("h3", { id: titleId }, humanize(job.capability), source ? h("span", { class: "muted" }, ` · ${source}`) : ""),
      h("p", { class: "summary job-headline", hidden: true })),
    h("span", { class: "badge" }),
    dismiss),
  h("div", { class: "job-progress" }, progressBar(`${humanize(job.capability)} progress`),
    h("span", { class: "job-percent", "aria-hidden": "true" }), cancel),
  h("p", { class: "job-message muted", "aria-live": "polite" }),
  h("p", { class: "job-queue muted small", hidden: true }),
  h("p", { class: "job-error", role: "alert", hidden: true }),
  h("div", { class: "job-result" }),
  h("p", { class: "job-meta muted" }, `Started ${fmtDate(job.created_at)}`));

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      updateCard(card, await api(`/jobs/${job.id}/cancel`, { method: "POST" }));
    } catch (error) {
      cancel.disabled = false;
      showError(error, "Could not cancel");
    }
  });
  dismiss.addEventListener("click", () => {
    card.querySelectorAll(".mixer").forEach((m) => m.mixer.close());
    card.remove();
    cards.delete(job.id);
    refreshCounts();
    $("#results-title").focus(); // keep keyboard focus in the panel instead of losing it
  });
  cards.set(job.id, card);
  return card;
}

/** A time range from the server's eta_s ({low, high} seconds): "40–60 s", "2–3 min". */
function fmtEta({ low, high }) {
  const unit = high >= 90 ? 60 : 1;
  const step = unit === 1 && high >= 20 ? 5 : 1;
  const round = (v) => Math.max(1, Math.round(v / unit / step) * step);
  const [lo, hi] = [round(low), round(high)];
  return `${lo === hi ? lo : `${lo}–${hi}`} ${unit === 60 ? "min" : "s"}`;
}

function ordinal(n) {
  const suffix = n % 100 >= 10 && n % 100 <= 20 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

/** "3rd in line, about 40–60 s": only what the server says (queue_position, eta_s). */
function queueText(job) {
  if (TERMINAL.has(job.status)) return "";
  const eta = job.eta_s && typeof job.eta_s.high === "number" ? fmtEta(job.eta_s) : "";
  if (job.status === "queued" && Number.isInteger(job.queue_position)) {
    return `${ordinal(job.queue_position)} in line${eta ? `, about ${eta}` : ""}`;
  }
  return eta ? `about ${eta} left` : "";
}

function updateCard(card, job) {
  card.dataset.status = job.status;
  const progress = job.status === "succeeded" ? 100 : job.progress || 0;
  card.querySelector(".progress").set(progress, job.message || job.status);
  card.querySelector(".job-percent").textContent = `${Math.round(progress)}%`;
  const badge = card.querySelector(".badge");
  badge.textContent = job.status;
  badge.className = `badge badge-${job.status}`;
  const message = card.querySelector(".job-message");
  message.textContent = job.status === "queued" && job.depends_on ? "waiting for the job it depends on"
    : job.message || "";
  const queue = card.querySelector(".job-queue");
  queue.textContent = queueText(job);
  queue.hidden = !queue.textContent;
  const cancel = card.querySelector(".button-danger");
  cancel.hidden = TERMINAL.has(job.status);
  const error = card.querySelector(".job-error");
  error.hidden = !job.error || job.status === "succeeded";
  if (job.error) error.textContent = job.error.message || job.error.code;
}

function finish(card, job) {
  updateCard(card, job);
  refreshCounts();
  if (card.dataset.rendered === job.status) return;
  card.dataset.rendered = job.status;
  emit("jobs-changed");
  if (job.status !== "succeeded") return;
  const line = headline(job);
  const title = card.querySelector(".job-headline");
  title.textContent = line || "";
  title.hidden = !line;
  card.querySelector(".job-result").replaceChildren(renderResult(job));
  const cap = capability(job.capability);
  if (cap && cap.on_upload && job.result) setTrackResult(jobFileId(job), job.capability, job.result);
  for (const output of (job.result && job.result.outputs) || []) {
    if (output.kind === "audio" && !state.jobOutputs.some((o) => o.url === output.url)) {
      state.jobOutputs.unshift({ ...output, job_id: job.id, capability: job.capability });
    }
  }
  emit("outputs");
}
