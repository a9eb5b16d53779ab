/** Identity resolution: graphs with their rules editor, run history and a profile lookup that shows why records merged. */
import {
  ActionIcon,
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  MultiSelect,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
  Textarea,
  Title,
} from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconTrash } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { useCan } from "../../api/permissions";
import type { components } from "../../api/schema";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader, notifyError, notifySuccess } from "../../components/feedback";
import { formatCount, formatDateTime } from "../../format";
import { GraphSchedule } from "./GraphSchedule";
import { type IdentitySpec, identifierNames, moveRule, newRule, ruleProblems, templateSpec, withProbabilistic } from "./identityRules";

type Graph = components["schemas"]["IdentityGraphOut"];
type Run = components["schemas"]["IdentityRunOut"];
type Profile = components["schemas"]["ProfileOut"];

function useGraphs() {
  return useQuery({
    queryKey: ["identity-graphs"],
    queryFn: async () => unwrap(await api.GET("/api/v1/identity-graphs", { params: { query: { limit: 100 } } })).items,
  });
}

const ACTIVE = new Set(["queued", "running"]);
const RUN_COLORS: Record<string, string> = { succeeded: "teal", skipped: "gray", failed: "red" };

function useRuns(graphId: string) {
  return useQuery({
    queryKey: ["identity-graphs", graphId, "runs"],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/identity-graphs/{graph_id}/runs", { params: { path: { graph_id: graphId }, query: { limit: 20 } } })).items,
    refetchInterval: (query) => (query.state.data?.some((run) => ACTIVE.has(run.state)) ? 1500 : false),
  });
}

export function IdentityPage() {
  const graphs = useGraphs();
  const canWrite = useCan("models:write");
  return (
    <>
      <PageHeader
        title="Identity resolution"
        description="Merge records of several models into golden profiles, in your warehouse: ordered match rules on normalised identifiers, limits against over-merging, optional fuzzy matching with Splink. The profiles become a users model for segments and activations."
      />
      {canWrite ? <NewGraph /> : null}
      {graphs.isLoading ? (
        <ListSkeleton />
      ) : graphs.error ? (
        <ErrorNotice error={graphs.error} onRetry={() => void graphs.refetch()} />
      ) : !graphs.data?.length ? (
        <EmptyState title="No identity graphs yet">Create one above (or in sluice.yaml under identity_graphs:), then run it.</EmptyState>
      ) : (
        <Stack>
          {graphs.data.map((graph) => (
            <GraphCard key={graph.id} graph={graph} canWrite={canWrite} />
          ))}
        </Stack>
      )}
    </>
  );
}

function NewGraph() {
  const client = useQueryClient();
  const sources = useQuery({
    queryKey: ["sources"],
    queryFn: async () => unwrap(await api.GET("/api/v1/sources", { params: { query: { limit: 200 } } })).items,
  });
  const [name, setName] = useState("");
  const [sourceId, setSourceId] = useState<string | null>(null);
  const [text, setText] = useState(JSON.stringify(templateSpec("users"), null, 2));
  const [open, setOpen] = useState(false);
  const create = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/identity-graphs", { body: { name, description: "", source_id: sourceId ?? "", spec: JSON.parse(text) as IdentitySpec } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["identity-graphs"] });
      notifySuccess("Identity graph created: run it to build profiles.");
      setName("");
    },
    onError: (error) => notifyError(error, "The identity graph was not created"),
  });
  let parseError = "";
  try {
    JSON.parse(text);
  } catch (error) {
    parseError = error instanceof Error ? error.message : "invalid JSON";
  }
  if (!open) {
    return (
      <Group mb="lg">
        <Button variant="light" onClick={() => setOpen(true)}>
          New identity graph
        </Button>
      </Group>
    );
  }
  return (
    <Card withBorder mb="lg">
      <Group align="end" wrap="wrap" mb="sm">
        <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} placeholder="People" />
        <Select
          label="Source"
          data={(sources.data ?? []).map((source) => ({ value: source.id, label: source.name }))}
          value={sourceId}
          onChange={setSourceId}
          placeholder="Warehouse with the input models"
        />
        <Button onClick={() => create.mutate()} loading={create.isPending} disabled={!name || !sourceId || Boolean(parseError)}>
          Create
        </Button>
        <Button variant="subtle" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </Group>
      <Textarea
        label="Spec (JSON): identifiers, input models, ordered rules, limits, survivorship"
        value={text}
        onChange={(event) => setText(event.currentTarget.value)}
        autosize
        minRows={4}
        maxRows={14}
        error={parseError || undefined}
        styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
      />
    </Card>
  );
}

function GraphCard({ graph, canWrite }: { graph: Graph; canWrite: boolean }) {
  const client = useQueryClient();
  const runs = useRuns(graph.id);
  const run = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/identity-graphs/{graph_id}/runs", { params: { path: { graph_id: graph.id }, query: { background: true } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["identity-graphs", graph.id, "runs"] });
      notifySuccess("Run queued: a worker runs it in the warehouse.");
    },
    onError: (error) => notifyError(error, "The run did not start"),
  });
  const latest = runs.data?.[0];
  const latestState = latest?.state;
  useEffect(() => {
    // A finished run may have created the profiles model: refresh the graph.
    if (latestState === "succeeded") void client.invalidateQueries({ queryKey: ["identity-graphs"], exact: true });
  }, [latestState, client]);
  return (
    <Card withBorder data-testid="identity-graph-card">
      <Group justify="space-between" mb="sm">
        <div>
          <Title order={4}>{graph.name}</Title>
          <Text size="sm" c="dimmed">
            {graph.spec.inputs.map((item) => item.model).join(" + ")} · {graph.spec.rules.length} rules · tables in schema {graph.schema_name}
            {graph.model_id ? (
              <>
                {" · "}
                <Anchor component={Link} to={`/models/${graph.model_id}`} size="sm">
                  profiles model
                </Anchor>
              </>
            ) : null}
          </Text>
        </div>
        {canWrite ? (
          <Button onClick={() => run.mutate()} loading={run.isPending} disabled={latest !== undefined && ACTIVE.has(latest.state)}>
            Run now
          </Button>
        ) : null}
      </Group>
      {latest ? <LastRun run={latest} /> : <Text size="sm" c="dimmed">Never ran.</Text>}
      <Tabs defaultValue="rules" mt="md">
        <Tabs.List>
          <Tabs.Tab value="rules">Rules</Tabs.Tab>
          <Tabs.Tab value="schedule">Schedule</Tabs.Tab>
          <Tabs.Tab value="runs">Run history</Tabs.Tab>
          <Tabs.Tab value="lookup">Profile lookup</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="rules" pt="sm">
          <RulesEditor graph={graph} canWrite={canWrite} />
        </Tabs.Panel>
        <Tabs.Panel value="schedule" pt="sm">
          <GraphSchedule key={JSON.stringify(graph.schedule)} graph={graph} canWrite={canWrite} />
        </Tabs.Panel>
        <Tabs.Panel value="runs" pt="sm">
          <RunHistory runs={runs.data ?? []} />
        </Tabs.Panel>
        <Tabs.Panel value="lookup" pt="sm">
          <Lookup graph={graph} />
        </Tabs.Panel>
      </Tabs>
    </Card>
  );
}

function LastRun({ run }: { run: Run }) {
  if (ACTIVE.has(run.state)) {
    return (
      <Text size="sm" c="blue">
        {run.state === "queued" ? "Run queued, waiting for a worker…" : `Running since ${formatDateTime(run.started_at)}…`}
      </Text>
    );
  }
  if (run.state === "failed") {
    return (
      <Alert color="red" title={`Last run failed (${formatDateTime(run.finished_at)})`}>
        {run.error}
      </Alert>
    );
  }
  return (
    <Stack gap="xs">
      {run.state === "skipped" ? (
        <Text size="sm" c="dimmed">
          Last run {formatDateTime(run.finished_at)}: inputs unchanged, nothing recomputed (figures of the run it continues).
        </Text>
      ) : null}
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Figure label="Input records" value={run.input_rows} />
        <Figure label="Profiles" value={run.profiles} />
        <Figure label="Merges" value={run.merges} />
        <Figure label="Largest profile" value={run.largest_cluster} />
      </SimpleGrid>
      {run.warnings.length ? (
        <Alert color="orange" title="Warnings">
          <Stack gap={2}>
            {run.warnings.map((warning) => (
              <Text key={warning} size="sm">
                {warning}
              </Text>
            ))}
          </Stack>
        </Alert>
      ) : null}
    </Stack>
  );
}

function Figure({ label, value }: { label: string; value: number | null }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600}>{formatCount(value)}</Text>
    </div>
  );
}

function RunHistory({ runs }: { runs: Run[] }) {
  if (!runs.length) return <Text size="sm" c="dimmed">No runs yet.</Text>;
  return (
    <Table striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Started</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>By</Table.Th>
          <Table.Th>Input</Table.Th>
          <Table.Th>Profiles</Table.Th>
          <Table.Th>Merges</Table.Th>
          <Table.Th>Largest</Table.Th>
          <Table.Th>Warnings</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {runs.map((run) => (
          <Table.Tr key={run.id}>
            <Table.Td>{formatDateTime(run.started_at)}</Table.Td>
            <Table.Td>
              <Badge color={RUN_COLORS[run.state] ?? "blue"}>{run.state}</Badge>
              {run.state === "succeeded" && run.details.mode === "incremental" ? (
                <Text size="xs" c="dimmed">
                  incremental: {formatCount(Number(run.details.new_records ?? 0))} new records
                </Text>
              ) : null}
            </Table.Td>
            <Table.Td>{run.requested_by}</Table.Td>
            <Table.Td>{formatCount(run.input_rows)}</Table.Td>
            <Table.Td>{formatCount(run.profiles)}</Table.Td>
            <Table.Td>{formatCount(run.merges)}</Table.Td>
            <Table.Td>{formatCount(run.largest_cluster)}</Table.Td>
            <Table.Td>{run.state === "failed" ? run.error : run.state === "skipped" ? "inputs unchanged" : run.warnings.length}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function RulesEditor({ graph, canWrite }: { graph: Graph; canWrite: boolean }) {
  const client = useQueryClient();
  const [spec, setSpec] = useState<IdentitySpec>(graph.spec);
  const names = identifierNames(spec);
  const problems = ruleProblems(spec);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(await api.PATCH("/api/v1/identity-graphs/{graph_id}", { params: { path: { graph_id: graph.id } }, body: { spec } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["identity-graphs"] });
      notifySuccess("Rules saved: the next run applies them.");
    },
    onError: (error) => notifyError(error, "The rules were not saved"),
  });
  const setRules = (rules: IdentitySpec["rules"]) => setSpec({ ...spec, rules });
  const limits = spec.limits ?? [];
  return (
    <Stack gap="sm">
      <Text size="sm" c="dimmed">
        Rules apply in order: earlier rules merge first, and a value shared by more profiles than allowed, or a merge breaking a limit, is skipped (and reported).
      </Text>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>#</Table.Th>
            <Table.Th>Rule</Table.Th>
            <Table.Th>All of these identifiers match</Table.Th>
            <Table.Th>Max profiles per value</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {spec.rules.map((rule, index) => (
            <Table.Tr key={`${rule.name}-${index}`}>
              <Table.Td>{index + 1}</Table.Td>
              <Table.Td>
                <TextInput
                  aria-label="Rule name"
                  value={rule.name}
                  disabled={!canWrite}
                  onChange={(event) => setRules(spec.rules.map((item, i) => (i === index ? { ...item, name: event.currentTarget.value } : item)))}
                />
              </Table.Td>
              <Table.Td>
                <MultiSelect
                  aria-label="Identifiers"
                  data={names}
                  value={rule.identifiers}
                  disabled={!canWrite}
                  onChange={(value) => setRules(spec.rules.map((item, i) => (i === index ? { ...item, identifiers: value } : item)))}
                />
              </Table.Td>
              <Table.Td>
                <NumberInput
                  aria-label="Max profiles per value"
                  value={rule.max_profiles_per_value ?? ""}
                  min={2}
                  disabled={!canWrite}
                  placeholder="no cap"
                  onChange={(value) =>
                    setRules(spec.rules.map((item, i) => (i === index ? { ...item, max_profiles_per_value: value === "" ? null : Number(value) } : item)))
                  }
                  w={120}
                />
              </Table.Td>
              <Table.Td>
                {canWrite ? (
                  <Group gap={4} wrap="nowrap">
                    <ActionIcon variant="subtle" aria-label="Move up" onClick={() => setRules(moveRule(spec.rules, index, -1))}>
                      <IconArrowUp size={16} />
                    </ActionIcon>
                    <ActionIcon variant="subtle" aria-label="Move down" onClick={() => setRules(moveRule(spec.rules, index, 1))}>
                      <IconArrowDown size={16} />
                    </ActionIcon>
                    <ActionIcon variant="subtle" color="red" aria-label="Delete rule" onClick={() => setRules(spec.rules.filter((_, i) => i !== index))}>
                      <IconTrash size={16} />
                    </ActionIcon>
                  </Group>
                ) : null}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {canWrite ? (
        <Group>
          <Select
            aria-label="Add a rule on"
            placeholder="Add a rule on…"
            data={names}
            value={null}
            onChange={(value) => value && setRules([...spec.rules, newRule(spec.rules, value)])}
          />
        </Group>
      ) : null}
      <Title order={6}>Profile limits</Title>
      {limits.map((limit, index) => (
        <Group key={`${limit.identifier}-${index}`}>
          <Text size="sm">A profile holds at most</Text>
          <NumberInput
            aria-label="Max values"
            value={limit.max_values}
            min={1}
            w={80}
            disabled={!canWrite}
            onChange={(value) => setSpec({ ...spec, limits: limits.map((item, i) => (i === index ? { ...item, max_values: Number(value) || 1 } : item)) })}
          />
          <Text size="sm">value(s) of {limit.identifier}</Text>
          {canWrite ? (
            <ActionIcon variant="subtle" color="red" aria-label="Delete limit" onClick={() => setSpec({ ...spec, limits: limits.filter((_, i) => i !== index) })}>
              <IconTrash size={16} />
            </ActionIcon>
          ) : null}
        </Group>
      ))}
      {canWrite ? (
        <Select
          aria-label="Add a limit on"
          placeholder="Add a limit on…"
          data={names}
          value={null}
          w={220}
          onChange={(value) => value && setSpec({ ...spec, limits: [...limits, { identifier: value, max_values: 1 }] })}
        />
      ) : null}
      <Title order={6}>Fuzzy matching (Splink)</Title>
      <Group>
        <Switch
          label="Match names and addresses probabilistically after the rules"
          checked={spec.probabilistic?.enabled ?? false}
          disabled={!canWrite}
          onChange={(event) => setSpec(withProbabilistic(spec, { enabled: event.currentTarget.checked }))}
        />
        <NumberInput
          label="Minimum match probability"
          value={spec.probabilistic?.threshold ?? 0.99}
          min={0.5}
          max={0.9999}
          step={0.01}
          decimalScale={4}
          w={200}
          disabled={!canWrite || !spec.probabilistic?.enabled}
          onChange={(value) => setSpec(withProbabilistic(spec, { threshold: Number(value) || 0.99 }))}
        />
      </Group>
      {problems.length ? (
        <Alert color="orange">
          {problems.map((problem) => (
            <Text key={problem} size="sm">
              {problem}
            </Text>
          ))}
        </Alert>
      ) : null}
      {canWrite ? (
        <Group>
          <Button onClick={() => save.mutate()} loading={save.isPending} disabled={problems.length > 0}>
            Save rules
          </Button>
          <Button variant="subtle" onClick={() => setSpec(graph.spec)}>
            Discard changes
          </Button>
        </Group>
      ) : null}
    </Stack>
  );
}

function Lookup({ graph }: { graph: Graph }) {
  const names = identifierNames(graph.spec);
  const [identifier, setIdentifier] = useState<string | null>(names[0] ?? null);
  const [value, setValue] = useState("");
  const [recordKey, setRecordKey] = useState("");
  const lookup = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.GET("/api/v1/identity-graphs/{graph_id}/profiles", {
          params: {
            path: { graph_id: graph.id },
            query: recordKey ? { record_key: recordKey } : { identifier: identifier ?? undefined, value },
          },
        }),
      ).profiles,
    onError: (error) => notifyError(error, "Lookup failed"),
  });
  return (
    <Stack gap="sm">
      <Group align="end" wrap="wrap">
        <Select label="Identifier" data={names} value={identifier} onChange={setIdentifier} w={160} />
        <TextInput label="Value" value={value} onChange={(event) => setValue(event.currentTarget.value)} placeholder="ann.lee@gmail.com" />
        <Text size="sm" c="dimmed">
          or
        </Text>
        <TextInput label="Record key" value={recordKey} onChange={(event) => setRecordKey(event.currentTarget.value)} placeholder="crm_contacts:CT-00000001" />
        <Button onClick={() => lookup.mutate()} loading={lookup.isPending} disabled={!recordKey && !value}>
          Look up
        </Button>
      </Group>
      {lookup.data && !lookup.data.length ? <Text size="sm">No profile found.</Text> : null}
      {(lookup.data ?? []).map((profile) => (
        <ProfileView key={profile.profile_id} profile={profile} />
      ))}
    </Stack>
  );
}

function ProfileView({ profile }: { profile: Profile }) {
  return (
    <Card withBorder data-testid="identity-profile">
      <Text fw={600} mb="xs">
        Profile <Code>{profile.profile_id}</Code>
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Table>
          <Table.Tbody>
            {Object.entries(profile.golden).map(([key, item]) => (
              <Table.Tr key={key}>
                <Table.Td c="dimmed">{key}</Table.Td>
                <Table.Td>{item === null || item === undefined ? "—" : String(item)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Record</Table.Th>
              <Table.Th>Seen</Table.Th>
              <Table.Th>Merged because</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {profile.records.map((record) => (
              <Table.Tr key={record.record_key}>
                <Table.Td>{record.record_key}</Table.Td>
                <Table.Td>{formatDateTime(record.seen_at)}</Table.Td>
                <Table.Td>
                  {record.matched_by.length ? (
                    <Stack gap={2}>
                      {record.matched_by.map((match) => (
                        <Text key={`${match.rule}-${match.value}`} size="xs">
                          <Badge size="xs" mr={4}>
                            {match.rule}
                          </Badge>
                          {match.value}
                        </Text>
                      ))}
                    </Stack>
                  ) : (
                    <Text size="xs" c="dimmed">
                      only record
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </SimpleGrid>
    </Card>
  );
}
