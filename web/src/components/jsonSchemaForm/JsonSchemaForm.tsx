/**
 * A form rendered from a JSON Schema (see `schema.ts` for the model). Sources and destinations use it
 * for their typed configs. Secrets are write-only: a stored secret shows a "set" badge and an empty
 * input whose placeholder says typing replaces it; its value is never shown.
 */
import {
  Badge,
  Fieldset,
  Group,
  JsonInput,
  NumberInput,
  PasswordInput,
  Select,
  Stack,
  Switch,
  TagsInput,
  Textarea,
  TextInput,
} from "@mantine/core";

import type { FieldSpec, FormErrors, FormValues } from "./schema";

export interface JsonSchemaFormProps {
  fields: FieldSpec[];
  values: FormValues;
  onChange: (values: FormValues) => void;
  errors?: FormErrors;
  /** Secrets already stored on the server. */
  secretsSet?: string[];
  disabled?: boolean;
  /** Prefix for input ids and error paths of nested objects. */
  path?: string;
}

export function JsonSchemaForm({ fields, values, onChange, errors = {}, secretsSet = [], disabled, path = "" }: JsonSchemaFormProps) {
  const set = (name: string, value: unknown) => onChange({ ...values, [name]: value });
  return (
    <Stack gap="sm">
      {fields.map((field) => (
        <FieldInput
          key={field.name}
          field={field}
          value={values[field.name]}
          onChange={(value) => set(field.name, value)}
          errors={errors}
          secretSet={secretsSet.includes(field.name)}
          disabled={disabled}
          path={path + field.name}
        />
      ))}
    </Stack>
  );
}

interface FieldInputProps {
  field: FieldSpec;
  value: unknown;
  onChange: (value: unknown) => void;
  errors: FormErrors;
  secretSet: boolean;
  disabled?: boolean;
  path: string;
}

function FieldInput({ field, value, onChange, errors, secretSet, disabled, path }: FieldInputProps) {
  const common = {
    id: `field-${path}`,
    label: field.label,
    description: field.description,
    error: errors[path],
    withAsterisk: field.required && !(field.kind === "secret" && secretSet),
    disabled,
  };
  switch (field.kind) {
    case "secret":
      return (
        <PasswordInput
          {...common}
          label={
            <Group gap={6} component="span" wrap="nowrap">
              <span>{field.label}</span>
              {secretSet ? (
                <Badge size="xs" color="teal" variant="light" data-testid={`secret-set-${path}`}>
                  set
                </Badge>
              ) : null}
            </Group>
          }
          autoComplete="new-password"
          placeholder={secretSet ? "Stored — type a new value to replace it" : "Not set"}
          value={String(value ?? "")}
          onChange={(event) => onChange(event.currentTarget.value)}
        />
      );
    case "integer":
    case "number":
      return (
        <NumberInput
          {...common}
          value={value === "" || value === null || value === undefined ? "" : Number(value)}
          onChange={(next) => onChange(next)}
          min={field.minimum}
          max={field.maximum}
          allowDecimal={field.kind === "number"}
          placeholder={field.default !== undefined && field.default !== null ? String(field.default) : undefined}
        />
      );
    case "boolean":
      return (
        <Switch
          id={common.id}
          label={field.label}
          description={field.description}
          error={common.error}
          disabled={disabled}
          checked={Boolean(value)}
          onChange={(event) => onChange(event.currentTarget.checked)}
        />
      );
    case "enum":
      return (
        <Select
          {...common}
          data={field.options ?? []}
          value={value === "" || value === null || value === undefined ? null : String(value)}
          onChange={(next) => onChange(next ?? "")}
          clearable={!field.required}
          allowDeselect={!field.required}
        />
      );
    case "list":
      return (
        <TagsInput
          {...common}
          value={(value as string[] | undefined) ?? []}
          onChange={(next) => onChange(next)}
          placeholder="Type a value and press Enter"
        />
      );
    case "object":
      return (
        <Fieldset legend={field.label}>
          <JsonSchemaForm
            fields={field.fields ?? []}
            values={(value ?? {}) as FormValues}
            onChange={onChange}
            errors={errors}
            disabled={disabled}
            path={`${path}.`}
          />
        </Fieldset>
      );
    case "json":
      return (
        <JsonInput
          {...common}
          value={String(value ?? "")}
          onChange={(next) => onChange(next)}
          autosize
          minRows={3}
          formatOnBlur
        />
      );
    case "text":
      return <Textarea {...common} value={String(value ?? "")} onChange={(event) => onChange(event.currentTarget.value)} autosize minRows={3} />;
    default:
      return (
        <TextInput
          {...common}
          value={String(value ?? "")}
          onChange={(event) => onChange(event.currentTarget.value)}
          placeholder={field.nullable && !field.required ? "Optional" : undefined}
        />
      );
  }
}
