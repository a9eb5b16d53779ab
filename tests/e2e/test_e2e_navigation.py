"""Every area of the navigation opens without browser errors, at 1280 and 1920 pixels wide."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

AREAS = [
    ("/sources", "Sources"),
    ("/models", "Models"),
    ("/segments", "Segments"),
    ("/destinations", "Destinations"),
    ("/activations", "Activations"),
    ("/runs", "Runs"),
    ("/remote-segments", "Remote segments"),
    ("/identity", "Identity"),
    ("/predictions", "Predictions"),
    ("/settings/members", "Members"),
    ("/settings/tokens", "API tokens"),
    ("/settings/audit-log", "Audit log"),
]


@pytest.mark.parametrize("width", [1280, 1920])
def test_e2e_every_area_opens(page: Page, width: int, shoot) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    for path, title in AREAS:
        page.goto(path)
        expect(page.get_by_role("heading", name=title, level=2)).to_be_visible()
        expect(page.get_by_test_id("loading")).to_have_count(0)
        shoot(page, f"30-{width}-{path.strip('/').replace('/', '-')}", full_page=False)


def test_e2e_model_schema_and_preview(page: Page, shoot) -> None:
    page.goto("/models")
    page.get_by_test_id("models-table").get_by_role("link", name="users", exact=True).click()
    schema = page.get_by_test_id("model-schema")
    expect(schema).to_contain_text("primary key")
    expect(schema).to_contain_text("categorical")
    shoot(page, "31-model-schema")
    page.get_by_role("button", name="Check against source").click()
    expect(page.get_by_test_id("schema-check-ok")).to_be_visible()
    page.get_by_role("button", name="Add calculated field").click()
    dialog = page.get_by_role("dialog", name="Add a calculated field")
    dialog.get_by_label("Name").fill("display_name")
    dialog.get_by_label("SQL expression").fill("first_name || ' ' || last_name")
    dialog.get_by_role("button", name="Add field").click()
    expect(schema.get_by_role("row", name=re.compile("display_name"))).to_contain_text("calculated")
    page.get_by_role("button", name="Edit field display_name").click()
    page.get_by_role("dialog", name="Field display_name").get_by_label("Categorical").check()
    page.get_by_role("button", name="Save").click()
    expect(schema.get_by_role("row", name=re.compile("display_name"))).to_contain_text("categorical")
    page.get_by_role("tab", name="Preview").click()
    expect(page.get_by_test_id("model-preview")).to_contain_text("email")
    page.get_by_role("tab", name="Key health").click()
    expect(page.get_by_test_id("key-health")).to_contain_text("duplicated keys")
    shoot(page, "32-model-key-health")


def test_e2e_unknown_address_says_so(page: Page) -> None:
    page.goto("/no/such/page")
    expect(page.get_by_text("Nothing here")).to_be_visible()
