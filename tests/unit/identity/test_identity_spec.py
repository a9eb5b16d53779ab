"""Identity specs: references between identifiers, inputs, rules and limits are checked up front."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sluice.identity.spec import IdentitySpec


def test_specs_refuse_unknown_identifiers_and_reserved_names() -> None:
    base = {
        "identifiers": [{"name": "email", "kind": "email"}],
        "inputs": [{"model": "users", "identifiers": {"email": "email"}, "attributes": {"city": "city"}}],
        "rules": [{"name": "email", "identifiers": ["email"]}],
    }
    assert IdentitySpec.model_validate(base).strategy("city").value == "most_recent"
    assert IdentitySpec.model_validate(base).strategy("email").value == "most_frequent"
    for change, message in (
        ({"rules": [{"name": "phone", "identifiers": ["phone"]}]}, "unknown identifier 'phone'"),
        (
            {
                "inputs": [
                    {"model": "users", "identifiers": {"email": "email"}, "attributes": {"seen_at": "x"}}
                ]
            },
            "Sluice adds",
        ),
        ({"limits": [{"identifier": "crm_id"}]}, "limit on unknown identifier"),
    ):
        with pytest.raises(ValidationError, match=message):
            IdentitySpec.model_validate({**base, **change})
