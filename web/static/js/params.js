// A parameter form generated from a capability's JSON schema (inlined by the API):
// enum → select, boolean → checkbox, integer/number → number input with bounds, string → text.
// A parameter the capability lists in genre_params becomes a picker over exactly that genre set.
// Parameters it lists as advanced, and anything nested (objects, unions: one JSON box), sit in a
// collapsed "Advanced" fold. Each field shows the schema's title as its label and its description as
// help; what is wrong with a value (checked here from the schema, or named by the server's 422) shows
// in plain words under that field.

import { h, humanize, uid } from "./ui.js";

/** A bound for people: 300, -0.1, 0.25 (no trailing zeros). */
const num = (v) => String(Number(Number(v).toFixed(3)));

/** Thrown by read() when fields hold values the schema refuses; errors: field name → message. */
export class FieldErrors extends Error {
  constructor(errors, labels) {
    const names = Object.keys(errors).map((n) => labels[n] || n);
    super(`Check the setting${names.length > 1 ? "s" : ""} marked below: ${names.join(", ")}.`);
    this.errors = errors;
  }
}

/**
 * Returns {element, read(), showServerError(error), clearErrors()}. read() gives the params object or
 * throws FieldErrors (each message is also shown under its field); showServerError(error) puts a
 * server message that names a parameter under that field and says whether it did.
 * genreSets: parameter name → the genres it offers; advanced: names of the parameters for experts.
 */
export function createParamsForm(schema, { genreSets = {}, advanced = [] } = {}) {
  const properties = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const fields = [];
  const complex = [];
  for (const [name, prop] of Object.entries(properties)) {
    const field = buildField(name, prop, { required: required.has(name), genres: genreSets[name] });
    if (field) fields.push(field);
    else complex.push(name);
  }
  // A genre picker says most about the result: show it first.
  fields.sort((a, b) => (b.name in genreSets) - (a.name in genreSets));
  const main = fields.filter((f) => !advanced.includes(f.name));
  const expert = fields.filter((f) => advanced.includes(f.name));

  const jsonId = uid("params-json");
  const json = complex.length ? h("textarea", { id: jsonId, class: "mono", rows: "4", spellcheck: "false",
    placeholder: "{ }", "aria-describedby": `${jsonId}-help` }) : null;
  const jsonField = json ? withError({ name: "__json__", id: jsonId, control: json,
    element: h("div", { class: "field field-wide", dataset: { param: "__json__" } },
      h("label", { for: jsonId }, "More settings (JSON)"), json,
      h("small", { id: `${jsonId}-help`, class: "help" },
        `Optional. A JSON object for ${complex.map((n) => labelText({ name: n, schema: properties[n] })).join(", ")}.`)),
  }) : null;
  const fold = h("details", { class: "more-options advanced-options" },
    h("summary", {}, "Advanced"),
    h("div", { class: "field-grid" }, expert.map((f) => f.element)),
    jsonField ? jsonField.element : null);
  const element = h("div", { class: "params" },
    main.length ? h("div", { class: "field-grid" }, main.map((f) => f.element)) : null,
    expert.length || json ? fold : null);
  const all = jsonField ? [...fields, jsonField] : fields;
  const labels = Object.fromEntries(all.map((f) => [f.name, f.label || "More settings (JSON)"]));

  const clearErrors = () => all.forEach((f) => f.setError(""));
  const show = (errors) => {
    for (const f of all) f.setError(errors[f.name] || "");
    const first = [...main, ...expert, jsonField].find((f) => f && errors[f.name]); // in the order shown
    if (first) {
      if (expert.includes(first) || first === jsonField) fold.open = true;
      first.control.focus();
    }
  };

  const read = () => {
    const params = {};
    const errors = {};
    for (const f of fields) {
      try {
        const value = f.read();
        if (value !== undefined) params[f.name] = value;
      } catch (error) {
        errors[f.name] = error.message;
      }
    }
    if (json && json.value.trim()) {
      try {
        Object.assign(params, parseJsonBox(json.value));
      } catch (error) {
        errors[jsonField.name] = error.message;
      }
    }
    show(errors);
    if (Object.keys(errors).length) throw new FieldErrors(errors, labels);
    return params;
  };

  const showServerError = (error) => {
    const found = fieldOfServerMessage(error && error.message, Object.keys(properties));
    if (!found) return false;
    const target = all.find((f) => f.name === found.name) || (complex.includes(found.name) ? jsonField : null);
    if (!target) return false;
    show({ [target.name]: target === jsonField ? `${labels[found.name] || humanize(found.name)}: ${found.text}`
      : found.text });
    return true;
  };
  return { element, read, showServerError, clearErrors };
}

function parseJsonBox(text) {
  let extra;
  try {
    extra = JSON.parse(text);
  } catch {
    throw new Error("This is not valid JSON. Check the brackets, quotes and commas.");
  }
  if (!extra || typeof extra !== "object" || Array.isArray(extra)) {
    throw new Error("Write a JSON object here, in curly brackets: { … }.");
  }
  return extra;
}

// ---- server messages ---------------------------------------------------------------------------

// msgspec's wording → plain words; $1 is the number or length it names.
const SERVER_WORDING = [
  [/Expected `int`, got `float`/, () => "Enter a whole number."],
  [/Expected `(?:float|int)` >= (-?[\d.]+)/, (n) => `Enter ${n} or more.`],
  [/Expected `(?:float|int)` > (-?[\d.]+)/, (n) => `Enter a number above ${n}.`],
  [/Expected `(?:float|int)` <= (-?[\d.]+)/, (n) => `Enter ${n} or less.`],
  [/Expected `(?:float|int)` < (-?[\d.]+)/, (n) => `Enter a number below ${n}.`],
  [/Expected `str` of length <= (\d+)/, (n) => `Use at most ${n} characters.`],
  [/Expected `str` of length >= (\d+)/, (n) => `Enter at least ${n} character${n === "1" ? "" : "s"}.`],
  [/Expected `str` matching regex/, () => "This is not in the form this setting takes."],
  [/Invalid enum value/, () => "Choose one of the offered options."],
  [/unknown field/, () => "This server does not know this setting."],
];

/**
 * The parameter a server message is about, and what to say: {name, text} or null. It is the field
 * msgspec points at (`- at `$.name``), one it calls unknown, or the first parameter the message names.
 */
export function fieldOfServerMessage(message, names) {
  if (!message) return null;
  const at = /at `\$\.([A-Za-z_]\w*)/.exec(message) || /unknown field `([A-Za-z_]\w*)`/.exec(message);
  let name = at ? at[1] : null;
  if (!name) {
    const hits = names.map((n) => [n, message.search(new RegExp(`(^|[^\\w])${n}([^\\w]|$)`))])
      .filter(([, i]) => i >= 0).sort((a, b) => a[1] - b[1]);
    name = hits.length ? hits[0][0] : null;
  }
  if (!name) return null;
  for (const [pattern, say] of SERVER_WORDING) {
    const m = pattern.exec(message);
    if (m) return { name, text: say(m[1] !== undefined ? num(Number(m[1])) : undefined) };
  }
  const text = message.replace(/^invalid parameters for '[^']*': /, "").replace(/ - at `[^`]*`$/, "").trim();
  return { name, text: text.charAt(0).toUpperCase() + text.slice(1) };
}

/**
 * Unwrap unions: `anyOf: [X, null]` (optional values) becomes X; a union offering a list of
 * choices (`{type: array, items: {enum}}`, e.g. "mute") becomes that list. Others stay complex.
 */
function simplify(prop) {
  if (!Array.isArray(prop.anyOf)) return { schema: prop, nullable: false };
  const { anyOf, ...rest } = prop;
  const options = anyOf.filter((s) => s.type !== "null");
  const nullable = options.length < anyOf.length;
  const choiceList = options.find(isChoiceList);
  if (choiceList) return { schema: { ...choiceList, ...rest }, nullable };
  if (options.length !== 1) return null;
  return { schema: { ...options[0], ...rest }, nullable };
}

function isChoiceList(schema) {
  return schema.type === "array" && schema.items && Array.isArray(schema.items.enum);
}

function buildField(name, prop, { required, genres }) {
  const simple = simplify(prop);
  if (!simple) return null;
  const { schema, nullable } = simple;
  const context = { name, schema, nullable, required, id: uid(`param-${name}`) };
  let field = null;
  if (Array.isArray(genres) && (schema.type === "string" || schema.enum)) field = genreField(context, genres);
  else if (Array.isArray(schema.enum)) field = enumField(context);
  else if (isChoiceList(schema)) field = choiceListField(context);
  else if (schema.type === "boolean") field = booleanField(context);
  else if (schema.type === "integer" || schema.type === "number") field = numberField(context);
  else if (schema.type === "string") field = textField(context);
  return field ? withError({ ...field, label: labelText(context), id: context.id }) : null;
}

function labelText({ name, schema }) {
  return schema && schema.title && schema.title !== name ? schema.title : humanize(name);
}

/** A sentence: capitalised, ending in a full stop. */
function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return "";
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…)]$/.test(s) ? s : `${s}.`;
}

/** Give a field an error line under it: setError(message) shows it, marks the control invalid. */
function withError(field) {
  const errorId = `${field.id}-error`;
  const line = h("small", { id: errorId, class: "field-error", hidden: true });
  field.element.append(line);
  const control = field.control;
  const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  field.setError = (message) => {
    line.textContent = message || "";
    line.hidden = !message;
    field.element.classList.toggle("has-error", Boolean(message));
    const ids = message ? [errorId, ...described] : described;
    if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  };
  // What was said about a value no longer holds once the user changes it.
  field.element.addEventListener("input", () => field.setError(""));
  field.element.addEventListener("change", () => field.setError(""));
  return field;
}

// Label, control, then the help (the description) and, on its own line, the accepted range.
function wrap(ctx, control, hint = "") {
  const helpId = `${ctx.id}-help`;
  const hintId = `${ctx.id}-hint`;
  const help = sentence(ctx.schema.description);
  const ids = [help ? helpId : null, hint ? hintId : null].filter(Boolean);
  if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
  return h("div", { class: "field", dataset: { param: ctx.name } },
    h("label", { for: ctx.id }, labelText(ctx)), control,
    help ? h("small", { id: helpId, class: "help" }, help) : null,
    hint ? h("small", { id: hintId, class: "help hint" }, hint) : null);
}

// Only values the user changed are sent: the capability keeps its own defaults.
function unlessDefault(ctx, value) {
  return !ctx.required && value === ctx.schema.default ? undefined : value;
}

const hasDefault = (schema) => schema.default !== undefined && schema.default !== null;

/** An option's text for people: "auto" reads "Automatic", names lose their dashes. */
function optionText(value) {
  return value === "auto" ? "Automatic" : humanize(value);
}

function enumField(ctx) {
  const { schema } = ctx;
  const select = h("select", { id: ctx.id, required: ctx.required && !ctx.nullable },
    !hasDefault(schema) && (ctx.nullable || !ctx.required) ? h("option", { value: "" }, "—") : null,
    schema.enum.map((v) => h("option", { value: JSON.stringify(v), selected: v === schema.default }, optionText(v))));
  return {
    name: ctx.name, control: select, element: wrap(ctx, select),
    read: () => {
      if (select.value === "") {
        if (ctx.required && !ctx.nullable) throw new Error("Choose one of the options.");
        return undefined;
      }
      return unlessDefault(ctx, JSON.parse(select.value));
    },
  };
}

// Exactly the genres of the parameter's set, each with its description (and aliases). A parameter
// with a default genre starts on it and offers no empty choice.
function genreField(ctx, genres) {
  const optional = (!ctx.required || ctx.nullable) && !hasDefault(ctx.schema);
  const helpId = `${ctx.id}-help`;
  const select = h("select", { id: ctx.id, "aria-describedby": helpId },
    optional ? h("option", { value: "" }, ctx.schema.description ? "Automatic" : "Choose a genre…") : null,
    genres.map((g) => h("option", { value: g.name, selected: g.name === ctx.schema.default }, humanize(g.name))));
  const description = h("small", { id: helpId, class: "help genre-help", "aria-live": "polite" });
  const describe = () => {
    const genre = genres.find((g) => g.name === select.value);
    const aliases = genre && genre.aliases && genre.aliases.length ? ` (also: ${genre.aliases.join(", ")})` : "";
    description.textContent = genre ? sentence(genre.description) + aliases
      : sentence(ctx.schema.description) || "Pick a genre.";
  };
  select.addEventListener("change", describe);
  describe();
  const element = h("div", { class: "field field-wide", dataset: { param: ctx.name } },
    h("label", { for: ctx.id }, labelText(ctx)), select, description);
  return {
    name: ctx.name, control: select, element,
    read: () => {
      if (!select.value) {
        if (ctx.required && !ctx.nullable) throw new Error("Choose a genre.");
        return undefined;
      }
      return unlessDefault(ctx, select.value);
    },
  };
}

// Several choices at once (e.g. which parts to mute): a group of checkboxes. Each box's name starts
// with the group's ("Mute these parts: Drums"), so it never reads like another field's checkbox.
function choiceListField(ctx) {
  const chosen = new Set(Array.isArray(ctx.schema.default) ? ctx.schema.default : []);
  const legend = labelText(ctx);
  const boxes = ctx.schema.items.enum.map((value) => {
    const id = uid(`${ctx.id}-${value}`);
    const box = h("input", { id, type: "checkbox", value: JSON.stringify(value), checked: chosen.has(value) });
    return { box, element: h("span", { class: "check" }, box,
      h("label", { for: id }, h("span", { class: "visually-hidden" }, `${legend}: `), optionText(value))) };
  });
  const helpId = `${ctx.id}-help`;
  const help = sentence(ctx.schema.description);
  const element = h("fieldset", { class: "field field-wide choice-list", dataset: { param: ctx.name },
    "aria-describedby": help ? helpId : null },
  h("legend", {}, legend), h("div", { class: "choices" }, boxes.map((b) => b.element)),
  help ? h("small", { id: helpId, class: "help" }, help) : null);
  const read = () => {
    const values = boxes.filter((b) => b.box.checked).map((b) => JSON.parse(b.box.value));
    const same = values.length === chosen.size && values.every((v) => chosen.has(v));
    return same && !ctx.required ? undefined : values;
  };
  return { name: ctx.name, control: boxes[0].box, element, read };
}

function booleanField(ctx) {
  const box = h("input", { id: ctx.id, type: "checkbox", checked: ctx.schema.default === true });
  const helpId = `${ctx.id}-help`;
  const help = sentence(ctx.schema.description);
  const element = h("div", { class: "field field-check", dataset: { param: ctx.name } },
    h("div", { class: "check" }, box, h("label", { for: ctx.id }, labelText(ctx))),
    help ? h("small", { id: helpId, class: "help" }, help) : null);
  if (help) box.setAttribute("aria-describedby", helpId);
  return { name: ctx.name, control: box, element, read: () => unlessDefault(ctx, box.checked) };
}

/** The accepted range in words: "from 40 to 240", "above 0 and at most 300", "at least 5". */
function rangeText(schema) {
  const low = schema.exclusiveMinimum !== undefined ? `above ${num(schema.exclusiveMinimum)}`
    : schema.minimum !== undefined ? `at least ${num(schema.minimum)}` : "";
  const high = schema.exclusiveMaximum !== undefined ? `below ${num(schema.exclusiveMaximum)}`
    : schema.maximum !== undefined ? `at most ${num(schema.maximum)}` : "";
  if (schema.minimum !== undefined && schema.maximum !== undefined) {
    return `from ${num(schema.minimum)} to ${num(schema.maximum)}`;
  }
  return [low, high].filter(Boolean).join(" and ");
}

function numberField(ctx) {
  const { schema } = ctx;
  const integer = schema.type === "integer";
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const span = min !== undefined && max !== undefined ? max - min : Infinity;
  const step = integer ? 1 : span <= 2 ? 0.01 : span <= 50 ? 0.1 : "any";
  const input = h("input", {
    id: ctx.id, type: "number", inputmode: integer ? "numeric" : "decimal", step: String(step),
    min: min !== undefined ? String(min) : null, max: max !== undefined ? String(max) : null,
    value: typeof schema.default === "number" ? String(schema.default) : "",
    placeholder: hasDefault(schema) ? null : "automatic",
  });
  const range = rangeText(schema);
  const kind = integer ? "a whole number" : "a number";
  const read = () => {
    const text = input.value.trim();
    // A number input holds "" for text that is not a number: badInput tells the two apart.
    if (text === "" && input.validity && input.validity.badInput) throw new Error(`Enter ${kind}.`);
    if (text === "") {
      if (ctx.required && !ctx.nullable) throw new Error(`Enter ${kind}${range ? `, ${range}` : ""}.`);
      return undefined;
    }
    const value = Number(text);
    if (!Number.isFinite(value)) throw new Error(`Enter ${kind}.`);
    if (integer && !Number.isInteger(value)) throw new Error(`Enter a whole number${range ? `, ${range}` : ""}.`);
    const low = schema.exclusiveMinimum !== undefined ? value <= schema.exclusiveMinimum : value < schema.minimum;
    const high = schema.exclusiveMaximum !== undefined ? value >= schema.exclusiveMaximum : value > schema.maximum;
    if (low || high) throw new Error(`Enter ${kind} ${range}.`);
    return unlessDefault(ctx, value);
  };
  return { name: ctx.name, control: input, element: wrap(ctx, input, range ? sentence(range) : ""), read };
}

function textField(ctx) {
  const { schema } = ctx;
  const long = (schema.maxLength || 0) > 200;
  const input = h(long ? "textarea" : "input", {
    id: ctx.id, value: typeof schema.default === "string" ? schema.default : "",
    maxlength: schema.maxLength ? String(schema.maxLength) : null,
    placeholder: hasDefault(schema) ? null : "automatic",
  });
  const read = () => {
    const value = input.value.trim();
    if (!value) {
      if (ctx.required && !ctx.nullable) throw new Error("Fill this in.");
      return undefined;
    }
    if (schema.maxLength && value.length > schema.maxLength) throw new Error(`Use at most ${schema.maxLength} characters.`);
    if (schema.minLength && value.length < schema.minLength) {
      throw new Error(`Enter at least ${schema.minLength} character${schema.minLength === 1 ? "" : "s"}.`);
    }
    if (schema.pattern && !matches(schema.pattern, value)) throw new Error("This is not in the form this setting takes.");
    return unlessDefault(ctx, value);
  };
  return { name: ctx.name, control: input, element: wrap(ctx, input), read };
}

/** Whether ``value`` matches a JSON-schema pattern (one this browser cannot compile is left to the server). */
function matches(pattern, value) {
  try {
    return new RegExp(pattern, "u").test(value);
  } catch {
    return true;
  }
}
