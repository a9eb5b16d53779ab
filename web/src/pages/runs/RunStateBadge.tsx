import { Badge, Loader } from "@mantine/core";

import { STATE_COLOR, isActive } from "./runStatus";

export function RunStateBadge({ state, size = "md" }: { state: string; size?: "sm" | "md" | "lg" }) {
  return (
    <Badge
      color={STATE_COLOR[state] ?? "gray"}
      variant={isActive(state) ? "light" : "filled"}
      size={size}
      leftSection={state === "running" ? <Loader size={10} color="blue" /> : undefined}
      data-testid="run-state"
      styles={{ root: { flexShrink: 0, overflow: "visible" }, label: { overflow: "visible" } }}
    >
      {state}
    </Badge>
  );
}
