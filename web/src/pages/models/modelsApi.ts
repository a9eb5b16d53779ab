/** Queries of models, their fields, relationships and categorical values. */
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type Model = components["schemas"]["ModelOut"];
export type ModelField = components["schemas"]["FieldOut"];
export type Relationship = components["schemas"]["RelationshipOut"];

export function useModels() {
  return useQuery({
    queryKey: ["models"],
    queryFn: async () => unwrap(await api.GET("/api/v1/models", { params: { query: { limit: 500 } } })).items,
  });
}

export function useModel(modelId: string | null | undefined) {
  return useQuery({
    queryKey: ["models", modelId],
    enabled: Boolean(modelId),
    queryFn: async () => unwrap(await api.GET("/api/v1/models/{model_id}", { params: { path: { model_id: modelId! } } })),
    staleTime: 60_000,
  });
}

export function useRelationships(modelId: string | null | undefined) {
  return useQuery({
    queryKey: ["models", modelId, "relationships"],
    enabled: Boolean(modelId),
    queryFn: async () => unwrap(await api.GET("/api/v1/models/{model_id}/relationships", { params: { path: { model_id: modelId! } } })),
    staleTime: 60_000,
  });
}

export function useCategoricalValues(modelId: string | null | undefined, field: string | null | undefined, enabled = true) {
  return useQuery({
    queryKey: ["models", modelId, "values", field],
    enabled: Boolean(modelId && field && enabled),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/models/{model_id}/fields/{field_name}/values", {
          params: { path: { model_id: modelId!, field_name: field! }, query: { limit: 100 } },
        }),
      ),
    staleTime: 5 * 60_000,
  });
}
