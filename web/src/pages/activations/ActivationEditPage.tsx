/**
 * Change an existing activation: name, identifier field, field mapping and schedule. Its segment,
 * destination, service and target stay (a different audience or place is a new activation).
 */
import { Anchor, Breadcrumbs, Button, Card, Group, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { ErrorNotice, FormSkeleton, notifyError, notifySuccess, PageHeader } from "../../components/feedback";
import { useModel } from "../models/modelsApi";
import type { Activation } from "../runs/runsApi";
import { mappingProblems, toApiMapping, type MappingRow } from "./mapping";
import { MappingEditor } from "./MappingEditor";
import { useNames, useSegmentList } from "./names";
import { scheduleProblem, type Schedule } from "./schedule";
import { ScheduleEditor } from "./ScheduleEditor";

export function ActivationEditPage() {
  const { activationId = "" } = useParams();
  const activation = useQuery({
    queryKey: ["activations", activationId],
    queryFn: async () => unwrap(await api.GET("/api/v1/activations/{activation_id}", { params: { path: { activation_id: activationId } } })),
  });
  if (activation.isLoading) return <FormSkeleton fields={5} />;
  if (activation.error || !activation.data) return <ErrorNotice error={activation.error} onRetry={() => void activation.refetch()} />;
  return <EditForm key={activation.data.updated_at} activation={activation.data} />;
}

function EditForm({ activation }: { activation: Activation }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const names = useNames();
  const segments = useSegmentList();
  const segment = segments.data?.find((candidate) => candidate.id === activation.segment_id);
  const model = useModel(segment?.model_id);
  const [name, setName] = useState(activation.name);
  const [identifierField, setIdentifierField] = useState<string | null>(activation.identifier.field);
  const [mapping, setMapping] = useState<MappingRow[]>(activation.mapping ?? []);
  const [schedule, setSchedule] = useState<Schedule>((activation.schedule ?? { kind: "manual" }) as Schedule);
  const fieldOptions = (model.data?.fields ?? []).map((field) => ({ value: field.name, label: `${field.name}${field.meaning ? ` (${field.meaning})` : ""}` }));
  const ready = name.trim() && identifierField && !Object.keys(mappingProblems(mapping, identifierField)).length && !scheduleProblem(schedule);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/activations/{activation_id}", {
          params: { path: { activation_id: activation.id } },
          body: {
            name: name.trim(),
            identifier: { ...activation.identifier, field: identifierField! },
            mapping: toApiMapping(mapping),
            schedule: schedule as Record<string, unknown>,
          },
        }),
      ),
    onSuccess: async (updated) => {
      await client.invalidateQueries({ queryKey: ["activations"] });
      notifySuccess(`Activation “${updated.name}” saved.`);
      navigate(`/activations/${updated.id}`);
    },
    onError: (error) => notifyError(error, "The activation was not saved"),
  });
  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/activations" size="sm">
          Activations
        </Anchor>
        <Anchor component={Link} to={`/activations/${activation.id}`} size="sm">
          {activation.name}
        </Anchor>
        <Text size="sm">Edit</Text>
      </Breadcrumbs>
      <PageHeader
        title={`Edit ${activation.name}`}
        description={`Sends ${names.segment(activation.segment_id)} to ${names.destination(activation.destination_id)} (${activation.service} into ${activation.target.kind}). The next run sends what the changes require.`}
      />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (ready) save.mutate();
        }}
      >
        <Stack gap="md" maw={980}>
          <Card withBorder padding="lg">
            <SimpleGrid cols={{ base: 1, md: 2 }}>
              <TextInput label="Activation name" withAsterisk value={name} onChange={(event) => setName(event.currentTarget.value)} />
              <Select
                label={`Identifier field (${activation.identifier.kind})`}
                withAsterisk
                searchable
                data={fieldOptions}
                value={identifierField}
                onChange={setIdentifierField}
                allowDeselect={false}
                placeholder={model.isLoading ? "Reading the model's fields…" : undefined}
              />
            </SimpleGrid>
          </Card>
          <Card withBorder padding="lg">
            <Text fw={600} mb="xs">
              Fields
            </Text>
            <MappingEditor rows={mapping} onChange={setMapping} fieldOptions={fieldOptions} identifierField={identifierField ?? undefined} disabled={!model.data} />
          </Card>
          <Card withBorder padding="lg">
            <Text fw={600} mb="xs">
              Schedule
            </Text>
            <ScheduleEditor value={schedule} onChange={setSchedule} />
          </Card>
          <Group>
            <Button type="submit" disabled={!ready} loading={save.isPending}>
              Save changes
            </Button>
            <Button variant="default" component={Link} to={`/activations/${activation.id}`}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </>
  );
}
