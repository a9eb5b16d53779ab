/**
 * The HTTP client of the API. Typed calls go through `api` (openapi-fetch over the generated
 * `schema.d.ts`); `request` is the untyped fallback for routes that another part of Sluice has not
 * published yet (once they appear in the OpenAPI document, move the call to `api`).
 *
 * Every request carries the chosen workspace (`X-Sluice-Workspace`) and, on unsafe methods, the
 * CSRF token from the `sluice_csrf` cookie (`X-CSRF-Token`). Failures become `ApiError`s holding
 * the server's problem+json.
 */
import createClient, { type Middleware } from "openapi-fetch";

import { ApiError, toProblem } from "./problem";
import type { paths } from "./schema";

export const API_PREFIX = "/api/v1";
export const WORKSPACE_HEADER = "X-Sluice-Workspace";
export const CSRF_HEADER = "X-CSRF-Token";
export const CSRF_COOKIE = "sluice_csrf";
const WORKSPACE_STORAGE_KEY = "sluice.workspace";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The workspace the user picked (id or slug), or null for the server's default. */
export function currentWorkspace(): string | null {
  try {
    return window.localStorage.getItem(WORKSPACE_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function setCurrentWorkspace(workspace: string | null): void {
  if (workspace) window.localStorage.setItem(WORKSPACE_STORAGE_KEY, workspace);
  else window.localStorage.removeItem(WORKSPACE_STORAGE_KEY);
}

/** Value of a cookie readable by scripts, or null. */
export function readCookie(name: string, cookies = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Add the workspace and CSRF headers a request needs. */
export function decorate(headers: Headers, method: string): Headers {
  const workspace = currentWorkspace();
  if (workspace && !headers.has(WORKSPACE_HEADER)) headers.set(WORKSPACE_HEADER, workspace);
  if (UNSAFE.has(method.toUpperCase())) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers.set(CSRF_HEADER, csrf);
  }
  return headers;
}

async function failure(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.clone().json();
  } catch {
    body = null;
  }
  return new ApiError(response.status, toProblem(body, response.status, response.statusText));
}

const sluiceHeaders: Middleware = {
  onRequest({ request }) {
    decorate(request.headers, request.method);
    return request;
  },
  async onResponse({ response }) {
    if (!response.ok) throw await failure(response);
    return response;
  },
};

/** Typed client: `api.GET("/api/v1/sources")` etc. Errors are thrown as `ApiError`. */
export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(sluiceHeaders);

/** Untyped request for routes not (yet) in the OpenAPI document. Returns parsed JSON or null. */
export async function request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers = decorate(new Headers({ Accept: "application/json" }), method);
  if (body !== undefined) headers.set("Content-Type", "application/json");
  let response: Response;
  try {
    response = await fetch(path.startsWith("/") ? path : `${API_PREFIX}/${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, toProblem(null, 0));
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** The `data` of a typed call (errors were already thrown by the middleware). */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    if (result.response.status === 204) return undefined as T;
    throw new ApiError(result.response.status, toProblem(result.error, result.response.status));
  }
  return result.data;
}
