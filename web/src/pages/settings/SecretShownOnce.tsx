/** A secret (token value, invitation link) the server shows only once: copy it now. */
import { ActionIcon, Alert, Code, CopyButton, Group, Text, Tooltip } from "@mantine/core";
import { IconCheck, IconCopy, IconKey } from "@tabler/icons-react";

export function SecretShownOnce({ title, value, hint, testId }: { title: string; value: string; hint: string; testId?: string }) {
  return (
    <Alert color="teal" icon={<IconKey size={18} />} title={title} data-testid={testId}>
      <Text size="sm" mb={6}>
        {hint}
      </Text>
      <Group gap="xs" wrap="nowrap">
        <Code block style={{ flex: 1, wordBreak: "break-all", whiteSpace: "pre-wrap" }} data-testid={testId ? `${testId}-value` : undefined}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? "Copied" : "Copy"} withArrow>
              <ActionIcon variant="light" color={copied ? "teal" : "gray"} onClick={copy} aria-label="Copy to clipboard">
                {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              </ActionIcon>
            </Tooltip>
          )}
        </CopyButton>
      </Group>
    </Alert>
  );
}
