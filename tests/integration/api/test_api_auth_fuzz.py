"""Schemathesis over the OpenAPI document with a valid owner token: no request ends in a 5xx.

Every operation gets a small, bounded number of generated requests (derandomized, so a run is
repeatable); a failure names the operation and the answer.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 5


def test_no_server_errors_with_a_valid_token(client: TestClient) -> None:
    # Built in-process (not fetched): on a busy machine the HTTP fetch can outlast the loader's timeout.
    schema = schemathesis.openapi.from_dict(client.app.openapi())  # type: ignore[attr-defined]
    schema.app = client.app
    headers = {"Authorization": client.headers["Authorization"]}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def probe(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
                )

        probe()
    assert failures == []
