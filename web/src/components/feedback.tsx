/** Shared feedback pieces: page header, empty state, loading skeletons, error notices. */
import { Alert, Button, Center, Group, Paper, Skeleton, Stack, Text, ThemeIcon, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconAlertTriangle, IconInbox } from "@tabler/icons-react";
import type { ReactNode } from "react";

import { ApiError, problemTitle } from "../api/problem";

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <Group justify="space-between" align="flex-start" mb="lg" wrap="nowrap">
      <div>
        <Title order={2}>{title}</Title>
        {description ? (
          <Text c="dimmed" size="sm" mt={4} maw={720}>
            {description}
          </Text>
        ) : null}
      </div>
      {actions ? <Group gap="sm">{actions}</Group> : null}
    </Group>
  );
}

/** What to show when a list is empty: what the thing is and the one step that fills it. */
export function EmptyState({ title, children, action, icon }: { title: string; children: ReactNode; action?: ReactNode; icon?: ReactNode }) {
  return (
    <Paper withBorder radius="md" p="xl" data-testid="empty-state">
      <Center>
        <Stack align="center" gap="xs" maw={520}>
          <ThemeIcon size={48} radius="xl" variant="light">
            {icon ?? <IconInbox size={26} />}
          </ThemeIcon>
          <Title order={4}>{title}</Title>
          <Text c="dimmed" ta="center" size="sm">
            {children}
          </Text>
          {action ? <div style={{ marginTop: 8 }}>{action}</div> : null}
        </Stack>
      </Center>
    </Paper>
  );
}

/** Placeholder rows while a list loads. */
export function ListSkeleton({ rows = 4 }: { rows?: number }) {
  return (
    <Stack gap="xs" data-testid="loading">
      <Skeleton height={36} radius="sm" />
      {Array.from({ length: rows }, (_, index) => (
        <Skeleton key={index} height={28} radius="sm" />
      ))}
    </Stack>
  );
}

/** Placeholder for a form while its schema loads. */
export function FormSkeleton({ fields = 4 }: { fields?: number }) {
  return (
    <Stack gap="md" data-testid="loading">
      {Array.from({ length: fields }, (_, index) => (
        <Stack key={index} gap={6}>
          <Skeleton height={12} width={140} radius="sm" />
          <Skeleton height={34} radius="sm" />
        </Stack>
      ))}
    </Stack>
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** An error in place of content (e.g. a list that failed to load), with a retry. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <Alert color="red" icon={<IconAlertTriangle size={18} />} title={problemTitle(error)} data-testid="error-notice">
      <Stack gap="xs">
        <Text size="sm">{errorMessage(error)}</Text>
        {error instanceof ApiError && error.problem.request_id ? (
          <Text size="xs" c="dimmed">
            Request id {error.problem.request_id}
          </Text>
        ) : null}
        {onRetry ? (
          <Group>
            <Button size="xs" variant="light" color="red" onClick={onRetry}>
              Try again
            </Button>
          </Group>
        ) : null}
      </Stack>
    </Alert>
  );
}

/** A problem response as a notification a person can read. */
export function notifyError(error: unknown, title?: string): void {
  notifications.show({ color: "red", title: title ?? problemTitle(error), message: errorMessage(error), autoClose: 8000 });
}

export function notifySuccess(message: string, title?: string): void {
  notifications.show({ color: "teal", title, message, autoClose: 4000 });
}
