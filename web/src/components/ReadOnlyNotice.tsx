/** A quiet notice on pages whose write buttons the signed-in role does not get. */
import { Alert } from "@mantine/core";
import { IconLock } from "@tabler/icons-react";
import type { ReactNode } from "react";

import { useRole, type Permission } from "../api/permissions";
import { readOnlyHint } from "../api/readOnly";

/** Renders nothing when the role holds ``permission``; ``what`` is e.g. "changing sources". */
export function ReadOnlyNotice({ permission, what, mb = "md" }: { permission: Permission; what: string; mb?: string }) {
  const hint = readOnlyHint(useRole(), permission, what);
  if (!hint) return null;
  return (
    <Alert color="gray" variant="light" icon={<IconLock size={18} />} mb={mb} data-testid="read-only-hint">
      {hint}
    </Alert>
  );
}

/** Disables every input inside for a read-only role (a native fieldset, without a border of its own). */
export function ReadOnlyFieldset({ readOnly, children }: { readOnly: boolean; children: ReactNode }) {
  return (
    <fieldset disabled={readOnly} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}>
      {children}
    </fieldset>
  );
}
