/**
 * Build or edit a segment: the condition builder with a live count (per-condition counts too),
 * sample rows, and for a saved segment its SQL, breakdown chart and overlap with other segments.
 */
import { Alert, Anchor, Breadcrumbs, Button, Card, Code, Grid, Group, Loader, ScrollArea, Select, Stack, Table, Tabs, Text, TextInput, Title } from "@mantine/core";
import { IconDeviceFloppy } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import { ReadOnlyFieldset, ReadOnlyNotice } from "../../components/ReadOnlyNotice";
import { errorMessage, ErrorNotice, FormSkeleton, notifyError, notifySuccess } from "../../components/feedback";
import { formatCount } from "../../format";
import { useModels } from "../models/modelsApi";
import { BreakdownPanel } from "./BreakdownPanel";
import { BuilderContext, GroupEditor } from "./ConditionEditor";
import { MaterializePanel } from "./MaterializePanel";
import { OverlapPanel } from "./OverlapPanel";
import { draftPathKeys, emptyDefinition, type Definition, type Group as ConditionGroup } from "./conditionTree";
import { useDraftPreview, useSegment, useSegments, useSegmentSql } from "./segmentsApi";

export function SegmentPage() {
  const { segmentId } = useParams();
  const editing = Boolean(segmentId && segmentId !== "new");
  const stored = useSegment(editing ? segmentId : undefined);
  const models = useModels();
  const segments = useSegments();
  const navigate = useNavigate();
  const client = useQueryClient();
  const canWrite = useCan("segments:write");
  const [name, setName] = useState("");
  const [modelId, setModelId] = useState<string | null>(null);
  const [definition, setDefinition] = useState<Definition>(emptyDefinition());
  const [tab, setTab] = useState<string | null>("rows");

  useEffect(() => {
    if (stored.data) {
      setName(stored.data.name);
      setModelId(stored.data.model_id);
      if (stored.data.definition) setDefinition(stored.data.definition as Definition);
    }
  }, [stored.data]);
  useEffect(() => {
    if (!editing && !modelId && models.data?.length) {
      setModelId((models.data.find((model) => model.type === "users") ?? models.data[0]).id);
    }
  }, [editing, modelId, models.data]);

  const preview = useDraftPreview(modelId, definition);
  const root = definition.conditions as ConditionGroup;
  const draftKeys = useMemo(() => draftPathKeys(root), [root]);
  const counts = useMemo(() => new Map((preview.data?.conditions ?? []).map((entry) => [entry.path, entry.count])), [preview.data]);
  const builder = useMemo(
    () => ({
      countAt: (key: string) => {
        const draftKey = draftKeys.get(key);
        return draftKey ? counts.get(draftKey) : undefined;
      },
      segments: (segments.data ?? []).filter((segment) => segment.model_id === modelId).map((segment) => ({ id: segment.id, name: segment.name })),
      selfId: segmentId,
    }),
    [draftKeys, counts, segments.data, modelId, segmentId],
  );

  const save = useMutation({
    mutationFn: async () => {
      if (editing) {
        return unwrap(await api.PATCH("/api/v1/segments/{segment_id}", { params: { path: { segment_id: segmentId! } }, body: { name, definition } }));
      }
      return unwrap(await api.POST("/api/v1/segments", { body: { name, description: "", model_id: modelId!, definition, type: "conditions" } }));
    },
    onSuccess: async (segment) => {
      await client.invalidateQueries({ queryKey: ["segments"] });
      notifySuccess(`Segment “${segment.name}” saved.`);
      if (!editing) navigate(`/segments/${segment.id}`, { replace: true });
    },
    onError: (error) => notifyError(error, "The segment was not saved"),
  });

  if (editing && stored.error) return <ErrorNotice error={stored.error} onRetry={() => void stored.refetch()} />;
  if ((editing && stored.isLoading) || models.isLoading) return <FormSkeleton fields={5} />;
  if (!models.data?.length) {
    return (
      <Alert color="blue" title="No models yet">
        A segment is built over a model. <Anchor component={Link} to="/models">Create a model</Anchor> on a source first.
      </Alert>
    );
  }
  const modelCount = preview.data?.model_count;
  const share = preview.data && modelCount ? (preview.data.count / modelCount) * 100 : null;
  return (
    <BuilderContext.Provider value={builder}>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/segments" size="sm">
          Segments
        </Anchor>
        <Text size="sm">{editing ? stored.data?.name : "New segment"}</Text>
      </Breadcrumbs>
      <ReadOnlyNotice permission="segments:write" what="changing segments" />
      <Group justify="space-between" mb="md" align="flex-end">
        <Group align="flex-end">
          <TextInput label="Segment name" readOnly={!canWrite} value={name} onChange={(event) => setName(event.currentTarget.value)} w={320} placeholder="e.g. Engaged Swedish buyers" withAsterisk />
          <Select
            label="Parent model"
            w={220}
            data={models.data.map((model) => ({ value: model.id, label: `${model.name} (${model.type})` }))}
            value={modelId}
            disabled={editing || !canWrite}
            allowDeselect={false}
            onChange={(id) => {
              setModelId(id);
              setDefinition(emptyDefinition());
            }}
          />
        </Group>
        {canWrite ? (
          <Button leftSection={<IconDeviceFloppy size={18} />} loading={save.isPending} disabled={!name.trim() || !modelId} onClick={() => save.mutate()}>
            {editing ? "Save segment" : "Create segment"}
          </Button>
        ) : null}
      </Group>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 8 }}>
          {modelId ? (
            <ReadOnlyFieldset readOnly={!canWrite}>
              <GroupEditor root={root} onChange={(next) => setDefinition({ ...definition, conditions: next })} modelId={modelId} countPath={[]} />
            </ReadOnlyFieldset>
          ) : null}
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 4 }}>
          <Card withBorder radius="md" padding="lg" style={{ position: "sticky", top: 72 }}>
            <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
              Audience size
            </Text>
            <Group gap="xs" align="baseline">
              <Title order={1} data-testid="live-count">
                {preview.data ? formatCount(preview.data.count) : "—"}
              </Title>
              {preview.isFetching ? <Loader size="xs" /> : null}
            </Group>
            <Text size="sm" c="dimmed">
              {modelCount !== undefined ? `of ${formatCount(modelCount)} rows in the model${share !== null ? ` (${share.toFixed(1)}%)` : ""}` : "counting…"}
            </Text>
            {preview.error ? (
              <Alert color="red" mt="sm" title="The count failed">
                {errorMessage(preview.error)}
              </Alert>
            ) : null}
            {editing && stored.data?.type === "conditions" ? <MaterializePanel segment={stored.data} canWrite={canWrite} /> : null}
          </Card>
        </Grid.Col>
      </Grid>
      <Tabs value={tab} onChange={setTab} mt="xl" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="rows">Sample rows</Tabs.Tab>
          <Tabs.Tab value="sql" disabled={!editing}>
            SQL
          </Tabs.Tab>
          <Tabs.Tab value="breakdown" disabled={!editing}>
            Breakdown
          </Tabs.Tab>
          <Tabs.Tab value="overlap" disabled={!editing}>
            Overlap
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="rows" pt="md">
          <SampleRows columns={preview.data?.columns ?? []} rows={preview.data?.rows ?? []} />
        </Tabs.Panel>
        <Tabs.Panel value="sql" pt="md">
          {editing ? <SqlPanel segmentId={segmentId!} /> : null}
        </Tabs.Panel>
        <Tabs.Panel value="breakdown" pt="md">
          {editing && modelId ? <BreakdownPanel segmentId={segmentId!} modelId={modelId} /> : null}
        </Tabs.Panel>
        <Tabs.Panel value="overlap" pt="md">
          {editing && modelId ? <OverlapPanel segmentId={segmentId!} candidates={builder.segments} /> : null}
        </Tabs.Panel>
      </Tabs>
      {editing ? null : (
        <Text size="xs" c="dimmed" mt="xs">
          Save the segment to see its SQL, breakdowns and overlap with other segments.
        </Text>
      )}
    </BuilderContext.Provider>
  );
}

function SampleRows({ columns, rows }: { columns: string[]; rows: Record<string, unknown>[] }) {
  if (!rows.length) return <Text size="sm" c="dimmed">No rows match yet.</Text>;
  return (
    <ScrollArea>
      <Table striped verticalSpacing={4} fz="xs" data-testid="sample-rows">
        <Table.Thead>
          <Table.Tr>
            {columns.map((column) => (
              <Table.Th key={column}>{column}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row, index) => (
            <Table.Tr key={index}>
              {columns.map((column) => (
                <Table.Td key={column} style={{ whiteSpace: "nowrap" }}>
                  {row[column] === null || row[column] === undefined ? <Text span c="dimmed" fz="xs">null</Text> : String(typeof row[column] === "object" ? JSON.stringify(row[column]) : row[column])}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </ScrollArea>
  );
}

function SqlPanel({ segmentId }: { segmentId: string }) {
  const sql = useSegmentSql(segmentId, true);
  if (sql.isLoading) return <Loader size="sm" />;
  if (sql.error) return <ErrorNotice error={sql.error} />;
  return (
    <Stack gap={4}>
      <Text size="xs" c="dimmed">
        {sql.data?.dialect} — the query of the saved segment
      </Text>
      <Code block data-testid="segment-sql" style={{ whiteSpace: "pre-wrap" }}>
        {sql.data?.sql}
      </Code>
    </Stack>
  );
}
