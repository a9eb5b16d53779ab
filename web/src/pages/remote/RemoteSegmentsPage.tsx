/** Remote segments: audiences built inside a destination, read back and joined to a model. */
import { Alert, Anchor, Badge, Button, Group, Table, Text } from "@mantine/core";
import { IconCloudDownload } from "@tabler/icons-react";
import { Link, useNavigate } from "react-router-dom";

import { useCan } from "../../api/permissions";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { useModels } from "../models/modelsApi";
import { useSegments } from "../segments/segmentsApi";
import { useRemotePlatforms } from "./remoteApi";

export function RemoteSegmentsPage() {
  const segments = useSegments();
  const models = useModels();
  const platforms = useRemotePlatforms();
  const navigate = useNavigate();
  const canCreate = useCan("segments:write");
  const remote = segments.data?.filter((segment) => segment.type === "remote") ?? [];
  const modelName = (id: string) => models.data?.find((model) => model.id === id)?.name ?? "…";
  const newButton = canCreate ? (
    <Button component={Link} to="/remote-segments/new" leftSection={<IconCloudDownload size={18} />}>
      New remote segment
    </Button>
  ) : null;
  const supported = platforms.data?.filter((platform) => platform.supported) ?? [];
  const unsupported = platforms.data?.filter((platform) => !platform.supported) ?? [];
  return (
    <>
      <PageHeader
        title="Remote segments"
        description="Segments maintained in a marketing tool (engagement, journeys, A/B cohorts): Sluice reads their members, enriches them with a model and makes them usable everywhere."
        actions={remote.length ? newButton : undefined}
      />
      {segments.isLoading ? (
        <ListSkeleton />
      ) : segments.error ? (
        <ErrorNotice error={segments.error} onRetry={() => void segments.refetch()} />
      ) : !remote.length ? (
        <EmptyState title="Import a segment from a platform" action={newButton}>
          Pick a model, a platform and the segment's id there, and map the identifier both sides know. Each refresh reads the members again.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="remote-segments-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Model</Table.Th>
              <Table.Th>Remote segment</Table.Th>
              <Table.Th>Last refreshed</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {remote.map((segment) => (
              <Table.Tr key={segment.id} style={{ cursor: "pointer" }} onClick={() => navigate(`/remote-segments/${segment.id}`)}>
                <Table.Td>
                  <Anchor component={Link} to={`/remote-segments/${segment.id}`} fw={500} onClick={(event) => event.stopPropagation()}>
                    {segment.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{modelName(segment.model_id)}</Table.Td>
                <Table.Td>
                  <Text size="sm">
                    {segment.remote?.remote_kind ?? "segment"} {segment.remote?.remote_id}
                  </Text>
                </Table.Td>
                <Table.Td>
                  {segment.members_refreshed_at ? (
                    <Text size="sm">{formatDateTime(segment.members_refreshed_at)}</Text>
                  ) : (
                    <Badge variant="light" color="gray">
                      never
                    </Badge>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {platforms.data ? (
        <Alert mt="xl" color="gray" title="Which platforms can be read" data-testid="remote-platforms">
          <Group gap="xs" mb={unsupported.length ? "xs" : 0}>
            {supported.map((platform) => (
              <Badge key={platform.type} color="teal" variant="light">
                {platform.title}
              </Badge>
            ))}
          </Group>
          {unsupported.map((platform) => (
            <Text key={platform.type} size="sm" c="dimmed">
              {platform.title}: {platform.reason}
            </Text>
          ))}
        </Alert>
      ) : null}
    </>
  );
}
