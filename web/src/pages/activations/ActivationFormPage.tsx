/**
 * New activation: segment → destination, service and target (picked from the destination's own
 * targets, or created on the first run), identifier, field mapping and schedule.
 */
import { Alert, Anchor, Breadcrumbs, Button, Card, Group, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { ErrorNotice, FormSkeleton, notifyError, notifySuccess, PageHeader } from "../../components/feedback";
import { useDestinationTypes } from "../destinations/DestinationsPage";
import { useModel } from "../models/modelsApi";
import { mappingProblems, toApiMapping, type MappingRow } from "./mapping";
import { MappingEditor } from "./MappingEditor";
import { useDestinations, useSegmentList } from "./names";
import { scheduleProblem, type Schedule } from "./schedule";
import { ScheduleEditor } from "./ScheduleEditor";

const NEW_TARGET = "__new__";

export function ActivationFormPage() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const segments = useSegmentList();
  const destinations = useDestinations();
  const types = useDestinationTypes();
  const [name, setName] = useState("");
  const [segmentId, setSegmentId] = useState<string | null>(null);
  const [destinationId, setDestinationId] = useState<string | null>(null);
  const [service, setService] = useState<string | null>(null);
  const [targetKind, setTargetKind] = useState<string | null>(null);
  const [targetId, setTargetId] = useState<string | null>(NEW_TARGET);
  const [targetName, setTargetName] = useState("");
  const [identifierKind, setIdentifierKind] = useState<string | null>(null);
  const [identifierField, setIdentifierField] = useState<string | null>(null);
  const [mapping, setMapping] = useState<MappingRow[]>([]);
  const [schedule, setSchedule] = useState<Schedule>({ kind: "manual" });

  const segment = segments.data?.find((candidate) => candidate.id === segmentId);
  const model = useModel(segment?.model_id);
  const fields = model.data?.fields ?? [];
  const destination = destinations.data?.find((candidate) => candidate.id === destinationId);
  const type = types.data?.find((candidate) => candidate.name === destination?.type);
  const capabilities = (type?.capabilities ?? {}) as { services?: string[]; target_kinds?: string[]; identifiers?: string[] };
  const defaults = { ...(type?.activation_defaults ?? {}), ...(destination?.activation_defaults ?? {}) } as { service?: string; target_kind?: string; identifier?: string; schedule?: Schedule };

  // Destination chosen: start from its default activation settings.
  useEffect(() => {
    if (!destination || !type) return;
    setService(defaults.service ?? capabilities.services?.[0] ?? "membership");
    setTargetKind(defaults.target_kind ?? capabilities.target_kinds?.[0] ?? null);
    setIdentifierKind(defaults.identifier ?? capabilities.identifiers?.[0] ?? "email");
    if (defaults.schedule) setSchedule(defaults.schedule);
    setTargetId(NEW_TARGET);
  }, [destination?.id, type?.name]);
  // Segment or identifier kind chosen: the field whose meaning is that kind.
  useEffect(() => {
    if (!fields.length || !identifierKind) return;
    const byMeaning = fields.find((field) => field.meaning === identifierKind) ?? fields.find((field) => field.name === identifierKind);
    setIdentifierField(byMeaning?.name ?? null);
  }, [fields, identifierKind]);
  // Segment and destination chosen: start from the mapping the API matches by standard meaning.
  const suggestion = useQuery({
    queryKey: ["activations", "suggested-mapping", segmentId, destinationId],
    enabled: Boolean(segmentId && destinationId),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/activations/suggested-mapping", { params: { query: { segment_id: segmentId!, destination_id: destinationId! } } })),
  });
  useEffect(() => {
    if (!suggestion.data) return;
    if (suggestion.data.identifier) setIdentifierField(suggestion.data.identifier.field);
    setMapping((current) => (current.some((row) => row.source || row.destination) ? current : suggestion.data.mapping));
  }, [suggestion.data]);
  useEffect(() => {
    if (segment && !targetName) setTargetName(segment.name);
    if (segment && !name && destination) setName(`${segment.name} → ${destination.name}`);
  }, [segment, destination, name, targetName]);

  const targets = useQuery({
    queryKey: ["destinations", destinationId, "targets", targetKind],
    enabled: Boolean(destinationId && targetKind),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/destinations/{destination_id}/targets", { params: { path: { destination_id: destinationId! }, query: { kind: targetKind } } })).items,
  });

  const problems = mappingProblems(mapping, identifierField ?? undefined);
  const ready = name.trim() && segmentId && destinationId && targetKind && identifierField && !Object.keys(problems).length && !scheduleProblem(schedule);
  const targetOptions = useMemo(
    () => [{ value: NEW_TARGET, label: "Create a new one on the first run" }, ...(targets.data ?? []).map((target) => ({ value: target.id, label: `${target.name}${target.size !== null && target.size !== undefined ? ` (${target.size})` : ""}` }))],
    [targets.data],
  );

  const create = useMutation({
    mutationFn: async () => {
      const existing = targets.data?.find((target) => target.id === targetId);
      return unwrap(
        await api.POST("/api/v1/activations", {
          body: {
            name,
            description: "",
            segment_id: segmentId!,
            destination_id: destinationId!,
            service: (service ?? "membership") as "membership",
            target: existing
              ? { kind: targetKind!, id: existing.id, name: existing.name, parent_id: existing.parent_id ?? null, create_if_missing: false }
              : { kind: targetKind!, id: null, name: targetName || name, create_if_missing: true },
            identifier: { field: identifierField!, kind: (identifierKind ?? "email") as "email" },
            mapping: toApiMapping(mapping),
            schedule: schedule as Record<string, unknown>,
            enabled: true,
          },
        }),
      );
    },
    onSuccess: async (activation) => {
      await client.invalidateQueries({ queryKey: ["activations"] });
      notifySuccess(`Activation “${activation.name}” created.`);
      navigate(`/activations/${activation.id}`);
    },
    onError: (error) => notifyError(error, "The activation was not created"),
  });

  if (segments.isLoading || destinations.isLoading || types.isLoading) return <FormSkeleton fields={6} />;
  if (destinations.error) return <ErrorNotice error={destinations.error} />;
  if (!segments.data?.length || !destinations.data?.length) {
    return (
      <Alert color="blue" title="Two things first">
        An activation sends a <Anchor component={Link} to="/segments">segment</Anchor> to a <Anchor component={Link} to="/destinations">destination</Anchor>. Create at least one of each.
      </Alert>
    );
  }
  const fieldOptions = fields.map((field) => ({ value: field.name, label: `${field.name}${field.meaning ? ` (${field.meaning})` : ""}` }));
  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/activations" size="sm">
          Activations
        </Anchor>
        <Text size="sm">New activation</Text>
      </Breadcrumbs>
      <PageHeader title="New activation" description="Keep a destination in step with a segment: only changes are sent after the first run." />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (ready) create.mutate();
        }}
      >
        <Stack gap="md" maw={980}>
          <Card withBorder padding="lg">
            <SimpleGrid cols={{ base: 1, md: 2 }}>
              <Select label="Segment" withAsterisk searchable data={segments.data.map((candidate) => ({ value: candidate.id, label: candidate.name }))} value={segmentId} onChange={setSegmentId} />
              <Select label="Destination" withAsterisk data={destinations.data.map((candidate) => ({ value: candidate.id, label: candidate.name }))} value={destinationId} onChange={setDestinationId} />
              <TextInput label="Activation name" withAsterisk value={name} onChange={(event) => setName(event.currentTarget.value)} />
              <Select label="Service" data={capabilities.services ?? ["membership"]} value={service} onChange={setService} disabled={!destination} allowDeselect={false} />
            </SimpleGrid>
          </Card>
          <Card withBorder padding="lg">
            <Text fw={600} mb="xs">
              Target
            </Text>
            <SimpleGrid cols={{ base: 1, md: 3 }}>
              <Select label="Kind" data={capabilities.target_kinds ?? []} value={targetKind} onChange={setTargetKind} disabled={!destination} allowDeselect={false} />
              <Select label="Target" data={targetOptions} value={targetId} onChange={setTargetId} disabled={!targetKind} allowDeselect={false} description={targets.isLoading ? "Reading the destination's targets…" : undefined} error={targets.error ? String((targets.error as Error).message) : undefined} />
              {targetId === NEW_TARGET ? <TextInput label="Name of the new target" value={targetName} onChange={(event) => setTargetName(event.currentTarget.value)} /> : <div />}
            </SimpleGrid>
          </Card>
          <Card withBorder padding="lg">
            <Text fw={600} mb="xs">
              Identifier and fields
            </Text>
            <SimpleGrid cols={{ base: 1, md: 2 }} mb="sm">
              <Select label="Match contacts by" data={capabilities.identifiers ?? ["email"]} value={identifierKind} onChange={setIdentifierKind} disabled={!destination} allowDeselect={false} />
              <Select label="Identifier field" withAsterisk searchable data={fieldOptions} value={identifierField} onChange={setIdentifierField} disabled={!segment} placeholder={segment ? "Pick a field" : "Pick a segment first"} />
            </SimpleGrid>
            <MappingEditor rows={mapping} onChange={setMapping} fieldOptions={fieldOptions} identifierField={identifierField ?? undefined} disabled={!segment} />
          </Card>
          <Card withBorder padding="lg">
            <Text fw={600} mb="xs">
              Schedule
            </Text>
            <ScheduleEditor value={schedule} onChange={setSchedule} />
          </Card>
          <Group>
            <Button type="submit" disabled={!ready} loading={create.isPending}>
              Create activation
            </Button>
            <Button variant="default" component={Link} to="/activations">
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </>
  );
}
