"""Signing in: the demo offers one click; a wrong password gets a readable message."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_e2e_demo_user_signs_in_with_one_click(anonymous_page: Page, browser_errors, shoot) -> None:
    browser_errors.expect("status of 401")  # /auth/me before signing in
    page = anonymous_page
    page.goto("/sources")
    expect(page.get_by_role("heading", name="Sign in to Sluice")).to_be_visible()
    shoot(page, "00-sign-in")
    page.get_by_role("button", name="Continue as demo user").click()
    expect(page.get_by_role("heading", name="Sources", level=2)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/sources$"))
    expect(page.get_by_role("button", name="Account")).to_be_visible()


def test_e2e_wrong_password_is_refused_with_a_message(anonymous_page: Page, browser_errors) -> None:
    browser_errors.expect("status of 401")
    page = anonymous_page
    page.goto("/")
    page.get_by_label(re.compile(r"^Email")).fill("nobody@example.com")
    page.get_by_label(re.compile(r"^Password")).fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("login-error")).not_to_be_empty()
