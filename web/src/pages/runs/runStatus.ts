/** How runs read: state colours and words, the order of counts, durations. Pure, tested. */

export type RunState = "queued" | "running" | "succeeded" | "partial" | "failed" | "cancelled";

export const ACTIVE_STATES: RunState[] = ["queued", "running"];

export const STATE_COLOR: Record<string, string> = {
  queued: "gray",
  running: "blue",
  succeeded: "teal",
  partial: "yellow",
  failed: "red",
  cancelled: "gray",
};

export function isActive(state: string | null | undefined): boolean {
  return state === "queued" || state === "running";
}

/** Counts in the order a person follows a run, with what each means. */
export const COUNT_LABELS: [key: string, label: string, help: string][] = [
  ["audience", "Audience", "rows in the segment when the run read it"],
  ["invalid", "Invalid", "rows never sent: missing or malformed key or identifier"],
  ["added", "Added", "rows new since the last successful run"],
  ["changed", "Changed", "rows whose mapped fields changed"],
  ["removed", "Removed", "rows that left the segment"],
  ["planned", "Planned", "operations sent to the destination"],
  ["delivered", "Delivered", "operations the destination accepted"],
  ["rejected", "Rejected", "operations the destination refused (see row errors)"],
  ["failed", "Failed", "operations that still failed after retries"],
];

/** The run's counts as labelled entries (known keys first, then any others the server adds). */
export function countEntries(counts: Record<string, unknown> | null | undefined): { key: string; label: string; help: string; value: number }[] {
  const source = counts ?? {};
  const known = COUNT_LABELS.filter(([key]) => typeof source[key] === "number").map(([key, label, help]) => ({
    key,
    label,
    help,
    value: source[key] as number,
  }));
  const others = Object.entries(source)
    .filter(([key, value]) => typeof value === "number" && !COUNT_LABELS.some(([known]) => known === key))
    .map(([key, value]) => ({ key, label: key.replace(/_/g, " "), help: "", value: value as number }));
  return [...known, ...others];
}

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function toDate(value: string | null | undefined): Date | null {
  if (!value) return null;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Seconds between start and finish (or now, for a run still going). */
export function runSeconds(started: string | null | undefined, finished: string | null | undefined, now = new Date()): number | null {
  const start = toDate(started);
  if (!start) return null;
  const end = toDate(finished) ?? now;
  return Math.max(0, (end.getTime() - start.getTime()) / 1000);
}

/** Stage timings as [stage, seconds] in pipeline order. */
export const STAGE_ORDER = ["extract", "validate", "diff", "plan", "load", "commit", "report"];

export function stageEntries(timings: Record<string, unknown> | null | undefined): [string, number][] {
  const entries = Object.entries(timings ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === "number");
  const rank = (stage: string) => {
    const index = STAGE_ORDER.indexOf(stage);
    return index === -1 ? STAGE_ORDER.length : index;
  };
  return entries.sort((a, b) => rank(a[0]) - rank(b[0]));
}

/** A warning from the server (a string or an object with a message) as one line. */
export function warningText(warning: unknown): string {
  if (typeof warning === "string") return warning;
  if (warning && typeof warning === "object") {
    const value = warning as { message?: unknown; detail?: unknown; kind?: unknown; code?: unknown };
    const text = value.message ?? value.detail;
    const kind = value.kind ?? value.code;
    if (typeof text === "string") return typeof kind === "string" ? `${kind.replace(/_/g, " ")}: ${text}` : text;
  }
  return JSON.stringify(warning);
}

const ERROR_KIND_TITLES: Record<string, string> = {
  config: "Run failed: the configuration needs fixing",
  worker_lost: "Run failed: the worker running it stopped",
  internal: "Run failed: unexpected error",
};

/** Title of a failed run's error box, from its ``error_kind`` ("config", "worker_lost", an error class…). */
export function errorKindTitle(kind: string | null | undefined): string {
  if (!kind) return "Run failed";
  if (ERROR_KIND_TITLES[kind]) return ERROR_KIND_TITLES[kind];
  const words = kind
    .replace(/_/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
  return `Run failed: ${words}`;
}

/** Where a running run stands: index of its current stage in STAGE_ORDER (-1 before the first). */
export function stageIndex(stage: string | null | undefined): number {
  return stage ? STAGE_ORDER.indexOf(stage) : -1;
}
