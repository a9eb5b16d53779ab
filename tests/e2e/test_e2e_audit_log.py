"""The audit log page: newest first, filtered by object type, action, actor and day range; the CSV
export follows the filters."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_e2e_filter_the_audit_log(page: Page, api: Any, shoot: Any) -> None:
    created = api.post("/sources", {"name": "Audited warehouse", "type": "duckdb", "config": {}})
    assert created.status == 201, created.text()
    source_id = created.json()["id"]
    assert api.patch(f"/sources/{source_id}", {"description": "renamed once"}).ok
    assert api.delete(f"/sources/{source_id}").ok  # leaves nothing behind for other tests

    page.goto("/settings/audit-log")
    table = page.get_by_test_id("audit-table")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    mine = rows.filter(has_text=source_id[-8:])  # other tests (and the demo set-up) add entries too

    filters = page.get_by_role("search", name="Audit log filters")
    filters.get_by_label("Object type", exact=True).fill("source")
    filters.get_by_label("Action", exact=True).fill("update")
    page.keyboard.press("Escape")
    expect(mine).to_have_count(1)
    expect(rows.filter(has_not_text="update")).to_have_count(0)
    expect(rows.filter(has_not_text="source")).to_have_count(0)
    export = page.get_by_role("link", name="Export CSV")
    expect(export).to_have_attribute("href", re.compile(r"target_type=source.*|action=update.*"))
    shoot(page, "44-audit-log-filtered")

    # Newest first; the demo's own source was made by the system.
    filters.get_by_label("Action", exact=True).fill("")
    page.keyboard.press("Escape")
    expect(mine).to_have_count(3)
    expect(mine.nth(0)).to_contain_text("delete")
    expect(mine.nth(1)).to_contain_text("update")
    expect(mine.nth(2)).to_contain_text("create")
    expect(rows.filter(has_text="system")).not_to_have_count(0)
    # The actor picked from a row keeps only that actor's entries.
    mine.first.get_by_title("Show only this actor").click()
    expect(filters.get_by_label("Actor", exact=True)).not_to_have_value("")
    expect(rows.filter(has_text="system")).to_have_count(0)
    expect(mine).to_have_count(3)

    # A day range in the future matches nothing; a reversed range is refused in words.
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    filters.get_by_label("From", exact=True).fill(tomorrow)
    expect(page.get_by_text("No entries match these filters")).to_be_visible()
    filters.get_by_label("To", exact=True).fill(date.today().isoformat())
    expect(page.get_by_test_id("audit-filter-problem")).to_contain_text("first day is after the last day")
    filters.get_by_label("From", exact=True).fill(date.today().isoformat())
    expect(mine).to_have_count(3)

    page.get_by_role("button", name="Clear filters").click()
    expect(rows.filter(has_text="system")).not_to_have_count(0)
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", "/api/v1/audit-logs/export?format=csv"
    )
    shoot(page, "45-audit-log")
