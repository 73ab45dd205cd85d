// Small DOM helpers shared by every view: element builder, formatting, notices.

/**
 * h("button", {class: "x", onclick: fn}, "text", child) → element.
 * Attributes starting with "on" become listeners; false/null attributes are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value; // textarea content, input value

    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
// Icons a capability may name in its ui.icon hint (bundled in icons.svg); anything else gets a note.
const CAPABILITY_ICONS = new Set(["gauge", "layers", "sliders", "sparkles", "masks", "note"]);

/** A decorative icon from the bundled sprite (no emoji: they show as boxes without an emoji font). */
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `/static/icons.svg#i-${name}`);
  svg.append(use);
  return svg;
}

/** The icon a capability declares (ui.icon), when the sprite has it. */
export function capabilityIcon(cap, className = "icon") {
  const name = cap && cap.ui && cap.ui.icon;
  return icon(CAPABILITY_ICONS.has(name) ? name : "note", className);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

export function humanize(name) {
  const words = String(name).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function fmtTime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00";
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function fmtBytes(bytes) {
  if (!Number.isFinite(bytes)) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function fmtDate(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function fmtNumber(value, digits = 2) {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** A visual + accessible progress bar; set(percent, text) updates both. */
export function progressBar(label) {
  const fill = h("div", { class: "progress-fill" });
  const bar = h("div", {
    class: "progress", role: "progressbar", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
  }, fill);
  bar.set = (percent, text) => {
    const p = Math.max(0, Math.min(100, Math.round(percent)));
    fill.style.width = `${p}%`;
    bar.setAttribute("aria-valuenow", String(p));
    bar.setAttribute("aria-valuetext", text ? `${p}% – ${text}` : `${p}%`);
  };
  return bar;
}

const noticeRegion = () => document.getElementById("notices");

/** Show a dismissible message; errors use role=alert so screen readers announce them at once. */
export function notify(message, kind = "info", { timeout = kind === "error" ? 0 : 5000 } = {}) {
  const close = h("button", { type: "button", class: "icon-button", "aria-label": "Dismiss message" }, icon("close"));
  const note = h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "notice-text" }, message), close);
  close.addEventListener("click", () => note.remove());
  noticeRegion().append(note);
  if (timeout) setTimeout(() => note.remove(), timeout);
  return note;
}

export function showError(error, context) {
  const text = error && error.message ? error.message : String(error);
  return notify(context ? `${context}: ${text}` : text, "error");
}

/** Inline error under a form (cleared with an empty message). */
export function setFormError(target, message) {
  target.textContent = message || "";
  target.hidden = !message;
}
