// "My files" and "My jobs": paginated tables with open / delete / view actions.

import { api } from "./api.js";
import { startJob } from "./jobs.js";
import { emit, jobFileId, on, rememberFile, setCurrentFile, state } from "./state.js";
import { openFile } from "./track.js";
import { $, fmtBytes, fmtDate, fmtTime, h, humanize, icon, notify, showError } from "./ui.js";

const PER_PAGE = 8;
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];

export function initLists() {
  const files = pagedList({
    host: $("#files-view"), noun: "files", load: (page) => api("/files", { query: { page, per_page: PER_PAGE } }),
    head: ["Name", "Length", "Uploaded", "Actions"], row: fileRow,
  });
  const statusId = "jobs-status-filter";
  const filter = h("select", { id: statusId },
    h("option", { value: "" }, "All"), STATUSES.map((s) => h("option", { value: s }, humanize(s))));
  const jobs = pagedList({
    host: $("#jobs-view"), noun: "jobs",
    toolbar: h("div", { class: "list-toolbar" }, h("label", { for: statusId }, "Status"), filter),
    load: (page) => api("/jobs", { query: { page, per_page: PER_PAGE, status: filter.value } }),
    head: ["Action", "Status", "Started", "Actions"], row: jobRow,
  });
  filter.addEventListener("change", () => jobs.load(1));
  on("files-changed", () => files.load());
  on("jobs-changed", () => jobs.load());
  files.load(1);
  jobs.load(1);
}

/** A table with Previous/Next paging; load(page) fetches {items, page, per_page, total}. */
function pagedList({ host, noun, load, head, row, toolbar = null }) {
  let page = 1;
  const caption = h("caption", { class: "visually-hidden" }, `My ${noun}`);
  const body = h("tbody");
  const table = h("table", { class: "list" }, caption,
    h("thead", {}, h("tr", {}, head.map((name) => h("th", { scope: "col" }, name)))), body);
  const info = h("span", { class: "pager-info", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "button button-small", "aria-label": `Previous page of ${noun}` },
    "‹ Previous");
  const next = h("button", { type: "button", class: "button button-small", "aria-label": `Next page of ${noun}` },
    "Next ›");
  const empty = h("p", { class: "muted", hidden: true }, `No ${noun} yet.`);
  host.replaceChildren(toolbar || "", h("div", { class: "table-wrap" }, table), empty,
    h("nav", { class: "pager", "aria-label": `Pages of ${noun}` }, prev, info, next));

  const list = {
    async load(target = page) {
      try {
        const data = await load(target);
        const pages = Math.max(1, Math.ceil(data.total / data.per_page));
        if (target > pages && data.total) return list.load(pages); // the last item of a page went away
        page = data.page;
        body.replaceChildren(...data.items.map((item) => row(item, list)));
        empty.hidden = data.items.length > 0;
        table.hidden = !data.items.length;
        info.textContent = `Page ${page} of ${pages} · ${data.total} ${noun}`;
        prev.disabled = page <= 1;
        next.disabled = page >= pages;
      } catch (error) {
        showError(error, `Could not load your ${noun}`);
      }
    },
  };
  prev.addEventListener("click", () => list.load(page - 1));
  next.addEventListener("click", () => list.load(page + 1));
  return list;
}

function fileRow(file, list) {
  rememberFile(file);
  const open = h("button", { type: "button", class: "button button-small button-icon", title: "Open",
    "aria-label": `Open ${file.filename}` }, icon("open"));
  const remove = h("button", { type: "button", class: "button button-small button-icon button-danger", title: "Delete",
    "aria-label": `Delete ${file.filename}` }, icon("trash"));
  open.addEventListener("click", () => {
    openFile(file);
    $("#track-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  });
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${file.filename}? Jobs that used it keep their results.`)) return;
    try {
      await api(`/files/${file.id}`, { method: "DELETE" });
      notify(`Deleted ${file.filename}`, "success");
      if (state.currentFile && state.currentFile.id === file.id) setCurrentFile(null);
      emit("files-changed");
      list.load();
    } catch (error) {
      showError(error, "Could not delete");
    }
  });
  return h("tr", { dataset: { fileId: file.id } },
    h("th", { scope: "row", class: "cell-name", title: file.filename }, file.filename),
    h("td", { title: fmtBytes(file.size_bytes) }, fmtTime(file.duration)),
    h("td", { class: "cell-date" }, fmtShortDate(file.created_at)),
    h("td", {}, h("div", { class: "cell-actions" }, open, remove)));
}

/** "12 Mar, 14:05": short enough for a table cell (the full date is in the tooltip). */
function fmtShortDate(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return fmtDate(iso);
  const text = date.toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  return h("time", { datetime: iso, title: fmtDate(iso) }, text);
}

function jobRow(job) {
  const source = state.fileNames.get(jobFileId(job));
  const view = h("button", { type: "button", class: "button button-small",
    "aria-label": `View ${job.capability} job from ${fmtDate(job.created_at)}` }, "View");
  view.addEventListener("click", () => {
    startJob(job).catch(() => {});
  });
  return h("tr", { dataset: { jobId: job.id } },
    h("th", { scope: "row" }, humanize(job.capability), source ? h("span", { class: "muted small" }, ` · ${source}`) : ""),
    h("td", {}, h("span", { class: `badge badge-${job.status}` }, job.status),
      job.status === "running" ? ` ${Math.round(job.progress)}%` : ""),
    h("td", { class: "cell-date" }, fmtShortDate(job.created_at)), h("td", {}, view));
}
