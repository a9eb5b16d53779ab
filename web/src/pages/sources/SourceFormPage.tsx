/**
 * Create or edit a source. The config form is rendered from the source type's JSON Schema;
 * credentials are write-only ("set" badges, never values); a saved source can test its connection.
 */
import { Alert, Anchor, Breadcrumbs, Button, Card, Grid, Group, JsonInput, Modal, Select, Stack, Text, TextInput, Textarea } from "@mantine/core";
import { IconCircleCheck, IconPlugConnected, IconTrash, IconAlertTriangle } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";

import { api, request, unwrap } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";
import { useCan } from "../../api/permissions";
import { errorMessage, ErrorNotice, FormSkeleton, notifyError, notifySuccess, PageHeader } from "../../components/feedback";
import { ReadOnlyFieldset, ReadOnlyNotice } from "../../components/ReadOnlyNotice";
import { JsonSchemaForm } from "../../components/jsonSchemaForm/JsonSchemaForm";
import { describeFields, initialValues, toPayload, validate, type FormErrors, type FormValues } from "../../components/jsonSchemaForm/schema";
import { testConnectionRoute, useSourceTypes } from "./sourceTypes";

interface TestOutcome {
  ok: boolean;
  message: string;
}

function outcomeOf(body: unknown): TestOutcome {
  const value = (body ?? {}) as { ok?: boolean; success?: boolean; status?: string; message?: string; detail?: string };
  const ok = value.ok ?? value.success ?? (value.status ? value.status === "ok" : true);
  return { ok, message: value.message ?? value.detail ?? (ok ? "Sluice reached the warehouse." : "The connection failed.") };
}

export function SourceFormPage() {
  const { sourceId } = useParams();
  const editing = Boolean(sourceId && sourceId !== "new");
  const navigate = useNavigate();
  const client = useQueryClient();
  const types = useSourceTypes();
  const capabilities = useCapabilities();
  const canWrite = useCan("sources:write");

  const stored = useQuery({
    queryKey: ["sources", sourceId],
    enabled: editing,
    queryFn: async () => unwrap(await api.GET("/api/v1/sources/{source_id}", { params: { path: { source_id: sourceId! } } })),
  });

  const [type, setType] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [values, setValues] = useState<FormValues>({});
  const [rawConfig, setRawConfig] = useState("{}");
  const [errors, setErrors] = useState<FormErrors>({});
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const typeInfo = types.data?.find((candidate) => candidate.name === type);
  const fields = useMemo(() => (typeInfo?.schema ? describeFields(typeInfo.schema) : null), [typeInfo]);
  const secretsSet = stored.data?.secret_names ?? [];

  // Fill the form once the stored source (or the chosen type's defaults) is known.
  useEffect(() => {
    if (stored.data) {
      setType(stored.data.type);
      setName(stored.data.name);
      setDescription(stored.data.description);
      setRawConfig(JSON.stringify(stored.data.config, null, 2));
    }
  }, [stored.data]);
  useEffect(() => {
    if (fields) setValues(initialValues(fields, (stored.data?.config ?? {}) as Record<string, unknown>));
  }, [fields, stored.data]);
  useEffect(() => {
    if (!editing && !type && types.data?.length) setType(types.data[0].name);
  }, [editing, type, types.data]);

  const save = useMutation({
    mutationFn: async () => {
      let config: Record<string, unknown>;
      let secrets: Record<string, string> = {};
      if (fields) ({ config, secrets } = toPayload(fields, values));
      else config = JSON.parse(rawConfig || "{}") as Record<string, unknown>;
      if (editing) {
        return unwrap(
          await api.PATCH("/api/v1/sources/{source_id}", {
            params: { path: { source_id: sourceId! } },
            body: { name, description, config, ...(Object.keys(secrets).length ? { secrets } : {}) },
          }),
        );
      }
      return unwrap(await api.POST("/api/v1/sources", { body: { name, type: type ?? "", description, config, secrets } }));
    },
    onSuccess: async (source) => {
      await client.invalidateQueries({ queryKey: ["sources"] });
      notifySuccess(`Source “${source.name}” saved.`);
      if (!editing) navigate(`/sources/${source.id}`, { replace: true });
      else setValues((current) => (fields ? { ...current, ...Object.fromEntries(fields.filter((f) => f.kind === "secret").map((f) => [f.name, ""])) } : current));
    },
    onError: (error) => notifyError(error, "The source was not saved"),
  });

  const testRoute = testConnectionRoute(capabilities.data?.routes);
  const test = useMutation({
    mutationFn: async () => outcomeOf(await request("POST", `/api/v1${testRoute!.replace("{source_id}", sourceId!)}`, {})),
    onMutate: () => setOutcome(null),
    onSuccess: setOutcome,
    onError: (error) => setOutcome({ ok: false, message: errorMessage(error) }),
  });

  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/api/v1/sources/{source_id}", { params: { path: { source_id: sourceId! } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["sources"] });
      notifySuccess(`Source “${name}” deleted.`);
      navigate("/sources");
    },
    onError: (error) => notifyError(error, "The source was not deleted"),
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const found: FormErrors = fields ? validate(fields, values, secretsSet) : {};
    if (!name.trim()) found.name = "Name is required";
    if (!fields) {
      try {
        JSON.parse(rawConfig || "{}");
      } catch {
        found.config = "Config must be valid JSON";
      }
    }
    setErrors(found);
    if (Object.keys(found).length === 0) save.mutate();
  };

  if (editing && stored.error) return <ErrorNotice error={stored.error} onRetry={() => void stored.refetch()} />;
  const loading = (editing && stored.isLoading) || types.capabilitiesLoading || (types.published && types.isLoading);

  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/sources" size="sm">
          Sources
        </Anchor>
        <Text size="sm">{editing ? stored.data?.name ?? "…" : "New source"}</Text>
      </Breadcrumbs>
      <PageHeader
        title={editing ? stored.data?.name ?? "Source" : "New source"}
        description={typeInfo?.description ?? "A warehouse connection. Secrets are stored encrypted and are never shown again."}
        actions={
          editing && canWrite ? (
            <Button variant="subtle" color="red" leftSection={<IconTrash size={16} />} onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          ) : undefined
        }
      />
      <ReadOnlyNotice permission="sources:write" what="changing sources" />
      {loading ? (
        <FormSkeleton fields={6} />
      ) : (
        <form onSubmit={submit} noValidate aria-label="Source">
          <ReadOnlyFieldset readOnly={!canWrite}>
          <Grid gap="xl">
            <Grid.Col span={{ base: 12, md: 8 }}>
              <Stack gap="md">
                <Card withBorder radius="md" padding="lg">
                  <Stack gap="sm">
                    <TextInput id="field-name" label="Name" withAsterisk value={name} error={errors.name} onChange={(event) => setName(event.currentTarget.value)} placeholder="e.g. Production warehouse" data-autofocus />
                    {types.published ? (
                      <Select
                        id="field-type"
                        label="Type"
                        withAsterisk
                        disabled={editing}
                        data={(types.data ?? []).map((candidate) => ({ value: candidate.name, label: candidate.label }))}
                        value={type}
                        onChange={setType}
                        allowDeselect={false}
                        description={editing ? "The type of a source cannot change; create a new source instead." : undefined}
                      />
                    ) : (
                      <TextInput id="field-type" label="Type" withAsterisk disabled={editing} value={type ?? ""} onChange={(event) => setType(event.currentTarget.value)} placeholder="duckdb, postgres, snowflake, bigquery, databricks, redshift" />
                    )}
                    <Textarea id="field-description" label="Description" value={description} onChange={(event) => setDescription(event.currentTarget.value)} autosize minRows={1} />
                  </Stack>
                </Card>
                <Card withBorder radius="md" padding="lg">
                  <Text fw={600} mb="sm">
                    Connection
                  </Text>
                  {fields ? (
                    <JsonSchemaForm fields={fields} values={values} onChange={setValues} errors={errors} secretsSet={secretsSet} />
                  ) : (
                    <Stack gap="xs">
                      <Alert color="gray" variant="light">
                        This server does not publish source type forms yet; enter the config as JSON.
                      </Alert>
                      <JsonInput id="field-config" label="Config" value={rawConfig} onChange={setRawConfig} error={errors.config} autosize minRows={4} formatOnBlur />
                    </Stack>
                  )}
                </Card>
                {canWrite ? (
                  <Group>
                    <Button type="submit" loading={save.isPending}>
                      {editing ? "Save changes" : "Create source"}
                    </Button>
                    <Button variant="default" component={Link} to="/sources">
                      Cancel
                    </Button>
                  </Group>
                ) : null}
              </Stack>
            </Grid.Col>
            {canWrite ? <Grid.Col span={{ base: 12, md: 4 }}>
              <Card withBorder radius="md" padding="lg">
                <Stack gap="sm">
                  <Text fw={600}>Test connection</Text>
                  <Text size="sm" c="dimmed">
                    {editing ? "Checks that Sluice can reach the warehouse with the saved settings." : "Save the source first, then test its connection."}
                  </Text>
                  <Button
                    variant="light"
                    leftSection={<IconPlugConnected size={18} />}
                    disabled={!editing || !testRoute}
                    loading={test.isPending}
                    onClick={() => test.mutate()}
                    title={testRoute ? undefined : "This server cannot test connections yet"}
                  >
                    Test connection
                  </Button>
                  {outcome ? (
                    <Alert
                      data-testid="test-outcome"
                      color={outcome.ok ? "teal" : "red"}
                      icon={outcome.ok ? <IconCircleCheck size={18} /> : <IconAlertTriangle size={18} />}
                      title={outcome.ok ? "Connected" : "Connection failed"}
                    >
                      {outcome.message}
                    </Alert>
                  ) : null}
                </Stack>
              </Card>
            </Grid.Col> : null}
          </Grid>
          </ReadOnlyFieldset>
        </form>
      )}
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this source?" centered>
        <Stack>
          <Text size="sm">Models on “{name}” stop working. This cannot be undone.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmDelete(false)}>
              Keep it
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => remove.mutate()}>
              Delete source
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
