"""A route's transaction commits before its response is sent: a 2xx means the write is stored."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.api.app import create_app
from sluice.api.deps import DbSession
from sluice.core.settings import Settings
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace
from sluice.store.tables.workspaces import Workspace


def test_a_write_that_cannot_commit_answers_an_error_not_a_success(
    settings: Settings, sqlite_database: Database
) -> None:
    with sqlite_database.session() as session:
        organization_id = ensure_default_workspace(session).organization_id
    app = create_app(settings, sqlite_database)

    def twin_workspaces(session: DbSession) -> dict[str, bool]:
        # Two workspaces with one slug: nothing fails until the commit.
        for _ in range(2):
            session.add(Workspace(organization_id=organization_id, name="Twin", slug="twin"))
        return {"saved": True}

    app.add_api_route("/_test/twin-workspaces", twin_workspaces, methods=["POST"])
    app.router.routes.insert(0, app.router.routes.pop())  # before the web app's catch-all

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/_test/twin-workspaces")
    assert response.status_code >= 400, response.text
    with sqlite_database.session() as session:
        assert session.scalars(select(Workspace).where(Workspace.slug == "twin")).all() == []
