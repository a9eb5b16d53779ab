"""From the demo workspace to Mailchimp's emulator: activate a segment, run it, see the members arrive;
then break the destination's credentials and see the run fail with a readable message."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e
RUN_TIMEOUT_MS = 120_000


def pick(page: Page, select: Locator, option: str | re.Pattern[str]) -> None:
    select.click()
    page.get_by_role("option", name=option).first.click()


def test_e2e_activate_a_segment_to_mailchimp_and_break_its_credentials(
    page: Page, api, emulators, browser_errors, shoot
) -> None:
    mailchimp = emulators.configs["mailchimp"]
    users = next(model for model in api.get("/models").json()["items"] if model["name"] == "users")
    segment = api.post(
        "/segments",
        {
            "name": "Swedish gold members",
            "description": "",
            "model_id": users["id"],
            "type": "conditions",
            "definition": {
                "conditions": {
                    "kind": "group",
                    "op": "and",
                    "conditions": [
                        {"kind": "property", "field": "country", "operator": "in", "values": ["SE"]},
                        {
                            "kind": "property",
                            "field": "loyalty_tier",
                            "operator": "in",
                            "values": ["gold", "platinum"],
                        },
                    ],
                }
            },
        },
    )
    assert segment.status == 201, segment.text()

    # The destination, through its typed form; the API key is write-only.
    page.goto("/destinations/new")
    page.get_by_label(re.compile(r"^Name")).first.fill("Mailchimp (emulator)")
    pick(page, page.get_by_role("combobox", name="Platform"), re.compile("Mailchimp"))
    page.locator("#field-api_key").fill(str(mailchimp["api_key"]))
    page.locator("#field-list_id").fill(str(mailchimp["list_id"]))
    page.locator("#field-base_url").fill(str(mailchimp["base_url"]))
    shoot(page, "20-destination-new")
    page.get_by_role("button", name="Create destination").click()
    expect(page).to_have_url(re.compile(r"/destinations/[0-9A-Za-z]{26}$"))
    expect(page.get_by_test_id("secret-set-api_key")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("test-outcome")).to_contain_text("Connected")
    destination_url = page.url
    shoot(page, "21-destination-connected")

    # The activation: segment → destination; the destination's defaults fill the rest.
    page.goto("/activations/new")
    pick(page, page.get_by_role("combobox", name="Segment"), "Swedish gold members")
    pick(page, page.get_by_role("combobox", name="Destination"), "Mailchimp (emulator)")
    expect(page.get_by_role("combobox", name="Identifier field")).to_have_value(re.compile(r"^email"))
    expect(page.get_by_test_id("schedule-summary")).not_to_be_empty()
    shoot(page, "22-activation-new")
    page.get_by_role("button", name="Create activation").click()
    expect(page).to_have_url(re.compile(r"/activations/[0-9A-Za-z]{26}$"))
    activation_url = page.url
    shoot(page, "23-activation")

    # Run it and watch it finish.
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9A-Za-z]{26}$"))
    expect(page.get_by_role("heading", name=re.compile(r"^Run of"))).to_be_visible()
    state = page.get_by_test_id("run-state").first
    expect(state).to_have_text(re.compile(r"succeeded|partial"), timeout=RUN_TIMEOUT_MS)
    counts = page.get_by_test_id("run-counts")
    expect(counts).to_contain_text("Delivered")
    delivered = _count(counts, "Delivered")
    assert delivered > 0
    shoot(page, "24-run-succeeded")

    # Per-row outcomes: filter to delivered rows, and download them as CSV.
    page.get_by_role("radiogroup", name="Filter row outcomes").get_by_text("Delivered").click()
    outcomes = page.get_by_test_id("outcomes-table")
    expect(outcomes.get_by_text("delivered").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert "status" in lines[0], lines[:3]
    assert len(lines) == delivered + 1, lines[:3]

    # The emulator's static segment now holds the delivered members.
    with httpx.Client(auth=("sluice", str(mailchimp["api_key"])), timeout=10) as vendor:
        listing = vendor.get(
            f"{mailchimp['base_url']}/lists/{mailchimp['list_id']}/segments", params={"count": 100}
        )
        listing.raise_for_status()
        created = [seg for seg in listing.json()["segments"] if seg["name"] == "Swedish gold members"]
        assert created, listing.json()
        assert created[0]["member_count"] == delivered

    # Break the credentials: the next run fails and says why.
    page.goto(destination_url)
    page.locator("#field-api_key").fill("broken0000000000000000000000000-us1")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Destination “Mailchimp (emulator)” saved.")).to_be_visible()
    page.goto(activation_url)
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9A-Za-z]{26}$"))
    expect(page.get_by_role("heading", name=re.compile(r"^Run of"))).to_be_visible()
    expect(page.get_by_test_id("run-state").first).to_have_text("failed", timeout=RUN_TIMEOUT_MS)
    error = page.get_by_test_id("run-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile(r"key|credential|auth", re.IGNORECASE))
    shoot(page, "25-run-failed")

    # Bad credentials pause the activation automatically; its page says why and offers to resume.
    page.goto("/activations")
    expect(page.get_by_test_id("activation-status")).to_have_text("paused")
    page.goto(activation_url)
    notice = page.get_by_test_id("pause-notice")
    expect(notice).to_contain_text("Paused automatically")
    expect(page.get_by_test_id("activation-state")).to_have_text("paused automatically")
    shoot(page, "27-activation-paused")
    with page.expect_response(re.compile(r"/resume$")) as resumed:
        notice.get_by_role("button", name=re.compile("resume now")).click()
    assert resumed.value.ok, resumed.value.text()
    expect(page.get_by_text("Activation resumed.")).to_be_visible()
    expect(page.get_by_test_id("activation-state")).to_have_text("active")
    with page.expect_response(re.compile(r"/pause$")) as paused:
        page.get_by_role("button", name="Pause", exact=True).click()
    assert paused.value.ok, paused.value.text()
    expect(page.get_by_text(re.compile("^Activation paused"))).to_be_visible()
    expect(notice).to_contain_text("paused by")
    expect(page.get_by_test_id("pause-history")).to_contain_text("resume")
    with page.expect_response(re.compile(r"/resume$")) as resumed_again:
        page.get_by_role("button", name="Resume", exact=True).click()
    assert resumed_again.value.ok, resumed_again.value.text()
    expect(page.get_by_test_id("activation-state")).to_have_text("active")

    # Edit it: a new name and one field mapping fewer.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Activation name").fill("Swedish gold members to Mailchimp")
    page.get_by_test_id("mapping-editor").get_by_role("button", name="Remove mapping").first.click()
    shoot(page, "28-activation-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Swedish gold members to Mailchimp", level=2)).to_be_visible()
    expect(page.get_by_text("first_name → FNAME")).to_have_count(0)

    page.goto("/runs")
    expect(page.get_by_test_id("runs-table").get_by_text("failed")).to_be_visible()
    shoot(page, "26-runs")


def _count(counts: Locator, label: str) -> int:
    card = (
        counts.locator("div", has_text=re.compile(rf"^{label}", re.IGNORECASE))
        .filter(has_text=re.compile(r"\d"))
        .last
    )
    digits = re.sub(r"\D", "", card.inner_text().split("\n")[-1])
    return int(digits)
