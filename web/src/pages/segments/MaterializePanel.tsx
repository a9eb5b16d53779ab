/**
 * A saved segment's materialized keys: where and when they were written, and a button to write them
 * again. Segments that include this one read the keys instead of its conditions while the segment is
 * unchanged and the keys are less than a day old.
 */
import { Button, Stack, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { notifyError, notifySuccess } from "../../components/feedback";
import { formatCount, formatDateTime } from "../../format";
import type { Segment } from "./segmentsApi";

export function MaterializePanel({ segment, canWrite }: { segment: Segment; canWrite: boolean }) {
  const client = useQueryClient();
  const materialize = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/segments/{segment_id}/materialize", { params: { path: { segment_id: segment.id } } })),
    onSuccess: async (result) => {
      await client.invalidateQueries({ queryKey: ["segments"] });
      notifySuccess(`${formatCount(result.rows)} keys written to ${result.schema}.${result.table}.`);
    },
    onError: (error) => notifyError(error, "The segment was not materialized"),
  });
  return (
    <Stack mt="md" gap={6} align="flex-start" data-testid="materialized">
      <Text size="xs" c="dimmed">
        {segment.materialized_table
          ? `Keys materialized ${formatDateTime(segment.materialized_at)} (${formatCount(segment.materialized_rows)}) in ${segment.materialized_table}; segments that include this one read them for a day or until it changes.`
          : "Not materialized: segments that include this one evaluate its conditions."}
      </Text>
      {canWrite ? (
        <Button size="compact-xs" variant="light" title="Write this segment's keys to the source's bookkeeping schema" loading={materialize.isPending} onClick={() => materialize.mutate()}>
          Materialize
        </Button>
      ) : null}
    </Stack>
  );
}
