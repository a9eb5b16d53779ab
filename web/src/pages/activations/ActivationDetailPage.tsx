/** One activation: what it sends where, Run now, pause/resume, and its run history. */
import { Alert, Anchor, Badge, Breadcrumbs, Button, Card, Code, Group, Menu, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { IconChevronDown, IconPencil, IconPlayerPause, IconPlayerPlay, IconRefresh } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import type { components } from "../../api/schema";
import { ErrorNotice, ListSkeleton, notifyError, notifySuccess } from "../../components/feedback";
import { formatCount, formatDateTime } from "../../format";
import { RunStateBadge } from "../runs/RunStateBadge";
import { formatDuration, isActive, runSeconds } from "../runs/runStatus";
import { LIVE_REFRESH_MS, useActivationNames } from "../runs/runsApi";
import { useNames } from "./names";
import { describeSchedule } from "./schedule";
import { activationStatus } from "./status";

export function ActivationDetailPage() {
  const { activationId = "" } = useParams();
  const client = useQueryClient();
  const navigate = useNavigate();
  const names = useNames();
  const activationName = useActivationNames();
  const activation = useQuery({
    queryKey: ["activations", activationId],
    queryFn: async () => unwrap(await api.GET("/api/v1/activations/{activation_id}", { params: { path: { activation_id: activationId } } })),
  });
  const runs = useQuery({
    queryKey: ["runs", "of", activationId],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/activations/{activation_id}/runs", { params: { path: { activation_id: activationId }, query: { limit: 50 } } })).items,
    refetchInterval: (query) => (query.state.data?.some((run) => isActive(run.state)) ? LIVE_REFRESH_MS : false),
  });
  const runNow = useMutation({
    mutationFn: async (options: { full_refresh?: boolean; dry_run?: boolean }) =>
      unwrap(await api.POST("/api/v1/activations/{activation_id}/runs", { params: { path: { activation_id: activationId } }, body: { full_refresh: false, dry_run: false, ...options } })),
    onSuccess: async (run) => {
      await client.invalidateQueries({ queryKey: ["runs"] });
      notifySuccess("Run queued.");
      navigate(`/runs/${run.id}`);
    },
    onError: (error) => notifyError(error, "The run did not start"),
  });
  const schedule = useQuery({
    queryKey: ["activations", activationId, "schedule"],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/activations/{activation_id}/schedule", { params: { path: { activation_id: activationId } } })),
    refetchInterval: 30_000,
  });
  const canRun = useCan("activations:run");
  const canEdit = useCan("activations:write");
  const setPaused = useMutation({
    mutationFn: async (pause: boolean) => {
      const options = { params: { path: { activation_id: activationId } }, body: {} };
      return unwrap(
        pause ? await api.POST("/api/v1/activations/{activation_id}/pause", options) : await api.POST("/api/v1/activations/{activation_id}/resume", options),
      );
    },
    onSuccess: async (state) => {
      await client.invalidateQueries({ queryKey: ["activations"] });
      notifySuccess(state.paused ? "Activation paused: no scheduled runs until you resume it." : "Activation resumed.");
    },
    onError: (error) => notifyError(error),
  });

  if (activation.isLoading) return <ListSkeleton rows={6} />;
  if (activation.error || !activation.data) return <ErrorNotice error={activation.error} onRetry={() => void activation.refetch()} />;
  const data = activation.data;
  const paused = schedule.data?.paused ?? Boolean(data.paused_reason);
  const status = activationStatus({ enabled: data.enabled, paused_reason: paused ? (schedule.data?.paused_reason ?? data.paused_reason ?? "paused") : null }, schedule.data?.automatic_pause);
  return (
    <Stack gap="lg">
      <div>
        <Breadcrumbs mb="xs">
          <Anchor component={Link} to="/activations" size="sm">
            Activations
          </Anchor>
          <Text size="sm">{data.name}</Text>
        </Breadcrumbs>
        <Group justify="space-between" align="flex-start">
          <Group gap="sm">
            <Title order={2}>{data.name}</Title>
            <Badge color={status.color} variant="light" data-testid="activation-state">
              {status.label}
            </Badge>
          </Group>
          <Group gap="sm">
            {canEdit ? (
              <Button component={Link} to={`/activations/${data.id}/edit`} variant="default" leftSection={<IconPencil size={16} />}>
                Edit
              </Button>
            ) : null}
            {canRun ? (
              <Button
                variant="default"
                leftSection={paused ? <IconPlayerPlay size={16} /> : <IconPlayerPause size={16} />}
                loading={setPaused.isPending}
                onClick={() => setPaused.mutate(!paused)}
              >
                {paused ? "Resume" : "Pause"}
              </Button>
            ) : null}
            {canRun ? <Group gap={0} wrap="nowrap">
              <Button leftSection={<IconPlayerPlay size={16} />} loading={runNow.isPending} onClick={() => runNow.mutate({})} style={{ borderTopRightRadius: 0, borderBottomRightRadius: 0 }}>
                Run now
              </Button>
              <Menu position="bottom-end">
                <Menu.Target>
                  <Button aria-label="More run options" px={8} style={{ borderTopLeftRadius: 0, borderBottomLeftRadius: 0, borderLeft: "1px solid rgba(255,255,255,0.4)" }}>
                    <IconChevronDown size={16} />
                  </Button>
                </Menu.Target>
                <Menu.Dropdown>
                  <Menu.Item leftSection={<IconRefresh size={16} />} onClick={() => runNow.mutate({ full_refresh: true })}>
                    Full refresh (resend everything)
                  </Menu.Item>
                  <Menu.Item onClick={() => runNow.mutate({ dry_run: true })}>Dry run (send nothing)</Menu.Item>
                </Menu.Dropdown>
              </Menu>
            </Group> : null}
          </Group>
        </Group>
        {data.description ? (
          <Text c="dimmed" size="sm" mt={4}>
            {data.description}
          </Text>
        ) : null}
      </div>
      {paused ? <PauseNotice state={schedule.data} reason={data.paused_reason} canResume={canRun} onResume={() => setPaused.mutate(false)} resuming={setPaused.isPending} /> : null}
      <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
        <Card withBorder>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Sends
          </Text>
          <Text mt={4}>
            Segment <b>{names.segment(data.segment_id)}</b> to <b>{names.destination(data.destination_id)}</b>
          </Text>
          <Text size="sm" c="dimmed" mt={4}>
            {data.service} into {data.target.kind} {data.target.name ? `“${data.target.name}”` : data.target.id ?? "(created on first run)"}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Identifier and fields
          </Text>
          <Text mt={4}>
            {data.identifier.kind} from <Code>{data.identifier.field}</Code>
          </Text>
          <Text size="sm" c="dimmed" mt={4}>
            {data.mapping?.length ? data.mapping.map((pair) => `${pair.source} → ${pair.destination}`).join(", ") : "no other fields mapped"}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Schedule
          </Text>
          <Text mt={4} data-testid="schedule-summary">
            {describeSchedule(data.schedule, activationName)}
          </Text>
          <Text size="sm" c="dimmed" mt={4} data-testid="next-run">
            {paused ? "No scheduled runs while paused" : schedule.data?.next_run_at ? `Next run ${formatDateTime(schedule.data.next_run_at)}` : "No scheduled run"}
          </Text>
          <Text size="sm" c="dimmed">
            {formatCount(data.snapshot_rows)} rows in the destination as of the last run
          </Text>
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Text fw={600} mb="sm">
          Run history
        </Text>
        {runs.isLoading ? (
          <ListSkeleton rows={3} />
        ) : runs.error ? (
          <ErrorNotice error={runs.error} />
        ) : !runs.data?.length ? (
          <Text size="sm" c="dimmed">
            No runs yet. Press “Run now” to send the segment for the first time.
          </Text>
        ) : (
          <Table highlightOnHover verticalSpacing="xs" data-testid="activation-runs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={120}>State</Table.Th>
                <Table.Th w={190}>Queued</Table.Th>
                <Table.Th>Duration</Table.Th>
                <Table.Th ta="right">Audience</Table.Th>
                <Table.Th ta="right">Added</Table.Th>
                <Table.Th ta="right">Removed</Table.Th>
                <Table.Th ta="right">Delivered</Table.Th>
                <Table.Th>Error</Table.Th>
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
                    <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDateTime(run.queued_at)}</Table.Td>
                    <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDuration(runSeconds(run.started_at, run.finished_at))}</Table.Td>
                    <Table.Td ta="right">{formatCount(counts.audience)}</Table.Td>
                    <Table.Td ta="right">{formatCount(counts.added)}</Table.Td>
                    <Table.Td ta="right">{formatCount(counts.removed)}</Table.Td>
                    <Table.Td ta="right">{formatCount(counts.delivered)}</Table.Td>
                    <Table.Td>
                      <Text size="sm" c="red" lineClamp={1}>
                        {run.error ?? ""}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        )}
      </Card>
      {schedule.data?.recent_pauses.length ? <PauseHistory events={schedule.data.recent_pauses} /> : null}
    </Stack>
  );
}

type ScheduleState = components["schemas"]["ActivationScheduleOut"];
type PauseEvent = components["schemas"]["PauseEventOut"];

/** Why the activation is paused; an automatic pause also says when the next repair probe runs. */
function PauseNotice({ state, reason, canResume, onResume, resuming }: { state?: ScheduleState; reason: string | null; canResume: boolean; onResume: () => void; resuming: boolean }) {
  const automatic = state?.automatic_pause ?? false;
  return (
    <Alert color="orange" icon={<IconPlayerPause size={18} />} title={automatic ? "Paused automatically" : "Paused"} data-testid="pause-notice">
      <Stack gap={6}>
        <Text size="sm">{state?.paused_reason ?? reason ?? "Paused."}</Text>
        {automatic ? (
          <Text size="sm" c="dimmed">
            Sluice checks whether the problem is fixed
            {state?.next_probe_at ? ` (next check ${formatDateTime(state.next_probe_at)}${state.probe_attempts ? `, ${state.probe_attempts} so far` : ""})` : ""} and resumes on its own once it is.
            {state?.last_probe_message ? ` Last check: ${state.last_probe_message}` : ""}
          </Text>
        ) : null}
        {canResume && automatic ? (
          <Group>
            <Button size="xs" color="orange" leftSection={<IconPlayerPlay size={14} />} loading={resuming} onClick={onResume}>
              I fixed it — resume now
            </Button>
          </Group>
        ) : null}
      </Stack>
    </Alert>
  );
}

function PauseHistory({ events }: { events: PauseEvent[] }) {
  return (
    <Card withBorder>
      <Text fw={600} mb="sm">
        Pauses and resumes
      </Text>
      <Table verticalSpacing={4} data-testid="pause-history">
        <Table.Tbody>
          {events.map((event) => (
            <Table.Tr key={event.id}>
              <Table.Td w={190} style={{ whiteSpace: "nowrap" }}>
                <Text size="sm">{formatDateTime(event.created_at)}</Text>
              </Table.Td>
              <Table.Td w={190} style={{ whiteSpace: "nowrap" }}>
                <Badge size="sm" variant="light" color={event.action === "pause" ? "orange" : "teal"}>
                  {event.action}
                  {event.automatic ? " (automatic)" : ""}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{event.reason}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
