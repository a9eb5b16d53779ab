/**
 * Activation schedules as the API stores them (`{"kind": …}`), a sentence that says when it runs,
 * and a check of what the editor produced. Pure functions, tested.
 */

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

export type Schedule =
  | { kind: "manual" }
  | { kind: "interval"; minutes?: number; hours?: number }
  | { kind: "daily"; at: string; timezone?: string }
  | { kind: "weekly"; days: Weekday[]; at: string; timezone?: string }
  | { kind: "cron"; expression: string; timezone?: string }
  | { kind: "after"; activation_id?: string; remote_segment_id?: string };

export const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES: Record<Weekday, string> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

function plural(count: number, unit: string): string {
  return count === 1 ? `${unit}` : `${count} ${unit}s`;
}

function zone(timezone: string | undefined): string {
  return timezone && timezone !== "UTC" ? ` (${timezone})` : " UTC";
}

function listOf(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function describeDays(days: Weekday[]): string {
  const set = new Set(days);
  const ordered = WEEKDAYS.filter((day) => set.has(day));
  if (ordered.length === 7) return "every day";
  if (ordered.length === 5 && !set.has("sat") && !set.has("sun")) return "on weekdays";
  if (ordered.length === 2 && set.has("sat") && set.has("sun")) return "on weekends";
  return `on ${listOf(ordered.map((day) => DAY_NAMES[day]))}`;
}

/** One sentence that says when the activation runs. */
export function describeSchedule(schedule: Partial<Schedule> | Record<string, unknown> | null | undefined, activationName?: (id: string) => string): string {
  const value = (schedule ?? { kind: "manual" }) as Record<string, unknown>;
  switch (value.kind) {
    case "manual":
    case undefined:
      return "Manually, when someone presses Run now";
    case "interval": {
      if (typeof value.hours === "number") return `Every ${plural(value.hours, "hour")}`;
      if (typeof value.minutes === "number") {
        if (value.minutes % 60 === 0) return `Every ${plural(value.minutes / 60, "hour")}`;
        return `Every ${plural(value.minutes, "minute")}`;
      }
      if (typeof value.seconds === "number") return `Every ${plural(value.seconds, "second")}`;
      return "At an interval";
    }
    case "daily":
      return `Every day at ${String(value.at)}${zone(value.timezone as string | undefined)}`;
    case "weekly": {
      const days = describeDays((value.days as Weekday[] | undefined) ?? []);
      return `${days.charAt(0).toUpperCase()}${days.slice(1)} at ${String(value.at)}${zone(value.timezone as string | undefined)}`;
    }
    case "cron":
      return `On cron schedule “${String(value.expression)}”${zone(value.timezone as string | undefined)}`;
    case "after":
      if (typeof value.activation_id === "string") {
        return `After “${activationName ? activationName(value.activation_id) : value.activation_id}” succeeds`;
      }
      return "After its remote segment refreshes";
    default:
      return `Schedule “${String(value.kind)}”`;
  }
}

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** What is wrong with a schedule the editor built, or null when the API will accept it. */
export function scheduleProblem(schedule: Schedule): string | null {
  switch (schedule.kind) {
    case "interval": {
      const given = [schedule.minutes, schedule.hours].filter((value) => value !== undefined);
      if (given.length !== 1) return "Give the interval in minutes or in hours";
      const value = given[0] as number;
      if (!Number.isInteger(value) || value < 1) return "The interval must be a whole number of at least 1";
      if (schedule.minutes !== undefined && schedule.minutes > 7 * 24 * 60) return "The interval can be at most a week";
      if (schedule.hours !== undefined && schedule.hours > 7 * 24) return "The interval can be at most a week";
      return null;
    }
    case "daily":
      return TIME_OF_DAY.test(schedule.at) ? null : "Give the time of day as HH:MM (24 h)";
    case "weekly":
      if (!schedule.days.length) return "Pick at least one day";
      return TIME_OF_DAY.test(schedule.at) ? null : "Give the time of day as HH:MM (24 h)";
    case "cron":
      return schedule.expression.trim().split(/\s+/).length === 5 ? null : "A cron expression has five fields: minute hour day month weekday";
    case "after":
      return schedule.activation_id || schedule.remote_segment_id ? null : "Pick the activation to follow";
    default:
      return null;
  }
}
