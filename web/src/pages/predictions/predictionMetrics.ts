/** What the predictions page says about a version's metrics: the headline next to its baseline. */

export type Metrics = Record<string, unknown> | null | undefined;

export interface Headline {
  label: string;
  model: number | null;
  baseline: number | null;
  /** Whether the model does better than the naive baseline (higher AUC / precision, lower MAE). */
  beats: boolean | null;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function headline(kind: string, metrics: Metrics): Headline | null {
  if (!metrics) return null;
  const pick = (label: string, modelKey: string, baselineKey: string, higherIsBetter: boolean): Headline => {
    const model = num(metrics[modelKey]);
    const baseline = num(metrics[baselineKey]);
    const beats = model === null || baseline === null ? null : higherIsBetter ? model > baseline : model < baseline;
    return { label, model, baseline, beats };
  };
  if (kind === "churn") return pick("AUC", "auc", "baseline_auc", true);
  if (kind === "ltv") return pick("MAE", "mae", "baseline_mae", false);
  if (kind === "recommendations") return pick("Precision@10", "precision_at_k", "baseline_precision_at_k", true);
  return null;
}

export interface DecileRow {
  decile: number;
  [key: string]: number;
}

export function decileRows(metrics: Metrics, key: string): DecileRow[] {
  const rows = metrics?.[key];
  return Array.isArray(rows) ? (rows.filter((row) => typeof row === "object" && row !== null) as DecileRow[]) : [];
}

export const BASELINE_NAMES: Record<string, string> = {
  churn: "recency rank",
  ltv: "last-period spend",
  recommendations: "most popular products",
};
