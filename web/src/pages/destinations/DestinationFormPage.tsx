/**
 * Create or edit a destination: settings from the type's JSON Schema (the same form as sources),
 * write-only credentials, default activation settings (their own schema), and a connection check.
 */
import { Alert, Anchor, Breadcrumbs, Button, Card, Grid, Group, Modal, Select, Stack, Text, TextInput, Textarea } from "@mantine/core";
import { IconAlertTriangle, IconCircleCheck, IconPlugConnected, IconTrash } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";

import { api, unwrap } from "../../api/client";
import { errorMessage, ErrorNotice, FormSkeleton, notifyError, notifySuccess, PageHeader } from "../../components/feedback";
import { useCan } from "../../api/permissions";
import { ReadOnlyFieldset, ReadOnlyNotice } from "../../components/ReadOnlyNotice";
import { JsonSchemaForm } from "../../components/jsonSchemaForm/JsonSchemaForm";
import { describeFields, initialValues, toPayload, validate, type FormErrors, type FormValues, type JsonSchema } from "../../components/jsonSchemaForm/schema";
import { useDestinationTypes } from "./DestinationsPage";
import { connectableOAuth, OAuthConnect, withoutConnectField } from "./OAuthConnect";

export function DestinationFormPage() {
  const { destinationId } = useParams();
  const editing = Boolean(destinationId && destinationId !== "new");
  const navigate = useNavigate();
  const client = useQueryClient();
  const types = useDestinationTypes();
  const canWrite = useCan("destinations:write");
  const stored = useQuery({
    queryKey: ["destinations", destinationId],
    enabled: editing,
    queryFn: async () => unwrap(await api.GET("/api/v1/destinations/{destination_id}", { params: { path: { destination_id: destinationId! } } })),
  });

  const [type, setType] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [values, setValues] = useState<FormValues>({});
  const [defaults, setDefaults] = useState<FormValues>({});
  const [errors, setErrors] = useState<FormErrors>({});
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const [searchParams, setSearchParams] = useSearchParams();
  const [oauthError, setOauthError] = useState<string | null>(null);
  const created = useRef<string | null>(null);

  const typeInfo = types.data?.find((candidate) => candidate.name === type);
  const oauth = connectableOAuth(typeInfo?.oauth);
  const fields = useMemo(
    () => (typeInfo ? withoutConnectField(describeFields(typeInfo.json_schema as JsonSchema), connectableOAuth(typeInfo.oauth)) : []),
    [typeInfo],
  );
  const defaultFields = useMemo(
    () => (typeInfo?.activation_defaults_schema ? describeFields(typeInfo.activation_defaults_schema as JsonSchema) : []),
    [typeInfo],
  );
  const secretsSet = stored.data?.secret_names ?? [];

  useEffect(() => {
    if (stored.data) {
      setType(stored.data.type);
      setName(stored.data.name);
      setDescription(stored.data.description);
    }
  }, [stored.data]);
  useEffect(() => {
    if (!typeInfo) return;
    setValues(initialValues(fields, (stored.data?.config ?? {}) as Record<string, unknown>));
    setDefaults(initialValues(defaultFields, (stored.data?.activation_defaults ?? typeInfo.activation_defaults ?? {}) as Record<string, unknown>));
  }, [typeInfo, fields, defaultFields, stored.data]);
  useEffect(() => {
    if (!editing && !type && types.data?.length) setType(types.data[0].name);
  }, [editing, type, types.data]);
  // Back from the vendor's consent page: the callback says how it went.
  useEffect(() => {
    const connected = searchParams.get("oauth") === "connected";
    const failed = searchParams.get("oauth_error");
    if (!connected && failed === null) return;
    if (connected) notifySuccess("The platform account is connected.");
    setOauthError(failed);
    setSearchParams({}, { replace: true });
  }, [searchParams, setSearchParams]);

  const saveDestination = async () => {
      const { config, secrets } = toPayload(fields, values);
      const activation_defaults = defaultFields.length ? toPayload(defaultFields, defaults).config : undefined;
      if (editing) {
        return unwrap(
          await api.PATCH("/api/v1/destinations/{destination_id}", {
            params: { path: { destination_id: destinationId! } },
            body: { name, description, config, activation_defaults, ...(Object.keys(secrets).length ? { secrets } : {}) },
          }),
        );
      }
      return unwrap(await api.POST("/api/v1/destinations", { body: { name, type: type ?? "", description, config, secrets, activation_defaults } }));
  };
  const save = useMutation({
    mutationFn: saveDestination,
    onSuccess: async (destination) => {
      await client.invalidateQueries({ queryKey: ["destinations"] });
      notifySuccess(`Destination “${destination.name}” saved.`);
      if (!editing) navigate(`/destinations/${destination.id}`, { replace: true });
    },
    onError: (error) => notifyError(error, "The destination was not saved"),
  });
  const check = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/destinations/{destination_id}/check", { params: { path: { destination_id: destinationId! } } })),
    onMutate: () => setOutcome(null),
    onSuccess: (result) => {
      setOutcome({ ok: result.ok, message: result.message });
      void client.invalidateQueries({ queryKey: ["destinations"] });
    },
    onError: (error) => setOutcome({ ok: false, message: errorMessage(error) }),
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/api/v1/destinations/{destination_id}", { params: { path: { destination_id: destinationId! } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["destinations"] });
      notifySuccess(`Destination “${name}” deleted.`);
      navigate("/destinations");
    },
    onError: (error) => notifyError(error, "The destination was not deleted"),
  });

  // Save first (the vendor sends the browser back to the saved destination), then go to the vendor.
  const connect = useMutation({
    mutationFn: async () => {
      const destination = await saveDestination();
      if (!editing) created.current = destination.id;
      const answer = unwrap(
        await api.GET("/api/v1/destinations/oauth/{type_name}/authorize", {
          params: { path: { type_name: destination.type }, query: { destination_id: destination.id, return_to: `/destinations/${destination.id}` } },
        }),
      );
      window.location.assign(answer.authorize_url);
    },
    onMutate: () => setOauthError(null),
    onError: async (error) => {
      notifyError(error, oauth ? `Could not connect to ${oauth.vendor}` : undefined);
      await client.invalidateQueries({ queryKey: ["destinations"] });
      if (created.current) navigate(`/destinations/${created.current}`, { replace: true });
    },
  });

  const formIsValid = () => {
    const found = { ...validate(fields, values, secretsSet), ...validate(defaultFields, defaults, [], "defaults.") };
    if (!name.trim()) found.name = "Name is required";
    setErrors(found);
    return Object.keys(found).length === 0;
  };
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (formIsValid()) save.mutate();
  };

  if (editing && stored.error) return <ErrorNotice error={stored.error} onRetry={() => void stored.refetch()} />;
  if (types.error) return <ErrorNotice error={types.error} onRetry={() => void types.refetch()} />;
  const loading = (editing && stored.isLoading) || types.isLoading;
  return (
    <>
      <Breadcrumbs mb="xs">
        <Anchor component={Link} to="/destinations" size="sm">
          Destinations
        </Anchor>
        <Text size="sm">{editing ? stored.data?.name ?? "…" : "New destination"}</Text>
      </Breadcrumbs>
      <PageHeader
        title={editing ? stored.data?.name ?? "Destination" : "New destination"}
        description={
          typeInfo ? (
            <>
              {typeInfo.description}{" "}
              {typeInfo.docs_url ? (
                <Anchor href={typeInfo.docs_url} target="_blank" rel="noreferrer" size="sm">
                  Vendor docs
                </Anchor>
              ) : null}
            </>
          ) : undefined
        }
        actions={
          editing && canWrite ? (
            <Button variant="subtle" color="red" leftSection={<IconTrash size={16} />} onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          ) : undefined
        }
      />
      <ReadOnlyNotice permission="destinations:write" what="changing destinations" />
      {loading ? (
        <FormSkeleton fields={6} />
      ) : (
        <form onSubmit={submit} noValidate aria-label="Destination">
          <ReadOnlyFieldset readOnly={!canWrite}>
          <Grid gap="xl">
            <Grid.Col span={{ base: 12, md: 8 }}>
              <Stack gap="md">
                <Card withBorder radius="md" padding="lg">
                  <Stack gap="sm">
                    <TextInput id="field-name" label="Name" withAsterisk value={name} error={errors.name} onChange={(event) => setName(event.currentTarget.value)} placeholder="e.g. Mailchimp newsletter" />
                    <Select
                      id="field-type"
                      label="Platform"
                      withAsterisk
                      disabled={editing}
                      searchable
                      data={(types.data ?? []).map((candidate) => ({ value: candidate.name, label: candidate.title }))}
                      value={type}
                      onChange={setType}
                      allowDeselect={false}
                    />
                    <Textarea id="field-description" label="Description" value={description} onChange={(event) => setDescription(event.currentTarget.value)} autosize minRows={1} />
                  </Stack>
                </Card>
                <Card withBorder radius="md" padding="lg">
                  <Text fw={600} mb="sm">
                    Connection
                  </Text>
                  <JsonSchemaForm fields={fields} values={values} onChange={setValues} errors={errors} secretsSet={secretsSet} />
                  {oauth ? (
                    <Card withBorder radius="sm" padding="sm" mt="md">
                      <OAuthConnect
                        oauth={oauth}
                        connected={secretsSet.includes(oauth.connect_field)}
                        loading={connect.isPending}
                        disabled={!canWrite}
                        error={oauthError}
                        onConnect={() => {
                          if (formIsValid()) connect.mutate();
                        }}
                      />
                    </Card>
                  ) : null}
                </Card>
                {defaultFields.length ? (
                  <Card withBorder radius="md" padding="lg">
                    <Text fw={600}>Default activation settings</Text>
                    <Text size="sm" c="dimmed" mb="sm">
                      New activations to this destination start with these; each activation can change them.
                    </Text>
                    <JsonSchemaForm fields={defaultFields} values={defaults} onChange={setDefaults} errors={errors} path="defaults." />
                  </Card>
                ) : null}
                {canWrite ? (
                  <Group>
                    <Button type="submit" loading={save.isPending}>
                      {editing ? "Save changes" : "Create destination"}
                    </Button>
                    <Button variant="default" component={Link} to="/destinations">
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
                    {editing ? "Signs in to the platform with the saved credentials." : "Save the destination first, then test its connection."}
                  </Text>
                  <Button variant="light" leftSection={<IconPlugConnected size={18} />} disabled={!editing} loading={check.isPending} onClick={() => check.mutate()}>
                    Test connection
                  </Button>
                  {outcome ? (
                    <Alert data-testid="test-outcome" color={outcome.ok ? "teal" : "red"} icon={outcome.ok ? <IconCircleCheck size={18} /> : <IconAlertTriangle size={18} />} title={outcome.ok ? "Connected" : "Connection failed"}>
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
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this destination?" centered>
        <Stack>
          <Text size="sm">Activations to “{name}” stop. This cannot be undone.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmDelete(false)}>
              Keep it
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => remove.mutate()}>
              Delete destination
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
