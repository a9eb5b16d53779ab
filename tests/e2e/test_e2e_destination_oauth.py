""" "Connect with Pinterest" in the browser: the destination form saves the settings, the browser
goes to the Pinterest emulator's consent page (which approves and redirects back with a code), the
callback stores the refresh token, and the form shows the destination as connected."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_e2e_connect_a_destination_with_the_vendor(page: Page, pinterest_emulator: Any, shoot: Any) -> None:
    config = pinterest_emulator.configs["pinterest"]
    page.goto("/destinations/new")
    page.get_by_label("Name").first.fill("Pinterest ads")
    page.locator("#field-type").click()
    page.get_by_role("option", name="Pinterest", exact=True).click()
    connect = page.get_by_test_id("oauth-connect")
    expect(connect.get_by_text("Not connected")).to_be_visible()
    expect(page.locator("#field-refresh_token")).to_have_count(0)  # the button replaces the field
    for name in ("client_id", "client_secret", "ad_account_id", "base_url", "oauth_base_url"):
        page.locator(f"#field-{name}").fill(str(config[name]))
    shoot(page, "destination-oauth-01-new")

    page.get_by_role("button", name="Connect with Pinterest").click()
    # the emulator's consent page approves at once and sends the browser back through the callback
    expect(page).to_have_url(re.compile(r"/destinations/[0-9A-Za-z]{26}$"))
    expect(page.get_by_text("The platform account is connected.")).to_be_visible()
    expect(connect.get_by_text("Connected", exact=True)).to_be_visible()
    expect(connect.get_by_role("button", name="Reconnect")).to_be_visible()
    shoot(page, "destination-oauth-02-connected")

    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("test-outcome")).to_contain_text("Connected")
    expect(page.get_by_test_id("test-outcome")).not_to_contain_text(str(config["refresh_token"]))
