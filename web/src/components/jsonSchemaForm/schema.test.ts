import { describe, expect, it } from "vitest";

import { describeFields, initialValues, toPayload, validate, type JsonSchema } from "./schema";

// What pydantic emits for the PostgreSQL source config (secrets are SecretStr → writeOnly password).
const postgres: JsonSchema = {
  additionalProperties: false,
  properties: {
    bookkeeping_schema: {
      anyOf: [{ pattern: "^[A-Za-z_][A-Za-z0-9_$]*$", type: "string" }, { type: "null" }],
      default: "sluice",
      title: "Bookkeeping Schema",
    },
    host: { description: "Host name or IP address.", title: "Host", type: "string" },
    port: { default: 5432, maximum: 65535, minimum: 1, title: "Port", type: "integer" },
    password: {
      anyOf: [{ format: "password", type: "string", writeOnly: true }, { type: "null" }],
      default: null,
      description: "Password (write-only).",
      title: "Password",
    },
    sslmode: { enum: ["disable", "prefer", "require"], default: "prefer", title: "Sslmode", type: "string" },
    read_only: { default: false, title: "Read Only", type: "boolean" },
  },
  required: ["host"],
  title: "PostgresConfig",
  type: "object",
};

describe("describeFields", () => {
  it("turns pydantic properties into inputs, in order, with kinds and labels", () => {
    const fields = describeFields(postgres);
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["bookkeeping_schema", "string", false],
      ["host", "string", true],
      ["port", "integer", false],
      ["password", "secret", false],
      ["sslmode", "enum", false],
      ["read_only", "boolean", false],
    ]);
    expect(fields[0]).toMatchObject({ label: "Bookkeeping schema", nullable: true, pattern: "^[A-Za-z_][A-Za-z0-9_$]*$" });
    expect(fields[2]).toMatchObject({ minimum: 1, maximum: 65535, default: 5432 });
    expect(fields[4].options?.map((o) => o.value)).toEqual(["disable", "prefer", "require"]);
  });

  it("follows $ref into $defs for nested objects and reads const alternatives as an enum", () => {
    const schema: JsonSchema = {
      type: "object",
      $defs: { Auth: { type: "object", properties: { user: { type: "string" }, token: { type: "string", writeOnly: true } }, required: ["user"] } },
      properties: {
        auth: { $ref: "#/$defs/Auth" },
        mode: { anyOf: [{ const: "fast" }, { const: "safe" }], title: "Mode" },
        tags: { type: "array", items: { type: "string" } },
      },
    };
    const [auth, mode, tags] = describeFields(schema);
    expect(auth.kind).toBe("object");
    expect(auth.fields?.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["user", "string", true],
      ["token", "secret", false],
    ]);
    expect(mode.kind).toBe("enum");
    expect(mode.options?.map((o) => o.value)).toEqual(["fast", "safe"]);
    expect(tags.kind).toBe("list");
  });
});

describe("initialValues", () => {
  it("starts from defaults, or from the stored config, and never from a secret", () => {
    const fields = describeFields(postgres);
    expect(initialValues(fields)).toEqual({ bookkeeping_schema: "sluice", host: "", port: 5432, password: "", sslmode: "prefer", read_only: false });
    const stored = initialValues(fields, { host: "db.internal", port: 6543, password: "leaked?", bookkeeping_schema: null });
    expect(stored).toMatchObject({ host: "db.internal", port: 6543, password: "", bookkeeping_schema: "" });
  });
});

describe("validate", () => {
  const fields = describeFields(postgres);

  it("names missing required fields and out-of-range or malformed values", () => {
    const values = { ...initialValues(fields), port: 70000, bookkeeping_schema: "1bad" };
    expect(validate(fields, values)).toEqual({
      host: "Host is required",
      port: "Port must be at most 65535",
      bookkeeping_schema: "Bookkeeping schema has an invalid format",
    });
  });

  it("accepts an empty required secret that is already stored, and refuses it when it is not", () => {
    const schema: JsonSchema = { type: "object", properties: { api_key: { type: "string", writeOnly: true, title: "API key" } }, required: ["api_key"] };
    const secretFields = describeFields(schema);
    expect(validate(secretFields, { api_key: "" })).toEqual({ api_key: "API key is required" });
    expect(validate(secretFields, { api_key: "" }, ["api_key"])).toEqual({});
  });

  it("checks whole numbers", () => {
    expect(validate(fields, { ...initialValues(fields), host: "h", port: 5.5 })).toEqual({ port: "Port must be a whole number" });
  });
});

describe("toPayload", () => {
  const fields = describeFields(postgres);

  it("puts secrets apart and only when typed, so stored ones are kept", () => {
    const values = { ...initialValues(fields), host: "db", password: "" };
    expect(toPayload(fields, values)).toEqual({
      config: { bookkeeping_schema: "sluice", host: "db", port: 5432, sslmode: "prefer", read_only: false },
      secrets: {},
    });
    expect(toPayload(fields, { ...values, password: "s3cret" }).secrets).toEqual({ password: "s3cret" });
    expect(toPayload(fields, { ...values, password: "s3cret" }).config).not.toHaveProperty("password");
  });

  it("sends a cleared optional as null and numbers as numbers", () => {
    const values = { ...initialValues(fields), host: "db", bookkeeping_schema: "", port: "6432" };
    const { config } = toPayload(fields, values);
    expect(config.bookkeeping_schema).toBeNull();
    expect(config.port).toBe(6432);
  });
});
