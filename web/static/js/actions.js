// The "Create" panel: pick a capability (as listed by the API), fill its inputs and parameters, run it.

import { api } from "./api.js";
import { startJob } from "./jobs.js";
import { createParamsForm, FieldErrors } from "./params.js";
import { emit, on, rememberFile, state } from "./state.js";
import { $, capabilityIcon, h, humanize, setFormError, uid } from "./ui.js";

const PREVIEW_SECONDS = 15; // what a Preview press asks for (capabilities declaring preview_seconds)
let selected = null; // capability name
let files = []; // the user's files, for audio input pickers

export function initActions() {
  renderPicker();
  on("file", refreshSources);
  on("outputs", refreshSources);
  on("files-changed", loadFiles);
  loadFiles();
}

function renderPicker() {
  const view = $("#action-view");
  if (!state.capabilities.length) {
    view.replaceChildren(h("p", { class: "muted" }, "This server has no capabilities installed yet."));
    return;
  }
  const options = state.capabilities.map((cap) => {
    const id = uid(`cap-${cap.name}`);
    const radio = h("input", { type: "radio", name: "capability", id, value: cap.name,
      class: "visually-hidden", "aria-label": humanize(cap.name), "aria-describedby": `${id}-desc` });
    radio.addEventListener("change", () => selectCapability(cap.name));
    return h("label", { class: "cap-option", for: id, dataset: { capability: cap.name } }, radio,
      h("span", { class: "cap-icon" }, capabilityIcon(cap)),
      h("span", { class: "cap-name" }, humanize(cap.name)),
      h("span", { id: `${id}-desc`, class: "cap-desc" }, cap.description));
  });
  view.replaceChildren(
    h("fieldset", { class: "cap-picker" }, h("legend", {}, "What do you want to do?"), options),
    h("div", { id: "action-form-host" }));
  const first = state.capabilities[0].name;
  const radio = view.querySelector(`input[value="${CSS.escape(selected || first)}"]`) || view.querySelector("input");
  radio.checked = true;
  selectCapability(radio.value);
}

function selectCapability(name) {
  selected = name;
  const cap = state.capabilities.find((c) => c.name === name);
  const host = $("#action-form-host");
  const genreSets = Object.fromEntries(Object.entries(cap.genre_params || {})
    .map(([param, set]) => [param, state.genreSets[set] || []]));
  const params = createParamsForm(cap.params_schema, { genreSets, advanced: cap.advanced || [] });
  const inputs = cap.inputs.map(inputField);
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const run = h("button", { type: "submit", class: "button button-primary" }, `Run ${humanize(cap.name)}`);
  // A capability whose parameters include preview_seconds gets a quick Preview beside Run.
  const preview = cap.params_schema?.properties?.preview_seconds
    ? h("button", { type: "submit", class: "button", dataset: { preview: "1" },
      title: `Render ${PREVIEW_SECONDS} s of the most representative part first` }, "Preview") : null;
  // Optional audio inputs (e.g. ready-made parts of the track) are rarely needed: fold them away.
  const optional = inputs.filter((i) => i.optionalAudio);
  const form = h("form", { id: "action-form", class: "action-form", novalidate: true,
    "aria-label": `${humanize(cap.name)} options`, dataset: { capability: cap.name } },
  h("p", { class: "muted small cap-about" }, cap.description),
  inputs.filter((i) => !i.optionalAudio).map((i) => i.element),
  optional.length ? h("details", { class: "more-options" }, h("summary", {}, "Optional inputs"),
    h("div", { class: "field-grid" }, optional.map((i) => i.element))) : null,
  params.element, error, h("div", { class: "form-actions" }, run, preview));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setFormError(error, "");
    params.clearErrors();
    const asPreview = Boolean(preview) && event.submitter === preview;
    run.disabled = true;
    if (preview) preview.disabled = true;
    try {
      const body = { capability: cap.name, inputs: {}, params: params.read() };
      if (asPreview) body.params.preview_seconds = PREVIEW_SECONDS;
      for (const input of inputs) {
        const value = input.read();
        if (value !== undefined) body.inputs[input.name] = value;
      }
      const job = await api("/jobs", { method: "POST", body });
      emit("jobs-changed");
      startJob(job).catch(() => {});
    } catch (err) {
      // A field's problem shows under that field; the line above Run points there.
      if (err instanceof FieldErrors) setFormError(error, err.message);
      else if ([400, 422].includes(err.status) && params.showServerError(err)) {
        setFormError(error, "Check the setting marked below.");
      } else setFormError(error, err.message);
    } finally {
      run.disabled = false;
      if (preview) preview.disabled = false;
    }
  });
  host.replaceChildren(form);
  refreshSources();
}

function inputField(spec) {
  const id = uid(`input-${spec.name}`);
  const label = spec.kind === "audio" ? `Source audio${spec.name !== "audio" ? ` (${humanize(spec.name)})` : ""}`
    : humanize(spec.name);
  const help = spec.description ? h("small", { id: `${id}-help`, class: "help" }, spec.description) : null;
  const describedBy = help ? `${id}-help` : null;
  if (spec.kind === "text") {
    const area = h("textarea", { id, rows: "3", maxlength: "2000", "aria-describedby": describedBy,
      placeholder: "Describe the music: style, feeling, instruments, tempo…", required: spec.required });
    return {
      name: spec.name, element: h("div", { class: "field field-wide" }, h("label", { for: id }, label), area, help),
      read: () => {
        const text = area.value.trim();
        if (!text && spec.required) throw new Error(`${label} is required`);
        return text || undefined;
      },
    };
  }
  const select = h("select", { id, class: "source-select", "aria-describedby": describedBy });
  select.dataset.input = spec.name;
  select.dataset.optional = String(!spec.required);
  return {
    name: spec.name, optionalAudio: !spec.required,
    element: h("div", { class: `field${spec.required ? " field-wide" : ""}` }, h("label", { for: id }, label),
      select, help),
    read: () => {
      if (!select.value) {
        if (spec.required) throw new Error("Upload a track first (or pick one from My files)");
        return undefined;
      }
      const ref = JSON.parse(select.value);
      return ref.file_id ? ref.file_id : ref;
    },
  };
}

async function loadFiles() {
  try {
    const page = await api("/files", { query: { per_page: 100 } });
    files = page.items;
    files.forEach(rememberFile);
    refreshSources();
  } catch {
    // The file list shows its own error; the picker keeps what it had.
  }
}

/** Fill every audio-source select: uploaded files (current first) and this session's job outputs. */
function refreshSources() {
  const current = state.currentFile;
  const list = current ? [current, ...files.filter((f) => f.id !== current.id)] : files;
  for (const select of document.querySelectorAll(".source-select")) {
    const previous = select.value;
    const fileOptions = list.map((f) => h("option", { value: JSON.stringify({ file_id: f.id }) },
      f.filename + (current && f.id === current.id ? " (current track)" : "")));
    const outputOptions = state.jobOutputs.map((o) => h("option",
      { value: JSON.stringify({ job_id: o.job_id, output: o.name }) }, `${humanize(o.capability)} → ${o.name}`));
    const optional = select.dataset.optional === "true";
    select.replaceChildren(
      optional ? h("option", { value: "" }, "None") : null,
      list.length ? h("optgroup", { label: "My files" }, fileOptions)
        : optional ? null : h("option", { value: "" }, "No files yet"),
      outputOptions.length ? h("optgroup", { label: "Results of this session" }, outputOptions) : null);
    const keep = [...select.options].some((o) => o.value === previous);
    const currentChanged = current && select.dataset.current !== current.id;
    select.value = keep && (optional || (previous && !currentChanged)) ? previous : select.options[0].value;
    select.dataset.current = current ? current.id : "";
  }
}
