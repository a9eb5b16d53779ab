import { describe, expect, it } from "vitest";

import { activationStatus } from "./status";

describe("activation status", () => {
  it("shows a pause with its reason, even when the activation is enabled", () => {
    expect(activationStatus({ enabled: true, paused_reason: "paused after a fatal error: bad key" })).toEqual({
      label: "paused",
      color: "orange",
      reason: "paused after a fatal error: bad key",
    });
    expect(activationStatus({ enabled: true, paused_reason: "x" }, true).label).toBe("paused automatically");
  });

  it("tells disabled from active", () => {
    expect(activationStatus({ enabled: false, paused_reason: null }).label).toBe("disabled");
    expect(activationStatus({ enabled: true, paused_reason: null }).label).toBe("active");
  });
});
