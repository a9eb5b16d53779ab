import { describe, expect, it } from "vitest";

import { decileRows, headline } from "./predictionMetrics";

describe("headline", () => {
  it("compares churn AUC with its baseline (higher is better)", () => {
    expect(headline("churn", { auc: 0.81, baseline_auc: 0.59 })).toEqual({ label: "AUC", model: 0.81, baseline: 0.59, beats: true });
  });
  it("compares LTV MAE with its baseline (lower is better)", () => {
    expect(headline("ltv", { mae: 140, baseline_mae: 130 })?.beats).toBe(false);
  });
  it("says nothing when metrics are missing", () => {
    expect(headline("churn", null)).toBeNull();
    expect(headline("recommendations", { precision_at_k: 0.1 })?.beats).toBeNull();
  });
});

describe("decileRows", () => {
  it("keeps the table rows only", () => {
    expect(decileRows({ lift: [{ decile: 1, lift: 0.5 }, "x"] }, "lift")).toEqual([{ decile: 1, lift: 0.5 }]);
    expect(decileRows({}, "lift")).toEqual([]);
  });
});
