/**
 * The visual condition builder: nested and/or groups of property, relation, event and segment
 * conditions. Edits go through the pure functions of `conditionTree.ts`; per-condition counts of
 * the live preview show beside each condition.
 */
import { ActionIcon, Badge, Button, Group as Row, Menu, MultiSelect, NumberInput, Paper, SegmentedControl, Select, Stack, Switch, Text, TextInput, Tooltip } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconBoxMultiple, IconDots, IconPlus, IconTrash } from "@tabler/icons-react";
import { createContext, useContext } from "react";

import { formatCount } from "../../format";
import { useCategoricalValues, useModel, useRelationships, type ModelField } from "../models/modelsApi";
import {
  addTo,
  emptyGroup,
  isGroup,
  missingPart,
  moveAt,
  OPERATOR_LABELS,
  operandShape,
  operatorsFor,
  pathKey,
  propertyCondition,
  removeAt,
  updateAt,
  withOperator,
  wrapInGroup,
  type Condition,
  type EventCondition,
  type Group,
  type Path,
  type PropertyCondition,
  type RelationCondition,
  type SegmentCondition,
} from "./conditionTree";

export interface BuilderContextValue {
  /** Count of rows matching the condition at an original path key, when the preview has it. */
  countAt: (key: string) => number | undefined;
  segments: { id: string; name: string }[];
  /** The segment being edited (cannot refer to itself). */
  selfId?: string;
}

export const BuilderContext = createContext<BuilderContextValue>({ countAt: () => undefined, segments: [] });

interface GroupEditorProps {
  root: Group;
  onChange: (root: Group) => void;
  modelId: string;
  /** Where this group sits in the top-level tree (for counts); null inside relation/event filters. */
  countPath: Path | null;
  /** Path of this group inside `root`. */
  path?: Path;
  depth?: number;
}

/** A group and everything in it. `root` is the tree the paths are relative to. */
export function GroupEditor({ root, onChange, modelId, countPath, path = [], depth = 0 }: GroupEditorProps) {
  const group = (path.length ? getGroup(root, path) : root) as Group;
  const model = useModel(modelId);
  const fields = (model.data?.fields ?? []).filter((field) => !field.broken_reason);
  const children = (group.conditions ?? []) as Condition[];
  const add = (node: Condition) => onChange(addTo(root, path, node));
  const setGroup = (patch: Partial<Group>) => onChange(updateAt(root, path, (node) => ({ ...node, ...patch }) as Condition));
  return (
    <Paper
      withBorder
      radius="md"
      p="sm"
      data-testid={`group-${path.join("-") || "root"}`}
      style={{ borderLeft: `4px solid var(--mantine-color-${group.op === "and" ? "blue" : "grape"}-5)`, background: depth % 2 ? "var(--mantine-color-gray-0)" : undefined }}
    >
      <Row justify="space-between" mb={children.length ? "xs" : 0}>
        <Row gap="xs">
          <Text size="sm">{group.negate ? "Exclude rows matching" : "Rows matching"}</Text>
          <SegmentedControl
            size="xs"
            aria-label="Match all or any"
            data={[
              { value: "and", label: "all of" },
              { value: "or", label: "any of" },
            ]}
            value={group.op ?? "and"}
            onChange={(op) => setGroup({ op: op as "and" | "or" })}
          />
          <Text size="sm">these conditions</Text>
        </Row>
        {path.length ? <NodeMenu root={root} path={path} onChange={onChange} negate={group.negate ?? false} /> : null}
      </Row>
      <Stack gap="xs">
        {children.map((child, index) => {
          const childPath = [...path, index];
          const childCountPath = countPath ? [...countPath, index] : null;
          return isGroup(child) ? (
            <GroupEditor key={index} root={root} onChange={onChange} modelId={modelId} path={childPath} countPath={childCountPath} depth={depth + 1} />
          ) : (
            <ConditionRow key={index} root={root} onChange={onChange} path={childPath} countPath={childCountPath} node={child} modelId={modelId} fields={fields} />
          );
        })}
      </Stack>
      <AddButtons
        modelId={modelId}
        fields={fields}
        onAdd={add}
        empty={!children.length}
      />
    </Paper>
  );
}

function getGroup(root: Group, path: Path): Group {
  let node: Condition = root;
  for (const index of path) node = ((node as Group).conditions ?? [])[index] as Condition;
  return node as Group;
}

function AddButtons({ modelId, fields, onAdd, empty }: { modelId: string; fields: ModelField[]; onAdd: (node: Condition) => void; empty: boolean }) {
  const relationships = useRelationships(modelId);
  const first = fields[0];
  const firstRelationship = relationships.data?.[0];
  const { segments, selfId } = useContext(BuilderContext);
  return (
    <Row gap={6} mt="xs">
      {empty ? (
        <Text size="xs" c="dimmed" mr="xs">
          No conditions yet: every row matches.
        </Text>
      ) : null}
      <Button size="compact-xs" variant="light" leftSection={<IconPlus size={12} />} disabled={!first} onClick={() => first && onAdd(propertyCondition(first.name, first.type, first.categorical))}>
        Property
      </Button>
      <Button
        size="compact-xs"
        variant="light"
        leftSection={<IconPlus size={12} />}
        disabled={!firstRelationship}
        onClick={() => firstRelationship && onAdd({ kind: "relation", path: [firstRelationship.name], where: emptyGroup(), negate: false })}
      >
        Relation
      </Button>
      <Button
        size="compact-xs"
        variant="light"
        leftSection={<IconPlus size={12} />}
        disabled={!firstRelationship}
        onClick={() =>
          firstRelationship &&
          onAdd({ kind: "event", relationship: eventRelationship(relationships.data ?? [])?.name ?? firstRelationship.name, frequency: { operator: "at_least", count: 1 }, where: emptyGroup(), negate: false })
        }
      >
        Event
      </Button>
      <Button
        size="compact-xs"
        variant="light"
        leftSection={<IconPlus size={12} />}
        disabled={!segments.some((segment) => segment.id !== selfId)}
        onClick={() => onAdd({ kind: "segment", segment_id: segments.find((segment) => segment.id !== selfId)?.id ?? "", negate: false })}
      >
        Segment
      </Button>
      <Button size="compact-xs" variant="subtle" leftSection={<IconBoxMultiple size={12} />} onClick={() => onAdd(emptyGroup("or"))}>
        Group
      </Button>
    </Row>
  );
}

function eventRelationship(relationships: { name: string }[]) {
  return relationships.find((relationship) => /event/i.test(relationship.name));
}

function NodeMenu({ root, path, onChange, negate }: { root: Group; path: Path; onChange: (root: Group) => void; negate: boolean }) {
  return (
    <Row gap={4} wrap="nowrap">
      <Switch
        size="xs"
        label="not"
        checked={negate}
        onChange={(event) => {
          const checked = event.currentTarget.checked;
          onChange(updateAt(root, path, (node) => ({ ...node, negate: checked }) as Condition));
        }}
        aria-label="Negate this condition"
      />
      <Menu position="bottom-end" withinPortal>
        <Menu.Target>
          <ActionIcon variant="subtle" color="gray" aria-label="Condition actions">
            <IconDots size={16} />
          </ActionIcon>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Item leftSection={<IconArrowUp size={14} />} onClick={() => onChange(moveAt(root, path, -1))}>
            Move up
          </Menu.Item>
          <Menu.Item leftSection={<IconArrowDown size={14} />} onClick={() => onChange(moveAt(root, path, 1))}>
            Move down
          </Menu.Item>
          <Menu.Item leftSection={<IconBoxMultiple size={14} />} onClick={() => onChange(wrapInGroup(root, path))}>
            Wrap in a group
          </Menu.Item>
          <Menu.Item color="red" leftSection={<IconTrash size={14} />} onClick={() => onChange(removeAt(root, path))}>
            Remove
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
    </Row>
  );
}

interface ConditionRowProps {
  root: Group;
  onChange: (root: Group) => void;
  path: Path;
  countPath: Path | null;
  node: Condition;
  modelId: string;
  fields: ModelField[];
}

function ConditionRow({ root, onChange, path, countPath, node, modelId, fields }: ConditionRowProps) {
  const { countAt } = useContext(BuilderContext);
  const replace = (next: Condition) => onChange(updateAt(root, path, () => next));
  const missing = missingPart(node);
  const count = countPath ? countAt(pathKey(countPath)) : undefined;
  return (
    <Paper withBorder radius="sm" p="xs" data-testid={`condition-${path.join("-")}`}>
      <Row justify="space-between" align="flex-start" wrap="nowrap" gap="xs">
        <Stack gap={6} style={{ flex: 1 }}>
          {node.kind === "property" ? <PropertyEditor node={node} fields={fields} modelId={modelId} onChange={replace} /> : null}
          {node.kind === "relation" ? <RelationEditor node={node} modelId={modelId} onChange={replace} /> : null}
          {node.kind === "event" ? <EventEditor node={node} modelId={modelId} onChange={replace} /> : null}
          {node.kind === "segment" ? <SegmentEditor node={node} onChange={replace} /> : null}
          {missing ? (
            <Text size="xs" c="orange">
              To count this condition: {missing}.
            </Text>
          ) : null}
        </Stack>
        <Row gap={6} wrap="nowrap">
          {count !== undefined ? (
            <Tooltip label="Rows of the model matching this condition on its own" withArrow>
              <Badge variant="light" color="gray" data-testid="condition-count">
                {formatCount(count)}
              </Badge>
            </Tooltip>
          ) : null}
          <NodeMenu root={root} path={path} onChange={onChange} negate={node.negate ?? false} />
        </Row>
      </Row>
    </Paper>
  );
}

function fieldOptions(fields: ModelField[]) {
  return fields.map((field) => ({ value: field.name, label: `${field.name} · ${field.type}` }));
}

function PropertyEditor({ node, fields, modelId, onChange }: { node: PropertyCondition; fields: ModelField[]; modelId: string; onChange: (node: Condition) => void }) {
  const field = fields.find((candidate) => candidate.name === node.field);
  const operators = operatorsFor(field?.type, field?.categorical);
  const shape = operandShape(node.operator);
  return (
    <Row gap="xs" wrap="wrap">
      <Select
        aria-label="Field"
        size="xs"
        w={200}
        searchable
        data={fieldOptions(fields)}
        value={node.field}
        allowDeselect={false}
        onChange={(name) => {
          const chosen = fields.find((candidate) => candidate.name === name);
          if (chosen) onChange({ ...propertyCondition(chosen.name, chosen.type, chosen.categorical), negate: node.negate });
        }}
      />
      <Select
        aria-label="Operator"
        size="xs"
        w={180}
        data={operators.map((operator) => ({ value: operator, label: OPERATOR_LABELS[operator] }))}
        value={node.operator}
        allowDeselect={false}
        onChange={(operator) => operator && onChange(withOperator(node, operator as PropertyCondition["operator"]))}
      />
      <Operand node={node} field={field} modelId={modelId} shape={shape} onChange={onChange} />
    </Row>
  );
}

function parseScalar(text: string, type: string | undefined): string | number | boolean {
  if (type === "integer" || type === "float" || type === "decimal") {
    const number = Number(text);
    return text.trim() !== "" && Number.isFinite(number) ? number : text;
  }
  if (type === "boolean") return text === "true";
  return text;
}

function Operand({ node, field, modelId, shape, onChange }: { node: PropertyCondition; field?: ModelField; modelId: string; shape: ReturnType<typeof operandShape>; onChange: (node: Condition) => void }) {
  const values = useCategoricalValues(modelId, field?.name, Boolean(field?.categorical) && (shape === "list" || shape === "single"));
  const options = (values.data?.values ?? []).map((entry) => ({ value: String(entry.value), label: `${String(entry.value)} (${formatCount(entry.count)})` }));
  const type = field?.type;
  const inputType = type === "date" ? "date" : type === "timestamp" ? "datetime-local" : "text";
  if (shape === "none") return null;
  if (shape === "days") {
    return (
      <Row gap={6}>
        <NumberInput aria-label="Days" size="xs" w={90} min={0} value={node.days ?? ""} onChange={(days) => onChange({ ...node, days: typeof days === "number" ? days : null })} />
        <Text size="sm">{node.operator === "more_than_days_ago" ? "days ago" : "days"}</Text>
      </Row>
    );
  }
  if (type === "boolean" && shape === "single") {
    return (
      <Select aria-label="Value" size="xs" w={110} data={["true", "false"]} value={node.value === undefined || node.value === null ? null : String(node.value)} onChange={(text) => onChange({ ...node, value: text === "true" })} />
    );
  }
  if (shape === "list") {
    return field?.categorical ? (
      <MultiSelect
        aria-label="Values"
        size="xs"
        miw={220}
        searchable
        data={mergeOptions(options, node.values)}
        value={(node.values ?? []).map(String)}
        onChange={(picked) => onChange({ ...node, values: picked.map((text) => parseScalar(text, type)) })}
        placeholder={values.isLoading ? "Loading values…" : "Pick values"}
      />
    ) : (
      <TextInput
        aria-label="Values"
        size="xs"
        w={240}
        placeholder="Comma-separated values"
        value={(node.values ?? []).join(", ")}
        onChange={(event) =>
          onChange({
            ...node,
            values: event.currentTarget.value
              .split(",")
              .map((text) => text.trim())
              .filter(Boolean)
              .map((text) => parseScalar(text, type)),
          })
        }
      />
    );
  }
  if (shape === "range") {
    const [low, high] = node.values ?? ["", ""];
    return (
      <Row gap={6}>
        <TextInput aria-label="From" size="xs" w={140} type={inputType} value={String(low ?? "")} onChange={(event) => onChange({ ...node, values: [parseScalar(event.currentTarget.value, type), high ?? ""] })} />
        <Text size="sm">and</Text>
        <TextInput aria-label="To" size="xs" w={140} type={inputType} value={String(high ?? "")} onChange={(event) => onChange({ ...node, values: [low ?? "", parseScalar(event.currentTarget.value, type)] })} />
      </Row>
    );
  }
  if (field?.categorical && options.length) {
    return <Select aria-label="Value" size="xs" w={200} searchable data={mergeOptions(options, node.value === undefined || node.value === null ? [] : [node.value])} value={node.value === undefined || node.value === null ? null : String(node.value)} onChange={(text) => onChange({ ...node, value: text === null ? null : parseScalar(text, type) })} />;
  }
  return (
    <TextInput
      aria-label="Value"
      size="xs"
      w={200}
      type={inputType}
      value={node.value === undefined || node.value === null ? "" : String(node.value)}
      onChange={(event) => onChange({ ...node, value: event.currentTarget.value === "" ? null : parseScalar(event.currentTarget.value, type) })}
    />
  );
}

function mergeOptions(options: { value: string; label: string }[], chosen: unknown[] | null | undefined) {
  const known = new Set(options.map((option) => option.value));
  const extra = (chosen ?? []).map(String).filter((value) => !known.has(value)).map((value) => ({ value, label: value }));
  return [...options, ...extra];
}

function useTarget(modelId: string, relationshipName: string | undefined) {
  const relationships = useRelationships(modelId);
  const relationship = relationships.data?.find((candidate) => candidate.name === relationshipName);
  return { relationships: relationships.data ?? [], targetModelId: relationship ? (relationship.from_model_id === modelId ? relationship.to_model_id : relationship.from_model_id) : undefined };
}

function RelationEditor({ node, modelId, onChange }: { node: RelationCondition; modelId: string; onChange: (node: Condition) => void }) {
  const first = node.path?.[0];
  const { relationships, targetModelId } = useTarget(modelId, first);
  const where = (node.where ?? emptyGroup()) as Group;
  const aggregate = node.aggregate;
  const target = useModel(targetModelId);
  const numeric = (target.data?.fields ?? []).filter((field) => ["integer", "float", "decimal"].includes(field.type));
  return (
    <Stack gap={6}>
      <Row gap="xs">
        <Text size="sm">{node.negate ? "Has no" : "Has"}</Text>
        <Select aria-label="Relationship" size="xs" w={200} data={relationships.map((relationship) => relationship.name)} value={first ?? null} allowDeselect={false} onChange={(name) => name && onChange({ ...node, path: [name], where: emptyGroup(), aggregate: null })} />
        <Select
          aria-label="Measure"
          size="xs"
          w={150}
          data={[
            { value: "exists", label: "at least one" },
            { value: "count", label: "count" },
            { value: "sum", label: "sum of" },
            { value: "avg", label: "average of" },
            { value: "min", label: "minimum of" },
            { value: "max", label: "maximum of" },
          ]}
          value={aggregate?.function ?? "exists"}
          allowDeselect={false}
          onChange={(choice) =>
            onChange({
              ...node,
              aggregate:
                choice === "exists" || !choice
                  ? null
                  : { function: choice as "count", field: choice === "count" ? null : (aggregate?.field ?? numeric[0]?.name ?? null), operator: aggregate?.operator ?? "gte", value: aggregate?.value ?? 1 },
            })
          }
        />
        {aggregate && aggregate.function !== "count" ? (
          <Select aria-label="Aggregated field" size="xs" w={160} data={numeric.map((field) => field.name)} value={aggregate.field ?? null} onChange={(name) => onChange({ ...node, aggregate: { ...aggregate, field: name } })} />
        ) : null}
        {aggregate ? (
          <>
            <Select
              aria-label="Comparison"
              size="xs"
              w={90}
              data={[
                { value: "gte", label: "≥" },
                { value: "gt", label: ">" },
                { value: "equals", label: "=" },
                { value: "lte", label: "≤" },
                { value: "lt", label: "<" },
              ]}
              value={aggregate.operator}
              allowDeselect={false}
              onChange={(operator) => operator && onChange({ ...node, aggregate: { ...aggregate, operator: operator as "gte" } })}
            />
            <NumberInput aria-label="Amount" size="xs" w={100} value={aggregate.value ?? ""} onChange={(value) => onChange({ ...node, aggregate: { ...aggregate, value: typeof value === "number" ? value : null } })} />
          </>
        ) : null}
      </Row>
      {targetModelId ? (
        <Filter label="where the related rows" where={where} modelId={targetModelId} onChange={(next) => onChange({ ...node, where: next })} />
      ) : null}
    </Stack>
  );
}

function EventEditor({ node, modelId, onChange }: { node: EventCondition; modelId: string; onChange: (node: Condition) => void }) {
  const { relationships, targetModelId } = useTarget(modelId, node.relationship);
  const eventModel = useModel(targetModelId);
  const nameField = eventModel.data?.fields.find((field) => field.name === "event_name" || field.meaning === "event_name");
  const names = useCategoricalValues(targetModelId, nameField?.name, Boolean(nameField));
  const frequency = node.frequency ?? { operator: "at_least", count: 1 };
  const window = node.window && node.window.kind === "last_days" ? node.window : null;
  return (
    <Stack gap={6}>
      <Row gap="xs">
        <Text size="sm">{node.negate ? "Did not perform" : "Performed"}</Text>
        {nameField && names.data?.values.length ? (
          <Select aria-label="Event" size="xs" w={170} searchable data={names.data.values.map((entry) => String(entry.value))} value={node.event_name ?? null} onChange={(name) => onChange({ ...node, event_name: name })} placeholder="any event" clearable />
        ) : (
          <TextInput aria-label="Event" size="xs" w={170} value={node.event_name ?? ""} placeholder="any event" onChange={(event) => onChange({ ...node, event_name: event.currentTarget.value || null })} />
        )}
        <Text size="sm">in</Text>
        <Select aria-label="Events model" size="xs" w={140} data={relationships.map((relationship) => relationship.name)} value={node.relationship} allowDeselect={false} onChange={(name) => name && onChange({ ...node, relationship: name, where: emptyGroup() })} />
        <Select
          aria-label="Frequency"
          size="xs"
          w={110}
          data={[
            { value: "at_least", label: "at least" },
            { value: "at_most", label: "at most" },
            { value: "exactly", label: "exactly" },
          ]}
          value={frequency.operator ?? "at_least"}
          allowDeselect={false}
          onChange={(operator) => operator && onChange({ ...node, frequency: { ...frequency, operator: operator as "at_least" } })}
        />
        <NumberInput aria-label="Times" size="xs" w={80} min={0} value={frequency.count ?? 1} onChange={(count) => onChange({ ...node, frequency: { ...frequency, count: typeof count === "number" ? count : 1 } })} />
        <Text size="sm">times</Text>
        <Select
          aria-label="Time window"
          size="xs"
          w={150}
          data={[
            { value: "ever", label: "ever" },
            { value: "7", label: "in the last 7 days" },
            { value: "30", label: "in the last 30 days" },
            { value: "90", label: "in the last 90 days" },
            { value: "365", label: "in the last year" },
          ]}
          value={window ? String(window.days) : "ever"}
          allowDeselect={false}
          onChange={(choice) => onChange({ ...node, window: !choice || choice === "ever" ? null : { kind: "last_days", days: Number(choice) } })}
        />
      </Row>
      {targetModelId ? <Filter label="where the event" where={(node.where ?? emptyGroup()) as Group} modelId={targetModelId} onChange={(next) => onChange({ ...node, where: next })} /> : null}
    </Stack>
  );
}

/** A nested filter on a related model (its own tree; counts are not shown inside it). */
function Filter({ label, where, modelId, onChange }: { label: string; where: Group; modelId: string; onChange: (group: Group) => void }) {
  if (!where.conditions?.length) {
    return <FilterStarter label={label} modelId={modelId} onChange={onChange} />;
  }
  return (
    <Stack gap={4}>
      <Text size="xs" c="dimmed">
        {label} match:
      </Text>
      <GroupEditor root={where} onChange={onChange} modelId={modelId} countPath={null} depth={1} />
    </Stack>
  );
}

function FilterStarter({ label, modelId, onChange }: { label: string; modelId: string; onChange: (group: Group) => void }) {
  const model = useModel(modelId);
  const first = model.data?.fields.find((field) => !field.broken_reason);
  return (
    <Row>
      <Button size="compact-xs" variant="subtle" leftSection={<IconPlus size={12} />} disabled={!first} onClick={() => first && onChange(addTo(emptyGroup(), [], propertyCondition(first.name, first.type, first.categorical)))}>
        Add a filter {label}
      </Button>
    </Row>
  );
}

function SegmentEditor({ node, onChange }: { node: SegmentCondition; onChange: (node: Condition) => void }) {
  const { segments, selfId } = useContext(BuilderContext);
  return (
    <Row gap="xs">
      <Text size="sm">{node.negate ? "Is not in segment" : "Is in segment"}</Text>
      <Select
        aria-label="Segment"
        size="xs"
        w={240}
        searchable
        data={segments.filter((segment) => segment.id !== selfId).map((segment) => ({ value: segment.id, label: segment.name }))}
        value={node.segment_id || null}
        onChange={(id) => onChange({ ...node, segment_id: id ?? "" })}
      />
    </Row>
  );
}
