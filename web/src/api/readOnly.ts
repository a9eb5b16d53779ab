/** Why a page is read-only for the signed-in role, in words (the buttons it hides say nothing themselves). */
import { ROLES, roleAllows, type Permission, type Role } from "./permissions";

/** The least powerful role granting ``permission``. */
export function minimumRole(permission: Permission): Role {
  return ROLES.find((role) => roleAllows(role, permission)) ?? "owner";
}

/**
 * The hint shown instead of the missing buttons, or null when ``role`` may act (or is not known yet).
 * ``what`` names the action in the plural sense, e.g. "changing sources".
 */
export function readOnlyHint(role: Role | null, permission: Permission, what: string): string | null {
  if (role === null || roleAllows(role, permission)) return null;
  return `Read-only for your role (${role}): ${what} needs the ${minimumRole(permission)} role or above.`;
}
