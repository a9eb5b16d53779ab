import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import type { components } from "../../api/schema";
import { GraphSchedule, graphSchedule } from "./GraphSchedule";

type Graph = components["schemas"]["IdentityGraphOut"];

const graph = {
  id: "g1",
  name: "People",
  slug: "g1",
  description: "",
  source_id: "s1",
  spec: { identifiers: [{ name: "email" }], inputs: [{ model: "users", identifiers: { email: ["email"] } }], rules: [{ name: "email", identifiers: ["email"] }] },
  schema_name: "sluice",
  model_id: null,
  schedule: { kind: "interval", hours: 6 },
  next_run_at: "2026-12-04T18:00:00Z",
  created_at: "2026-12-04T10:00:00Z",
  updated_at: "2026-12-04T10:00:00Z",
} as unknown as Graph;

function renderSchedule(canWrite: boolean, value: Graph = graph) {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MantineProvider>
        <GraphSchedule graph={value} canWrite={canWrite} />
      </MantineProvider>
    </QueryClientProvider>,
  );
}

describe("GraphSchedule", () => {
  it("reads a graph without a schedule as manual", () => {
    expect(graphSchedule({ schedule: null })).toEqual({ kind: "manual" });
  });

  it("shows readers when the graph runs, without an editor", () => {
    renderSchedule(false);
    expect(screen.getByText(/6 hours/i)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Save schedule" })).toBeNull();
  });

  it("saves only a changed, valid schedule and tells when the next run is", async () => {
    renderSchedule(true);
    const save = screen.getByRole("button", { name: "Save schedule" });
    expect(save).toBeDisabled();
    expect(screen.getByText(/Next run:/)).toBeInTheDocument();
    const every = screen.getByLabelText("Every");
    await userEvent.clear(every);
    await userEvent.type(every, "2");
    expect(save).toBeEnabled();
  });
});
