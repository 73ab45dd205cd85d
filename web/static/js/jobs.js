// Job cards in the Results panel: live progress (SSE), cancel, errors, then the results.

import { api, followJob, TERMINAL } from "./api.js";
import { renderResult } from "./results.js";
import { capability, emit, jobFileId, setTrackResult, state } from "./state.js";
import { $, fmtDate, h, humanize, progressBar, showError } from "./ui.js";

const cards = new Map(); // job id → card element
const following = new Map(); // job id → promise of the final job

/**
 * Show a job in the Results panel and follow it until it ends; resolves to the final job.
 * Options: quiet (do not move focus to the card).
 */
export function startJob(job, { quiet = false } = {}) {
  const card = cards.get(job.id) || createCard(job);
  $("#job-cards").prepend(card);
  $("#results-empty").hidden = true;
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
        showError(error, `Lost track of the ${job.capability} job`);
        throw error;
      })
      .finally(() => following.delete(job.id));
    following.set(job.id, done);
  }
  return following.get(job.id);
}

function createCard(job) {
  const cap = capability(job.capability);
  const titleId = `job-title-${job.id}`;
  const fileId = jobFileId(job);
  const source = fileId && state.fileNames.get(fileId);
  const cancel = h("button", { type: "button", class: "button button-small button-danger" }, "Cancel");
  const dismiss = h("button", {
    type: "button", class: "icon-button", "aria-label": `Close the ${job.capability} result`,
  }, "×");
  const card = h("article", {
    class: "job-card card", tabindex: "-1", "aria-labelledby": titleId,
    dataset: { jobId: job.id, capability: job.capability },
  },
  h("header", { class: "job-head" },
    h("span", { class: "job-emoji", "aria-hidden": "true" }, (cap && cap.ui && cap.ui.emoji) || "♪"),
    h("h3", { id: titleId }, humanize(job.capability), source ? h("span", { class: "muted" }, ` · ${source}`) : ""),
    h("span", { class: "badge" }),
    dismiss),
  h("div", { class: "job-progress" }, progressBar(`${humanize(job.capability)} progress`),
    h("span", { class: "job-percent", "aria-hidden": "true" }), cancel),
  h("p", { class: "job-message muted", "aria-live": "polite" }),
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
    $("#results-empty").hidden = cards.size > 0;
    $("#results-title").focus(); // keep keyboard focus in the panel instead of losing it
  });
  cards.set(job.id, card);
  return card;
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
  const cancel = card.querySelector(".button-danger");
  cancel.hidden = TERMINAL.has(job.status);
  const error = card.querySelector(".job-error");
  error.hidden = !job.error || job.status === "succeeded";
  if (job.error) error.textContent = job.error.message || job.error.code;
}

function finish(card, job) {
  updateCard(card, job);
  if (card.dataset.rendered === job.status) return;
  card.dataset.rendered = job.status;
  emit("jobs-changed");
  if (job.status !== "succeeded") return;
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
