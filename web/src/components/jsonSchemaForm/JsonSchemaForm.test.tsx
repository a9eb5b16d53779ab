import { MantineProvider } from "@mantine/core";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";

import { JsonSchemaForm } from "./JsonSchemaForm";
import { describeFields, initialValues, type FormValues, type JsonSchema } from "./schema";

const schema: JsonSchema = {
  type: "object",
  required: ["host"],
  properties: {
    host: { type: "string", title: "Host", description: "Host name or IP address." },
    port: { type: "integer", default: 5432, title: "Port" },
    password: { anyOf: [{ type: "string", format: "password", writeOnly: true }, { type: "null" }], default: null, title: "Password" },
    read_only: { type: "boolean", default: false, title: "Read Only" },
  },
};

function Harness({ secretsSet = [], onValues }: { secretsSet?: string[]; onValues?: (values: FormValues) => void }) {
  const fields = describeFields(schema);
  const [values, setValues] = useState<FormValues>(initialValues(fields, { host: "db.internal" }));
  return (
    <MantineProvider>
      <JsonSchemaForm
        fields={fields}
        values={values}
        secretsSet={secretsSet}
        errors={{ port: "Port must be at most 65535" }}
        onChange={(next) => {
          setValues(next);
          onValues?.(next);
        }}
      />
    </MantineProvider>
  );
}

describe("JsonSchemaForm", () => {
  it("renders one labelled input per property with stored values and errors", () => {
    render(<Harness />);
    expect(screen.getByLabelText(/Host/)).toHaveValue("db.internal");
    expect(screen.getByText("Host name or IP address.")).toBeInTheDocument();
    expect(screen.getByLabelText("Port")).toHaveValue("5432");
    expect(screen.getByText("Port must be at most 65535")).toBeInTheDocument();
    expect(screen.getByRole("switch", { name: "Read only" })).not.toBeChecked();
  });

  it("shows a stored secret as 'set' with an empty input, never its value", () => {
    render(<Harness secretsSet={["password"]} />);
    expect(screen.getByTestId("secret-set-password")).toHaveTextContent("set");
    const input = screen.getByPlaceholderText(/Stored — type a new value/);
    expect(input).toHaveValue("");
    expect(input).toHaveAttribute("type", "password");
  });

  it("reports typed values, including a new secret", async () => {
    let last: FormValues = {};
    render(<Harness onValues={(values) => (last = values)} />);
    await userEvent.type(screen.getByPlaceholderText("Not set"), "hunter2");
    await userEvent.click(screen.getByRole("switch", { name: "Read only" }));
    expect(last).toMatchObject({ password: "hunter2", read_only: true, host: "db.internal" });
  });
});
