/**
 * Which API routes this server has, read once from its OpenAPI document. Parts of Sluice land at
 * different times: a page whose routes are missing says so instead of failing.
 */
import { useQuery } from "@tanstack/react-query";

import { API_PREFIX, request } from "./client";

interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
}

export interface Capabilities {
  /** "METHOD /path" pairs, paths without the /api/v1 prefix, e.g. "GET /sources". */
  routes: Set<string>;
  has: (method: string, path: string) => boolean;
}

export function capabilitiesFrom(document: OpenApiDocument): Capabilities {
  const routes = new Set<string>();
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    const short = path.startsWith(API_PREFIX) ? path.slice(API_PREFIX.length) : path;
    for (const method of Object.keys(operations ?? {})) routes.add(`${method.toUpperCase()} ${short}`);
  }
  return { routes, has: (method, path) => routes.has(`${method.toUpperCase()} ${path}`) };
}

export function useCapabilities() {
  return useQuery({
    queryKey: ["openapi"],
    queryFn: async () => capabilitiesFrom(await request<OpenApiDocument>("GET", `${API_PREFIX}/openapi.json`)),
    staleTime: 5 * 60_000,
  });
}
