/** Rows of model field → destination field, with each row's problem shown where it is. */
import { ActionIcon, Button, Group, Select, Stack, Text, TextInput } from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";

import { addRow, mappingProblems, removeRow, updateRow, type MappingRow } from "./mapping";

export function MappingEditor({
  rows,
  onChange,
  fieldOptions,
  identifierField,
  disabled,
}: {
  rows: MappingRow[];
  onChange: (rows: MappingRow[]) => void;
  fieldOptions: { value: string; label: string }[];
  identifierField?: string;
  disabled?: boolean;
}) {
  const problems = mappingProblems(rows, identifierField);
  return (
    <Stack gap={6} data-testid="mapping-editor">
      {rows.map((row, index) => (
        <Group key={index} gap="xs" align="flex-start">
          <Select aria-label="Model field" w={240} searchable data={fieldOptions} value={row.source || null} onChange={(source) => onChange(updateRow(rows, index, { source: source ?? "" }))} error={problems[index] && !row.source ? problems[index] : undefined} />
          <Text mt={6}>→</Text>
          <TextInput aria-label="Destination field" w={240} placeholder="e.g. FNAME" value={row.destination} onChange={(event) => onChange(updateRow(rows, index, { destination: event.currentTarget.value }))} error={row.source ? problems[index] : undefined} />
          <ActionIcon variant="subtle" color="gray" mt={4} aria-label="Remove mapping" onClick={() => onChange(removeRow(rows, index))}>
            <IconTrash size={16} />
          </ActionIcon>
        </Group>
      ))}
      <Group>
        <Button size="xs" variant="light" leftSection={<IconPlus size={14} />} onClick={() => onChange(addRow(rows))} disabled={disabled}>
          Map a field
        </Button>
      </Group>
    </Stack>
  );
}
