/** Stand-in for an area whose page is not built yet: says what it will hold and what to do meanwhile. */
import { Code } from "@mantine/core";
import { IconHourglassLow } from "@tabler/icons-react";

import { useCapabilities } from "../api/capabilities";
import { EmptyState, PageHeader } from "../components/feedback";
import type { NavItem } from "../layout/navigation";

export const AREA_DESCRIPTIONS: Record<string, string> = {
  "/models": "Tables or SQL queries on a source, with a fixed schema of fields, a primary key and relationships.",
  "/segments": "Audiences built with the visual builder: nested groups of property, relation and event conditions.",
  "/destinations": "Connections to the platforms you activate audiences in: Mailchimp, Intercom, Voyado and more.",
  "/activations": "A segment kept in step with a destination: target, identifier, field mapping and schedule.",
  "/runs": "Every execution of an activation: status, stage timings, counts, warnings and per-row errors.",
  "/remote-segments": "Segments built inside a destination, read back and joined to a model.",
  "/identity": "Identity resolution: matching records into golden profiles.",
  "/predictions": "Predicted lifetime value, churn and recommendations as model fields.",
  "/settings/members": "Who can work in this workspace, and their roles.",
  "/settings/tokens": "Personal and service API tokens for the CLI and automation.",
  "/settings/audit-log": "Every change made in this workspace: who, what, when, before and after.",
};

export function PendingPage({ item }: { item: NavItem }) {
  const capabilities = useCapabilities();
  const [method, path] = item.needs.split(" ");
  const apiReady = capabilities.data?.has(method, path) ?? false;
  return (
    <>
      <PageHeader title={item.label} description={AREA_DESCRIPTIONS[item.to]} />
      <EmptyState title={apiReady ? `${item.label} are on their way to the web app` : `${item.label} are not available on this server yet`} icon={<IconHourglassLow size={26} />}>
        {apiReady ? (
          <>
            The API is ready (<Code>{item.needs}</Code> under <Code>/api/v1</Code>); this page is being built. Meanwhile use the API
            docs at <a href="/api/v1/docs">/api/v1/docs</a> or the <Code>sluice</Code> command line.
          </>
        ) : (
          <>
            This version of Sluice does not have this part yet. Start with <a href="/sources">Sources</a>: connect a warehouse so it
            is ready when {item.label.toLowerCase()} arrive.
          </>
        )}
      </EmptyState>
    </>
  );
}
