/** Pure helpers of the identity rules editor: reorder, add and remove match rules and limits. */
import type { components } from "../../api/schema";

export type IdentitySpec = components["schemas"]["IdentitySpec"];
export type MatchRule = components["schemas"]["MatchRule"];
export type ProfileLimit = components["schemas"]["ProfileLimit"];

/** ``rules`` with the rule at ``index`` moved one place up (-1) or down (+1); unchanged at the ends. */
export function moveRule(rules: MatchRule[], index: number, direction: -1 | 1): MatchRule[] {
  const target = index + direction;
  if (index < 0 || index >= rules.length || target < 0 || target >= rules.length) return rules;
  const next = [...rules];
  [next[index], next[target]] = [next[target], next[index]];
  return next;
}

/** A new rule on ``identifier``, named after it (``email``, ``email_2`` if taken). */
export function newRule(rules: MatchRule[], identifier: string): MatchRule {
  const taken = new Set(rules.map((rule) => rule.name));
  let name = identifier;
  for (let n = 2; taken.has(name); n += 1) name = `${identifier}_${n}`;
  return { name, identifiers: [identifier], max_profiles_per_value: 10 };
}

/** Identifier names the spec declares (for pickers). */
export function identifierNames(spec: IdentitySpec): string[] {
  return spec.identifiers.map((item) => item.name);
}

/** Problems to fix before saving (the server checks again): empty rules, unknown identifiers. */
export function ruleProblems(spec: IdentitySpec): string[] {
  const known = new Set(identifierNames(spec));
  const problems: string[] = [];
  if (!spec.rules.length) problems.push("add at least one match rule");
  spec.rules.forEach((rule, index) => {
    if (!rule.identifiers.length) problems.push(`rule ${index + 1} (${rule.name}) matches on no identifier`);
    for (const name of rule.identifiers) if (!known.has(name)) problems.push(`rule ${rule.name} uses unknown identifier ${name}`);
  });
  for (const limit of spec.limits ?? []) if (!known.has(limit.identifier)) problems.push(`limit on unknown identifier ${limit.identifier}`);
  return problems;
}

/** A starting spec for a new graph over one model with an e-mail column. */
export function templateSpec(model: string): IdentitySpec {
  return {
    identifiers: [
      { name: "email", kind: "email", gmail_normalize: true, strip_plus: false, default_country_code: null, case_sensitive: false, blocked_values: [] },
      { name: "phone", kind: "phone", gmail_normalize: false, strip_plus: false, default_country_code: "33", case_sensitive: false, blocked_values: [] },
    ],
    inputs: [{ model, key: null, identifiers: { email: ["email"], phone: ["phone"] }, attributes: {}, timestamp: null, priority: 100 }],
    rules: [
      { name: "email", identifiers: ["email"], max_profiles_per_value: 10 },
      { name: "phone", identifiers: ["phone"], max_profiles_per_value: 10 },
    ],
    limits: [],
    golden: [],
    probabilistic: { enabled: false, threshold: 0.99, fields: [], blocking: [] },
    warn_cluster_size: 25,
  };
}

/** ``spec`` with fuzzy matching switched on or off, or its threshold changed (other settings kept). */
export function withProbabilistic(spec: IdentitySpec, change: { enabled?: boolean; threshold?: number }): IdentitySpec {
  const current = spec.probabilistic;
  return {
    ...spec,
    probabilistic: {
      fields: current?.fields,
      blocking: current?.blocking,
      enabled: change.enabled ?? current?.enabled ?? false,
      threshold: change.threshold ?? current?.threshold ?? 0.99,
    },
  };
}
