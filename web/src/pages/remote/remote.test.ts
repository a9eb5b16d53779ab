import { describe, expect, it } from "vitest";

import { matchSummary, refreshDuration } from "./remoteApi";

describe("remote refresh summaries", () => {
  it("says how many ids matched the model", () => {
    expect(matchSummary({ ids_read: 1002, ids_matched: 1000, ids_unmatched: 2 })).toBe("1,000 of 1,002 ids matched (99.8%)");
    expect(matchSummary({ ids_read: 0, ids_matched: 0, ids_unmatched: 0 })).toBe("The remote segment is empty.");
    expect(matchSummary({ ids_read: null, ids_matched: null, ids_unmatched: null })).toBe("");
  });

  it("gives a refresh's duration once it finished", () => {
    expect(refreshDuration({ started_at: "2026-12-01T10:00:00Z", finished_at: "2026-12-01T10:00:12.300Z" })).toBe("12.3 s");
    expect(refreshDuration({ started_at: "2026-12-01T10:00:00Z", finished_at: "2026-12-01T10:02:05Z" })).toBe("2 min 5 s");
    expect(refreshDuration({ started_at: "2026-12-01T10:00:00Z", finished_at: null })).toBe("");
  });
});
