import { MantineProvider } from "@mantine/core";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { describeFields, type JsonSchema } from "../../components/jsonSchemaForm/schema";
import { connectableOAuth, OAuthConnect, withoutConnectField, type OAuthInfo } from "./OAuthConnect";

const pinterest: OAuthInfo = { vendor: "Pinterest", connect: true, connect_field: "refresh_token" };

const schema: JsonSchema = {
  type: "object",
  required: ["client_id", "client_secret"],
  properties: {
    client_id: { type: "string", title: "Client Id" },
    client_secret: { type: "string", format: "password", writeOnly: true, title: "Client Secret" },
    refresh_token: { anyOf: [{ type: "string", format: "password", writeOnly: true }, { type: "null" }], default: null, title: "Refresh Token" },
    ad_account_id: { type: "string", title: "Ad Account Id" },
  },
};

function renderConnect(props: Partial<React.ComponentProps<typeof OAuthConnect>> = {}) {
  const onConnect = vi.fn();
  render(
    <MantineProvider>
      <OAuthConnect oauth={pinterest} connected={false} onConnect={onConnect} {...props} />
    </MantineProvider>,
  );
  return onConnect;
}

describe("OAuthConnect", () => {
  it("offers to connect when the destination holds no authorization", async () => {
    const onConnect = renderConnect();
    expect(screen.getByText("Not connected")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Connect with Pinterest" }));
    expect(onConnect).toHaveBeenCalledOnce();
  });

  it("shows Connected and offers to reconnect", async () => {
    const onConnect = renderConnect({ connected: true });
    expect(screen.getByText("Connected")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Connect with Pinterest" })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Reconnect" }));
    expect(onConnect).toHaveBeenCalledOnce();
  });

  it("shows why the vendor did not connect", () => {
    renderConnect({ error: "the platform did not grant access: access_denied" });
    expect(screen.getByTestId("oauth-error")).toHaveTextContent("Pinterest was not connected");
    expect(screen.getByTestId("oauth-error")).toHaveTextContent("access_denied");
  });
});

describe("withoutConnectField", () => {
  it("drops the refresh-token field for types connected with a button, and only then", () => {
    const fields = describeFields(schema);
    expect(withoutConnectField(fields, connectableOAuth(pinterest)).map((f) => f.name)).toEqual(["client_id", "client_secret", "ad_account_id"]);
    const clientCredentials = { vendor: "Criteo", connect: false, connect_field: "refresh_token" };
    expect(withoutConnectField(fields, connectableOAuth(clientCredentials))).toHaveLength(4);
    expect(withoutConnectField(fields, connectableOAuth(null))).toHaveLength(4);
  });
});
