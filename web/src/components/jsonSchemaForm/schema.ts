/**
 * JSON Schema → form model. Pure functions, no React: which inputs a schema asks for, the starting
 * values (from defaults or a stored object), validation with messages a person understands, and the
 * payload split into public `config` and write-only `secrets`.
 *
 * Handles what pydantic emits: `$ref`/`$defs`, `anyOf [X, null]` for optionals, enums (also via
 * `const` alternatives), nested objects, arrays of scalars, and secrets marked `writeOnly` or
 * `format: password`.
 */

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  writeOnly?: boolean;
  readOnly?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}

export type FieldKind = "string" | "text" | "secret" | "integer" | "number" | "boolean" | "enum" | "list" | "object" | "json";

export interface FieldSpec {
  name: string;
  label: string;
  description?: string;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  default?: unknown;
  options?: { value: string; label: string }[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  /** Sub-fields of an `object` field. */
  fields?: FieldSpec[];
}

export type FormValues = Record<string, unknown>;
export type FormErrors = Record<string, string>;

/** "bookkeeping_schema" → "Bookkeeping schema". */
/** Words written the way people write them in labels ("API key", "Base URL", "OAuth base URL"). */
const ACRONYMS: Record<string, string> = { api: "API", id: "ID", ids: "IDs", url: "URL", uri: "URI", oauth: "OAuth", sftp: "SFTP", ssl: "SSL", dsn: "DSN", sql: "SQL", jwt: "JWT", mep: "MEP", cep: "CEP" };

export function humanize(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").trim().toLowerCase();
  const text = words
    .split(" ")
    .map((word) => ACRONYMS[word] ?? word)
    .join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function labelFor(name: string, schema: JsonSchema): string {
  const title = schema.title?.trim();
  // pydantic's automatic title is the name Title Cased ("Default Schema"): show sentence case then;
  // a title someone wrote ("API key") is kept as written.
  const automatic = name
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
  // A class name ("IdentifierKind") is the title of a referenced enum or model, not of this field.
  if (!title || title === automatic || /^[A-Z][A-Za-z0-9]*[a-z][A-Z][A-Za-z0-9]*$/.test(title)) return humanize(name);
  return title;
}

/** Follow a local `$ref` ("#/$defs/Name") against the root schema. */
export function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; current.$ref && depth < 32; depth += 1) {
    const path = current.$ref.replace(/^#\//, "").split("/");
    let target: unknown = root;
    for (const part of path) target = (target as Record<string, unknown> | undefined)?.[part];
    if (!target || typeof target !== "object") break;
    const { $ref: _ignored, ...siblings } = current;
    current = { ...(target as JsonSchema), ...siblings };
  }
  return current;
}

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type ? [schema.type] : [];
}

/** Collapse `anyOf`/`oneOf` with `null` into the non-null branch and a nullable flag. */
function unwrapNullable(schema: JsonSchema, root: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const resolved = resolveRef(schema, root);
  const alternatives = resolved.anyOf ?? resolved.oneOf;
  if (alternatives) {
    const branches = alternatives.map((branch) => resolveRef(branch, root));
    const nonNull = branches.filter((branch) => !typesOf(branch).includes("null") || typesOf(branch).length > 1);
    const nullable = nonNull.length < branches.length;
    const { anyOf: _a, oneOf: _o, ...outer } = resolved;
    if (nonNull.length === 1) return { schema: { ...nonNull[0], ...outer }, nullable };
    if (nonNull.length > 1 && nonNull.every((branch) => branch.const !== undefined)) {
      return { schema: { ...outer, enum: nonNull.map((branch) => branch.const) }, nullable };
    }
    return { schema: resolved, nullable };
  }
  const types = typesOf(resolved);
  if (types.includes("null") && types.length === 2) {
    return { schema: { ...resolved, type: types.find((t) => t !== "null") }, nullable: true };
  }
  return { schema: resolved, nullable: false };
}

/** True for fields whose value must never be shown again (passwords, tokens, keys). */
export function isSecret(schema: JsonSchema): boolean {
  return schema.writeOnly === true || schema.format === "password";
}

function kindOf(schema: JsonSchema): FieldKind {
  if (isSecret(schema)) return "secret";
  if (schema.enum) return "enum";
  const type = typesOf(schema)[0];
  if (type === "string") return (schema.maxLength ?? 0) > 500 || schema.format === "textarea" ? "text" : "string";
  if (type === "integer") return "integer";
  if (type === "number") return "number";
  if (type === "boolean") return "boolean";
  if (type === "object" && schema.properties) return "object";
  if (type === "array") {
    const itemType = typesOf(schema.items ?? {})[0];
    return itemType === "string" || itemType === "integer" || itemType === "number" ? "list" : "json";
  }
  return "json";
}

/** The inputs an object schema asks for, in the schema's property order. */
export function describeFields(schema: JsonSchema, root: JsonSchema = schema): FieldSpec[] {
  const object = resolveRef(schema, root);
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties ?? {})
    .filter(([, property]) => resolveRef(property, root).readOnly !== true)
    .map(([name, property]) => {
      const { schema: inner, nullable } = unwrapNullable(property, root);
      const kind = kindOf(inner);
      const spec: FieldSpec = {
        name,
        label: labelFor(name, inner),
        description: inner.description,
        kind,
        required: required.has(name),
        nullable,
        default: inner.default,
        minimum: inner.minimum ?? inner.exclusiveMinimum,
        maximum: inner.maximum ?? inner.exclusiveMaximum,
        pattern: inner.pattern,
        minLength: inner.minLength,
        maxLength: inner.maxLength,
      };
      if (kind === "enum") {
        spec.options = (inner.enum ?? []).map((value) => ({ value: String(value), label: humanize(String(value)) }));
      }
      if (kind === "object") spec.fields = describeFields(inner, root);
      return spec;
    });
}

/** Names of secret fields (top level), e.g. to tell the user which credentials are stored. */
export function secretFieldNames(fields: FieldSpec[]): string[] {
  return fields.filter((field) => field.kind === "secret").map((field) => field.name);
}

/**
 * Starting values: the stored object where given, else the schema defaults. Secrets always start
 * empty (their values are never sent back); an empty secret keeps the stored one.
 */
export function initialValues(fields: FieldSpec[], stored: Record<string, unknown> = {}): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const current = stored[field.name];
    if (field.kind === "secret") values[field.name] = "";
    else if (field.kind === "object") {
      values[field.name] = initialValues(field.fields ?? [], (current ?? field.default ?? {}) as Record<string, unknown>);
    } else if (field.kind === "json") {
      const value = current ?? field.default;
      values[field.name] = value === undefined || value === null ? "" : JSON.stringify(value, null, 2);
    } else if (field.kind === "list") values[field.name] = ((current ?? field.default ?? []) as unknown[]).map(String);
    else if (field.kind === "boolean") values[field.name] = Boolean(current ?? field.default ?? false);
    else {
      const value = current !== undefined ? current : field.default;
      values[field.name] = value === null || value === undefined ? "" : value;
    }
  }
  return values;
}

function isBlank(value: unknown): boolean {
  return value === "" || value === null || value === undefined;
}

/**
 * Errors by field path ("host", "auth.user"). `secretsSet` names secrets already stored: a required
 * secret left empty is fine then (the stored value is kept).
 */
export function validate(fields: FieldSpec[], values: FormValues, secretsSet: string[] = [], prefix = ""): FormErrors {
  const errors: FormErrors = {};
  for (const field of fields) {
    const path = prefix + field.name;
    const value = values[field.name];
    if (field.kind === "object") {
      Object.assign(errors, validate(field.fields ?? [], (value ?? {}) as FormValues, [], `${path}.`));
      continue;
    }
    if (isBlank(value)) {
      const stored = field.kind === "secret" && secretsSet.includes(field.name);
      if (field.required && !stored) errors[path] = `${field.label} is required`;
      continue;
    }
    if (field.kind === "integer" || field.kind === "number") {
      const number = Number(value);
      if (!Number.isFinite(number)) errors[path] = `${field.label} must be a number`;
      else if (field.kind === "integer" && !Number.isInteger(number)) errors[path] = `${field.label} must be a whole number`;
      else if (field.minimum !== undefined && number < field.minimum) errors[path] = `${field.label} must be at least ${field.minimum}`;
      else if (field.maximum !== undefined && number > field.maximum) errors[path] = `${field.label} must be at most ${field.maximum}`;
    } else if (field.kind === "string" || field.kind === "text" || field.kind === "secret") {
      const text = String(value);
      if (field.minLength !== undefined && text.length < field.minLength) {
        errors[path] = `${field.label} must have at least ${field.minLength} characters`;
      } else if (field.maxLength !== undefined && text.length > field.maxLength) {
        errors[path] = `${field.label} must have at most ${field.maxLength} characters`;
      } else if (field.pattern && !new RegExp(field.pattern, "u").test(text)) {
        errors[path] = `${field.label} has an invalid format`;
      }
    } else if (field.kind === "json") {
      try {
        JSON.parse(String(value));
      } catch {
        errors[path] = `${field.label} must be valid JSON`;
      }
    }
  }
  return errors;
}

function toTyped(field: FieldSpec, value: unknown): unknown {
  if (field.kind === "object") return toPayload(field.fields ?? [], (value ?? {}) as FormValues).config;
  if (isBlank(value)) return field.nullable || !field.required ? null : value;
  if (field.kind === "integer" || field.kind === "number") return Number(value);
  if (field.kind === "json") return JSON.parse(String(value));
  return value;
}

/**
 * The request body parts: `config` holds every non-secret field (blank optionals as null, or left
 * out when the field has a non-null default so the server applies it); `secrets` holds only the
 * secrets the user typed, so untouched stored secrets are kept.
 */
export function toPayload(fields: FieldSpec[], values: FormValues): { config: Record<string, unknown>; secrets: Record<string, string> } {
  const config: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.kind === "secret") {
      if (!isBlank(value)) secrets[field.name] = String(value);
      continue;
    }
    if (isBlank(value) && !field.nullable && field.default !== undefined && field.default !== null) continue;
    const typed = toTyped(field, value);
    if (typed === null && !field.nullable) continue;
    config[field.name] = typed;
  }
  return { config, secrets };
}
