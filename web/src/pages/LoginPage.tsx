/**
 * Sign in: one click as the demo user when the server runs the demo, else email and password.
 * `/setup?token=…` (the one-time link `sluice serve` prints on first start) creates the first owner.
 */
import { Alert, Button, Center, Divider, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconAlertTriangle, IconPlayerPlay } from "@tabler/icons-react";
import { useState, type ReactNode } from "react";
import { useLocation } from "react-router-dom";

import { useAcceptInvitation, useDemoLogin, useLogin, useSetup, useSetupStatus } from "../api/auth";
import { errorMessage } from "../components/feedback";

function Frame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Center mih="100vh" bg="var(--mantine-color-gray-0)">
      <Paper withBorder shadow="sm" radius="md" p="xl" w={400}>
        <Stack>
          <Stack gap={4} align="center">
            <img src="/favicon.svg" width={40} height={40} alt="" />
            <Title order={3}>{title}</Title>
          </Stack>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}

function Failure({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <Alert color="red" icon={<IconAlertTriangle size={18} />} data-testid="login-error">
      {errorMessage(error)}
    </Alert>
  );
}

export function LoginPage() {
  const location = useLocation();
  const token = new URLSearchParams(location.search).get("token");
  if (location.pathname === "/setup" && token) return <SetupPage token={token} />;
  if (location.pathname === "/invite" && token) return <InvitePage token={token} />;
  return <SignInPage />;
}

/** `/invite?token=…`, the link an admin sends: join the workspace, creating the account if needed. */
export function InvitePage({ token }: { token: string }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const accept = useAcceptInvitation();
  return (
    <Frame title="Join the workspace">
      <Text size="sm" c="dimmed" ta="center">
        You were invited to Sluice. New here? Choose a name and a password. Already have an account? Enter its password.
      </Text>
      <Failure error={accept.error} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          accept.mutate({ token, name, password: password || null });
        }}
      >
        <Stack gap="sm">
          <TextInput label="Name" autoComplete="name" value={name} onChange={(event) => setName(event.currentTarget.value)} />
          <PasswordInput label="Password" autoComplete="new-password" value={password} onChange={(event) => setPassword(event.currentTarget.value)} />
          <Button type="submit" loading={accept.isPending}>
            Accept invitation
          </Button>
        </Stack>
      </form>
    </Frame>
  );
}

function SignInPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useLogin();
  const demo = useDemoLogin();
  const status = useSetupStatus(true);
  const demoAvailable = status.data?.demo ?? false;
  return (
    <Frame title="Sign in to Sluice">
      <Failure error={login.error ?? demo.error} />
      {demoAvailable ? (
        <>
          <Button size="md" leftSection={<IconPlayerPlay size={18} />} loading={demo.isPending} onClick={() => demo.mutate()}>
            Continue as demo user
          </Button>
          <Divider label="or sign in with your account" labelPosition="center" />
        </>
      ) : null}
      {status.data?.needs_setup ? (
        <Alert color="blue" variant="light">
          No account exists yet. Open the one-time setup link that <code>sluice serve</code> printed when it started.
        </Alert>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          login.mutate({ email, password });
        }}
      >
        <Stack gap="sm">
          <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(event) => setEmail(event.currentTarget.value)} />
          <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.currentTarget.value)} />
          <Button type="submit" variant={demoAvailable ? "default" : "filled"} loading={login.isPending}>
            Sign in
          </Button>
        </Stack>
      </form>
      <Text size="xs" c="dimmed" ta="center">
        No account yet? Ask an owner of your workspace for an invitation.
      </Text>
    </Frame>
  );
}

function SetupPage({ token }: { token: string }) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const setup = useSetup();
  return (
    <Frame title="Create the owner account">
      <Text size="sm" c="dimmed" ta="center">
        You are the first person here: this account will own the workspace.
      </Text>
      <Failure error={setup.error} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setup.mutate({ token, name, email, password }, { onSuccess: () => window.history.replaceState(null, "", "/") });
        }}
      >
        <Stack gap="sm">
          <TextInput label="Name" autoComplete="name" value={name} onChange={(event) => setName(event.currentTarget.value)} />
          <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(event) => setEmail(event.currentTarget.value)} />
          <PasswordInput label="Password" autoComplete="new-password" required value={password} onChange={(event) => setPassword(event.currentTarget.value)} />
          <Button type="submit" loading={setup.isPending}>
            Create account and sign in
          </Button>
        </Stack>
      </form>
    </Frame>
  );
}
