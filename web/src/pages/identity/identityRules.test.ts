import { describe, expect, it } from "vitest";

import { moveRule, newRule, ruleProblems, templateSpec } from "./identityRules";

describe("identity rules editor helpers", () => {
  const rules = [
    { name: "crm", identifiers: ["crm_id"], max_profiles_per_value: 10 },
    { name: "email", identifiers: ["email"], max_profiles_per_value: 10 },
  ];

  it("moves a rule up or down and leaves the ends alone", () => {
    expect(moveRule(rules, 1, -1).map((rule) => rule.name)).toEqual(["email", "crm"]);
    expect(moveRule(rules, 0, -1)).toBe(rules);
    expect(moveRule(rules, 1, 1)).toBe(rules);
  });

  it("names new rules after their identifier without clashing", () => {
    expect(newRule(rules, "phone").name).toBe("phone");
    expect(newRule(rules, "email").name).toBe("email_2");
  });

  it("reports rules on unknown or no identifiers", () => {
    const spec = templateSpec("users");
    expect(ruleProblems(spec)).toEqual([]);
    spec.rules = [{ name: "x", identifiers: ["crm_id"], max_profiles_per_value: 10 }, { name: "y", identifiers: [], max_profiles_per_value: null }];
    expect(ruleProblems(spec)).toEqual(["rule x uses unknown identifier crm_id", "rule 2 (y) matches on no identifier"]);
  });
});
