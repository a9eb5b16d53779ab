import { describe, expect, it } from "vitest";

import { grantableRoles, roleAllows } from "./permissions";

describe("role permissions", () => {
  it("lets an operator run but not edit activations", () => {
    expect(roleAllows("operator", "activations:run")).toBe(true);
    expect(roleAllows("operator", "activations:write")).toBe(false);
  });

  it("keeps member management and the audit log to admins and owners", () => {
    expect(roleAllows("editor", "members:manage")).toBe(false);
    expect(roleAllows("admin", "members:manage")).toBe(true);
    expect(roleAllows("viewer", "audit:read")).toBe(false);
    expect(roleAllows("owner", "workspace:manage")).toBe(true);
    expect(roleAllows("admin", "workspace:manage")).toBe(false);
  });

  it("never offers a role above one's own", () => {
    expect(grantableRoles("editor")).toEqual(["viewer", "operator", "editor"]);
    expect(grantableRoles("owner")).toContain("owner");
  });
});
