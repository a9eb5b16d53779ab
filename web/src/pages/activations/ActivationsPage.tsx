/** Activations: which segment goes to which destination, when, and how the last run went. */
import { Anchor, Badge, Button, Table, Text, Tooltip } from "@mantine/core";
import { IconBolt } from "@tabler/icons-react";
import { Link, useNavigate } from "react-router-dom";

import { useCan } from "../../api/permissions";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { RunStateBadge } from "../runs/RunStateBadge";
import { useActivationNames, useActivations } from "../runs/runsApi";
import { describeSchedule } from "./schedule";
import { useNames } from "./names";
import { activationStatus } from "./status";

function StatusBadge({ activation }: { activation: { enabled: boolean; paused_reason: string | null } }) {
  const status = activationStatus(activation);
  return (
    <Tooltip label={status.reason} disabled={!status.reason} withArrow multiline maw={360}>
      <Badge color={status.color} variant="light" data-testid="activation-status">
        {status.label}
      </Badge>
    </Tooltip>
  );
}

export function ActivationsPage() {
  const activations = useActivations();
  const names = useNames();
  const activationName = useActivationNames();
  const navigate = useNavigate();
  const canCreate = useCan("activations:write");
  const newButton = canCreate ? (
    <Button component={Link} to="/activations/new" leftSection={<IconBolt size={18} />}>
      New activation
    </Button>
  ) : null;
  return (
    <>
      <PageHeader
        title="Activations"
        description="Each activation keeps a destination in step with a segment, sending only what changed since the last successful run."
        actions={activations.data?.length ? newButton : undefined}
      />
      {activations.isLoading ? (
        <ListSkeleton />
      ) : activations.error ? (
        <ErrorNotice error={activations.error} onRetry={() => void activations.refetch()} />
      ) : !activations.data?.length ? (
        <EmptyState title="Send a segment somewhere" action={newButton}>
          An activation connects a segment to a destination (a Mailchimp audience, an Intercom tag, …) with a field mapping and
          a schedule. Build a segment and add a destination first if you have none.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="activations-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Segment → destination</Table.Th>
              <Table.Th>Schedule</Table.Th>
              <Table.Th>Last run</Table.Th>
              <Table.Th>Status</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {activations.data.map((activation) => (
              <Table.Tr key={activation.id} style={{ cursor: "pointer" }} onClick={() => navigate(`/activations/${activation.id}`)}>
                <Table.Td>
                  <Anchor component={Link} to={`/activations/${activation.id}`} fw={500} onClick={(event) => event.stopPropagation()}>
                    {activation.name}
                  </Anchor>
                  <Text size="xs" c="dimmed">
                    {activation.service} · {activation.target.kind}
                    {activation.target.name ? ` “${activation.target.name}”` : ""}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">
                    {names.segment(activation.segment_id)} → {names.destination(activation.destination_id)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{describeSchedule(activation.schedule, activationName)}</Text>
                </Table.Td>
                <Table.Td>
                  {activation.last_run ? (
                    <Text size="sm" component="div">
                      <RunStateBadge state={activation.last_run.state} size="sm" /> {formatDateTime(activation.last_run.finished_at ?? activation.last_run.queued_at)}
                    </Text>
                  ) : (
                    <Text size="sm" c="dimmed">
                      never run
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <StatusBadge activation={activation} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
