"""Identity resolution in the browser: run a graph, read its counts and warnings, edit rules, look a profile up."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SPEC = {
    "identifiers": [{"name": "email", "kind": "email", "gmail_normalize": True}, {"name": "crm_id"}],
    "inputs": [
        {
            "model": "idr_crm",
            "identifiers": {"email": "email", "crm_id": "crm_id"},
            "attributes": {"first_name": "first_name"},
        },
        {"model": "idr_news", "identifiers": {"email": "email"}, "attributes": {"first_name": "first_name"}},
    ],
    "rules": [{"name": "email", "identifiers": ["email"]}],
    "limits": [{"identifier": "crm_id", "max_values": 1}],
}


def test_e2e_identity_run_rules_and_lookup(page: Page, api, tmp_path: Path, shoot) -> None:
    path = tmp_path / "people.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE crm AS SELECT * FROM (VALUES (1, 'Ann.Lee@gmail.com', 'C1', 'Ann'),"
            " (2, 'home@x.com', 'C2', 'Bob'), (3, 'home@x.com', 'C3', 'Cat')) t(id, email, crm_id, first_name)"
        )
        con.execute(
            "CREATE TABLE news AS SELECT * FROM (VALUES (7, 'annlee+deals@gmail.com', 'Anne')) t(id, email, first_name)"
        )
    source = api.post("/sources", {"name": "People file", "type": "duckdb", "config": {"path": str(path)}})
    assert source.ok, source.text()
    source_id = source.json()["id"]
    for name, table in (("idr_crm", "crm"), ("idr_news", "news")):
        created = api.post(
            "/models", {"name": name, "source_id": source_id, "table": {"name": table}, "primary_key": "id"}
        )
        assert created.ok, created.text()
    graph = api.post("/identity-graphs", {"name": "People", "source_id": source_id, "spec": SPEC})
    assert graph.ok, graph.text()

    page.goto("/identity")
    card = page.get_by_test_id("identity-graph-card").filter(has_text="People")
    expect(card).to_contain_text("Never ran.")
    card.get_by_role("button", name="Run now").click()
    expect(card).to_contain_text("Profiles")
    expect(card).to_contain_text("home@x.com")  # warning: the shared address was not used
    card.get_by_role("tab", name="Run history").click()
    expect(card.get_by_role("cell", name="succeeded")).to_be_visible()
    shoot(page, "60-identity-graph")

    card.get_by_role("tab", name="Rules").click()
    card.get_by_placeholder("Add a rule on…").click()
    page.get_by_role("option", name="crm_id").click()
    card.get_by_role("button", name="Move up").nth(1).click()
    card.get_by_role("button", name="Save rules").click()
    expect(page.get_by_text("Rules saved")).to_be_visible()
    rules = api.get(f"/identity-graphs/{graph.json()['id']}").json()["spec"]["rules"]
    assert [rule["name"] for rule in rules] == ["crm_id", "email"]

    card.get_by_role("tab", name="Profile lookup").click()
    card.get_by_role("textbox", name="Value", exact=True).fill("ANN.LEE@googlemail.com")
    card.get_by_role("button", name="Look up").click()
    profile = card.get_by_test_id("identity-profile")
    expect(profile).to_contain_text("idr_news:7")
    expect(profile).to_contain_text("annlee@gmail.com")
    expect(profile).to_contain_text("first_nameAnn")  # no timestamps: the smaller record key wins the tie
    shoot(page, "61-identity-lookup")
