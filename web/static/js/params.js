// A parameter form generated from a capability's JSON schema (inlined by the API):
// enum → select, boolean → checkbox, integer/number → number input with bounds, string → text.
// A parameter the capability lists in genre_params becomes a picker over exactly that genre set.
// Parameters it lists as advanced, and anything nested (objects, unions: one JSON box), sit in a
// collapsed "Advanced" fold.

import { fmtNumber, h, humanize, uid } from "./ui.js";

/**
 * Returns {element, read()}; read() gives the params object or throws Error naming the bad field.
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
  const element = h("div", { class: "params" },
    main.length ? h("div", { class: "field-grid" }, main.map((f) => f.element)) : null,
    expert.length || json ? h("details", { class: "more-options advanced-options" },
      h("summary", {}, "Advanced"),
      h("div", { class: "field-grid" }, expert.map((f) => f.element)),
      json ? h("div", { class: "field field-wide" },
        h("label", { for: jsonId }, "More parameters (JSON)"), json,
        h("small", { id: `${jsonId}-help`, class: "help" },
          `Optional JSON object for: ${complex.join(", ")}.`)) : null) : null);

  const read = () => {
    const params = {};
    for (const f of fields) {
      const value = f.read();
      if (value !== undefined) params[f.name] = value;
    }
    if (json && json.value.trim()) {
      let extra;
      try {
        extra = JSON.parse(json.value);
      } catch (error) {
        throw new Error(`More parameters (JSON) is not valid JSON: ${error.message}`);
      }
      if (!extra || typeof extra !== "object" || Array.isArray(extra)) {
        throw new Error("More parameters (JSON) must be a JSON object");
      }
      Object.assign(params, extra);
    }
    return params;
  };
  return { element, read };
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
  if (Array.isArray(genres) && (schema.type === "string" || schema.enum)) return genreField(context, genres);
  if (Array.isArray(schema.enum)) return enumField(context);
  if (isChoiceList(schema)) return choiceListField(context);
  if (schema.type === "boolean") return booleanField(context);
  if (schema.type === "integer" || schema.type === "number") return numberField(context);
  if (schema.type === "string") return textField(context);
  return null;
}

function labelText({ name, schema }) {
  return schema.title && schema.title !== name ? schema.title : humanize(name);
}

function wrap(ctx, control, hints = []) {
  const helpId = `${ctx.id}-help`;
  const help = [ctx.schema.description, ...hints].filter(Boolean).join(" ");
  if (help) control.setAttribute("aria-describedby", helpId);
  return h("div", { class: "field", dataset: { param: ctx.name } },
    h("label", { for: ctx.id }, labelText(ctx)), control,
    help ? h("small", { id: helpId, class: "help" }, help) : null);
}

// Only values the user changed are sent: the capability keeps its own defaults.
function unlessDefault(ctx, value) {
  return !ctx.required && value === ctx.schema.default ? undefined : value;
}

function enumField(ctx) {
  const { schema } = ctx;
  const select = h("select", { id: ctx.id },
    ctx.nullable || (!ctx.required && schema.default === undefined) ? h("option", { value: "" }, "—") : null,
    schema.enum.map((v) => h("option", { value: JSON.stringify(v), selected: v === schema.default }, String(v))));
  return {
    name: ctx.name, element: wrap(ctx, select),
    read: () => (select.value === "" ? undefined : unlessDefault(ctx, JSON.parse(select.value))),
  };
}

// Exactly the genres of the parameter's set, each with its description (and aliases).
function genreField(ctx, genres) {
  const optional = !ctx.required || ctx.nullable;
  const helpId = `${ctx.id}-help`;
  const select = h("select", { id: ctx.id, "aria-describedby": helpId },
    optional ? h("option", { value: "" }, ctx.schema.description ? "Automatic" : "Choose a genre…") : null,
    genres.map((g) => h("option", { value: g.name, selected: g.name === ctx.schema.default }, humanize(g.name))));
  const description = h("small", { id: helpId, class: "help genre-help", "aria-live": "polite" });
  const describe = () => {
    const genre = genres.find((g) => g.name === select.value);
    const aliases = genre && genre.aliases && genre.aliases.length ? ` (also: ${genre.aliases.join(", ")})` : "";
    description.textContent = genre ? genre.description + aliases : ctx.schema.description || "Pick a genre.";
  };
  select.addEventListener("change", describe);
  describe();
  const element = h("div", { class: "field field-wide", dataset: { param: ctx.name } },
    h("label", { for: ctx.id }, labelText(ctx)), select, description);
  return { name: ctx.name, element, read: () => select.value || undefined };
}

// Several choices at once (e.g. which parts to mute): a group of checkboxes.
function choiceListField(ctx) {
  const chosen = new Set(Array.isArray(ctx.schema.default) ? ctx.schema.default : []);
  const boxes = ctx.schema.items.enum.map((value) => {
    const id = uid(`${ctx.id}-${value}`);
    const box = h("input", { id, type: "checkbox", value: JSON.stringify(value), checked: chosen.has(value) });
    return { box, element: h("span", { class: "check" }, box, h("label", { for: id }, humanize(value))) };
  });
  const element = h("fieldset", { class: "field field-wide choice-list", dataset: { param: ctx.name } },
    h("legend", {}, labelText(ctx)), h("div", { class: "choices" }, boxes.map((b) => b.element)),
    ctx.schema.description ? h("small", { class: "help" }, ctx.schema.description) : null);
  const read = () => {
    const values = boxes.filter((b) => b.box.checked).map((b) => JSON.parse(b.box.value));
    const same = values.length === chosen.size && values.every((v) => chosen.has(v));
    return same && !ctx.required ? undefined : values;
  };
  return { name: ctx.name, element, read };
}

function booleanField(ctx) {
  const box = h("input", { id: ctx.id, type: "checkbox", checked: ctx.schema.default === true });
  const helpId = `${ctx.id}-help`;
  const element = h("div", { class: "field field-check", dataset: { param: ctx.name } },
    h("div", { class: "check" }, box, h("label", { for: ctx.id }, labelText(ctx))),
    ctx.schema.description ? h("small", { id: helpId, class: "help" }, ctx.schema.description) : null);
  if (ctx.schema.description) box.setAttribute("aria-describedby", helpId);
  return { name: ctx.name, element, read: () => unlessDefault(ctx, box.checked) };
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
    placeholder: schema.default === null || schema.default === undefined ? "automatic" : null,
  });
  const hints = [];
  if (min !== undefined && max !== undefined) hints.push(`${fmtNumber(min)} to ${fmtNumber(max)}.`);
  else if (min !== undefined) hints.push(`At least ${fmtNumber(min)}.`);
  else if (max !== undefined) hints.push(`At most ${fmtNumber(max)}.`);
  const label = labelText(ctx);
  const read = () => {
    if (input.value.trim() === "") {
      if (ctx.required && !ctx.nullable) throw new Error(`${label} is required`);
      return undefined;
    }
    const value = Number(input.value);
    if (!Number.isFinite(value)) throw new Error(`${label} must be a number`);
    if (integer && !Number.isInteger(value)) throw new Error(`${label} must be a whole number`);
    const low = schema.exclusiveMinimum !== undefined ? value <= schema.exclusiveMinimum : value < schema.minimum;
    const high = schema.exclusiveMaximum !== undefined ? value >= schema.exclusiveMaximum : value > schema.maximum;
    if (low || high) throw new Error(`${label} must be within ${hints[0] || "its range"}`);
    return unlessDefault(ctx, value);
  };
  return { name: ctx.name, element: wrap(ctx, input, hints), read };
}

function textField(ctx) {
  const { schema } = ctx;
  const long = (schema.maxLength || 0) > 200;
  const input = h(long ? "textarea" : "input", {
    id: ctx.id, value: typeof schema.default === "string" ? schema.default : "",
    maxlength: schema.maxLength ? String(schema.maxLength) : null,
    placeholder: schema.default === null || schema.default === undefined ? "automatic" : null,
  });
  const label = labelText(ctx);
  const read = () => {
    const value = input.value.trim();
    if (!value) {
      if (ctx.required && !ctx.nullable) throw new Error(`${label} is required`);
      return undefined;
    }
    return unlessDefault(ctx, value);
  };
  return { name: ctx.name, element: wrap(ctx, input), read };
}
