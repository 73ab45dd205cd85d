// A download button for a job output (fetched with the token, saved under its filename).

import { downloadTo } from "./api.js";
import { fmtBytes, h, showError } from "./ui.js";

export function downloadButton(output, title) {
  return h("button", {
    type: "button", class: "button button-small", "aria-label": `Download ${title} (${output.filename})`,
    dataset: { download: output.name },
    onclick: () => downloadTo(output.url, output.filename).catch((e) => showError(e, "Download failed")),
  }, `⤓ ${output.filename}`, h("span", { class: "muted" }, ` ${fmtBytes(output.size_bytes)}`));
}
