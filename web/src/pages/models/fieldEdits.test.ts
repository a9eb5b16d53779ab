import { describe, expect, it } from "vitest";

import { calculatedFieldSpec, fieldChanges, type ModelField } from "./fieldEdits";

const email: ModelField = { name: "email", column: "email", type: "string", meaning: "email", categorical: false, description: "", calculation: null, broken_reason: null };

describe("field changes", () => {
  it("sends only what changed", () => {
    expect(fieldChanges(email, { column: "email", meaning: "email", categorical: true, description: "" })).toEqual({ categorical: true });
  });

  it("relinks a broken field to another column and removes a meaning with an empty string", () => {
    const broken = { ...email, broken_reason: "column email is gone" };
    expect(fieldChanges(broken, { column: "email_address", meaning: "", categorical: false, description: "" })).toEqual({ column: "email_address", meaning: "" });
  });

  it("never relinks a calculated field", () => {
    const calculated = { ...email, column: null, calculation: { kind: "expression", expression: "lower(email)" } };
    expect(fieldChanges(calculated, { column: "x", meaning: "email", categorical: false, description: "" })).toEqual({});
  });
});

describe("calculated field spec", () => {
  const base = { name: " lifetime_value ", kind: "aggregate" as const, expression: "", relationship: "orders", function: "sum", field: "total", filter: "status = 'completed'" };

  it("builds an aggregate over a relationship", () => {
    expect(calculatedFieldSpec(base)).toEqual({
      name: "lifetime_value",
      categorical: false,
      description: "",
      calculation: { kind: "aggregate", relationship: "orders", function: "sum", field: "total", filter: "status = 'completed'" },
    });
  });

  it("counts rows without a field and drops an empty filter", () => {
    expect(calculatedFieldSpec({ ...base, function: "count", filter: " " }).calculation).toMatchObject({ field: null, filter: null });
  });

  it("builds a row expression", () => {
    expect(calculatedFieldSpec({ ...base, kind: "expression", expression: "first_name || ' ' || last_name " })).toEqual({
      name: "lifetime_value",
      categorical: false,
      description: "",
      calculation: { kind: "expression", expression: "first_name || ' ' || last_name" },
    });
  });
});
