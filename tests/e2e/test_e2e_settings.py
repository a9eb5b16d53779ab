"""Settings: invite a member (link shown once), the invitee joins, their role is changed; a token is
created (value shown once), works, and is revoked."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_e2e_invite_a_member_and_change_their_role(page: Page, server: Any, shoot: Any) -> None:
    page.goto("/settings/members")
    page.get_by_role("button", name="Invite member").click()
    dialog = page.get_by_role("dialog", name="Invite a member")
    dialog.get_by_label("Email").fill("ada@example.com")
    dialog.get_by_role("combobox", name="Role").click()
    page.get_by_role("option", name=re.compile("^operator")).click()
    dialog.get_by_role("button", name="Create invitation").click()
    link = dialog.get_by_test_id("invitation-link-value")
    expect(link).to_contain_text("/invite?token=slu_inv_")
    shoot(page, "40-invitation-created")
    accept_url = link.inner_text().strip()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("invitations-table")).to_contain_text("ada@example.com")

    # The invitee opens the link in their own browser and joins.
    invitee = page.context.browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[union-attr]
    try:
        joining = invitee.new_page()
        joining.goto(accept_url.replace(re.sub(r"/invite.*", "", accept_url), server.url))
        joining.get_by_label("Name").fill("Ada")
        joining.get_by_role("textbox", name="Password").fill("a long enough password 1")
        joining.get_by_role("button", name="Accept invitation").click()
        expect(joining.get_by_role("heading", name="Sources", level=2)).to_be_visible()
        # An operator sees no buttons their role cannot use.
        expect(joining.get_by_role("button", name="New source")).to_have_count(0)
        joining.goto(f"{server.url}/settings/members")
        expect(joining.get_by_test_id("members-table")).to_contain_text("ada@example.com")
        expect(joining.get_by_role("button", name="Invite member")).to_have_count(0)
        navigation = joining.get_by_role("navigation", name="Main navigation")
        expect(navigation.get_by_role("link", name="Members")).to_be_visible()
        expect(navigation.get_by_role("link", name="Audit log")).to_have_count(0)
    finally:
        invitee.close()

    page.reload()
    members = page.get_by_test_id("members-table")
    row = members.get_by_role("row", name=re.compile("ada@example.com"))
    expect(row).to_be_visible()
    expect(page.get_by_test_id("invitations-table")).to_have_count(0)
    role = page.get_by_role("combobox", name="Role of ada@example.com")
    expect(role).to_have_value("operator")
    role.click()
    page.get_by_role("option", name="editor", exact=True).click()
    expect(page.get_by_text("Ada is now editor.")).to_be_visible()
    shoot(page, "41-members")


def test_e2e_create_a_token_use_it_and_revoke_it(page: Page, server: Any, shoot: Any) -> None:
    page.goto("/settings/tokens")
    page.get_by_role("button", name="Create token", exact=True).click()
    dialog = page.get_by_role("dialog", name="Create token")
    dialog.get_by_label("Name").fill("CI deploy")
    dialog.get_by_role("button", name="Create", exact=True).click()
    value = dialog.get_by_test_id("token-created-value")
    expect(value).to_contain_text(re.compile(r"\S{20,}"))
    token = value.inner_text().strip()
    shoot(page, "42-token-created")
    dialog.get_by_role("button", name="Done").click()

    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/v1/sources", headers=headers, timeout=30).status_code == 200

    table = page.get_by_test_id("personal-tokens-table")
    page.once("dialog", lambda confirm: confirm.accept())
    table.get_by_role("button", name="Revoke CI deploy").click()
    expect(table.get_by_role("row", name=re.compile("CI deploy"))).to_contain_text("revoked")
    assert httpx.get(f"{server.url}/api/v1/sources", headers=headers, timeout=30).status_code == 401
    shoot(page, "43-tokens")
