/** Workspace settings: the audit log (members and tokens have their own modules). */
export { MembersPage } from "./MembersPage";
export { TokensPage } from "./TokensPage";
import { Anchor, Button, Code, Table, Text } from "@mantine/core";
import { IconDownload } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";

export function AuditLogPage() {
  const entries = useQuery({
    queryKey: ["audit-logs"],
    queryFn: async () => unwrap(await api.GET("/api/v1/audit-logs", { params: { query: { limit: 200 } } })).items,
  });
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change in this workspace: who, what, when (secrets are never recorded)."
        actions={
          <Button component="a" href="/api/v1/audit-logs/export?format=csv" variant="default" leftSection={<IconDownload size={16} />}>
            Export CSV
          </Button>
        }
      />
      {entries.isLoading ? (
        <ListSkeleton />
      ) : entries.error ? (
        <ErrorNotice error={entries.error} onRetry={() => void entries.refetch()} />
      ) : !entries.data?.length ? (
        <EmptyState title="Nothing recorded yet">Changes to sources, models, segments, destinations and activations appear here.</EmptyState>
      ) : (
        <Table verticalSpacing={6} data-testid="audit-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Who</Table.Th>
              <Table.Th>Action</Table.Th>
              <Table.Th>Object</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {entries.data.map((entry) => (
              <Table.Tr key={entry.id}>
                <Table.Td>
                  <Text size="sm">{formatDateTime(entry.created_at)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{entry.actor_name ?? entry.actor_type}</Text>
                </Table.Td>
                <Table.Td>
                  <Code>{entry.action}</Code>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">
                    {entry.target_type}
                    {entry.target_id ? (
                      <Anchor size="xs" c="dimmed" ml={6} component="span">
                        {entry.target_id.slice(-8)}
                      </Anchor>
                    ) : null}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
