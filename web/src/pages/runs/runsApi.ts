/** Queries of runs and activations shared by the run and activation pages. */
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { isActive } from "./runStatus";

export type Run = components["schemas"]["RunOut"];
export type RunSummary = components["schemas"]["RunSummary"];
export type Activation = components["schemas"]["ActivationOut"];
export type Outcome = components["schemas"]["OutcomeOut"];

/** While a run is queued or running its page refreshes this often (ms). */
export const LIVE_REFRESH_MS = 1500;

export function useActivations() {
  return useQuery({
    queryKey: ["activations"],
    queryFn: async () => unwrap(await api.GET("/api/v1/activations", { params: { query: { limit: 500 } } })).items,
  });
}

export function useActivationNames(): (id: string) => string {
  const activations = useActivations();
  return (id) => activations.data?.find((activation) => activation.id === id)?.name ?? id;
}

export function useRuns(state: string | null) {
  return useQuery({
    queryKey: ["runs", state],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/runs", { params: { query: { limit: 100, ...(state ? { state: state as components["schemas"]["RunState"] } : {}) } } })).items,
    refetchInterval: (query) => (query.state.data?.some((run) => isActive(run.state)) ? LIVE_REFRESH_MS * 2 : false),
  });
}

export function useRun(runId: string) {
  return useQuery({
    queryKey: ["runs", "one", runId],
    queryFn: async () => unwrap(await api.GET("/api/v1/runs/{run_id}", { params: { path: { run_id: runId } } })),
    refetchInterval: (query) => (isActive(query.state.data?.state) ? LIVE_REFRESH_MS : false),
  });
}

export function useOutcomes(runId: string, status: string | null, enabled: boolean) {
  return useQuery({
    queryKey: ["runs", "outcomes", runId, status],
    enabled,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/runs/{run_id}/outcomes", {
          params: { path: { run_id: runId }, query: { limit: 500, ...(status ? { status } : {}) } },
        }),
      ),
  });
}
