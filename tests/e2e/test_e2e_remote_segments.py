"""A Mailchimp static segment imported as a remote segment in the browser: the creation flow
(model → platform and remote segment → shared identifier → refresh frequency), a refresh, and its
history with the matched counts."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from sluice.destinations.emulators import demo_contacts, keeps

pytestmark = pytest.mark.e2e
REFRESH_TIMEOUT_MS = 120_000
SEEDED_SHARE = 0.9  # the e2e emulator makes ~90% of demo users Mailchimp contacts


def test_e2e_import_a_mailchimp_segment_and_refresh_it(
    page: Page, api, emulators, server, browser_errors, shoot
) -> None:
    mailchimp = emulators.configs["mailchimp"]
    emails = [email for email in demo_contacts(server.warehouse) if keeps(email, SEEDED_SHARE)][:40]
    with httpx.Client(auth=("sluice", str(mailchimp["api_key"])), timeout=10) as vendor:
        created = vendor.post(
            f"{mailchimp['base_url']}/lists/{mailchimp['list_id']}/segments",
            json={"name": "Clicked the winter campaign", "static_segment": emails},
        )
        created.raise_for_status()
    destination = api.post(
        "/destinations",
        {
            "name": "Mailchimp for remote segments",
            "type": "mailchimp",
            "config": {"list_id": mailchimp["list_id"], "base_url": mailchimp["base_url"]},
            "secrets": {"api_key": mailchimp["api_key"]},
        },
    )
    assert destination.status == 201, destination.text()

    page.goto("/segments")
    page.get_by_role("link", name="Import from a platform").click()
    expect(page).to_have_url(re.compile(r"/remote-segments/new$"))
    page.get_by_label(re.compile(r"^Name")).first.fill("Winter campaign clickers")
    _pick(page, "Built on model", "users")
    _pick(page, "Platform", "Mailchimp for remote segments")
    _pick(page, "Remote segment", re.compile("Clicked the winter campaign"))
    expect(page.get_by_role("combobox", name="Model field")).to_have_value(re.compile(r"^email"))
    shoot(page, "60-remote-segment-new")
    page.get_by_role("button", name="Create remote segment").click()
    expect(page).to_have_url(re.compile(r"/remote-segments/[0-9A-Za-z]{26}$"))
    expect(page.get_by_test_id("remote-size")).to_contain_text("not refreshed yet")

    page.get_by_role("button", name="Refresh now").click()
    history = page.get_by_test_id("refresh-history")
    expect(history).to_contain_text("succeeded", timeout=REFRESH_TIMEOUT_MS)
    expect(history).to_contain_text("40")
    size = page.get_by_test_id("remote-size")
    expect(size).to_contain_text("ids matched")
    expect(size).not_to_contain_text("not refreshed yet")
    shoot(page, "61-remote-segment-refreshed")

    page.goto("/remote-segments")
    expect(page.get_by_test_id("remote-segments-table")).to_contain_text("Winter campaign clickers")
    expect(page.get_by_test_id("remote-platforms")).to_contain_text("Voyado")
    shoot(page, "62-remote-segments")
    assert browser_errors.unexpected() == []


def _pick(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option).first.click()
