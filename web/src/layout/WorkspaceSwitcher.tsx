/** The workspace switcher: the user's workspaces; the chosen one is sent on every request. */
import { Select, Skeleton } from "@mantine/core";
import { IconBuildingWarehouse } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { useSession } from "../api/auth";
import { api, currentWorkspace, setCurrentWorkspace, unwrap } from "../api/client";

export function WorkspaceSwitcher() {
  const session = useSession();
  const client = useQueryClient();
  const me = session.data?.kind === "signed-in" ? session.data.me : null;
  const current = useQuery({
    queryKey: ["workspace", currentWorkspace()],
    enabled: session.data !== undefined && !me,
    queryFn: async () => unwrap(await api.GET("/api/v1/workspace")),
  });
  if (session.isLoading || (!me && current.isLoading)) return <Skeleton height={30} width={220} radius="sm" />;
  const workspaces = me ? me.workspaces : current.data ? [current.data] : [];
  const currentId = me ? me.current_workspace.id : current.data?.id;
  return (
    <Select
      aria-label="Workspace"
      data-testid="workspace-switcher"
      w={220}
      size="xs"
      leftSection={<IconBuildingWarehouse size={16} />}
      data={workspaces.map((workspace) => ({ value: workspace.id, label: workspace.name }))}
      value={currentId ?? null}
      allowDeselect={false}
      checkIconPosition="right"
      onChange={(id) => {
        if (!id || id === currentId) return;
        setCurrentWorkspace(id);
        void client.resetQueries();
      }}
    />
  );
}
