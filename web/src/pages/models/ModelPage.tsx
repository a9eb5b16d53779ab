/** One model: schema tab (types, meanings, categorical flags, primary key, calculated, broken fields), relationships, preview, key health. */
import { ActionIcon, Alert, Anchor, Badge, Breadcrumbs, Button, Card, Code, Group, ScrollArea, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import { IconAlertTriangle, IconKey, IconPencil, IconPlus } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import { ErrorNotice, ListSkeleton } from "../../components/feedback";
import { formatCount } from "../../format";
import { AddCalculatedFieldModal, EditFieldModal, SchemaCheckPanel } from "./FieldDialogs";
import type { ModelField } from "./fieldEdits";
import { useModel, useModels, useRelationships } from "./modelsApi";

export function ModelPage() {
  const { modelId = "" } = useParams();
  const model = useModel(modelId);
  const models = useModels();
  const relationships = useRelationships(modelId);
  const [tab, setTab] = useState<string | null>("schema");
  const [editing, setEditing] = useState<ModelField | null>(null);
  const [adding, setAdding] = useState(false);
  const canEdit = useCan("models:write");
  const preview = useQuery({
    queryKey: ["models", modelId, "preview"],
    enabled: tab === "preview",
    queryFn: async () => unwrap(await api.GET("/api/v1/models/{model_id}/preview", { params: { path: { model_id: modelId }, query: { limit: 50 } } })),
  });
  const keys = useQuery({
    queryKey: ["models", modelId, "key-health"],
    enabled: tab === "keys",
    queryFn: async () => unwrap(await api.GET("/api/v1/models/{model_id}/key-health", { params: { path: { model_id: modelId } } })),
  });
  if (model.isLoading) return <ListSkeleton rows={8} />;
  if (model.error || !model.data) return <ErrorNotice error={model.error} onRetry={() => void model.refetch()} />;
  const data = model.data;
  const modelName = (id: string) => models.data?.find((candidate) => candidate.id === id)?.name ?? id;
  const broken = data.fields.filter((field) => field.broken_reason);
  return (
    <Stack gap="md">
      <div>
        <Breadcrumbs mb="xs">
          <Anchor component={Link} to="/models" size="sm">
            Models
          </Anchor>
          <Text size="sm">{data.name}</Text>
        </Breadcrumbs>
        <Group gap="sm">
          <Title order={2}>{data.name}</Title>
          <Badge variant="light">{data.type}</Badge>
        </Group>
        <Text size="sm" c="dimmed" mt={4}>
          {data.description || (data.table_name ? `Reads ${data.table_schema ? `${data.table_schema}.` : ""}${data.table_name}` : "Reads a SQL query")} · primary key <Code>{data.primary_key}</Code>
          {data.timestamp_field ? (
            <>
              {" "}
              · timestamp <Code>{data.timestamp_field}</Code>
            </>
          ) : null}
        </Text>
      </div>
      {broken.length ? (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} title={`${broken.length} field${broken.length > 1 ? "s" : ""} no longer match the source`}>
          {broken.map((field) => `${field.name}: ${field.broken_reason}`).join("; ")}. {canEdit ? "Open the field to relink it to another column, or drop it." : "Someone who may edit models can relink or drop it."}
        </Alert>
      ) : null}
      <Tabs value={tab} onChange={setTab}>
        <Tabs.List>
          <Tabs.Tab value="schema">Schema</Tabs.Tab>
          <Tabs.Tab value="relationships">Relationships</Tabs.Tab>
          <Tabs.Tab value="preview">Preview</Tabs.Tab>
          <Tabs.Tab value="keys">Key health</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="schema" pt="md">
          <Group justify="space-between" mb="sm" align="flex-start">
            <SchemaCheckPanel model={data} canEdit={canEdit} />
            {canEdit ? (
              <Button size="xs" variant="light" leftSection={<IconPlus size={14} />} onClick={() => setAdding(true)}>
                Add calculated field
              </Button>
            ) : null}
          </Group>
          <Table verticalSpacing={6} data-testid="model-schema">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Field</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Column / calculation</Table.Th>
                <Table.Th>Meaning</Table.Th>
                <Table.Th>Flags</Table.Th>
                {canEdit ? <Table.Th w={40} /> : null}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.fields.map((field) => (
                <Table.Tr key={field.name}>
                  <Table.Td>
                    <Group gap={6}>
                      {field.name === data.primary_key ? <IconKey size={14} aria-label="primary key" /> : null}
                      <Text size="sm" fw={500}>
                        {field.name}
                      </Text>
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="outline" color="gray" size="sm">
                      {field.type}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace" c={field.calculation ? "grape" : undefined}>
                      {field.calculation ? describeCalculation(field.calculation) : field.column}
                    </Text>
                  </Table.Td>
                  <Table.Td>{field.meaning ? <Badge variant="light">{field.meaning}</Badge> : <Text size="sm" c="dimmed">—</Text>}</Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {field.name === data.primary_key ? <Badge size="sm">primary key</Badge> : null}
                      {field.categorical ? <Badge size="sm" color="teal" variant="light">categorical</Badge> : null}
                      {field.calculation ? <Badge size="sm" color="grape" variant="light">calculated</Badge> : null}
                      {field.broken_reason ? <Badge size="sm" color="red">broken</Badge> : null}
                    </Group>
                  </Table.Td>
                  {canEdit ? (
                    <Table.Td>
                      <ActionIcon variant="subtle" color={field.broken_reason ? "red" : "gray"} aria-label={`Edit field ${field.name}`} onClick={() => setEditing(field)}>
                        <IconPencil size={16} />
                      </ActionIcon>
                    </Table.Td>
                  ) : null}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Tabs.Panel>
        <Tabs.Panel value="relationships" pt="md">
          {relationships.isLoading ? (
            <ListSkeleton rows={2} />
          ) : !relationships.data?.length ? (
            <Text size="sm" c="dimmed">No relationships. Relate models on key columns to use related rows and events in segments.</Text>
          ) : (
            <Table verticalSpacing={6}>
              <Table.Tbody>
                {relationships.data.map((relationship) => (
                  <Table.Tr key={relationship.id}>
                    <Table.Td fw={500}>{relationship.name}</Table.Td>
                    <Table.Td>
                      <Badge variant="light" color="gray">
                        {relationship.kind.replace(/_/g, " ")}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {modelName(relationship.from_model_id)}.{relationship.from_field} → {modelName(relationship.to_model_id)}.{relationship.to_field}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="preview" pt="md">
          {preview.isLoading ? (
            <ListSkeleton />
          ) : preview.error ? (
            <ErrorNotice error={preview.error} />
          ) : (
            <ScrollArea>
              <Table striped fz="xs" verticalSpacing={4} data-testid="model-preview">
                <Table.Thead>
                  <Table.Tr>
                    {(preview.data?.columns ?? []).map((column) => (
                      <Table.Th key={column.name}>{column.name}</Table.Th>
                    ))}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {(preview.data?.rows ?? []).map((row, index) => (
                    <Table.Tr key={index}>
                      {(preview.data?.columns ?? []).map((column) => (
                        <Table.Td key={column.name} style={{ whiteSpace: "nowrap" }}>
                          {row[column.name] === null || row[column.name] === undefined ? "" : String(typeof row[column.name] === "object" ? JSON.stringify(row[column.name]) : row[column.name])}
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollArea>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="keys" pt="md">
          {keys.isLoading ? (
            <ListSkeleton rows={2} />
          ) : keys.error ? (
            <ErrorNotice error={keys.error} />
          ) : keys.data ? (
            <Card withBorder data-testid="key-health">
              <Text fw={600} c={keys.data.healthy ? "teal" : "red"}>
                {keys.data.healthy ? `Every ${keys.data.primary_key} is present and unique.` : `The primary key ${keys.data.primary_key} has problems.`}
              </Text>
              <Text size="sm" mt={4}>
                {formatCount(keys.data.duplicate_keys)} duplicated keys ({formatCount(keys.data.duplicate_rows)} rows) · {formatCount(keys.data.null_keys)} rows without a key
              </Text>
            </Card>
          ) : null}
        </Tabs.Panel>
      </Tabs>
      <EditFieldModal model={data} field={editing} onClose={() => setEditing(null)} />
      <AddCalculatedFieldModal model={data} relationships={relationships.data ?? []} opened={adding} onClose={() => setAdding(false)} />
    </Stack>
  );
}

function describeCalculation(calculation: Record<string, unknown>): string {
  if (calculation.kind === "aggregate") {
    const field = calculation.field ? `(${String(calculation.field)})` : "";
    return `${String(calculation.function)}${field} over ${String(calculation.relationship)}`;
  }
  if (typeof calculation.expression === "string") return calculation.expression;
  return JSON.stringify(calculation);
}
