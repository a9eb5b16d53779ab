/** The list of sources (warehouse connections). */
import { Anchor, Badge, Button, Group, Table, Text } from "@mantine/core";
import { IconDatabasePlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router-dom";

import { useCan } from "../../api/permissions";
import { api, unwrap } from "../../api/client";
import { ReadOnlyNotice } from "../../components/ReadOnlyNotice";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { useSourceTypes } from "./sourceTypes";

export function useSources() {
  return useQuery({
    queryKey: ["sources"],
    queryFn: async () => unwrap(await api.GET("/api/v1/sources", { params: { query: { limit: 500 } } })).items,
  });
}

export function SourcesPage() {
  const sources = useSources();
  const types = useSourceTypes();
  const navigate = useNavigate();
  const labelOf = (name: string) => types.data?.find((type) => type.name === name)?.label ?? name;
  const canCreate = useCan("sources:write");
  const newButton = canCreate ? (
    <Button component={Link} to="/sources/new" leftSection={<IconDatabasePlus size={18} />}>
      New source
    </Button>
  ) : null;
  return (
    <>
      <PageHeader
        title="Sources"
        description="Warehouses Sluice reads from. Models, segments and activations all start from a source; Sluice never copies your data out of it."
        actions={sources.data?.length ? newButton : undefined}
      />
      <ReadOnlyNotice permission="sources:write" what="changing sources" />
      {sources.isLoading ? (
        <ListSkeleton />
      ) : sources.error ? (
        <ErrorNotice error={sources.error} onRetry={() => void sources.refetch()} />
      ) : !sources.data?.length ? (
        <EmptyState title="Connect your first warehouse" action={newButton}>
          Add a source to point Sluice at your data: DuckDB, PostgreSQL, Snowflake, BigQuery, Databricks or Redshift.
          Credentials are encrypted at rest and never shown again.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="sources-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Credentials</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sources.data.map((source) => (
              <Table.Tr key={source.id} style={{ cursor: "pointer" }} onClick={() => navigate(`/sources/${source.id}`)}>
                <Table.Td>
                  <Anchor component={Link} to={`/sources/${source.id}`} fw={500} onClick={(event) => event.stopPropagation()}>
                    {source.name}
                  </Anchor>
                  {source.description ? (
                    <Text size="xs" c="dimmed" lineClamp={1}>
                      {source.description}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>
                  <Badge variant="light">{labelOf(source.type)}</Badge>
                </Table.Td>
                <Table.Td>
                  {source.secret_names.length ? (
                    <Group gap={4}>
                      {source.secret_names.map((name) => (
                        <Badge key={name} size="sm" variant="outline" color="teal">
                          {name} set
                        </Badge>
                      ))}
                    </Group>
                  ) : (
                    <Text size="sm" c="dimmed">
                      none
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatDateTime(source.updated_at)}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
