/** One remote segment: where its members come from, its size, and the refresh history. */
import { Anchor, Badge, Breadcrumbs, Button, Card, Group, SimpleGrid, Stack, Table, Text, Tooltip } from "@mantine/core";
import { IconRefresh } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import { ErrorNotice, FormSkeleton, notifyError, notifySuccess, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { useNames } from "../activations/names";
import { describeSchedule } from "../activations/schedule";
import { useModel } from "../models/modelsApi";
import { useSegment } from "../segments/segmentsApi";
import { matchSummary, refreshDuration, useRefreshes, useRefreshNow, type RemoteRefresh } from "./remoteApi";

const STATE_COLORS: Record<string, string> = { queued: "gray", running: "blue", succeeded: "teal", failed: "red" };

export function RemoteSegmentPage() {
  const { segmentId } = useParams();
  const segment = useSegment(segmentId);
  const model = useModel(segment.data?.model_id);
  const names = useNames();
  const refreshes = useRefreshes(segmentId);
  const refresh = useRefreshNow(segmentId ?? "");
  const canRefresh = useCan("activations:run");
  const lastSuccess = refreshes.data?.find((item) => item.state === "succeeded");
  const size = useQuery({
    queryKey: ["segments", segmentId, "estimate", lastSuccess?.id],
    enabled: Boolean(lastSuccess),
    queryFn: async () => unwrap(await api.GET("/api/v1/segments/{segment_id}/estimate", { params: { path: { segment_id: segmentId! } } })),
  });
  if (segment.isLoading) return <FormSkeleton fields={4} />;
  if (segment.error || !segment.data) return <ErrorNotice error={segment.error} />;
  const remote = segment.data.remote;
  const active = refreshes.data?.some((item) => item.state === "queued" || item.state === "running");
  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/remote-segments" size="sm">
          Remote segments
        </Anchor>
        <Text size="sm">{segment.data.name}</Text>
      </Breadcrumbs>
      <PageHeader
        title={segment.data.name}
        description="Members are read from the platform at each refresh and joined to the model; the segment can be previewed, combined with conditions and activated anywhere."
        actions={
          canRefresh ? (
            <Button
              leftSection={<IconRefresh size={18} />}
              loading={refresh.isPending || active}
              onClick={() =>
                refresh.mutate(undefined, {
                  onSuccess: () => notifySuccess("Refresh queued: the members are being read from the platform."),
                  onError: (error) => notifyError(error, "The refresh was not queued"),
                })
              }
            >
              Refresh now
            </Button>
          ) : null
        }
      />
      <SimpleGrid cols={{ base: 1, md: 3 }} mb="lg">
        <Card withBorder>
          <Text size="xs" c="dimmed">
            Remote source
          </Text>
          <Text fw={500}>{remote ? names.destination(remote.destination_id) : "…"}</Text>
          <Text size="sm">
            {remote?.remote_kind ?? "segment"} <code>{remote?.remote_id}</code>
          </Text>
        </Card>
        <Card withBorder>
          <Text size="xs" c="dimmed">
            Shared identifier
          </Text>
          <Text fw={500}>
            {model.data?.name ?? "…"}.{remote?.identifier_field} ↔ {remote?.remote_identifier}
          </Text>
          <Text size="sm">Refresh: {describeSchedule(segment.data.refresh_schedule)}</Text>
        </Card>
        <Card withBorder data-testid="remote-size">
          <Text size="xs" c="dimmed">
            Members in the model
          </Text>
          <Text fw={600} size="xl">
            {lastSuccess ? (size.data ? size.data.count.toLocaleString() : "…") : "not refreshed yet"}
          </Text>
          {lastSuccess ? <Text size="sm">{matchSummary(lastSuccess)}</Text> : null}
        </Card>
      </SimpleGrid>
      <Text fw={600} mb="xs">
        Refresh history
      </Text>
      {refreshes.error ? <ErrorNotice error={refreshes.error} /> : null}
      {refreshes.data && !refreshes.data.length ? (
        <Text c="dimmed" size="sm">
          No refresh yet. {canRefresh ? "Use “Refresh now” to read the members." : ""}
        </Text>
      ) : (
        <Table verticalSpacing="xs" data-testid="refresh-history">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Started</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Ids read</Table.Th>
              <Table.Th>Matched</Table.Th>
              <Table.Th>Unmatched</Table.Th>
              <Table.Th>Rows</Table.Th>
              <Table.Th>Duration</Table.Th>
              <Table.Th>Trigger</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(refreshes.data ?? []).map((item) => (
              <RefreshRow key={item.id} refresh={item} />
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Stack gap={4} mt="lg">
        <Text size="sm" c="dimmed">
          Use it in a <Anchor component={Link} to="/segments/new">segment's conditions</Anchor> (“member of segment”) or send it to any destination with an{" "}
          <Anchor component={Link} to="/activations/new">activation</Anchor>.
        </Text>
      </Stack>
    </>
  );
}

function RefreshRow({ refresh }: { refresh: RemoteRefresh }) {
  return (
    <>
      <Table.Tr>
        <Table.Td>{formatDateTime(refresh.started_at ?? refresh.created_at)}</Table.Td>
        <Table.Td>
          <Badge color={STATE_COLORS[refresh.state] ?? "gray"} variant="light">
            {refresh.state}
          </Badge>
        </Table.Td>
        <Table.Td>{refresh.ids_read?.toLocaleString() ?? "—"}</Table.Td>
        <Table.Td>{refresh.ids_matched?.toLocaleString() ?? "—"}</Table.Td>
        <Table.Td>
          {refresh.unmatched_sample.length ? (
            <Tooltip label={`Sample: ${refresh.unmatched_sample.join(", ")}`} multiline w={360}>
              <Text size="sm" td="underline" style={{ textDecorationStyle: "dotted" }}>
                {refresh.ids_unmatched?.toLocaleString()}
              </Text>
            </Tooltip>
          ) : (
            (refresh.ids_unmatched?.toLocaleString() ?? "—")
          )}
        </Table.Td>
        <Table.Td>{refresh.rows?.toLocaleString() ?? "—"}</Table.Td>
        <Table.Td>{refreshDuration(refresh)}</Table.Td>
        <Table.Td>{refresh.trigger}</Table.Td>
      </Table.Tr>
      {refresh.error ? (
        <Table.Tr>
          <Table.Td colSpan={8}>
            <Group gap="xs">
              <Text size="sm" c="red">
                {refresh.error}
              </Text>
              <Text size="xs" c="dimmed">
                The previous membership is kept.
              </Text>
            </Group>
          </Table.Td>
        </Table.Tr>
      ) : null}
    </>
  );
}
