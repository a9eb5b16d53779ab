/**
 * Source types and their config JSON Schema, as the server publishes them (`GET /source-types`).
 * The reader is lenient about the exact shape (list or page; `json_schema`, `config_schema` or
 * `schema`) so the page keeps working while that API settles.
 */
import { useQuery } from "@tanstack/react-query";

import { request } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import type { JsonSchema } from "../../components/jsonSchemaForm/schema";

export const SOURCE_TYPES_ROUTE = "/source-types";

export interface SourceTypeInfo {
  name: string;
  label: string;
  description?: string;
  schema: JsonSchema | null;
}

type RawType = {
  name?: string;
  type?: string;
  label?: string;
  title?: string;
  description?: string;
  json_schema?: JsonSchema;
  config_schema?: JsonSchema;
  schema?: JsonSchema;
};

export function normalizeSourceTypes(body: unknown): SourceTypeInfo[] {
  const rows: RawType[] = Array.isArray(body)
    ? body
    : body && typeof body === "object" && Array.isArray((body as { items?: unknown }).items)
      ? (body as { items: RawType[] }).items
      : body && typeof body === "object"
        ? Object.entries(body as Record<string, RawType>).map(([name, value]) => ({ name, ...value }))
        : [];
  return rows
    .map((row) => {
      const schema = row.json_schema ?? row.config_schema ?? row.schema ?? null;
      return {
        name: String(row.name ?? row.type ?? ""),
        label: String(row.label ?? row.title ?? row.name ?? row.type ?? ""),
        description: row.description ?? schema?.description,
        schema,
      };
    })
    .filter((row) => row.name);
}

export function useSourceTypes() {
  const capabilities = useCapabilities();
  const published = capabilities.data?.has("GET", SOURCE_TYPES_ROUTE) ?? false;
  const query = useQuery({
    queryKey: ["source-types"],
    enabled: published,
    queryFn: async () => normalizeSourceTypes(await request("GET", `/api/v1${SOURCE_TYPES_ROUTE}`)),
    staleTime: 10 * 60_000,
  });
  return { ...query, published, capabilitiesLoading: capabilities.isLoading };
}

/** The route that tests a stored source's connection, if the server has one. */
export function testConnectionRoute(routes: Set<string> | undefined): string | null {
  if (!routes) return null;
  for (const candidate of ["/sources/{source_id}/test", "/sources/{source_id}/test-connection", "/sources/{source_id}/check"]) {
    if (routes.has(`POST ${candidate}`)) return candidate;
  }
  return null;
}
