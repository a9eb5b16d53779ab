/** AI predictions: predictors with their latest metrics next to a naive baseline, run history and feature importance. */
import { Badge, Button, Card, Group, NumberInput, Progress, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import type { components } from "../../api/schema";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader, notifyError, notifySuccess } from "../../components/feedback";
import { formatCount, formatDateTime } from "../../format";
import { BASELINE_NAMES, decileRows, headline } from "./predictionMetrics";

type Predictor = components["schemas"]["PredictorOut"];
type Version = components["schemas"]["VersionOut"];
type Kind = Predictor["kind"];

const KINDS: { value: Kind; label: string }[] = [
  { value: "churn", label: "Churn (no purchase in the next N days)" },
  { value: "ltv", label: "LTV (spend over the next N days)" },
  { value: "recommendations", label: "Product recommendations" },
];

const ACTIVE = new Set(["queued", "running"]);

function usePredictors() {
  return useQuery({
    queryKey: ["predictors"],
    queryFn: async () => unwrap(await api.GET("/api/v1/predictors", { params: { query: { limit: 100 } } })).items,
    refetchInterval: 3000,
  });
}

function useVersions(predictorId: string) {
  return useQuery({
    queryKey: ["predictors", predictorId, "versions"],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/predictors/{predictor_id}/versions", { params: { path: { predictor_id: predictorId }, query: { limit: 20 } } })).items,
    refetchInterval: (query) => (query.state.data?.some((version) => ACTIVE.has(version.state)) ? 1500 : false),
  });
}

export function PredictionsPage() {
  const predictors = usePredictors();
  const canWrite = useCan("models:write");
  return (
    <>
      <PageHeader
        title="Predictions"
        description="Churn, lifetime value and product recommendations trained on your own data. Scores become fields of the users model, usable in segments and field mappings."
      />
      {canWrite ? <NewPredictor /> : null}
      {predictors.isLoading ? (
        <ListSkeleton />
      ) : predictors.error ? (
        <ErrorNotice error={predictors.error} onRetry={() => void predictors.refetch()} />
      ) : !predictors.data?.length ? (
        <EmptyState title="No predictors yet">Create one above, then train it: its metrics and feature importance appear here.</EmptyState>
      ) : (
        <Stack>
          {predictors.data.map((predictor) => (
            <PredictorCard key={predictor.id} predictor={predictor} canWrite={canWrite} />
          ))}
        </Stack>
      )}
    </>
  );
}

function NewPredictor() {
  const client = useQueryClient();
  const models = useQuery({
    queryKey: ["models", "users"],
    queryFn: async () => unwrap(await api.GET("/api/v1/models", { params: { query: { limit: 500 } } })).items.filter((model) => model.type === "users"),
  });
  const [name, setName] = useState("");
  const [kind, setKind] = useState<Kind>("churn");
  const [modelId, setModelId] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [horizon, setHorizon] = useState(90);
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/predictors", {
          body: {
            name,
            description: "",
            kind,
            model_id: modelId ?? "",
            config: { horizon_days: horizon, training_windows: 3, top_n: 10, exclude_purchased: true, purchase_filter: filter || null },
          },
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["predictors"] });
      notifySuccess("Predictor created: train it to publish its fields.");
      setName("");
    },
    onError: (error) => notifyError(error, "The predictor was not created"),
  });
  return (
    <Card withBorder mb="lg">
      <Group align="end" wrap="wrap">
        <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} placeholder="Churn 90 days" />
        <Select label="Predicts" data={KINDS} value={kind} onChange={(value) => setKind((value as Kind) ?? "churn")} allowDeselect={false} w={300} />
        <Select
          label="Users model"
          data={(models.data ?? []).map((model) => ({ value: model.id, label: model.name }))}
          value={modelId}
          onChange={setModelId}
          placeholder="Choose a users model"
        />
        <NumberInput label="Horizon (days)" value={horizon} onChange={(value) => setHorizon(Number(value) || 90)} min={7} max={730} w={130} />
        <TextInput label="Purchases filter (optional)" value={filter} onChange={(event) => setFilter(event.currentTarget.value)} placeholder="status = 'completed'" />
        <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!name || !modelId}>
          Create
        </Button>
      </Group>
    </Card>
  );
}

function PredictorCard({ predictor, canWrite }: { predictor: Predictor; canWrite: boolean }) {
  const client = useQueryClient();
  const versions = useVersions(predictor.id);
  const train = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/predictors/{predictor_id}/versions", { params: { path: { predictor_id: predictor.id } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["predictors"] });
      notifySuccess("Training started.");
    },
    onError: (error) => notifyError(error, "Training did not start"),
  });
  const latest = versions.data?.[0];
  const shown = predictor.active_version ?? null;
  const head = headline(predictor.kind, shown?.metrics);
  return (
    <Card withBorder data-testid="predictor-card">
      <Group justify="space-between" mb="sm">
        <div>
          <Title order={4}>{predictor.name}</Title>
          <Text size="sm" c="dimmed">
            {predictor.kind} · fields {predictor.fields.join(", ")}
            {predictor.schedule_cron ? ` · retrains on ${predictor.schedule_cron}` : ""}
          </Text>
        </div>
        {canWrite ? (
          <Button onClick={() => train.mutate()} loading={train.isPending} disabled={latest !== undefined && ACTIVE.has(latest.state)}>
            Train now
          </Button>
        ) : null}
      </Group>
      {latest && ACTIVE.has(latest.state) ? (
        <Stack gap={4} mb="sm">
          <Text size="sm">
            Version {latest.number}: {latest.step || latest.state}
          </Text>
          <Progress value={latest.progress * 100} animated />
        </Stack>
      ) : null}
      {latest?.state === "failed" ? (
        <Text size="sm" c="red" mb="sm">
          Version {latest.number} failed: {latest.message}
        </Text>
      ) : null}
      {shown && head ? (
        <>
          <SimpleGrid cols={{ base: 1, sm: 3 }} mb="md">
            <Metric label={head.label} value={head.model} />
            <Metric label={`Baseline (${BASELINE_NAMES[predictor.kind] ?? "naive"})`} value={head.baseline} />
            <div>
              <Text size="xs" c="dimmed">
                Version {shown.number} · trained {formatDateTime(shown.finished_at)} · {formatCount(shown.rows_scored)} users scored
              </Text>
              {head.beats === null ? null : (
                <Badge color={head.beats ? "teal" : "orange"} mt={4}>
                  {head.beats ? "beats the baseline" : "does not beat the baseline"}
                </Badge>
              )}
            </div>
          </SimpleGrid>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <DecileTable version={shown} kind={predictor.kind} />
            <Importance version={shown} />
          </SimpleGrid>
        </>
      ) : (
        <Text size="sm" c="dimmed">
          Not trained yet.
        </Text>
      )}
      <History versions={versions.data ?? []} />
    </Card>
  );
}

function Metric({ label, value }: { label: string; value: number | null }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={600}>
        {value === null ? "—" : value.toFixed(value < 10 ? 3 : 1)}
      </Text>
    </div>
  );
}

function DecileTable({ version, kind }: { version: Version; kind: string }) {
  if (kind === "recommendations") {
    const m = version.metrics ?? {};
    return (
      <Text size="sm">
        Recall@10 {String(m.recall_at_k ?? "—")} vs {String(m.baseline_recall_at_k ?? "—")} for popularity, on {formatCount(m.evaluated_users as number)} users who bought
        again after the split.
      </Text>
    );
  }
  const calibration = decileRows(version.metrics, "calibration");
  const lift = new Map(decileRows(version.metrics, "lift").map((row) => [row.decile, row.lift]));
  return (
    <Table striped withTableBorder data-testid="decile-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Decile</Table.Th>
          <Table.Th ta="right">Predicted</Table.Th>
          <Table.Th ta="right">Actual</Table.Th>
          {kind === "churn" ? <Table.Th ta="right">Lift</Table.Th> : null}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {calibration.map((row) => (
          <Table.Tr key={row.decile}>
            <Table.Td>{row.decile}</Table.Td>
            <Table.Td ta="right">{row.predicted}</Table.Td>
            <Table.Td ta="right">{row.actual}</Table.Td>
            {kind === "churn" ? <Table.Td ta="right">{lift.get(row.decile) ?? "—"}</Table.Td> : null}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Importance({ version }: { version: Version }) {
  const items = (version.feature_importance ?? []).slice(0, 12) as { feature: string; importance: number }[];
  if (!items.length) return null;
  return (
    <Stack gap={6} data-testid="feature-importance">
      <Text size="sm" fw={600}>
        Feature importance (share of gain)
      </Text>
      {items.map((item) => (
        <div key={item.feature}>
          <Group justify="space-between">
            <Text size="xs">{item.feature}</Text>
            <Text size="xs" c="dimmed">
              {(item.importance * 100).toFixed(1)}%
            </Text>
          </Group>
          <Progress value={item.importance * 100} size="sm" />
        </div>
      ))}
    </Stack>
  );
}

function History({ versions }: { versions: Version[] }) {
  if (!versions.length) return null;
  return (
    <Table mt="md" verticalSpacing={4} data-testid="version-history">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Version</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>Trigger</Table.Th>
          <Table.Th>Finished</Table.Th>
          <Table.Th ta="right">Users scored</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {versions.map((version) => (
          <Table.Tr key={version.id}>
            <Table.Td>
              {version.number}
              {version.active ? (
                <Badge size="xs" ml={6}>
                  active
                </Badge>
              ) : null}
            </Table.Td>
            <Table.Td>{version.state}</Table.Td>
            <Table.Td>{version.trigger}</Table.Td>
            <Table.Td>{formatDateTime(version.finished_at)}</Table.Td>
            <Table.Td ta="right">{formatCount(version.rows_scored)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
