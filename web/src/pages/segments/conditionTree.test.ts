import { describe, expect, it } from "vitest";

import {
  addTo,
  countLeaves,
  draftForPreview,
  draftPathKeys,
  emptyDefinition,
  emptyGroup,
  getAt,
  missingPart,
  moveAt,
  operatorsFor,
  propertyCondition,
  removeAt,
  updateAt,
  withOperator,
  wrapInGroup,
  type EventCondition,
  type Group,
  type PropertyCondition,
} from "./conditionTree";

const country = (value: string): PropertyCondition => ({ kind: "property", field: "country", operator: "equals", value, negate: false });
const purchased: EventCondition = {
  kind: "event",
  relationship: "events",
  event_name: "purchase",
  frequency: { operator: "at_least", count: 1 },
  window: { kind: "last_days", days: 30 },
  where: emptyGroup(),
  negate: false,
};

function tree(): Group {
  // and( country = SE, or( tier in [gold], purchased ) )
  let root = addTo(emptyGroup(), [], country("SE"));
  root = addTo(root, [], emptyGroup("or"));
  root = addTo(root, [1], { kind: "property", field: "loyalty_tier", operator: "in", values: ["gold"], negate: false });
  return addTo(root, [1], purchased);
}

describe("editing the tree by path", () => {
  it("adds conditions to nested groups without touching the original", () => {
    const empty = emptyGroup();
    const root = tree();
    expect(empty.conditions).toEqual([]);
    expect(countLeaves(root)).toBe(3);
    expect(getAt(root, [1, 1])).toEqual(purchased);
    expect(getAt(root, [5])).toBeUndefined();
  });

  it("updates, removes and reorders one node", () => {
    const root = tree();
    const updated = updateAt(root, [1], (node) => ({ ...node, negate: true }));
    expect(getAt(updated, [1])?.negate).toBe(true);
    expect(getAt(root, [1])?.negate).toBe(false);
    expect(getAt(removeAt(root, [1, 0]), [1, 0])).toEqual(purchased);
    const moved = moveAt(root, [1, 1], -1);
    expect(getAt(moved, [1, 0])).toEqual(purchased);
    expect(moveAt(root, [0], -1)).toEqual(root);
  });

  it("wraps a condition in a group of the other operator", () => {
    const wrapped = wrapInGroup(tree(), [0]);
    expect(getAt(wrapped, [0])).toMatchObject({ kind: "group", op: "or", conditions: [country("SE")] });
  });
});

describe("operators", () => {
  it("offers operators that fit the field type", () => {
    expect(operatorsFor("timestamp")).toContain("within_last_days");
    expect(operatorsFor("timestamp")).not.toContain("contains");
    expect(operatorsFor("integer")).toContain("between");
    expect(operatorsFor("string", true)[0]).toBe("in");
    expect(operatorsFor("boolean")).toEqual(["equals", "not_equals", "is_null", "is_not_null"]);
  });

  it("keeps the operand when switching between compatible operators", () => {
    const single = country("SE");
    expect(withOperator(single, "in")).toMatchObject({ operator: "in", values: ["SE"] });
    expect(withOperator({ ...single, operator: "in", value: undefined, values: ["SE", "NO"] }, "equals")).toMatchObject({ value: "SE" });
    expect(withOperator(single, "not_equals")).toMatchObject({ value: "SE" });
    expect(withOperator(single, "is_null")).not.toHaveProperty("value");
    expect(withOperator({ kind: "property", field: "created_at", operator: "before", value: "2024-01-01", negate: false }, "within_last_days")).toMatchObject({ days: 30 });
  });

  it("starts a new condition with the first operator for its type", () => {
    expect(propertyCondition("created_at", "timestamp")).toMatchObject({ operator: "within_last_days", days: 30 });
    expect(propertyCondition("country", "string", true)).toMatchObject({ operator: "in" });
  });
});

describe("the live-count draft", () => {
  it("says what an incomplete condition lacks", () => {
    expect(missingPart({ kind: "property", field: "country", operator: "equals", negate: false })).toBe("enter a value");
    expect(missingPart({ kind: "property", field: "country", operator: "in", values: [], negate: false })).toBe("pick at least one value");
    expect(missingPart({ kind: "property", field: "total", operator: "between", values: [1], negate: false })).toBe("enter both ends of the range");
    expect(missingPart({ kind: "segment", segment_id: "", negate: false })).toBe("pick a segment");
    expect(missingPart(country("SE"))).toBeNull();
  });

  it("leaves out incomplete conditions and maps per-condition counts to the edited tree", () => {
    let root = tree();
    root = addTo(root, [], { kind: "property", field: "email", operator: "contains", negate: false }); // no value yet
    root = updateAt(root, [1], (node) => addToGroupFront(node as Group));
    const definition = { ...emptyDefinition(), conditions: root };
    const draft = draftForPreview(definition);
    expect(countLeaves(draft.conditions as Group)).toBe(3);
    const keys = draftPathKeys(root);
    expect(keys.get("conditions.1.1")).toBe("conditions.1.0"); // the incomplete first child is gone
    expect(keys.has("conditions.2")).toBe(false);
  });
});

function addToGroupFront(group: Group): Group {
  return { ...group, conditions: [{ kind: "property", field: "city", operator: "equals", negate: false }, ...(group.conditions ?? [])] };
}
