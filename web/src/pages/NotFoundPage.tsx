import { Button } from "@mantine/core";
import { Link } from "react-router-dom";

import { EmptyState } from "../components/feedback";

export function NotFoundPage() {
  return (
    <EmptyState title="Nothing here" action={<Button component={Link} to="/sources">Go to sources</Button>}>
      This address does not match any page of Sluice. Pick an area in the navigation on the left.
    </EmptyState>
  );
}
