// A download button for a job output (fetched with the token, saved under the name the server gives:
// the track's name and the output's).

import { downloadTo } from "./api.js";
import { fmtBytes, h, icon, showError } from "./ui.js";

/** Options: compact (icon only, the name and size in the tooltip). */
export function downloadButton(output, title, { compact = false } = {}) {
  const size = fmtBytes(output.size_bytes);
  return h("button", {
    type: "button", class: `button button-small${compact ? " button-icon" : ""}`,
    "aria-label": `Download ${title} (${output.filename})`, title: `${output.filename} · ${size}`,
    dataset: { download: output.name },
    onclick: () => downloadTo(output.url, output.filename).catch((e) => showError(e, "Download failed")),
  }, icon("download"), compact ? null : h("span", { class: "button-text" }, output.filename),
  compact ? null : h("span", { class: "muted" }, size));
}
