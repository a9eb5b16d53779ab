/**
 * Editing a model's schema: a field's column (relinking repairs drift), meaning, categorical flag and
 * description; dropping a field; adding a calculated field; checking the model against its source.
 */
import { Alert, Button, Group, Modal, SegmentedControl, Select, Stack, Switch, Text, TextInput, Textarea } from "@mantine/core";
import { IconAlertTriangle, IconCheck, IconRefresh } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { notifyError, notifySuccess } from "../../components/feedback";
import { calculatedFieldSpec, fieldChanges, type CalculationFormValues, type FieldUpdate, type ModelField } from "./fieldEdits";
import type { Model, Relationship } from "./modelsApi";

type SchemaCheck = components["schemas"]["SchemaCheckOut"];

const AGGREGATES = ["count", "sum", "avg", "min", "max", "count_distinct", "first", "last"];

function useInvalidateModel() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: ["models"] });
}

/** Columns the model's table or query has now (what a field may be linked to). */
function useSourceColumns(model: Model, enabled: boolean) {
  return useQuery({
    queryKey: ["models", model.id, "source-columns"],
    enabled,
    queryFn: async () => {
      const body = model.sql
        ? { source_id: model.source_id, sql: model.sql, limit: 1 }
        : { source_id: model.source_id, table: { schema: model.table_schema, name: model.table_name ?? "" }, limit: 1 };
      return unwrap(await api.POST("/api/v1/models/preview", { body })).columns;
    },
  });
}

function useMeanings() {
  return useQuery({
    queryKey: ["models", "meanings"],
    queryFn: async () => unwrap(await api.GET("/api/v1/models/meanings")),
    staleTime: Infinity,
  });
}

export function useUpdateField(model: Model) {
  const invalidate = useInvalidateModel();
  return useMutation({
    mutationFn: async ({ field, changes }: { field: string; changes: FieldUpdate }) =>
      unwrap(await api.PATCH("/api/v1/models/{model_id}/fields/{field_name}", { params: { path: { model_id: model.id, field_name: field } }, body: changes })),
    onSuccess: async (field) => {
      await invalidate();
      notifySuccess(field.broken_reason ? `Field ${field.name} saved; it still does not match the source.` : `Field ${field.name} saved.`);
    },
    onError: (error) => notifyError(error, "The field was not saved"),
  });
}

export function EditFieldModal({ model, field, onClose }: { model: Model; field: ModelField | null; onClose: () => void }) {
  return (
    <Modal opened={field !== null} onClose={onClose} title={field ? `Field ${field.name}` : ""} size="lg">
      {field ? <EditFieldForm key={field.name} model={model} field={field} onClose={onClose} /> : null}
    </Modal>
  );
}

function EditFieldForm({ model, field, onClose }: { model: Model; field: ModelField; onClose: () => void }) {
  const [values, setValues] = useState({ column: field.column ?? "", meaning: field.meaning ?? "", categorical: field.categorical, description: field.description });
  const columns = useSourceColumns(model, !field.calculation);
  const meanings = useMeanings();
  const update = useUpdateField(model);
  const invalidate = useInvalidateModel();
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/api/v1/models/{model_id}/fields/{field_name}", { params: { path: { model_id: model.id, field_name: field.name } } })),
    onSuccess: async () => {
      await invalidate();
      notifySuccess(`Field ${field.name} dropped.`);
      onClose();
    },
    onError: (error) => notifyError(error, "The field was not dropped"),
  });
  const changes = fieldChanges(field, values);
  const isKey = field.name === model.primary_key;
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        update.mutate({ field: field.name, changes }, { onSuccess: onClose });
      }}
    >
      <Stack>
        {field.broken_reason ? (
          <Alert color="red" icon={<IconAlertTriangle size={18} />} title="This field no longer matches the source">
            {field.broken_reason}. Link it to another column, or drop it.
          </Alert>
        ) : null}
        {field.calculation ? null : (
          <Select
            label="Column"
            description="The source column this field reads."
            searchable
            data={(columns.data ?? []).map((column) => ({ value: column.name, label: `${column.name} (${column.type})` }))}
            value={values.column || null}
            onChange={(column) => setValues({ ...values, column: column ?? "" })}
            placeholder={columns.isLoading ? "Reading the source's columns…" : undefined}
            error={columns.error ? "The source's columns could not be read." : undefined}
            allowDeselect={false}
          />
        )}
        <Select
          label="Meaning"
          description="What the field holds; destinations pre-fill their mappings from it."
          clearable
          searchable
          data={(meanings.data ?? []).map((meaning) => ({ value: meaning.name, label: meaning.label }))}
          value={values.meaning || null}
          onChange={(meaning) => setValues({ ...values, meaning: meaning ?? "" })}
        />
        <Switch
          label="Categorical"
          description="Few distinct values: the segment builder offers them in a picker."
          checked={values.categorical}
          onChange={(event) => setValues({ ...values, categorical: event.currentTarget.checked })}
        />
        <TextInput label="Description" value={values.description} onChange={(event) => setValues({ ...values, description: event.currentTarget.value })} />
        <Group justify="space-between">
          {isKey ? (
            <Text size="xs" c="dimmed">
              The primary key cannot be dropped.
            </Text>
          ) : (
            <Button variant="subtle" color="red" loading={remove.isPending} onClick={() => window.confirm(`Drop field ${field.name}?`) && remove.mutate()}>
              Drop field
            </Button>
          )}
          <Group>
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={update.isPending} disabled={!Object.keys(changes).length}>
              Save
            </Button>
          </Group>
        </Group>
      </Stack>
    </form>
  );
}

const EMPTY_CALCULATION: CalculationFormValues = { name: "", kind: "expression", expression: "", relationship: "", function: "count", field: "", filter: "" };

export function AddCalculatedFieldModal({ model, relationships, opened, onClose }: { model: Model; relationships: Relationship[]; opened: boolean; onClose: () => void }) {
  const [values, setValues] = useState<CalculationFormValues>(EMPTY_CALCULATION);
  const invalidate = useInvalidateModel();
  const add = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/models/{model_id}/fields", { params: { path: { model_id: model.id } }, body: calculatedFieldSpec(values) })),
    onSuccess: async (field) => {
      await invalidate();
      notifySuccess(`Calculated field ${field.name} added (${field.type}).`);
      close();
    },
    onError: (error) => notifyError(error, "The calculated field was not added"),
  });
  const close = () => {
    setValues(EMPTY_CALCULATION);
    onClose();
  };
  const ready = values.name.trim() && (values.kind === "expression" ? values.expression.trim() : values.relationship && (values.function === "count" || values.field.trim()));
  return (
    <Modal opened={opened} onClose={close} title="Add a calculated field" size="lg">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          add.mutate();
        }}
      >
        <Stack>
          <TextInput label="Name" required data-autofocus value={values.name} onChange={(event) => setValues({ ...values, name: event.currentTarget.value })} placeholder="lifetime_value" />
          <SegmentedControl
            aria-label="Calculation kind"
            data={[
              { value: "expression", label: "Expression over this row" },
              { value: "aggregate", label: "Aggregate over related rows", disabled: !relationships.length },
            ]}
            value={values.kind}
            onChange={(kind) => setValues({ ...values, kind: kind as CalculationFormValues["kind"] })}
          />
          {values.kind === "expression" ? (
            <Textarea
              label="SQL expression"
              description="Over this model's fields, e.g. first_name || ' ' || last_name"
              autosize
              minRows={2}
              ff="monospace"
              value={values.expression}
              onChange={(event) => setValues({ ...values, expression: event.currentTarget.value })}
            />
          ) : (
            <>
              <Select
                label="Relationship"
                data={relationships.map((relationship) => relationship.name)}
                value={values.relationship || null}
                onChange={(relationship) => setValues({ ...values, relationship: relationship ?? "" })}
              />
              <Group grow>
                <Select label="Function" data={AGGREGATES} value={values.function} allowDeselect={false} onChange={(fn) => setValues({ ...values, function: fn ?? "count" })} />
                <TextInput
                  label="Field of the related model"
                  disabled={values.function === "count"}
                  value={values.field}
                  onChange={(event) => setValues({ ...values, field: event.currentTarget.value })}
                  placeholder={values.function === "count" ? "counts rows" : "total"}
                />
              </Group>
              <TextInput label="Only related rows where (optional)" ff="monospace" value={values.filter} onChange={(event) => setValues({ ...values, filter: event.currentTarget.value })} placeholder="status = 'completed'" />
            </>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={add.isPending} disabled={!ready}>
              Add field
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** "Check against source": compares the fields with the source's columns now and offers repairs. */
export function SchemaCheckPanel({ model, canEdit }: { model: Model; canEdit: boolean }) {
  const invalidate = useInvalidateModel();
  const update = useUpdateField(model);
  const check = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/models/{model_id}/schema-check", { params: { path: { model_id: model.id } } })),
    onSuccess: async (result: SchemaCheck) => {
      await invalidate();
      if (!result.broken_fields.length) notifySuccess("Every field matches the source.");
    },
    onError: (error) => notifyError(error, "The schema check failed"),
  });
  const result = check.data;
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <Button size="xs" variant="default" leftSection={<IconRefresh size={14} />} loading={check.isPending} onClick={() => check.mutate()}>
          Check against source
        </Button>
        {result && !result.broken_fields.length ? (
          <Text size="xs" c="teal" data-testid="schema-check-ok">
            <IconCheck size={12} /> every field matches the source
          </Text>
        ) : null}
      </Group>
      {result?.broken_fields.length ? (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} title="Drift found" data-testid="schema-check-result">
          <Stack gap={6}>
            {result.broken_fields.map((broken) => (
              <Group key={broken.field} gap="sm" justify="space-between" wrap="nowrap">
                <Text size="sm">
                  <b>{broken.field}</b>: {broken.reason}
                </Text>
                {canEdit && broken.suggestion ? (
                  <Button
                    size="xs"
                    color="red"
                    variant="light"
                    loading={update.isPending}
                    onClick={() => update.mutate({ field: broken.field, changes: { column: broken.suggestion } }, { onSuccess: () => check.mutate() })}
                  >
                    Relink to {broken.suggestion}
                  </Button>
                ) : null}
              </Group>
            ))}
            {result.affected.length ? (
              <Text size="sm" c="dimmed">
                Also affected: {result.affected.map((usage) => `${usage.kind} ${usage.name}`).join(", ")}.
              </Text>
            ) : null}
          </Stack>
        </Alert>
      ) : null}
    </Stack>
  );
}
