/** Destinations: the platforms segments are activated in. */
import { Anchor, Badge, Button, Table, Text, Tooltip } from "@mantine/core";
import { IconSend } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router-dom";

import { useCan } from "../../api/permissions";
import { api, unwrap } from "../../api/client";
import { ReadOnlyNotice } from "../../components/ReadOnlyNotice";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { useDestinations } from "../activations/names";

export function useDestinationTypes() {
  return useQuery({
    queryKey: ["destination-types"],
    queryFn: async () => unwrap(await api.GET("/api/v1/destination-types")),
    staleTime: 10 * 60_000,
  });
}

export function DestinationsPage() {
  const destinations = useDestinations();
  const types = useDestinationTypes();
  const navigate = useNavigate();
  const titleOf = (name: string) => types.data?.find((type) => type.name === name)?.title ?? name;
  const canCreate = useCan("destinations:write");
  const newButton = canCreate ? (
    <Button component={Link} to="/destinations/new" leftSection={<IconSend size={18} />}>
      New destination
    </Button>
  ) : null;
  return (
    <>
      <PageHeader
        title="Destinations"
        description="Platforms Sluice keeps in step with your segments. Each has its typed settings, write-only credentials and default activation settings."
        actions={destinations.data?.length ? newButton : undefined}
      />
      <ReadOnlyNotice permission="destinations:write" what="changing destinations" />
      {destinations.isLoading ? (
        <ListSkeleton />
      ) : destinations.error ? (
        <ErrorNotice error={destinations.error} onRetry={() => void destinations.refetch()} />
      ) : !destinations.data?.length ? (
        <EmptyState title="Connect a platform" action={newButton}>
          Add Mailchimp, Intercom, Voyado or another destination with its API credentials. You can then activate segments into it.
        </EmptyState>
      ) : (
        <Table highlightOnHover verticalSpacing="sm" data-testid="destinations-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Platform</Table.Th>
              <Table.Th>Connection</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {destinations.data.map((destination) => (
              <Table.Tr key={destination.id} style={{ cursor: "pointer" }} onClick={() => navigate(`/destinations/${destination.id}`)}>
                <Table.Td>
                  <Anchor component={Link} to={`/destinations/${destination.id}`} fw={500} onClick={(event) => event.stopPropagation()}>
                    {destination.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge variant="light">{titleOf(destination.type)}</Badge>
                </Table.Td>
                <Table.Td>
                  {destination.last_test_status ? (
                    <Tooltip label={destination.last_test_message ?? ""} disabled={!destination.last_test_message} withArrow>
                      <Badge color={destination.last_test_status === "ok" ? "teal" : "red"} variant="light">
                        {destination.last_test_status === "ok" ? "working" : destination.last_test_status.replace(/_/g, " ")}
                      </Badge>
                    </Tooltip>
                  ) : (
                    <Text size="sm" c="dimmed">
                      not tested
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatDateTime(destination.updated_at)}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
