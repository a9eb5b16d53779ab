/** Models: tables or SQL queries on a source, with a fixed schema of fields. */
import { Anchor, Badge, Table, Text } from "@mantine/core";
import { Link, useNavigate } from "react-router-dom";

import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { useSources } from "../sources/SourcesPage";
import { useModels } from "./modelsApi";

export function ModelsPage() {
  const models = useModels();
  const sources = useSources();
  const navigate = useNavigate();
  const sourceName = (id: string) => sources.data?.find((source) => source.id === id)?.name ?? "…";
  return (
    <>
      <PageHeader title="Models" description="Tables or SQL queries on a source. Segments are built over a users (or custom) model; events models feed event conditions." />
      {models.isLoading ? (
        <ListSkeleton />
      ) : models.error ? (
        <ErrorNotice error={models.error} onRetry={() => void models.refetch()} />
      ) : !models.data?.length ? (
        <EmptyState title="No models yet">
          Define models over your source's tables with <code>sluice apply -f sluice.yaml</code> or the API; the demo workspace comes
          with users, orders, order items, products, events and companies.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="models-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Source</Table.Th>
              <Table.Th>Reads</Table.Th>
              <Table.Th>Fields</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {models.data.map((model) => {
              const broken = model.fields.filter((field) => field.broken_reason).length;
              return (
                <Table.Tr key={model.id} style={{ cursor: "pointer" }} onClick={() => navigate(`/models/${model.id}`)}>
                  <Table.Td>
                    <Anchor component={Link} to={`/models/${model.id}`} fw={500} onClick={(event) => event.stopPropagation()}>
                      {model.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={model.type === "users" ? "blue" : model.type === "events" ? "grape" : "gray"}>
                      {model.type}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{sourceName(model.source_id)}</Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {model.table_name ? `${model.table_schema ? `${model.table_schema}.` : ""}${model.table_name}` : "SQL query"}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    {model.fields.length}
                    {broken ? (
                      <Badge ml="xs" color="red" variant="light">
                        {broken} broken
                      </Badge>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDateTime(model.updated_at)}</Text>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
