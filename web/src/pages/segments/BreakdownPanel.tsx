/** Breakdown of a segment by one categorical field: a bar chart of segment rows against the model. */
import { BarChart } from "@mantine/charts";
import { Group, Loader, Select, Stack, Text } from "@mantine/core";
import { useEffect, useState } from "react";

import { ErrorNotice } from "../../components/feedback";
import { useModel } from "../models/modelsApi";
import { useBreakdown } from "./segmentsApi";

export function BreakdownPanel({ segmentId, modelId }: { segmentId: string; modelId: string }) {
  const model = useModel(modelId);
  const categorical = (model.data?.fields ?? []).filter((field) => field.categorical);
  const [field, setField] = useState<string | null>(null);
  useEffect(() => {
    if (!field && categorical.length) setField(categorical[0].name);
  }, [field, categorical]);
  const breakdown = useBreakdown(segmentId, field ? [field] : []);
  if (!categorical.length) {
    return <Text size="sm" c="dimmed">Mark fields of the model as categorical (country, tier, …) to break segments down by them.</Text>;
  }
  const data = (breakdown.data?.buckets ?? []).map((bucket) => ({
    value: String(Object.values(bucket.values)[0] ?? "(empty)"),
    "In segment": bucket.count,
    "Share of segment %": Math.round(bucket.share_of_segment * 1000) / 10,
  }));
  return (
    <Stack>
      <Group>
        <Select label="Break down by" data={categorical.map((candidate) => candidate.name)} value={field} onChange={setField} allowDeselect={false} w={220} />
        {breakdown.isFetching ? <Loader size="xs" mt={24} /> : null}
      </Group>
      {breakdown.error ? <ErrorNotice error={breakdown.error} /> : null}
      {data.length ? (
        <div data-testid="breakdown-chart">
          <BarChart h={300} data={data} dataKey="value" series={[{ name: "In segment", color: "blue.6" }]} tickLine="y" withTooltip />
        </div>
      ) : null}
    </Stack>
  );
}
