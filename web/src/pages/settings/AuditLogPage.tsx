/**
 * The audit log, newest first: filter by who acted (a member, or any actor picked from a row), the
 * object type, the action and a day range; the CSV export holds exactly the filtered entries.
 */
import { Anchor, Autocomplete, Button, Code, Group, Select, Table, Text, TextInput, UnstyledButton } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconDownload, IconFilterOff } from "@tabler/icons-react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { activeFilterCount, auditQuery, COMMON_ACTIONS, COMMON_TARGET_TYPES, exportHref, filterProblem, NO_FILTERS, suggestions, type AuditFilters } from "./auditFilters";

const PAGE_SIZE = 100;

type AuditPage = components["schemas"]["Page_AuditLogOut_"];

export function AuditLogPage() {
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [actorNames, setActorNames] = useState<Record<string, string>>({});
  const [settled] = useDebouncedValue(filters, 300);
  const problem = filterProblem(settled);
  const query = auditQuery(settled);
  const set = (patch: Partial<AuditFilters>) => setFilters((current) => ({ ...current, ...patch }));

  const members = useQuery({
    queryKey: ["members"],
    queryFn: async () => unwrap(await api.GET("/api/v1/members", { params: { query: { limit: 500 } } })).items,
  });
  const entries = useInfiniteQuery<AuditPage, Error, { pages: AuditPage[] }, unknown[], string | undefined>({
    queryKey: ["audit-logs", query],
    enabled: !problem,
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page: AuditPage) => page.next_cursor ?? undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/audit-logs", { params: { query: { ...query, order: "newest", limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } } })),
  });
  const rows = useMemo(() => entries.data?.pages.flatMap((page) => page.items) ?? [], [entries.data]);

  const actorOptions = useMemo(() => {
    const options = (members.data ?? []).map((member) => ({ value: member.user_id, label: member.name ? `${member.name} (${member.email})` : member.email }));
    const extra = Object.entries(actorNames).filter(([id]) => !options.some((option) => option.value === id));
    return [...options, ...extra.map(([value, label]) => ({ value, label }))];
  }, [members.data, actorNames]);
  const pickActor = (id: string | null, name: string) => {
    if (!id) return;
    setActorNames((current) => ({ ...current, [id]: name }));
    set({ actorId: id });
  };
  const filtered = activeFilterCount(filters) > 0;

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change in this workspace: who, what, when (secrets are never recorded). Newest first."
        actions={
          <Button component="a" href={exportHref(settled)} variant="default" leftSection={<IconDownload size={16} />}>
            Export CSV
          </Button>
        }
      />
      <Group align="flex-end" gap="sm" mb="md" role="search" aria-label="Audit log filters">
        <Select label="Actor" placeholder="Anyone" data={actorOptions} value={filters.actorId} onChange={(actorId) => set({ actorId })} searchable clearable w={180} />
        <Autocomplete label="Object type" placeholder="Any" data={suggestions(COMMON_TARGET_TYPES, rows.map((row) => row.target_type))} value={filters.targetType} onChange={(targetType) => set({ targetType })} w={140} />
        <Autocomplete label="Action" placeholder="Any (auth.* = prefix)" data={suggestions(COMMON_ACTIONS, rows.map((row) => row.action))} value={filters.action} onChange={(action) => set({ action })} w={150} />
        <TextInput type="date" label="From" value={filters.from} onChange={(event) => set({ from: event.currentTarget.value })} w={140} error={problem ? true : undefined} />
        <TextInput type="date" label="To" value={filters.to} onChange={(event) => set({ to: event.currentTarget.value })} w={140} error={problem ? true : undefined} />
        {filtered ? (
          <Button variant="subtle" leftSection={<IconFilterOff size={16} />} onClick={() => setFilters(NO_FILTERS)}>
            Clear filters
          </Button>
        ) : null}
      </Group>
      {problem ? (
        <Text c="red" size="sm" mb="md" data-testid="audit-filter-problem">
          {problem}
        </Text>
      ) : entries.isLoading ? (
        <ListSkeleton />
      ) : entries.error ? (
        <ErrorNotice error={entries.error} onRetry={() => void entries.refetch()} />
      ) : !rows.length ? (
        Object.keys(query).length ? (
          <EmptyState title="No entries match these filters">Widen the day range or clear a filter.</EmptyState>
        ) : (
          <EmptyState title="Nothing recorded yet">Changes to sources, models, segments, destinations and activations appear here.</EmptyState>
        )
      ) : (
        <>
          <Table verticalSpacing={6} data-testid="audit-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When</Table.Th>
                <Table.Th>Who</Table.Th>
                <Table.Th>Action</Table.Th>
                <Table.Th>Object</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((entry) => (
                <Table.Tr key={entry.id}>
                  <Table.Td>
                    <Text size="sm">{formatDateTime(entry.created_at)}</Text>
                  </Table.Td>
                  <Table.Td>
                    {entry.actor_id ? (
                      <UnstyledButton title="Show only this actor" onClick={() => pickActor(entry.actor_id, entry.actor_name || entry.actor_type)}>
                        <Text size="sm">{entry.actor_name || entry.actor_type}</Text>
                      </UnstyledButton>
                    ) : (
                      <Text size="sm">{entry.actor_name || entry.actor_type}</Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <UnstyledButton title="Show only this action" onClick={() => set({ action: entry.action })}>
                      <Code>{entry.action}</Code>
                    </UnstyledButton>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">
                      <UnstyledButton title="Show only this object type" onClick={() => set({ targetType: entry.target_type })} fz="sm">
                        {entry.target_type}
                      </UnstyledButton>
                      {entry.target_id ? (
                        <Anchor size="xs" c="dimmed" ml={6} component="span">
                          {entry.target_id.slice(-8)}
                        </Anchor>
                      ) : null}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Group justify="space-between" mt="sm">
            <Text size="sm" c="dimmed" data-testid="audit-count">
              {rows.length} {rows.length === 1 ? "entry" : "entries"}
              {entries.hasNextPage ? " shown" : ""}
            </Text>
            {entries.hasNextPage ? (
              <Button variant="default" loading={entries.isFetchingNextPage} onClick={() => void entries.fetchNextPage()}>
                Load older entries
              </Button>
            ) : null}
          </Group>
        </>
      )}
    </>
  );
}
