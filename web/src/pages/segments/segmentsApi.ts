/** Queries of segments: list, one, live draft preview, SQL, breakdown, overlap. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { draftForPreview, type Definition } from "./conditionTree";

export type Segment = components["schemas"]["SegmentOut"];

export function useSegments() {
  return useQuery({
    queryKey: ["segments"],
    queryFn: async () => unwrap(await api.GET("/api/v1/segments", { params: { query: { limit: 500 } } })).items,
  });
}

export function useSegment(segmentId: string | undefined) {
  return useQuery({
    queryKey: ["segments", segmentId],
    enabled: Boolean(segmentId),
    queryFn: async () => unwrap(await api.GET("/api/v1/segments/{segment_id}", { params: { path: { segment_id: segmentId! } } })),
  });
}

/** `value`, once it has stopped changing for `delay` ms. */
export function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** Live count of the tree being edited, with per-condition counts and sample rows. */
export function useDraftPreview(modelId: string | null, definition: Definition) {
  // The model and the tree settle together: a saved segment sets both at once when it loads, and
  // previewing its model with the not-yet-settled empty tree would race the real preview on the server.
  const settled = useDebounced(JSON.stringify({ modelId, draft: draftForPreview(definition) }), 500);
  const { modelId: settledModelId, draft: settledDraft } = JSON.parse(settled) as { modelId: string | null; draft: unknown };
  const draft = JSON.stringify(settledDraft);
  // One key per open builder: the server stops this builder's older preview when a newer one starts.
  const previewKey = useRef(`builder-${Math.random().toString(36).slice(2)}`).current;
  return useQuery<components["schemas"]["SegmentPreviewOut"]>({
    queryKey: ["segment-preview", settledModelId, draft],
    enabled: Boolean(settledModelId),
    placeholderData: (previous) => previous,
    // A newer draft aborts this request in the browser; the preview key stops its query on the server.
    queryFn: async ({ signal }) =>
      unwrap(
        await api.POST("/api/v1/segments/preview", {
          body: { model_id: settledModelId!, definition: JSON.parse(draft) as Definition, explain: true, limit: 20, preview_key: previewKey },
          signal,
        }),
      ),
  });
}

export function useSegmentSql(segmentId: string | undefined, enabled: boolean) {
  return useQuery({
    queryKey: ["segments", segmentId, "sql"],
    enabled: Boolean(segmentId) && enabled,
    queryFn: async () => unwrap(await api.GET("/api/v1/segments/{segment_id}/sql", { params: { path: { segment_id: segmentId! } } })),
  });
}

export function useBreakdown(segmentId: string | undefined, fields: string[]) {
  return useQuery({
    queryKey: ["segments", segmentId, "breakdown", fields],
    enabled: Boolean(segmentId) && fields.length > 0,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/segments/{segment_id}/breakdown", { params: { path: { segment_id: segmentId! }, query: { fields, limit: 20 } } })),
  });
}

export function useOverlap(segmentIds: string[]) {
  return useQuery({
    queryKey: ["segments", "overlap", segmentIds],
    enabled: segmentIds.length >= 2,
    queryFn: async () => unwrap(await api.POST("/api/v1/segments/overlap", { body: { segment_ids: segmentIds } })),
  });
}
