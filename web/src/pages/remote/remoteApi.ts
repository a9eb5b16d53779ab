/** Queries of remote segments: supported platforms, refresh history, and the refresh action. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

export type RemoteRefresh = components["schemas"]["RemoteRefreshOut"];
export type RemotePlatform = components["schemas"]["RemotePlatformOut"];

export function useRemotePlatforms() {
  return useQuery({
    queryKey: ["segments", "remote-platforms"],
    queryFn: async () => unwrap(await api.GET("/api/v1/segments/remote-platforms")),
  });
}

/** Newest first; polls while a refresh is queued or running. */
export function useRefreshes(segmentId: string | undefined) {
  return useQuery({
    queryKey: ["segments", segmentId, "refreshes"],
    enabled: Boolean(segmentId),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/segments/{segment_id}/refreshes", { params: { path: { segment_id: segmentId! }, query: { limit: 50 } } })).items,
    refetchInterval: (query) => (query.state.data?.some((refresh) => refresh.state === "queued" || refresh.state === "running") ? 1000 : false),
  });
}

export function useRefreshNow(segmentId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/segments/{segment_id}/refresh", { params: { path: { segment_id: segmentId } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["segments", segmentId, "refreshes"] });
    },
  });
}

/** "12.3 s" between two instants, or "" while running. */
export function refreshDuration(refresh: Pick<RemoteRefresh, "started_at" | "finished_at">): string {
  if (!refresh.started_at || !refresh.finished_at) return "";
  const seconds = (Date.parse(refresh.finished_at) - Date.parse(refresh.started_at)) / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** Share of the ids read that matched a model row, as a sentence. */
export function matchSummary(refresh: Pick<RemoteRefresh, "ids_read" | "ids_matched" | "ids_unmatched">): string {
  if (refresh.ids_matched === null || refresh.ids_unmatched === null) return "";
  const distinct = refresh.ids_matched + refresh.ids_unmatched;
  if (!distinct) return "The remote segment is empty.";
  const share = Math.round((refresh.ids_matched / distinct) * 1000) / 10;
  return `${refresh.ids_matched.toLocaleString()} of ${distinct.toLocaleString()} ids matched (${share}%)`;
}
