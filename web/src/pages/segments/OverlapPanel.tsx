/** Overlap of this segment with up to four others: UpSet-style bars of every intersection. */
import { BarChart } from "@mantine/charts";
import { Loader, MultiSelect, Stack, Table, Text } from "@mantine/core";
import { useState } from "react";

import { ErrorNotice } from "../../components/feedback";
import { formatCount } from "../../format";
import { useOverlap } from "./segmentsApi";

export function OverlapPanel({ segmentId, candidates }: { segmentId: string; candidates: { id: string; name: string }[] }) {
  const others = candidates.filter((candidate) => candidate.id !== segmentId);
  const [picked, setPicked] = useState<string[]>(() => others.slice(0, 1).map((candidate) => candidate.id));
  const overlap = useOverlap([segmentId, ...picked]);
  const nameOf = (id: string) => candidates.find((candidate) => candidate.id === id)?.name ?? "this segment";
  if (!others.length) return <Text size="sm" c="dimmed">Create another segment on the same model to compare audiences.</Text>;
  const bars = (overlap.data?.intersections ?? [])
    .filter((entry) => entry.count > 0)
    .map((entry) => ({ set: entry.segment_ids.length === 1 ? `only ${nameOf(entry.segment_ids[0])}` : entry.segment_ids.map(nameOf).join(" ∩ "), Rows: entry.count }));
  return (
    <Stack>
      <MultiSelect label="Compare with" data={others.map((candidate) => ({ value: candidate.id, label: candidate.name }))} value={picked} onChange={(ids) => setPicked(ids.slice(0, 4))} maxValues={4} w={480} searchable selectFirstOptionOnChange nothingFoundMessage="No segment of that name" />
      {overlap.isFetching ? <Loader size="xs" /> : null}
      {overlap.error ? <ErrorNotice error={overlap.error} /> : null}
      {overlap.data ? (
        <>
          <Text size="sm">
            Together {formatCount(overlap.data.union)} distinct rows of {formatCount(overlap.data.model_count)}.
          </Text>
          <div data-testid="overlap-chart">
            <BarChart h={Math.max(160, bars.length * 44)} data={bars} dataKey="set" orientation="vertical" series={[{ name: "Rows", color: "grape.6" }]} yAxisProps={{ width: 260 }} withTooltip />
          </div>
          <Table verticalSpacing={4} fz="sm">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Segments</Table.Th>
                <Table.Th ta="right">In both</Table.Th>
                <Table.Th ta="right">Share of first</Table.Th>
                <Table.Th ta="right">Share of second</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {overlap.data.pairs.map((pair) => (
                <Table.Tr key={`${pair.a}-${pair.b}`}>
                  <Table.Td>
                    {nameOf(pair.a)} & {nameOf(pair.b)}
                  </Table.Td>
                  <Table.Td ta="right">{formatCount(pair.count)}</Table.Td>
                  <Table.Td ta="right">{(pair.share_of_a * 100).toFixed(1)}%</Table.Td>
                  <Table.Td ta="right">{(pair.share_of_b * 100).toFixed(1)}%</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      ) : null}
    </Stack>
  );
}
