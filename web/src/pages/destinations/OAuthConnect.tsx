/**
 * "Connect with <vendor>" for destinations that authorize with OAuth 2.0: instead of a refresh-token
 * field, a button that sends the browser to the vendor's consent page (the API answers its URL), and
 * a Connected / Not connected state read from the secrets the destination has set.
 */
import { Alert, Badge, Button, Group, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconLink } from "@tabler/icons-react";

import type { FieldSpec } from "../../components/jsonSchemaForm/schema";

export interface OAuthInfo {
  vendor: string;
  connect: boolean;
  connect_field: string;
}

/** The type's OAuth description when users connect with a button, else null. */
export function connectableOAuth(oauth: OAuthInfo | null | undefined): OAuthInfo | null {
  return oauth?.connect ? oauth : null;
}

/** The form fields without the one the connection flow fills (the refresh token). */
export function withoutConnectField(fields: FieldSpec[], oauth: OAuthInfo | null): FieldSpec[] {
  return oauth ? fields.filter((field) => field.name !== oauth.connect_field) : fields;
}

export function OAuthConnect({
  oauth,
  connected,
  loading,
  disabled,
  error,
  onConnect,
}: {
  oauth: OAuthInfo;
  connected: boolean;
  loading?: boolean;
  disabled?: boolean;
  error?: string | null;
  onConnect: () => void;
}) {
  return (
    <Stack gap="xs" data-testid="oauth-connect">
      <Group justify="space-between" wrap="nowrap">
        <div>
          <Group gap="xs">
            <Text fw={500} size="sm">
              {oauth.vendor} account
            </Text>
            <Badge color={connected ? "teal" : "gray"} variant="light">
              {connected ? "Connected" : "Not connected"}
            </Badge>
          </Group>
          <Text size="xs" c="dimmed">
            {connected
              ? `Sluice holds an authorization from ${oauth.vendor} (stored encrypted). Reconnect to replace it.`
              : `Saves these settings, then opens ${oauth.vendor} so you can allow Sluice to manage your audiences.`}
          </Text>
        </div>
        <Button
          variant={connected ? "default" : "filled"}
          leftSection={<IconLink size={16} />}
          loading={loading}
          disabled={disabled}
          onClick={onConnect}
          style={{ flexShrink: 0 }}
        >
          {connected ? "Reconnect" : `Connect with ${oauth.vendor}`}
        </Button>
      </Group>
      {error ? (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} title={`${oauth.vendor} was not connected`} data-testid="oauth-error">
          {error}
        </Alert>
      ) : null}
    </Stack>
  );
}
