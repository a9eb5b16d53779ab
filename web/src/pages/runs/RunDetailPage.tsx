/**
 * One run: state (live while it runs), error in plain words, counts, stage timings, warnings, and the
 * per-row outcomes with a status filter and a CSV download.
 */
import { Alert, Anchor, Badge, Breadcrumbs, Button, Card, Group, List, Progress, SegmentedControl, SimpleGrid, Stack, Stepper, Table, Text, Title, Tooltip } from "@mantine/core";
import { IconAlertTriangle, IconDownload, IconPlayerStop } from "@tabler/icons-react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import { EmptyState, ErrorNotice, ListSkeleton, notifyError } from "../../components/feedback";
import { formatCount, formatDateTime } from "../../format";
import { RunStateBadge } from "./RunStateBadge";
import { STAGE_ORDER, countEntries, errorKindTitle, formatDuration, isActive, runSeconds, stageEntries, stageIndex, warningText } from "./runStatus";
import { useActivationNames, useOutcomes, useRun } from "./runsApi";

const OUTCOME_COLOR: Record<string, string> = { delivered: "teal", rejected: "red", failed: "orange", invalid: "yellow" };

const OUTCOME_FILTERS = [
  { value: "problems", label: "Problems" },
  { value: "rejected", label: "Rejected" },
  { value: "failed", label: "Failed" },
  { value: "invalid", label: "Invalid" },
  { value: "delivered", label: "Delivered" },
  { value: "all", label: "All" },
];

export function RunDetailPage() {
  const { runId = "" } = useParams();
  const run = useRun(runId);
  const activationName = useActivationNames();
  const client = useQueryClient();
  const canRun = useCan("activations:run");
  const cancel = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/runs/{run_id}/cancel", { params: { path: { run_id: runId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["runs"] }),
    onError: (error) => notifyError(error, "The run was not cancelled"),
  });

  if (run.isLoading) return <ListSkeleton rows={6} />;
  if (run.error || !run.data) return <ErrorNotice error={run.error} onRetry={() => void run.refetch()} />;
  const data = run.data;
  const stages = stageEntries(data.timings);
  const totalStageSeconds = stages.reduce((sum, [, seconds]) => sum + seconds, 0);

  return (
    <Stack gap="lg">
      <div>
        <Breadcrumbs mb="xs">
          <Anchor component={Link} to="/runs" size="sm">
            Runs
          </Anchor>
          <Anchor component={Link} to={`/activations/${data.activation_id}`} size="sm">
            {activationName(data.activation_id)}
          </Anchor>
        </Breadcrumbs>
        <Group justify="space-between" align="flex-start">
          <Group gap="sm">
            <Title order={2}>Run of {activationName(data.activation_id)}</Title>
            <RunStateBadge state={data.state} size="lg" />
          </Group>
          {isActive(data.state) && canRun ? (
            <Button variant="default" leftSection={<IconPlayerStop size={16} />} loading={cancel.isPending} disabled={data.cancel_requested} onClick={() => cancel.mutate()}>
              {data.cancel_requested ? "Cancelling…" : "Cancel run"}
            </Button>
          ) : null}
        </Group>
        <Text size="sm" c="dimmed" mt={4}>
          Queued {formatDateTime(data.queued_at)} by {data.requested_by ?? data.trigger}
          {data.started_at ? ` · started ${formatDateTime(data.started_at)}` : ""}
          {` · ${formatDuration(runSeconds(data.started_at, data.finished_at))}`}
          {data.full_refresh ? " · full refresh" : ""}
          {data.dry_run ? " · dry run (nothing sent)" : ""}
        </Text>
      </div>

      {isActive(data.state) ? (
        <Card withBorder data-testid="run-progress">
          <Group justify="space-between" mb="sm">
            <Text size="sm" fw={500}>
              {data.state === "queued" ? "Waiting for a worker…" : `Running: ${data.stage ?? "starting"}`}
            </Text>
            <Text size="xs" c="dimmed">
              {data.worker ? `on ${data.worker}` : ""}
              {data.heartbeat_at ? ` · last heartbeat ${formatDateTime(data.heartbeat_at)}` : ""}
            </Text>
          </Group>
          {data.state === "queued" ? (
            <Progress value={100} animated striped color="gray" />
          ) : (
            <Stepper active={Math.max(stageIndex(data.stage), 0)} size="xs" iconSize={22}>
              {STAGE_ORDER.map((stage) => (
                <Stepper.Step key={stage} label={stage} loading={stage === data.stage} />
              ))}
            </Stepper>
          )}
        </Card>
      ) : null}

      {data.error ? (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} title={errorKindTitle(data.error_kind)} data-testid="run-error">
          {data.error}
        </Alert>
      ) : null}

      <SimpleGrid cols={{ base: 3, md: 5, lg: 9 }} spacing="sm" data-testid="run-counts">
        {countEntries(data.counts).map((entry) => (
          <Tooltip key={entry.key} label={entry.help} disabled={!entry.help} withArrow>
            <Card withBorder padding="sm">
              <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
                {entry.label}
              </Text>
              <Text size="xl" fw={700} c={entry.key === "rejected" || entry.key === "failed" ? (entry.value ? "red" : undefined) : undefined}>
                {formatCount(entry.value)}
              </Text>
            </Card>
          </Tooltip>
        ))}
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Card withBorder>
          <Text fw={600} mb="sm">
            Stage timings
          </Text>
          {stages.length ? (
            <Stack gap={6}>
              {stages.map(([stage, seconds]) => (
                <Group key={stage} gap="sm" wrap="nowrap">
                  <Text size="sm" w={80}>
                    {stage}
                  </Text>
                  <Progress value={totalStageSeconds ? (seconds / totalStageSeconds) * 100 : 0} style={{ flex: 1 }} />
                  <Text size="sm" w={80} ta="right">
                    {formatDuration(seconds)}
                  </Text>
                </Group>
              ))}
            </Stack>
          ) : (
            <Text size="sm" c="dimmed">
              {isActive(data.state) ? "No stage has finished yet." : "No stage finished before the run ended."}
            </Text>
          )}
        </Card>
        <Card withBorder>
          <Text fw={600} mb="sm">
            Warnings
          </Text>
          {data.warnings.length ? (
            <List size="sm" spacing={4} icon={<IconAlertTriangle size={14} color="var(--mantine-color-yellow-7)" />}>
              {data.warnings.map((warning, index) => (
                <List.Item key={index}>{warningText(warning)}</List.Item>
              ))}
            </List>
          ) : (
            <Text size="sm" c="dimmed">
              No warnings.
            </Text>
          )}
        </Card>
      </SimpleGrid>

      <RowOutcomes runId={runId} available={data.has_outcomes} />
    </Stack>
  );
}

function RowOutcomes({ runId, available }: { runId: string; available: boolean }) {
  const [filter, setFilter] = useState("problems");
  const status = filter === "all" || filter === "problems" ? null : filter;
  const outcomes = useOutcomes(runId, status, available);
  const rows = (outcomes.data ?? []).filter((row) => filter !== "problems" || row.status !== "delivered");
  const csv = `/api/v1/runs/${runId}/outcomes.csv${status ? `?status=${status}` : ""}`;
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Text fw={600}>Row outcomes</Text>
        <Group gap="sm">
          <SegmentedControl size="xs" data={OUTCOME_FILTERS} value={filter} onChange={setFilter} aria-label="Filter row outcomes" />
          <Button component="a" href={csv} download size="xs" variant="default" leftSection={<IconDownload size={14} />} disabled={!available}>
            CSV
          </Button>
        </Group>
      </Group>
      {!available ? (
        <Text size="sm" c="dimmed">
          This run recorded no row outcomes.
        </Text>
      ) : outcomes.isLoading ? (
        <ListSkeleton rows={3} />
      ) : outcomes.error ? (
        <ErrorNotice error={outcomes.error} />
      ) : !rows.length ? (
        <EmptyState title={filter === "problems" ? "Every row went through" : "No rows with this outcome"}>
          {filter === "problems" ? "No row was rejected, failed or invalid in this run." : "Pick another filter to see other rows."}
        </EmptyState>
      ) : (
        <Table verticalSpacing={6} striped data-testid="outcomes-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Status</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Identifier</Table.Th>
              <Table.Th>Operation</Table.Th>
              <Table.Th>Message</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row, index) => (
              <Table.Tr key={`${row.key}-${index}`}>
                <Table.Td>
                  <Badge size="sm" variant="light" color={OUTCOME_COLOR[row.status] ?? "gray"}>
                    {row.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{row.key ?? "—"}</Table.Td>
                <Table.Td>{row.identifier ?? "—"}</Table.Td>
                <Table.Td>{row.operation ?? "—"}</Table.Td>
                <Table.Td>
                  <Text size="sm">{row.message ?? ""}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}
