/** Display names of segments and destinations for pages that hold only their ids. */
import { useQuery } from "@tanstack/react-query";

import { api, request, unwrap } from "../../api/client";
import { useCapabilities } from "../../api/capabilities";

export interface NamedThing {
  id: string;
  name: string;
  model_id?: string;
}

export function useDestinations() {
  return useQuery({
    queryKey: ["destinations"],
    queryFn: async () => unwrap(await api.GET("/api/v1/destinations", { params: { query: { limit: 500 } } })).items,
  });
}

/** Segments, once the segments API is on the server (read untyped until then). */
export function useSegmentList() {
  const capabilities = useCapabilities();
  const available = capabilities.data?.has("GET", "/segments") ?? false;
  return useQuery({
    queryKey: ["segments"],
    enabled: available,
    queryFn: async () => {
      const body = await request<NamedThing[] | { items: NamedThing[] }>("GET", "/api/v1/segments?limit=500");
      return Array.isArray(body) ? body : body.items;
    },
  });
}

export function useNames() {
  const destinations = useDestinations();
  const segments = useSegmentList();
  const find = (list: NamedThing[] | undefined, id: string) => list?.find((item) => item.id === id)?.name ?? "…" + id.slice(-6);
  return {
    destination: (id: string) => find(destinations.data, id),
    segment: (id: string) => find(segments.data, id),
  };
}
