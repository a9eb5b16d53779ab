/** Run history across activations: newest first, filter by state, refreshes while runs are active. */
import { Anchor, Group, SegmentedControl, Table, Text } from "@mantine/core";
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";

import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatCount, formatDateTime } from "../../format";
import { RunStateBadge } from "./RunStateBadge";
import { formatDuration, runSeconds } from "./runStatus";
import { useActivationNames, useRuns } from "./runsApi";

const FILTERS = [
  { value: "all", label: "All" },
  { value: "running", label: "Running" },
  { value: "succeeded", label: "Succeeded" },
  { value: "partial", label: "Partial" },
  { value: "failed", label: "Failed" },
];

export function RunsPage() {
  const [filter, setFilter] = useState("all");
  const runs = useRuns(filter === "all" ? null : filter);
  const activationName = useActivationNames();
  const navigate = useNavigate();
  return (
    <>
      <PageHeader title="Runs" description="Every execution of an activation: what was read, what changed, what the destination accepted." />
      <Group mb="md">
        <SegmentedControl data={FILTERS} value={filter} onChange={setFilter} size="xs" aria-label="Filter runs by state" />
      </Group>
      {runs.isLoading ? (
        <ListSkeleton />
      ) : runs.error ? (
        <ErrorNotice error={runs.error} onRetry={() => void runs.refetch()} />
      ) : !runs.data?.length ? (
        <EmptyState title={filter === "all" ? "No runs yet" : `No ${filter} runs`}>
          Runs appear here when an activation runs on its schedule or when you press “Run now” on an activation.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="runs-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>State</Table.Th>
              <Table.Th>Activation</Table.Th>
              <Table.Th>Queued</Table.Th>
              <Table.Th>Duration</Table.Th>
              <Table.Th ta="right">Audience</Table.Th>
              <Table.Th ta="right">Delivered</Table.Th>
              <Table.Th ta="right">Rejected</Table.Th>
              <Table.Th>Trigger</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {runs.data.map((run) => {
              const counts = run.counts as Record<string, number | undefined>;
              return (
                <Table.Tr key={run.id} style={{ cursor: "pointer" }} onClick={() => navigate(`/runs/${run.id}`)}>
                  <Table.Td>
                    <RunStateBadge state={run.state} size="sm" />
                  </Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/activations/${run.activation_id}`} onClick={(event) => event.stopPropagation()}>
                      {activationName(run.activation_id)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDateTime(run.queued_at)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDuration(runSeconds(run.started_at, run.finished_at))}</Text>
                  </Table.Td>
                  <Table.Td ta="right">{formatCount(counts.audience)}</Table.Td>
                  <Table.Td ta="right">{formatCount(counts.delivered)}</Table.Td>
                  <Table.Td ta="right">{formatCount(counts.rejected)}</Table.Td>
                  <Table.Td>
                    <Text size="sm" c="dimmed">
                      {run.trigger}
                      {run.full_refresh ? " · full refresh" : ""}
                      {run.dry_run ? " · dry run" : ""}
                    </Text>
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
