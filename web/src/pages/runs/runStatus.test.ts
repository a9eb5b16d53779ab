import { describe, expect, it } from "vitest";

import { STAGE_ORDER, countEntries, errorKindTitle, formatDuration, runSeconds, stageEntries, stageIndex, warningText } from "./runStatus";

describe("run display", () => {
  it("lists counts in pipeline order with unknown keys last", () => {
    const entries = countEntries({ delivered: 5, audience: 7, invalid: 2, surprise: 1, note: "x" });
    expect(entries.map((entry) => [entry.key, entry.value])).toEqual([
      ["audience", 7],
      ["invalid", 2],
      ["delivered", 5],
      ["surprise", 1],
    ]);
  });

  it("formats durations a person reads at a glance", () => {
    expect(formatDuration(0.25)).toBe("250 ms");
    expect(formatDuration(4.26)).toBe("4.3 s");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(245)).toBe("4 min 05 s");
    expect(formatDuration(7380)).toBe("2 h 03 min");
    expect(formatDuration(null)).toBe("—");
  });

  it("measures a finished run, and a running one up to now", () => {
    expect(runSeconds("2026-01-01T10:00:00", "2026-01-01T10:00:30")).toBe(30);
    expect(runSeconds("2026-01-01T10:00:00Z", null, new Date("2026-01-01T10:01:00Z"))).toBe(60);
    expect(runSeconds(null, null)).toBeNull();
  });

  it("orders stages as the pipeline runs them", () => {
    expect(stageEntries({ load: 2, extract: 1, commit: 0.1, custom: 3 }).map(([stage]) => stage)).toEqual(["extract", "load", "commit", "custom"]);
  });

  it("reads warnings given as text or as objects", () => {
    expect(warningText("audience shrank by 40%")).toBe("audience shrank by 40%");
    expect(warningText({ kind: "reject_rate", message: "12% of rows were rejected" })).toBe("reject rate: 12% of rows were rejected");
  });
});

describe("error kind title", () => {
  it("explains the kinds the runner records", () => {
    expect(errorKindTitle("config")).toBe("Run failed: the configuration needs fixing");
    expect(errorKindTitle("worker_lost")).toContain("worker");
  });

  it("turns an error class into words", () => {
    expect(errorKindTitle("DestinationError")).toBe("Run failed: destination error");
    expect(errorKindTitle(null)).toBe("Run failed");
  });
});

describe("stage index", () => {
  it("places the current stage in the pipeline", () => {
    expect(stageIndex("extract")).toBe(0);
    expect(stageIndex("load")).toBe(STAGE_ORDER.indexOf("load"));
    expect(stageIndex(null)).toBe(-1);
  });
});
