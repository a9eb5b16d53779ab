/**
 * What the signed-in role may do, so pages show only the buttons that will work. Mirrors
 * `sluice.auth.permissions` (the server still decides: a refused action shows its problem message).
 */
import { useSession } from "./auth";
import type { components } from "./schema";

export type Role = components["schemas"]["Role"];

export type Permission =
  | "workspace:read"
  | "workspace:manage"
  | "members:manage"
  | "audit:read"
  | "sources:read"
  | "sources:write"
  | "models:read"
  | "models:write"
  | "segments:read"
  | "segments:write"
  | "destinations:read"
  | "destinations:write"
  | "activations:read"
  | "activations:write"
  | "activations:run"
  | "tokens:personal"
  | "tokens:service";

/** Roles from least to most powerful. */
export const ROLES: Role[] = ["viewer", "operator", "editor", "admin", "owner"];

const READ: Permission[] = ["workspace:read", "sources:read", "models:read", "segments:read", "destinations:read", "activations:read"];
const VIEWER: Permission[] = [...READ, "tokens:personal"];
const OPERATOR: Permission[] = [...VIEWER, "activations:run"];
const EDITOR: Permission[] = [...OPERATOR, "models:write", "segments:write", "activations:write"];
const ADMIN: Permission[] = [...EDITOR, "sources:write", "destinations:write", "members:manage", "audit:read", "tokens:service"];
const OWNER: Permission[] = [...ADMIN, "workspace:manage"];

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(VIEWER),
  operator: new Set(OPERATOR),
  editor: new Set(EDITOR),
  admin: new Set(ADMIN),
  owner: new Set(OWNER),
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

/** Roles a person holding ``role`` may hand out (never above their own). */
export function grantableRoles(role: Role): Role[] {
  return ROLES.slice(0, ROLES.indexOf(role) + 1);
}

/** The current role: the session's, or owner on a server without sign-in (as the API treats it). */
export function useRole(): Role | null {
  const session = useSession();
  if (session.data?.kind === "signed-in") return session.data.me.role;
  if (session.data?.kind === "no-auth") return "owner";
  return null;
}

/** Whether the current role grants ``permission`` (false until the session is known). */
export function useCan(permission: Permission): boolean {
  const role = useRole();
  return role !== null && roleAllows(role, permission);
}
