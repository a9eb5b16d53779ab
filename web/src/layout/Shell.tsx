/** The application frame: header (brand, workspace switcher, user menu) and the left navigation. */
import { AppShell, Avatar, Badge, Burger, Group, Menu, NavLink, ScrollArea, Text, UnstyledButton } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconLogout, IconUser } from "@tabler/icons-react";
import { NavLink as RouterLink, Outlet, useLocation } from "react-router-dom";

import { displayName, useLogout, useSession } from "../api/auth";
import { useCapabilities } from "../api/capabilities";
import { roleAllows, useRole } from "../api/permissions";
import { notifyError } from "../components/feedback";
import { NAVIGATION, isAvailable } from "./navigation";
import { WorkspaceSwitcher } from "./WorkspaceSwitcher";

function Brand() {
  return (
    <Group gap={8} wrap="nowrap">
      <img src="/favicon.svg" width={26} height={26} alt="" />
      <Text fw={700} size="lg">
        Sluice
      </Text>
    </Group>
  );
}

function UserMenu() {
  const session = useSession();
  const logout = useLogout();
  if (session.data?.kind !== "signed-in") {
    return (
      <Badge variant="light" color="gray" title="This server has no sign-in yet: you act as the local owner.">
        local owner
      </Badge>
    );
  }
  const name = displayName(session.data.me);
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <UnstyledButton aria-label="Account">
          <Group gap={8}>
            <Avatar size={28} radius="xl" color="blue">
              {name.slice(0, 1).toUpperCase()}
            </Avatar>
            <Text size="sm">{name}</Text>
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>{session.data.me.user?.email ?? name}</Menu.Label>
        <Menu.Item leftSection={<IconUser size={16} />} disabled>
          Role: {session.data.me.role}
        </Menu.Item>
        <Menu.Item leftSection={<IconLogout size={16} />} onClick={() => logout.mutate(undefined, { onError: (error) => notifyError(error) })}>
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

export function Shell() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const capabilities = useCapabilities();
  const role = useRole();
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 260, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="md" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Brand />
            <WorkspaceSwitcher />
          </Group>
          <UserMenu />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <ScrollArea>
          {NAVIGATION.map((section, index) => (
            <div key={section.label ?? index} style={{ marginBottom: 12 }}>
              {section.label ? (
                <Text size="xs" fw={600} c="dimmed" tt="uppercase" px="sm" mb={4} mt={8}>
                  {section.label}
                </Text>
              ) : null}
              {section.items.filter((item) => !item.permission || (role !== null && roleAllows(role, item.permission))).map((item) => {
                const available = isAvailable(item, capabilities.data?.routes);
                const active = location.pathname === item.to || location.pathname.startsWith(`${item.to}/`);
                return (
                  <NavLink
                    key={item.to}
                    component={RouterLink}
                    to={item.to}
                    label={item.label}
                    active={active}
                    onClick={close}
                    leftSection={<item.icon size={18} stroke={1.6} />}
                    rightSection={
                      available ? null : (
                        <Badge size="xs" variant="light" color="gray">
                          soon
                        </Badge>
                      )
                    }
                    styles={{ root: { borderRadius: 6 } }}
                  />
                );
              })}
            </div>
          ))}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <div style={{ maxWidth: 1400, margin: "0 auto" }}>
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}
