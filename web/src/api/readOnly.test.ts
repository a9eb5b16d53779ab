import { describe, expect, it } from "vitest";

import { minimumRole, readOnlyHint } from "./readOnly";

describe("read-only hints", () => {
  it("names the least role that may write", () => {
    expect(minimumRole("sources:write")).toBe("admin");
    expect(minimumRole("destinations:write")).toBe("admin");
    expect(minimumRole("segments:write")).toBe("editor");
    expect(minimumRole("activations:run")).toBe("operator");
  });

  it("explains the role and what is needed to a viewer or operator", () => {
    expect(readOnlyHint("viewer", "sources:write", "changing sources")).toBe(
      "Read-only for your role (viewer): changing sources needs the admin role or above.",
    );
    expect(readOnlyHint("operator", "segments:write", "changing segments")).toBe(
      "Read-only for your role (operator): changing segments needs the editor role or above.",
    );
  });

  it("says nothing to a role that may act, or before the session is known", () => {
    expect(readOnlyHint("admin", "destinations:write", "changing destinations")).toBeNull();
    expect(readOnlyHint("editor", "segments:write", "changing segments")).toBeNull();
    expect(readOnlyHint("editor", "sources:write", "changing sources")).not.toBeNull();
    expect(readOnlyHint(null, "sources:write", "changing sources")).toBeNull();
  });
});
