import { describe, expect, it } from "vitest";

import { activeFilterCount, auditQuery, exportHref, filterProblem, NO_FILTERS } from "./auditFilters";

describe("audit log filters", () => {
  it("sends nothing when no filter is set", () => {
    expect(auditQuery(NO_FILTERS)).toEqual({});
    expect(activeFilterCount(NO_FILTERS)).toBe(0);
    expect(exportHref(NO_FILTERS)).toBe("/api/v1/audit-logs/export?format=csv");
  });

  it("maps actor, object type and action to the API's parameters", () => {
    const query = auditQuery({ ...NO_FILTERS, actorId: "u1", targetType: " source ", action: "auth.*" });
    expect(query).toEqual({ actor_id: "u1", target_type: "source", action: "auth.*" });
  });

  it("turns a day range into whole local days, the last day included", () => {
    const query = auditQuery({ ...NO_FILTERS, from: "2026-01-05", to: "2026-01-31" });
    expect(query.since).toBe(new Date(2026, 0, 5).toISOString());
    expect(query.until).toBe(new Date(2026, 1, 1).toISOString());
    expect(auditQuery({ ...NO_FILTERS, to: "2026-12-31" }).until).toBe(new Date(2027, 0, 1).toISOString());
  });

  it("ignores a half-typed date and flags a reversed range", () => {
    expect(auditQuery({ ...NO_FILTERS, from: "2026-1" })).toEqual({});
    expect(filterProblem({ ...NO_FILTERS, from: "2026-02-01", to: "2026-01-01" })).toMatch(/after/);
    expect(filterProblem({ ...NO_FILTERS, from: "2026-01-01", to: "2026-01-01" })).toBeNull();
  });

  it("exports exactly the filtered entries", () => {
    const href = exportHref({ ...NO_FILTERS, targetType: "source", action: "create" });
    const params = new URL(href, "http://x").searchParams;
    expect(params.get("format")).toBe("csv");
    expect(params.get("target_type")).toBe("source");
    expect(params.get("action")).toBe("create");
    expect(activeFilterCount({ ...NO_FILTERS, targetType: "source", action: "create" })).toBe(2);
  });
});
