/** When an identity graph runs by itself: the activations' schedule editor, saved on the graph. */
import { Button, Group, Stack, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { notifyError, notifySuccess } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { describeSchedule, scheduleProblem, type Schedule } from "../activations/schedule";
import { ScheduleEditor } from "../activations/ScheduleEditor";

type Graph = components["schemas"]["IdentityGraphOut"];

/** The graph's stored schedule, manual when it has none. */
export function graphSchedule(graph: Pick<Graph, "schedule">): Schedule {
  return (graph.schedule ?? { kind: "manual" }) as Schedule;
}

export function GraphSchedule({ graph, canWrite }: { graph: Graph; canWrite: boolean }) {
  const client = useQueryClient();
  const [schedule, setSchedule] = useState<Schedule>(graphSchedule(graph));
  const changed = JSON.stringify(schedule) !== JSON.stringify(graphSchedule(graph));
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/identity-graphs/{graph_id}", {
          params: { path: { graph_id: graph.id } },
          body: { schedule: schedule as Record<string, unknown> },
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["identity-graphs"] });
      notifySuccess("Schedule saved.");
    },
    onError: (error) => notifyError(error, "The schedule was not saved"),
  });
  if (!canWrite) {
    return <Text size="sm">{describeSchedule(graphSchedule(graph))}</Text>;
  }
  return (
    <Stack gap="xs">
      <ScheduleEditor value={schedule} onChange={setSchedule} />
      <Text size="xs" c="dimmed">
        A scheduled run whose inputs did not change since the last run is recorded as skipped and recomputes nothing.
        {graph.next_run_at ? ` Next run: ${formatDateTime(graph.next_run_at)}.` : ""}
      </Text>
      <Group>
        <Button onClick={() => save.mutate()} loading={save.isPending} disabled={!changed || scheduleProblem(schedule) !== null}>
          Save schedule
        </Button>
      </Group>
    </Stack>
  );
}
