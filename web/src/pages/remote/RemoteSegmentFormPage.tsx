/**
 * New remote segment, in the spec's order: model → platform and remote segment (picked from the
 * platform or typed) → the shared identifier (model field ↔ platform identifier) → refresh frequency.
 */
import { Alert, Anchor, Breadcrumbs, Button, Card, Group, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useNavigate } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { ErrorNotice, FormSkeleton, notifyError, notifySuccess, PageHeader } from "../../components/feedback";
import { scheduleProblem, type Schedule } from "../activations/schedule";
import { ScheduleEditor } from "../activations/ScheduleEditor";
import { useDestinations } from "../activations/names";
import { useModel, useModels } from "../models/modelsApi";
import { useRemotePlatforms } from "./remoteApi";

const TYPED = "__typed__";
type RemoteIdentifier = "email" | "external_id" | "platform_id" | "phone";

export function RemoteSegmentFormPage() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const models = useModels();
  const destinations = useDestinations();
  const platforms = useRemotePlatforms();
  const [name, setName] = useState("");
  const [modelId, setModelId] = useState<string | null>(null);
  const [destinationId, setDestinationId] = useState<string | null>(null);
  const [kind, setKind] = useState<string | null>(null);
  const [picked, setPicked] = useState<string | null>(TYPED);
  const [typedId, setTypedId] = useState("");
  const [remoteIdentifier, setRemoteIdentifier] = useState<string | null>("email");
  const [identifierField, setIdentifierField] = useState<string | null>(null);
  const [schedule, setSchedule] = useState<Schedule>({ kind: "interval", hours: 6 });

  const model = useModel(modelId ?? undefined);
  const destination = destinations.data?.find((candidate) => candidate.id === destinationId);
  const platform = platforms.data?.find((candidate) => candidate.type === destination?.type);
  useEffect(() => {
    setKind(platform?.remote_kinds.find((candidate) => candidate !== "audience") ?? platform?.remote_kinds[0] ?? null);
    setPicked(TYPED);
  }, [platform?.type]);
  useEffect(() => {
    const fields = model.data?.fields ?? [];
    const byMeaning = fields.find((field) => field.meaning === remoteIdentifier) ?? fields.find((field) => field.name === remoteIdentifier);
    setIdentifierField(byMeaning?.name ?? null);
  }, [model.data, remoteIdentifier]);

  const targets = useQuery({
    queryKey: ["destinations", destinationId, "targets", kind],
    enabled: Boolean(destinationId && kind && platform?.supported),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/destinations/{destination_id}/targets", { params: { path: { destination_id: destinationId! }, query: { kind } } })).items,
  });
  const remoteId = picked === TYPED ? typedId.trim() : picked;
  const ready = name.trim() && modelId && destinationId && platform?.supported && kind && remoteId && identifierField && !scheduleProblem(schedule);

  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/segments", {
          body: {
            name,
            description: "",
            model_id: modelId!,
            type: "remote",
            remote: {
              destination_id: destinationId!,
              remote_id: remoteId!,
              remote_kind: kind,
              remote_identifier: (remoteIdentifier ?? "email") as RemoteIdentifier,
              identifier_field: identifierField!,
            },
            refresh_schedule: schedule as Record<string, unknown>,
          },
        }),
      ),
    onSuccess: async (segment) => {
      await client.invalidateQueries({ queryKey: ["segments"] });
      notifySuccess(`Remote segment “${segment.name}” created. Refresh it to read its members.`);
      navigate(`/remote-segments/${segment.id}`);
    },
    onError: (error) => notifyError(error, "The remote segment was not created"),
  });

  if (models.isLoading || destinations.isLoading || platforms.isLoading) return <FormSkeleton fields={6} />;
  if (platforms.error) return <ErrorNotice error={platforms.error} />;
  const destinationOptions = (destinations.data ?? []).map((candidate) => {
    const support = platforms.data?.find((item) => item.type === candidate.type);
    return { value: candidate.id, label: `${candidate.name}${support?.supported ? "" : " (cannot list members)"}`, disabled: !support?.supported };
  });
  const targetOptions = [{ value: TYPED, label: "Type its id" }, ...(targets.data ?? []).map((target) => ({ value: target.id, label: `${target.name}${target.size !== null && target.size !== undefined ? ` (${target.size})` : ""} · ${target.id}` }))];
  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/remote-segments" size="sm">
          Remote segments
        </Anchor>
        <Text size="sm">New remote segment</Text>
      </Breadcrumbs>
      <PageHeader title="New remote segment" description="Sluice reads only the members' ids from the platform and rebuilds the segment from the model's rows." />
      <Stack gap="md" maw={760}>
        <Card withBorder>
          <Text fw={600} mb="xs">
            1. Model
          </Text>
          <SimpleGrid cols={2}>
            <TextInput label="Name" value={name} onChange={(event) => setName(event.currentTarget.value)} placeholder="Openers last 30 days" required />
            <Select label="Built on model" data={(models.data ?? []).map((item) => ({ value: item.id, label: item.name }))} value={modelId} onChange={setModelId} searchable required />
          </SimpleGrid>
        </Card>
        <Card withBorder>
          <Text fw={600} mb="xs">
            2. Remote source
          </Text>
          <SimpleGrid cols={2}>
            <Select label="Platform" data={destinationOptions} value={destinationId} onChange={setDestinationId} required />
            <Select label="Kind" data={platform?.remote_kinds ?? []} value={kind} onChange={setKind} disabled={!platform?.supported} allowDeselect={false} />
            <Select label="Remote segment" data={targetOptions} value={picked} onChange={setPicked} disabled={!platform?.supported} searchable />
            {picked === TYPED ? <TextInput label="Remote segment id" value={typedId} onChange={(event) => setTypedId(event.currentTarget.value)} placeholder="e.g. 7522907" /> : <div />}
          </SimpleGrid>
          {targets.error ? <ErrorNotice error={targets.error} /> : null}
          {destination && platform && !platform.supported ? (
            <Alert color="yellow" mt="sm" title={`${platform.title} cannot be used`}>
              {platform.reason}
            </Alert>
          ) : null}
        </Card>
        <Card withBorder>
          <Text fw={600} mb="xs">
            3. Shared identifier
          </Text>
          <SimpleGrid cols={2}>
            <Select label="Platform identifier" data={platform?.identifiers ?? ["email"]} value={remoteIdentifier} onChange={setRemoteIdentifier} allowDeselect={false} />
            <Select
              label="Model field"
              data={(model.data?.fields ?? []).map((field) => ({ value: field.name, label: `${field.name}${field.meaning ? ` (${field.meaning})` : ""}` }))}
              value={identifierField}
              onChange={setIdentifierField}
              searchable
              required
            />
          </SimpleGrid>
          <Text size="xs" c="dimmed" mt="xs">
            Map only the identifier both sides share. E-mails match whatever their case.
          </Text>
        </Card>
        <Card withBorder>
          <Text fw={600} mb="xs">
            4. Refresh frequency
          </Text>
          <ScheduleEditor value={schedule} onChange={setSchedule} />
        </Card>
        <Group justify="flex-end">
          <Button variant="default" component={Link} to="/remote-segments">
            Cancel
          </Button>
          <Button disabled={!ready} loading={create.isPending} onClick={() => create.mutate()}>
            Create remote segment
          </Button>
        </Group>
      </Stack>
    </>
  );
}
