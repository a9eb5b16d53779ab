"""The Predictions page: create a churn predictor, train it, read its metrics and feature importance."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_e2e_train_a_churn_predictor_and_read_its_metrics(page: Page, shoot) -> None:
    page.goto("/predictions")
    expect(page.get_by_role("heading", name="Predictions", level=2)).to_be_visible()
    page.get_by_label("Name").fill("Churn (e2e)")
    page.get_by_role("combobox", name="Users model").click()
    page.get_by_role("option", name="users").first.click()
    page.get_by_label("Purchases filter (optional)").fill("status = 'completed'")
    page.get_by_role("button", name="Create").click()
    card = page.get_by_test_id("predictor-card").filter(has_text="Churn (e2e)")
    expect(card).to_contain_text("Not trained yet")
    card.get_by_role("button", name="Train now").click()
    # Training runs on the server (features in DuckDB, LightGBM); the page polls its progress.
    expect(card.get_by_text(re.compile("beats the baseline"))).to_be_visible(timeout=120_000)
    expect(card.get_by_test_id("feature-importance")).to_contain_text("days_since_last_purchase")
    expect(card.get_by_test_id("decile-table")).to_contain_text("Lift")
    expect(card.get_by_test_id("version-history")).to_contain_text("active")
    shoot(page, "60-predictions")
