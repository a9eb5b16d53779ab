"""Every destination type's settings form renders from its JSON Schema: each setting has an input,
secrets are password fields, and the page logs no error (the ``page`` fixture fails on console errors)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def _settings(json_schema: dict[str, Any], connect_field: str | None) -> dict[str, bool]:
    """Top-level settings a user fills in → whether each is a secret."""
    return {
        name: prop.get("format") == "password" or prop.get("writeOnly") is True
        for name, prop in json_schema.get("properties", {}).items()
        if not prop.get("readOnly") and name != connect_field
    }


def test_e2e_every_destination_type_renders_its_settings_form(page: Page, api: Any, shoot: Any) -> None:
    types = api.get("/destination-types").json()
    assert len(types) >= 30
    page.goto("/destinations/new")
    for destination_type in types:
        page.locator("#field-type").click()
        page.get_by_role("option", name=destination_type["title"], exact=True).click()
        oauth = destination_type.get("oauth") or {}
        connect_field = oauth.get("connect_field") if oauth.get("connect") else None
        settings = _settings(destination_type["json_schema"], connect_field)
        assert settings, destination_type["name"]
        for name, secret in settings.items():
            field = page.locator(f'[id="field-{name}"], [id^="field-{name}."]').first
            expect(field, f"{destination_type['name']}: {name}").to_be_attached()
            if secret:
                expect(field).to_have_attribute("type", "password")
        if connect_field:
            expect(page.get_by_test_id("oauth-connect")).to_be_visible()
    page.locator("#field-type").click()
    page.get_by_role("option", name="Salesforce Marketing Cloud", exact=True).click()
    shoot(page, "destination-form-sfmc")
