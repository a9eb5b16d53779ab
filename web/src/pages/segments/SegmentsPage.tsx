/** Segments: audiences over a parent model. */
import { Anchor, Badge, Button, Group, Table, Text } from "@mantine/core";
import { IconChartPie, IconCloudDownload } from "@tabler/icons-react";
import { Link, useNavigate } from "react-router-dom";

import { useCan } from "../../api/permissions";
import { ReadOnlyNotice } from "../../components/ReadOnlyNotice";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { useModels } from "../models/modelsApi";
import { countLeaves, type Group as ConditionGroup } from "./conditionTree";
import { useSegments } from "./segmentsApi";

/** Remote segments open on their own page (source and refresh history), others in the builder. */
function segmentPath(segment: { id: string; type: string }): string {
  return segment.type === "remote" ? `/remote-segments/${segment.id}` : `/segments/${segment.id}`;
}

export function SegmentsPage() {
  const segments = useSegments();
  const models = useModels();
  const navigate = useNavigate();
  const modelName = (id: string) => models.data?.find((model) => model.id === id)?.name ?? "…";
  const canCreate = useCan("segments:write");
  const newButton = canCreate ? (
    <Group gap="xs">
      <Button variant="default" component={Link} to="/remote-segments/new" leftSection={<IconCloudDownload size={18} />}>
        Import from a platform
      </Button>
      <Button component={Link} to="/segments/new" leftSection={<IconChartPie size={18} />}>
        New segment
      </Button>
    </Group>
  ) : null;
  return (
    <>
      <PageHeader title="Segments" description="Audiences built with the visual builder over a parent model; activations send them to destinations." actions={segments.data?.length ? newButton : undefined} />
      <ReadOnlyNotice permission="segments:write" what="changing segments" />
      {segments.isLoading ? (
        <ListSkeleton />
      ) : segments.error ? (
        <ErrorNotice error={segments.error} onRetry={() => void segments.refetch()} />
      ) : !segments.data?.length ? (
        <EmptyState title="Build your first audience" action={newButton}>
          Pick a parent model (e.g. users) and combine conditions on its fields, related rows and events. You see the count as
          you build.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="segments-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Parent model</Table.Th>
              <Table.Th>Conditions</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {segments.data.map((segment) => (
              <Table.Tr key={segment.id} style={{ cursor: "pointer" }} onClick={() => navigate(segmentPath(segment))}>
                <Table.Td>
                  <Anchor component={Link} to={segmentPath(segment)} fw={500} onClick={(event) => event.stopPropagation()}>
                    {segment.name}
                  </Anchor>
                  {segment.description ? (
                    <Text size="xs" c="dimmed" lineClamp={1}>
                      {segment.description}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>{modelName(segment.model_id)}</Table.Td>
                <Table.Td>
                  {segment.type === "remote" ? (
                    <Badge variant="light" color="grape">
                      remote
                    </Badge>
                  ) : (
                    <Text size="sm">{segment.definition ? countLeaves(segment.definition.conditions as ConditionGroup) : 0}</Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatDateTime(segment.updated_at)}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
