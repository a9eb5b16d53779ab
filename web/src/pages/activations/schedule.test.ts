import { describe, expect, it } from "vitest";

import { describeSchedule, scheduleProblem } from "./schedule";

describe("describeSchedule", () => {
  it("says in words when each kind of schedule runs", () => {
    expect(describeSchedule({ kind: "manual" })).toBe("Manually, when someone presses Run now");
    expect(describeSchedule(null)).toBe("Manually, when someone presses Run now");
    expect(describeSchedule({ kind: "interval", minutes: 15 })).toBe("Every 15 minutes");
    expect(describeSchedule({ kind: "interval", minutes: 120 })).toBe("Every 2 hours");
    expect(describeSchedule({ kind: "interval", hours: 1 })).toBe("Every hour");
    expect(describeSchedule({ kind: "daily", at: "06:30", timezone: "Europe/Stockholm" })).toBe("Every day at 06:30 (Europe/Stockholm)");
    expect(describeSchedule({ kind: "daily", at: "06:30", timezone: "UTC" })).toBe("Every day at 06:30 UTC");
    expect(describeSchedule({ kind: "cron", expression: "0 6 * * 1-5" })).toBe("On cron schedule “0 6 * * 1-5” UTC");
  });

  it("names weekday sets the way people say them", () => {
    expect(describeSchedule({ kind: "weekly", days: ["thu", "mon"], at: "08:00" })).toBe("On Monday and Thursday at 08:00 UTC");
    expect(describeSchedule({ kind: "weekly", days: ["mon", "tue", "wed", "thu", "fri"], at: "08:00" })).toBe("On weekdays at 08:00 UTC");
    expect(describeSchedule({ kind: "weekly", days: ["sat", "sun"], at: "09:00" })).toBe("On weekends at 09:00 UTC");
    expect(describeSchedule({ kind: "weekly", days: ["mon", "wed", "fri"], at: "07:15" })).toBe("On Monday, Wednesday and Friday at 07:15 UTC");
  });

  it("names the activation a chained schedule follows", () => {
    expect(describeSchedule({ kind: "after", activation_id: "A1" }, () => "Nightly CRM sync")).toBe("After “Nightly CRM sync” succeeds");
  });
});

describe("scheduleProblem", () => {
  it("accepts what the API accepts and explains what it would refuse", () => {
    expect(scheduleProblem({ kind: "interval", minutes: 15 })).toBeNull();
    expect(scheduleProblem({ kind: "interval" })).toBe("Give the interval in minutes or in hours");
    expect(scheduleProblem({ kind: "interval", hours: 0 })).toBe("The interval must be a whole number of at least 1");
    expect(scheduleProblem({ kind: "daily", at: "25:00" })).toBe("Give the time of day as HH:MM (24 h)");
    expect(scheduleProblem({ kind: "weekly", days: [], at: "08:00" })).toBe("Pick at least one day");
    expect(scheduleProblem({ kind: "cron", expression: "0 6 * *" })).toMatch(/five fields/);
    expect(scheduleProblem({ kind: "after" })).toBe("Pick the activation to follow");
  });
});
