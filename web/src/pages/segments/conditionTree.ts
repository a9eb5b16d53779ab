/**
 * State logic of the segment builder, kept apart from React and tested: the condition tree of the
 * segment API edited immutably by path, the operators that fit a field's type, what a condition
 * still lacks, and the draft sent for the live count (incomplete conditions left out).
 *
 * A path is a list of child indexes from the root group: `[]` is the root, `[0, 1]` the second child
 * of the first child. The API names the same spots `conditions.0.1` in per-condition counts.
 */
import type { components } from "../../api/schema";

export type Definition = components["schemas"]["SegmentDefinition-Input"];
export type Group = components["schemas"]["GroupCondition-Input"];
export type PropertyCondition = components["schemas"]["PropertyCondition"];
export type RelationCondition = components["schemas"]["RelationCondition-Input"];
export type EventCondition = components["schemas"]["EventCondition-Input"];
export type SegmentCondition = components["schemas"]["SegmentCondition"];
export type Condition = Group | PropertyCondition | RelationCondition | EventCondition | SegmentCondition;
export type PropertyOperator = components["schemas"]["PropertyOperator"];
export type FieldType = components["schemas"]["FieldType"];
export type Path = number[];

export function emptyGroup(op: "and" | "or" = "and"): Group {
  return { kind: "group", op, negate: false, conditions: [] };
}

export function emptyDefinition(): Definition {
  return { version: 1, conditions: emptyGroup(), exclusions: [] };
}

export function isGroup(node: Condition): node is Group {
  return node.kind === "group";
}

/** The node at `path`, or undefined when the path leads nowhere. */
export function getAt(root: Group, path: Path): Condition | undefined {
  let node: Condition = root;
  for (const index of path) {
    if (!isGroup(node)) return undefined;
    const next: Condition | undefined = (node.conditions ?? [])[index] as Condition | undefined;
    if (!next) return undefined;
    node = next;
  }
  return node;
}

/** A copy of `root` with the node at `path` replaced by `update(node)`. */
export function updateAt(root: Group, path: Path, update: (node: Condition) => Condition): Group {
  if (path.length === 0) {
    const updated = update(root);
    if (!isGroup(updated)) throw new Error("the root of a segment must stay a group");
    return updated;
  }
  const [head, ...rest] = path;
  const children = [...((root.conditions ?? []) as Condition[])];
  const child = children[head];
  if (!child) return root;
  children[head] = rest.length === 0 ? update(child) : isGroup(child) ? updateAt(child, rest, update) : child;
  return { ...root, conditions: children };
}

/** Add `node` at the end of the group at `groupPath`. */
export function addTo(root: Group, groupPath: Path, node: Condition): Group {
  return updateAt(root, groupPath, (group) => (isGroup(group) ? { ...group, conditions: [...((group.conditions ?? []) as Condition[]), node] } : group));
}

/** Remove the node at `path` (the root cannot be removed). */
export function removeAt(root: Group, path: Path): Group {
  if (path.length === 0) return root;
  const parentPath = path.slice(0, -1);
  const index = path[path.length - 1];
  return updateAt(root, parentPath, (group) =>
    isGroup(group) ? { ...group, conditions: ((group.conditions ?? []) as Condition[]).filter((_, position) => position !== index) } : group,
  );
}

/** Move the node at `path` one place up (-1) or down (+1) within its group. */
export function moveAt(root: Group, path: Path, step: -1 | 1): Group {
  if (path.length === 0) return root;
  const index = path[path.length - 1];
  return updateAt(root, path.slice(0, -1), (group) => {
    if (!isGroup(group)) return group;
    const children = [...((group.conditions ?? []) as Condition[])];
    const target = index + step;
    if (target < 0 || target >= children.length) return group;
    [children[index], children[target]] = [children[target], children[index]];
    return { ...group, conditions: children };
  });
}

/** Put the node at `path` inside a new group (so siblings can be added to it with the other op). */
export function wrapInGroup(root: Group, path: Path): Group {
  if (path.length === 0) return { ...emptyGroup(root.op === "and" ? "or" : "and"), conditions: [root] };
  return updateAt(root, path, (node) => {
    const parent = getAt(root, path.slice(0, -1)) as Group;
    return { ...emptyGroup(parent.op === "and" ? "or" : "and"), conditions: [node] };
  });
}

/** Operators that fit a field type, in the order the picker shows them. */
export function operatorsFor(type: FieldType | string | undefined, categorical = false): PropertyOperator[] {
  const presence: PropertyOperator[] = ["is_null", "is_not_null"];
  switch (type) {
    case "integer":
    case "float":
    case "decimal":
      return ["equals", "not_equals", "gt", "gte", "lt", "lte", "between", "not_between", "in", "not_in", ...presence];
    case "date":
    case "timestamp":
      return ["within_last_days", "more_than_days_ago", "within_next_days", "before", "after", "between", "not_between", "anniversary", ...presence];
    case "boolean":
      return ["equals", "not_equals", ...presence];
    case "string":
      return categorical
        ? ["in", "not_in", "equals", "not_equals", "contains", "not_contains", ...presence]
        : ["equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", ...presence];
    default:
      return ["equals", "not_equals", "in", "not_in", ...presence];
  }
}

export const OPERATOR_LABELS: Record<PropertyOperator, string> = {
  equals: "is",
  not_equals: "is not",
  in: "is one of",
  not_in: "is none of",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  ends_with: "ends with",
  is_null: "is empty",
  is_not_null: "is not empty",
  gt: "is greater than",
  gte: "is at least",
  lt: "is less than",
  lte: "is at most",
  between: "is between",
  not_between: "is not between",
  before: "is before",
  after: "is after",
  within_last_days: "is within the last",
  more_than_days_ago: "is more than",
  within_next_days: "is within the next",
  anniversary: "has its anniversary today",
};

export type OperandShape = "none" | "single" | "list" | "range" | "days";

export function operandShape(operator: PropertyOperator): OperandShape {
  if (operator === "is_null" || operator === "is_not_null" || operator === "anniversary") return "none";
  if (operator === "in" || operator === "not_in") return "list";
  if (operator === "between" || operator === "not_between") return "range";
  if (operator === "within_last_days" || operator === "more_than_days_ago" || operator === "within_next_days") return "days";
  return "single";
}

/** Change the operator, keeping the operand when its shape still fits and converting single ↔ list. */
export function withOperator(condition: PropertyCondition, operator: PropertyOperator): PropertyCondition {
  const before = operandShape(condition.operator);
  const after = operandShape(operator);
  const next: PropertyCondition = { kind: "property", field: condition.field, negate: condition.negate, operator, path: condition.path };
  if (after === before) return { ...next, value: condition.value, values: condition.values, days: condition.days };
  if (after === "list" && before === "single" && condition.value !== null && condition.value !== undefined) return { ...next, values: [condition.value] };
  if (after === "single" && before === "list" && condition.values?.length) return { ...next, value: condition.values[0] };
  if (after === "days") return { ...next, days: 30 };
  return next;
}

/** A new property condition on `field` with the first operator that fits its type. */
export function propertyCondition(field: string, type?: FieldType | string, categorical = false): PropertyCondition {
  const operator = operatorsFor(type, categorical)[0];
  const condition: PropertyCondition = { kind: "property", field, operator, negate: false };
  return operandShape(operator) === "days" ? { ...condition, days: 30 } : condition;
}

/** What a condition still needs before it can be counted, or null when it is complete. */
export function missingPart(node: Condition): string | null {
  switch (node.kind) {
    case "group":
      return null;
    case "property": {
      if (!node.field) return "pick a field";
      const shape = operandShape(node.operator);
      if (shape === "single" && (node.value === null || node.value === undefined || node.value === "")) return "enter a value";
      if (shape === "list" && !node.values?.length) return "pick at least one value";
      if (shape === "range" && (node.values?.length !== 2 || node.values.some((value) => value === null || value === ""))) return "enter both ends of the range";
      if (shape === "days" && (node.days === null || node.days === undefined)) return "enter a number of days";
      return null;
    }
    case "relation":
      if (!node.path?.length) return "pick a relationship";
      if (node.aggregate && node.aggregate.function !== "count" && !node.aggregate.field) return "pick the field to aggregate";
      if (node.aggregate && node.aggregate.operator !== "between" && (node.aggregate.value === null || node.aggregate.value === undefined)) return "enter a number";
      return null;
    case "event":
      return node.relationship ? null : "pick the events model";
    case "segment":
      return node.segment_id ? null : "pick a segment";
    default:
      return null;
  }
}

/** The group without incomplete conditions (recursively), so a tree being edited can be counted. */
export function completeOnly(group: Group): Group {
  const children: Condition[] = [];
  for (const child of (group.conditions ?? []) as Condition[]) {
    if (missingPart(child) !== null) continue;
    if (isGroup(child)) children.push(completeOnly(child));
    else if (child.kind === "relation" || child.kind === "event") {
      children.push({ ...child, where: child.where ? completeOnly(child.where as Group) : emptyGroup() } as Condition);
    } else children.push(child);
  }
  return { ...group, conditions: children };
}

/** The definition to send for the live count. */
export function draftForPreview(definition: Definition): Definition {
  const exclusions = ((definition.exclusions ?? []) as Condition[]).filter((node) => missingPart(node) === null);
  return { ...definition, conditions: completeOnly(definition.conditions as Group), exclusions };
}

/**
 * The API's name for the spot of a condition (`conditions.0.1`), used to read per-condition
 * counts. Counts are for the draft, so paths are those of the draft: pass the draft's tree.
 */
export function pathKey(path: Path, root: "conditions" | "exclusions" = "conditions"): string {
  return [root, ...path].join(".");
}

/** Number of conditions that are not groups, anywhere in the tree. */
export function countLeaves(group: Group): number {
  return ((group.conditions ?? []) as Condition[]).reduce((total, node) => total + (isGroup(node) ? countLeaves(node) : 1), 0);
}

/**
 * Where each complete condition of the edited tree sits in the draft that `completeOnly` sends:
 * original path key → draft path key (incomplete siblings shift indexes).
 */
export function draftPathKeys(group: Group, prefix: Path = [], draftPrefix: Path = [], into = new Map<string, string>()): Map<string, string> {
  let position = 0;
  ((group.conditions ?? []) as Condition[]).forEach((child, index) => {
    if (missingPart(child) !== null) return;
    const original = [...prefix, index];
    const draft = [...draftPrefix, position];
    into.set(pathKey(original), pathKey(draft));
    if (isGroup(child)) draftPathKeys(child, original, draft, into);
    position += 1;
  });
  return into;
}
