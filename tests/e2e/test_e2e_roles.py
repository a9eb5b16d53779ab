"""Roles in the browser: a viewer reads sources, destinations and segments but is offered no button
their role cannot use (Save, Delete, Create, Test connection), and each page says why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

WRITE_BUTTONS = re.compile(
    r"^(Save changes|Save segment|Create source|Create destination|Create segment|Delete|Test connection"
    r"|New source|New destination|New segment|Import from a platform)$"
)


@pytest.fixture
def viewer_page(browser: Browser, server: Any, api: Any, browser_errors: Any) -> Iterator[Page]:
    """A browser signed in as a viewer who joined through an invitation the demo owner made."""
    invitation = api.post("/invitations", {"email": "vera.viewer@example.com", "role": "viewer"})
    assert invitation.status == 201, invitation.text()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    joined = context.request.post(
        f"{server.url}/api/v1/invitations/accept",
        data={"token": invitation.json()["token"], "name": "Vera", "password": "a long enough password 1"},
    )
    assert joined.ok, joined.text()
    assert joined.json()["role"] == "viewer"
    viewer = context.new_page()
    viewer.on(
        "console", lambda m: browser_errors.seen.append(f"console: {m.text}") if m.type == "error" else None
    )
    viewer.on("pageerror", lambda error: browser_errors.seen.append(f"page error: {error}"))
    yield viewer
    context.close()


def _objects(api: Any) -> dict[str, str]:
    """One source (the demo's), destination and segment for the viewer to open."""
    source = api.get("/sources").json()["items"][0]
    destination = api.post(
        "/destinations",
        {
            "name": "Mailchimp seen by a viewer",
            "type": "mailchimp",
            "config": {"list_id": "list1", "base_url": "http://127.0.0.1:9/3.0"},
            "secrets": {"api_key": "0123456789abcdef0123456789abcdef-us1"},
        },
    )
    assert destination.status == 201, destination.text()
    users = next(model for model in api.get("/models").json()["items"] if model["name"] == "users")
    segment = api.post(
        "/segments",
        {
            "name": "Swedes seen by a viewer",
            "description": "",
            "model_id": users["id"],
            "type": "conditions",
            "definition": {
                "conditions": {
                    "kind": "group",
                    "op": "and",
                    "conditions": [
                        {"kind": "property", "field": "country", "operator": "in", "values": ["SE"]}
                    ],
                }
            },
        },
    )
    assert segment.status == 201, segment.text()
    return {"source": source["id"], "destination": destination.json()["id"], "segment": segment.json()["id"]}


def _no_write_buttons(page: Page) -> None:
    expect(page.get_by_test_id("read-only-hint")).to_contain_text("Read-only for your role (viewer)")
    expect(page.get_by_role("button", name=WRITE_BUTTONS)).to_have_count(0)
    expect(page.get_by_role("link", name=WRITE_BUTTONS)).to_have_count(0)


def test_e2e_a_viewer_gets_no_write_buttons(viewer_page: Page, api: Any, shoot: Any) -> None:
    ids = _objects(api)
    page = viewer_page

    for path, heading in (
        ("/sources", "Sources"),
        ("/destinations", "Destinations"),
        ("/segments", "Segments"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
        expect(page.get_by_test_id("read-only-hint")).to_contain_text("needs the")
        _no_write_buttons(page)
    shoot(page, "50-viewer-segments")

    page.goto(f"/sources/{ids['source']}")
    expect(page.locator("#field-name")).to_have_value(re.compile(r"\S"))
    expect(page.locator("#field-name")).to_be_disabled()
    _no_write_buttons(page)
    expect(page.get_by_test_id("read-only-hint")).to_contain_text("changing sources needs the admin role")
    shoot(page, "51-viewer-source")

    page.goto(f"/destinations/{ids['destination']}")
    expect(page.locator("#field-name")).to_have_value("Mailchimp seen by a viewer")
    expect(page.locator("#field-name")).to_be_disabled()
    _no_write_buttons(page)
    shoot(page, "52-viewer-destination")

    page.goto(f"/segments/{ids['segment']}")
    expect(page.get_by_label("Segment name")).to_have_value("Swedes seen by a viewer")
    expect(page.get_by_test_id("live-count")).to_have_text(re.compile(r"\d"))
    _no_write_buttons(page)
    expect(page.get_by_test_id("read-only-hint")).to_contain_text("changing segments needs the editor role")
    shoot(page, "53-viewer-segment")
