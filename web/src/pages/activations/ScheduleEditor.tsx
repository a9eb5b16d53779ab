/** Schedule editor: kind, its settings, and the sentence saying when the activation runs. */
import { Chip, Group, NumberInput, Select, Stack, Text, TextInput } from "@mantine/core";

import { describeSchedule, scheduleProblem, WEEKDAYS, type Schedule, type Weekday } from "./schedule";

const KINDS = [
  { value: "manual", label: "Manually" },
  { value: "interval", label: "Every N minutes or hours" },
  { value: "daily", label: "Every day" },
  { value: "weekly", label: "On some weekdays" },
  { value: "cron", label: "Cron expression" },
];

function starting(kind: string): Schedule {
  switch (kind) {
    case "interval":
      return { kind: "interval", minutes: 60 };
    case "daily":
      return { kind: "daily", at: "06:00", timezone: "UTC" };
    case "weekly":
      return { kind: "weekly", days: ["mon"], at: "06:00", timezone: "UTC" };
    case "cron":
      return { kind: "cron", expression: "0 6 * * 1-5", timezone: "UTC" };
    default:
      return { kind: "manual" };
  }
}

export function ScheduleEditor({ value, onChange }: { value: Schedule; onChange: (schedule: Schedule) => void }) {
  const problem = scheduleProblem(value);
  return (
    <Stack gap="xs">
      <Select label="Runs" data={KINDS} value={value.kind} allowDeselect={false} onChange={(kind) => kind && onChange(starting(kind))} w={260} />
      {value.kind === "interval" ? (
        <Group gap="xs" align="flex-end">
          <NumberInput
            label="Every"
            w={110}
            min={1}
            value={value.hours ?? value.minutes ?? ""}
            onChange={(amount) => {
              const number = typeof amount === "number" ? amount : undefined;
              onChange(value.hours !== undefined ? { kind: "interval", hours: number } : { kind: "interval", minutes: number });
            }}
          />
          <Select
            aria-label="Unit"
            w={120}
            data={["minutes", "hours"]}
            value={value.hours !== undefined ? "hours" : "minutes"}
            allowDeselect={false}
            onChange={(unit) => {
              const amount = value.hours ?? value.minutes;
              onChange(unit === "hours" ? { kind: "interval", hours: amount } : { kind: "interval", minutes: amount });
            }}
          />
        </Group>
      ) : null}
      {value.kind === "weekly" ? (
        <Chip.Group multiple value={value.days} onChange={(days) => onChange({ ...value, days: days as Weekday[] })}>
          <Group gap={6}>
            {WEEKDAYS.map((day) => (
              <Chip key={day} value={day} size="xs">
                {day}
              </Chip>
            ))}
          </Group>
        </Chip.Group>
      ) : null}
      {value.kind === "daily" || value.kind === "weekly" ? (
        <Group gap="xs">
          <TextInput label="At (HH:MM)" w={110} value={value.at} onChange={(event) => onChange({ ...value, at: event.currentTarget.value })} />
          <TextInput label="Time zone" w={200} value={value.timezone ?? "UTC"} onChange={(event) => onChange({ ...value, timezone: event.currentTarget.value })} />
        </Group>
      ) : null}
      {value.kind === "cron" ? (
        <Group gap="xs">
          <TextInput label="Cron expression" w={200} value={value.expression} onChange={(event) => onChange({ ...value, expression: event.currentTarget.value })} />
          <TextInput label="Time zone" w={200} value={value.timezone ?? "UTC"} onChange={(event) => onChange({ ...value, timezone: event.currentTarget.value })} />
        </Group>
      ) : null}
      <Text size="sm" c={problem ? "red" : "dimmed"} data-testid="schedule-summary">
        {problem ?? describeSchedule(value)}
      </Text>
    </Stack>
  );
}
