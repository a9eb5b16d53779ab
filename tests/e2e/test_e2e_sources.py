"""Sources in the browser: empty state, create through the form, list, edit, secrets shown as "set"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_e2e_app_opens_on_sources_with_navigation(page: Page, shoot) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sources$"))
    navigation = page.get_by_role("navigation", name="Main navigation")
    for label in (
        "Sources",
        "Models",
        "Segments",
        "Destinations",
        "Activations",
        "Runs",
        "Members",
        "API tokens",
        "Audit log",
    ):
        expect(navigation.get_by_text(label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Sources", level=2)).to_be_visible()
    expect(page.get_by_test_id("workspace-switcher")).to_be_visible()
    expect(page.get_by_test_id("sources-table").get_by_text("Demo warehouse")).to_be_visible()
    shoot(page, "01-sources")


def test_e2e_create_and_edit_a_duckdb_source(page: Page, server, shoot) -> None:
    page.goto("/sources/new")
    expect(page.get_by_role("heading", name="New source")).to_be_visible()
    page.get_by_label("Name").first.fill("Analytics copy")
    _choose_type(page, "duckdb")
    _fill_config(page, {"path": str(server.warehouse), "read_only": True})
    shoot(page, "02-source-new")
    page.get_by_role("button", name="Create source").click()
    expect(page.get_by_text("Source “Analytics copy” saved.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/sources/[0-9A-Za-z]{26}$"))
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("test-outcome")).to_contain_text("Connected")
    shoot(page, "03-source-edit")

    page.get_by_role("link", name="Sources").first.click()
    table = page.get_by_test_id("sources-table")
    expect(table.get_by_text("Analytics copy")).to_be_visible()
    shoot(page, "04-sources-list")


def test_e2e_secret_is_shown_as_set_never_as_its_value(page: Page, api, shoot) -> None:
    created = api.post(
        "/sources",
        {
            "name": "Reporting Postgres",
            "type": "postgres",
            "config": {"host": "127.0.0.1", "database": "reporting"},
            "secrets": {"password": "hunter2-never-shown"},
        },
    )
    assert created.status == 201, created.text()
    source_id = created.json()["id"]
    page.goto("/sources")
    expect(page.get_by_text("password set")).to_be_visible()
    page.goto(f"/sources/{source_id}")  # a deep link straight into the app
    expect(page.get_by_role("heading", name="Reporting Postgres")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("hunter2-never-shown")
    assert "hunter2-never-shown" not in page.content()
    shoot(page, "05-source-with-secret")


def test_e2e_a_refused_save_shows_the_servers_message(page: Page, browser_errors, shoot) -> None:
    browser_errors.expect("status of 409")
    browser_errors.expect("status of 422")
    page.goto("/sources/new")
    page.get_by_label("Name").first.fill("Demo warehouse")
    _choose_type(page, "duckdb")
    page.get_by_role("button", name="Create source").click()
    expect(page.get_by_text(re.compile("already exists|config", re.IGNORECASE)).first).to_be_visible()
    shoot(page, "06-source-save-refused")


def _choose_type(page: Page, type_name: str) -> None:
    type_input = page.locator("#field-type")
    if type_input.evaluate("el => el.readOnly"):  # the Select of published source types
        type_input.click()
        page.get_by_role("option", name=re.compile(type_name, re.IGNORECASE)).first.click()
    else:
        type_input.fill(type_name)


def _fill_config(page: Page, config: dict[str, object]) -> None:
    raw = page.locator("#field-config")
    if raw.count():
        import json

        raw.fill(json.dumps(config))
        return
    for name, value in config.items():
        field = page.locator(f"#field-{name}")
        if isinstance(value, bool):
            if field.is_checked() != value:
                field.click()
        else:
            field.fill(str(value))
