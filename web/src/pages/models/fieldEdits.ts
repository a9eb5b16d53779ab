/** Pure helpers of the model field dialogs: what a form's values send to the API. */
import type { components } from "../../api/schema";

export type FieldUpdate = components["schemas"]["FieldUpdate"];
export type FieldSpec = components["schemas"]["FieldSpec"];
export type ModelField = components["schemas"]["FieldOut"];

export interface FieldFormValues {
  column: string;
  meaning: string;
  categorical: boolean;
  description: string;
}

/** Only what changed; an emptied meaning is sent as "" (the API removes it). */
export function fieldChanges(field: ModelField, values: FieldFormValues): FieldUpdate {
  const changes: FieldUpdate = {};
  if (!field.calculation && values.column && values.column !== field.column) changes.column = values.column;
  if ((values.meaning || null) !== (field.meaning || null)) changes.meaning = values.meaning;
  if (values.categorical !== field.categorical) changes.categorical = values.categorical;
  if (values.description !== field.description) changes.description = values.description;
  return changes;
}

export interface CalculationFormValues {
  name: string;
  kind: "expression" | "aggregate";
  expression: string;
  relationship: string;
  function: string;
  field: string;
  filter: string;
}

/** The body of POST /models/{id}/fields for a calculated field. */
export function calculatedFieldSpec(values: CalculationFormValues): FieldSpec {
  if (values.kind === "expression") {
    return { name: values.name.trim(), categorical: false, description: "", calculation: { kind: "expression", expression: values.expression.trim() } };
  }
  return {
    name: values.name.trim(),
    categorical: false,
    description: "",
    calculation: {
      kind: "aggregate",
      relationship: values.relationship,
      function: values.function as components["schemas"]["AggregateFunction"],
      field: values.function === "count" ? null : values.field || null,
      filter: values.filter.trim() || null,
    },
  };
}
