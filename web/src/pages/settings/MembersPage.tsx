/** Members and their roles, pending invitations; admins invite, change roles, remove and withdraw. */
import { ActionIcon, Badge, Button, Card, Group, Modal, Select, Stack, Table, Text, TextInput, Tooltip } from "@mantine/core";
import { IconTrash, IconUserPlus } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { useSession } from "../../api/auth";
import { api, unwrap } from "../../api/client";
import { grantableRoles, useCan, useRole, type Role } from "../../api/permissions";
import type { components } from "../../api/schema";
import { EmptyState, ErrorNotice, ListSkeleton, PageHeader, notifyError, notifySuccess } from "../../components/feedback";
import { formatDateTime } from "../../format";
import { SecretShownOnce } from "./SecretShownOnce";

type Invitation = components["schemas"]["InvitationOut"];

const ROLE_HELP: Record<Role, string> = {
  viewer: "viewer — sees everything, changes nothing",
  operator: "operator — also runs and pauses activations",
  editor: "editor — also edits models, segments and activations",
  admin: "admin — also sources, destinations, members and the audit log",
  owner: "owner — everything, including the workspace itself",
};

export function roleOptions(role: Role | null) {
  return (role ? grantableRoles(role) : []).map((value) => ({ value, label: ROLE_HELP[value] }));
}

export function MembersPage() {
  const client = useQueryClient();
  const canManage = useCan("members:manage");
  const role = useRole();
  const session = useSession();
  const myUserId = session.data?.kind === "signed-in" ? session.data.me.user?.id : undefined;
  const [inviting, setInviting] = useState(false);
  const members = useQuery({
    queryKey: ["members"],
    queryFn: async () => unwrap(await api.GET("/api/v1/members", { params: { query: { limit: 500 } } })).items,
  });
  const changeRole = useMutation({
    mutationFn: async ({ id, role: next }: { id: string; role: Role }) =>
      unwrap(await api.PATCH("/api/v1/members/{member_id}", { params: { path: { member_id: id } }, body: { role: next } })),
    onSuccess: async (member) => {
      await client.invalidateQueries({ queryKey: ["members"] });
      notifySuccess(`${member.name || member.email} is now ${member.role}.`);
    },
    onError: (error) => notifyError(error, "The role was not changed"),
  });
  const remove = useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE("/api/v1/members/{member_id}", { params: { path: { member_id: id } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["members"] });
      notifySuccess("Member removed from this workspace.");
    },
    onError: (error) => notifyError(error, "The member was not removed"),
  });
  return (
    <>
      <PageHeader
        title="Members"
        description="People who work in this workspace and what their role lets them do."
        actions={
          canManage ? (
            <Button leftSection={<IconUserPlus size={16} />} onClick={() => setInviting(true)}>
              Invite member
            </Button>
          ) : null
        }
      />
      <Stack gap="lg">
        {members.isLoading ? (
          <ListSkeleton />
        ) : members.error ? (
          <ErrorNotice error={members.error} onRetry={() => void members.refetch()} />
        ) : !members.data?.length ? (
          <EmptyState title="Only you so far">{canManage ? "Invite teammates; they appear here once they accept." : "An admin can invite teammates."}</EmptyState>
        ) : (
          <Table verticalSpacing="sm" data-testid="members-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th w={260}>Role</Table.Th>
                <Table.Th>Member since</Table.Th>
                {canManage ? <Table.Th w={60} /> : null}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {members.data.map((member) => (
                <Table.Tr key={member.id}>
                  <Table.Td fw={500}>
                    {member.name || "—"}
                    {member.user_id === myUserId ? (
                      <Badge size="xs" variant="outline" color="gray" ml={6}>
                        you
                      </Badge>
                    ) : null}
                  </Table.Td>
                  <Table.Td>{member.email}</Table.Td>
                  <Table.Td>
                    {canManage && member.user_id !== myUserId ? (
                      <Select
                        size="xs"
                        aria-label={`Role of ${member.email}`}
                        data={roleOptions(role).map((option) => ({ value: option.value, label: option.value }))}
                        value={member.role}
                        allowDeselect={false}
                        disabled={changeRole.isPending}
                        onChange={(next) => next && next !== member.role && changeRole.mutate({ id: member.id, role: next as Role })}
                      />
                    ) : (
                      <Badge variant="light">{member.role}</Badge>
                    )}
                  </Table.Td>
                  <Table.Td>{formatDateTime(member.created_at)}</Table.Td>
                  {canManage ? (
                    <Table.Td>
                      {member.user_id === myUserId ? null : <Tooltip label="Remove from workspace" withArrow>
                        <ActionIcon
                          variant="subtle"
                          color="red"
                          aria-label={`Remove ${member.email}`}
                          onClick={() => window.confirm(`Remove ${member.email} from this workspace?`) && remove.mutate(member.id)}
                        >
                          <IconTrash size={16} />
                        </ActionIcon>
                      </Tooltip>}
                    </Table.Td>
                  ) : null}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {canManage ? <Invitations /> : null}
      </Stack>
      <InviteModal opened={inviting} onClose={() => setInviting(false)} />
    </>
  );
}

function pending(invitation: Invitation): boolean {
  return !invitation.accepted_at && !invitation.revoked_at && new Date(invitation.expires_at) > new Date();
}

function Invitations() {
  const client = useQueryClient();
  const invitations = useQuery({
    queryKey: ["invitations"],
    queryFn: async () => unwrap(await api.GET("/api/v1/invitations", { params: { query: { limit: 500 } } })).items,
  });
  const revoke = useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE("/api/v1/invitations/{invitation_id}", { params: { path: { invitation_id: id } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["invitations"] });
      notifySuccess("Invitation withdrawn.");
    },
    onError: (error) => notifyError(error, "The invitation was not withdrawn"),
  });
  const open = (invitations.data ?? []).filter(pending);
  if (invitations.error) return <ErrorNotice error={invitations.error} onRetry={() => void invitations.refetch()} />;
  if (!open.length) return null;
  return (
    <Card withBorder>
      <Text fw={600} mb="sm">
        Pending invitations
      </Text>
      <Table verticalSpacing={6} data-testid="invitations-table">
        <Table.Tbody>
          {open.map((invitation) => (
            <Table.Tr key={invitation.id}>
              <Table.Td>{invitation.email}</Table.Td>
              <Table.Td>
                <Badge variant="light">{invitation.role}</Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm" c="dimmed">
                  expires {formatDateTime(invitation.expires_at)}
                </Text>
              </Table.Td>
              <Table.Td w={110}>
                <Button size="xs" variant="subtle" color="red" loading={revoke.isPending && revoke.variables === invitation.id} onClick={() => revoke.mutate(invitation.id)}>
                  Withdraw
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function InviteModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const role = useRole();
  const [email, setEmail] = useState("");
  const [inviteRole, setInviteRole] = useState<Role>("viewer");
  const invite = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/invitations", { body: { email: email.trim(), role: inviteRole } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["invitations"] }),
    onError: (error) => notifyError(error, "The invitation was not created"),
  });
  const close = () => {
    setEmail("");
    setInviteRole("viewer");
    invite.reset();
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title="Invite a member" size="lg">
      {invite.data ? (
        <Stack>
          <SecretShownOnce
            title={`Invitation for ${invite.data.email}`}
            value={invite.data.accept_url}
            hint="Send this link to the person you invited. It is shown only now and works for 7 days."
            testId="invitation-link"
          />
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            invite.mutate();
          }}
        >
          <Stack>
            <TextInput label="Email" type="email" required data-autofocus value={email} onChange={(event) => setEmail(event.currentTarget.value)} placeholder="name@company.com" />
            <Select label="Role" data={roleOptions(role)} value={inviteRole} allowDeselect={false} onChange={(next) => next && setInviteRole(next as Role)} />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={invite.isPending} disabled={email.trim().length < 3}>
                Create invitation
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
