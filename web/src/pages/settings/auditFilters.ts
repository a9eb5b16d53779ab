/** The audit log's filters: what the form holds, and the API query (and export link) they make. */

export interface AuditFilters {
  /** A user's or token's id (``actor_id``), or null for anyone. */
  actorId: string | null;
  /** Object type (``target_type``: source, membership, api_token, …), or "" for any. */
  targetType: string;
  /** An exact action, or a prefix ending in ``*`` (``auth.*``), or "" for any. */
  action: string;
  /** First day shown (``YYYY-MM-DD``, local time), or "". */
  from: string;
  /** Last day shown, inclusive (``YYYY-MM-DD``, local time), or "". */
  to: string;
}

export const NO_FILTERS: AuditFilters = { actorId: null, targetType: "", action: "", from: "", to: "" };

/** Actions the API records for every object, and the prefixes of the others. */
export const COMMON_ACTIONS = ["create", "update", "delete", "auth.*", "run.*"];

export interface AuditQuery {
  actor_id?: string;
  target_type?: string;
  action?: string;
  since?: string;
  until?: string;
}

/** Local midnight of ``day`` (``YYYY-MM-DD``) plus ``plusDays``, as an ISO instant; null if not a date. */
function midnight(day: string, plusDays = 0): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + plusDays);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Why the filters cannot be applied, or null. */
export function filterProblem(filters: AuditFilters): string | null {
  if (filters.from && filters.to && filters.from > filters.to) return "The first day is after the last day.";
  return null;
}

/** The API query of ``filters``: whole local days, the last one included; empty filters are left out. */
export function auditQuery(filters: AuditFilters): AuditQuery {
  const query: AuditQuery = {};
  if (filters.actorId) query.actor_id = filters.actorId;
  if (filters.targetType.trim()) query.target_type = filters.targetType.trim();
  if (filters.action.trim()) query.action = filters.action.trim();
  const since = filters.from ? midnight(filters.from) : null;
  const until = filters.to ? midnight(filters.to, 1) : null;
  if (since) query.since = since;
  if (until) query.until = until;
  return query;
}

/** How many filters are set (for the "Clear filters" button). */
export function activeFilterCount(filters: AuditFilters): number {
  return Object.keys(auditQuery(filters)).length;
}

/** The CSV export link of exactly the filtered entries. */
export function exportHref(filters: AuditFilters): string {
  const params = new URLSearchParams({ format: "csv", ...auditQuery(filters) });
  return `/api/v1/audit-logs/export?${params.toString()}`;
}

/** Object types the audit log records most (each audited table's class name in snake case). */
export const COMMON_TARGET_TYPES = ["source", "model", "model_field", "segment", "destination", "activation", "run", "membership", "invitation", "api_token", "user"];

/** ``known`` plus every value ``seen`` in the loaded entries, once each, in that order. */
export function suggestions(known: string[], seen: Iterable<string>): string[] {
  return [...new Set([...known, ...seen])];
}
