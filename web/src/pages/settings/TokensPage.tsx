/** API tokens: personal ones for everyone, service tokens for admins; create (value shown once) and revoke. */
import { Badge, Button, Code, Group, Modal, NumberInput, Select, Stack, Table, Text, TextInput } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { useCan, useRole, type Role } from "../../api/permissions";
import type { components } from "../../api/schema";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader, notifyError, notifySuccess } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { roleOptions } from "./MembersPage";
import { SecretShownOnce } from "./SecretShownOnce";

type Token = components["schemas"]["TokenOut"];
type TokenKind = "personal" | "service";

const KIND_TEXT: Record<TokenKind, { title: string; help: string; create: string }> = {
  personal: { title: "Your personal tokens", help: "Act as you, never above your role. For the CLI and your scripts.", create: "Create token" },
  service: { title: "Service tokens", help: "Belong to the workspace, not to a person: for CI and other systems.", create: "Create service token" },
};

async function listTokens(kind: TokenKind): Promise<Token[]> {
  const query = { params: { query: { limit: 500 } } };
  return unwrap(kind === "personal" ? await api.GET("/api/v1/tokens", query) : await api.GET("/api/v1/service-tokens", query)).items;
}

async function revokeToken(kind: TokenKind, id: string): Promise<void> {
  const options = { params: { path: { token_id: id } } };
  unwrap(kind === "personal" ? await api.DELETE("/api/v1/tokens/{token_id}", options) : await api.DELETE("/api/v1/service-tokens/{token_id}", options));
}

export function TokensPage() {
  const canPersonal = useCan("tokens:personal");
  const canService = useCan("tokens:service");
  return (
    <>
      <PageHeader
        title="API tokens"
        description={
          <>
            Send a token as <Code>Authorization: Bearer …</Code>. Its value is shown once, when it is created; afterwards only its prefix.
          </>
        }
      />
      <Stack gap="xl">
        {canPersonal ? <TokenSection kind="personal" /> : null}
        {canService ? <TokenSection kind="service" /> : null}
      </Stack>
    </>
  );
}

function TokenSection({ kind }: { kind: TokenKind }) {
  const client = useQueryClient();
  const [creating, setCreating] = useState(false);
  const tokens = useQuery({ queryKey: ["tokens", kind], queryFn: () => listTokens(kind) });
  const revoke = useMutation({
    mutationFn: (id: string) => revokeToken(kind, id),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["tokens", kind] });
      notifySuccess("Token revoked: requests with it are refused from now on.");
    },
    onError: (error) => notifyError(error, "The token was not revoked"),
  });
  const text = KIND_TEXT[kind];
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <div>
          <Text fw={600}>{text.title}</Text>
          <Text size="sm" c="dimmed">
            {text.help}
          </Text>
        </div>
        <Button variant="light" leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
          {text.create}
        </Button>
      </Group>
      {tokens.isLoading ? (
        <ListSkeleton rows={2} />
      ) : tokens.error ? (
        <ErrorNotice error={tokens.error} onRetry={() => void tokens.refetch()} />
      ) : !tokens.data?.length ? (
        <EmptyState title="No tokens yet">Create one here or with the CLI: <Code>sluice tokens create</Code>.</EmptyState>
      ) : (
        <Table verticalSpacing="sm" data-testid={`${kind}-tokens-table`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Prefix</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>Last used</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th w={100} />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tokens.data.map((token) => (
              <Table.Tr key={token.id}>
                <Table.Td fw={500}>{token.name}</Table.Td>
                <Table.Td>
                  <Code>{token.token_prefix}…</Code>
                </Table.Td>
                <Table.Td>{token.role}</Table.Td>
                <Table.Td>{token.expires_at ? formatDateTime(token.expires_at) : "never"}</Table.Td>
                <Table.Td>{token.last_used_at ? formatDateTime(token.last_used_at) : "never"}</Table.Td>
                <Table.Td>{token.revoked_at ? <Badge color="gray">revoked</Badge> : <Badge color="teal" variant="light">active</Badge>}</Table.Td>
                <Table.Td>
                  {token.revoked_at ? null : (
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      aria-label={`Revoke ${token.name}`}
                      loading={revoke.isPending && revoke.variables === token.id}
                      onClick={() => window.confirm(`Revoke “${token.name}”? Whatever uses it stops working.`) && revoke.mutate(token.id)}
                    >
                      Revoke
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <CreateTokenModal kind={kind} opened={creating} onClose={() => setCreating(false)} />
    </Stack>
  );
}

function CreateTokenModal({ kind, opened, onClose }: { kind: TokenKind; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const role = useRole();
  const [name, setName] = useState("");
  const [tokenRole, setTokenRole] = useState<Role | null>(null);
  const [days, setDays] = useState<number | string>(90);
  const create = useMutation({
    mutationFn: async () => {
      const body = { name: name.trim(), role: tokenRole, expires_in_days: typeof days === "number" ? days : null };
      return unwrap(kind === "personal" ? await api.POST("/api/v1/tokens", { body }) : await api.POST("/api/v1/service-tokens", { body }));
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ["tokens", kind] }),
    onError: (error) => notifyError(error, "The token was not created"),
  });
  const close = () => {
    setName("");
    setTokenRole(null);
    setDays(90);
    create.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title={KIND_TEXT[kind].create} size="lg">
      {create.data ? (
        <Stack>
          <SecretShownOnce title={`Token “${create.data.name}” created`} value={create.data.token} hint="Copy it now: Sluice keeps only a digest and cannot show it again." testId="token-created" />
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            create.mutate();
          }}
        >
          <Stack>
            <TextInput label="Name" description="What uses it, e.g. “CI deploy”." required data-autofocus value={name} onChange={(event) => setName(event.currentTarget.value)} />
            <Select
              label="Role"
              description={kind === "personal" ? "Empty: your own role." : "Empty: your own role. Never above it."}
              placeholder={role ?? undefined}
              clearable
              data={roleOptions(role)}
              value={tokenRole}
              onChange={(next) => setTokenRole(next as Role | null)}
            />
            <NumberInput label="Expires after (days)" description="Empty: never expires." min={1} max={3650} value={days} onChange={setDays} />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={create.isPending} disabled={!name.trim()}>
                Create
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
