"""Remote segments end to end: an Intercom tag read back, enriched by the users model, combined
with a warehouse condition, activated to Mailchimp — and the refresh's failure modes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.remote import DEMO_REMOTE_SEGMENT, seed_demo_remote_segment
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.sdk import Target, TargetSpec
from sluice.jobs.remote_refreshes import claim_due_refreshes, refreshes_to_dispatch
from sluice.segments.remote_refresh import execute_refresh
from sluice.store.db import Database
from sluice.store.tables.activations import Run
from sluice.store.tables.jobs import PendingAlert
from sluice.store.tables.segments import Segment
from sluice.store.tables.sources import Source
from sluice.sync.runner import execute_run

TAG = "engaged"
UNKNOWN_CONTACTS = ["stranger1@elsewhere.example", "stranger2@elsewhere.example"]


@dataclass
class RemoteDemo:
    client: TestClient
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    workspace: DemoWorkspace
    users_model_id: str
    tag: Target

    @property
    def intercom(self) -> Any:
        return self.emulators.emulators["intercom"]

    def tag_contacts(self, emails: set[str]) -> None:
        """Make exactly ``emails`` carry the tag in Intercom (as if tagged in Intercom's UI)."""
        for contact in self.intercom.contacts.values():
            contact.tags.discard(self.tag.id)
        self.intercom.seed_members(self.tag, emails)

    def create_remote(self, **remote: Any) -> Any:
        body = {
            "name": remote.pop("name", "Engaged in Intercom"),
            "model_id": self.users_model_id,
            "type": "remote",
            "refresh_schedule": remote.pop("refresh_schedule", None),
            "remote": {
                "destination_id": self.workspace.destinations["intercom"],
                "remote_id": self.tag.id,
                "remote_kind": "tag",
                "identifier_field": "email",
                **remote,
            },
        }
        return self.client.post("/api/v1/segments", json=body)

    def refresh(self, segment_id: str) -> dict[str, Any]:
        queued = self.client.post(f"/api/v1/segments/{segment_id}/refresh")
        assert queued.status_code == 202, queued.text
        assert queued.json()["state"] == "queued"
        execute_refresh(self.database, self.settings, queued.json()["id"], worker="test")
        history = self.client.get(f"/api/v1/segments/{segment_id}/refreshes").json()["items"]
        assert history[0]["id"] == queued.json()["id"]
        return dict(history[0])

    def run(self, activation_id: str) -> Run:
        response = self.client.post(f"/api/v1/activations/{activation_id}/runs", json={})
        assert response.status_code in (200, 201, 202), response.text
        run_id = response.json()["id"]
        execute_run(self.database, self.settings, run_id, worker="test")
        with self.database.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            session.expunge(run)
            return run

    def user_emails(self, where: str) -> list[str]:
        """Lower-cased emails of the users rows matching ``where`` (one per row)."""
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            rows = con.execute(f"SELECT lower(trim(email)) FROM users WHERE {where}").fetchall()
        return [str(row[0]) for row in rows]

    def users(self, where: str) -> set[str]:
        return set(self.user_emails(where))


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("remote-demo") / "demo.duckdb"
    build_demo_warehouse(users=2500, seed=11, path=path, as_of=date.today())
    return path


@pytest.fixture
def demo(
    client: TestClient, settings: Settings, sqlite_database: Database, tmp_path: Path, demo_file: Path
) -> Iterator[RemoteDemo]:
    warehouse = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_file, warehouse)  # one test writes a bookkeeping schema into its copy
    settings.refresh_retry_base_seconds = 0.01
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        intercom = emulators.emulators["intercom"]
        intercom.seed_targets([TAG], TargetSpec(kind="tag", name=TAG))
        tag_id = next(tag_id for tag_id, name in intercom.tags.items() if name == TAG)
        models = client.get("/api/v1/models", params={"limit": 100}).json()["items"]
        users = next(m["id"] for m in models if m["name"] == "users")
        yield RemoteDemo(
            client,
            settings,
            sqlite_database,
            warehouse,
            emulators,
            workspace,
            users,
            Target("tag", tag_id, TAG),
        )


def _intercom_emails(demo: RemoteDemo) -> list[str]:
    return sorted(c.email for c in demo.intercom.contacts.values())


def test_intercom_tag_flows_through_a_remote_segment_to_mailchimp(demo: RemoteDemo) -> None:
    contacts = _intercom_emails(demo)
    tagged = set(contacts[:1000])
    demo.intercom.seed_contacts(UNKNOWN_CONTACTS)
    demo.tag_contacts(tagged | set(UNKNOWN_CONTACTS))

    created = demo.create_remote(refresh_schedule={"kind": "interval", "hours": 6})
    assert created.status_code == 201, created.text
    remote_id = created.json()["id"]
    assert created.json()["refresh_schedule"] == {"kind": "interval", "hours": 6}
    not_yet = demo.client.get(f"/api/v1/segments/{remote_id}/estimate")
    assert not_yet.status_code == 422
    assert "refresh it" in not_yet.text

    refresh = demo.refresh(remote_id)
    assert refresh["state"] == "succeeded", refresh["error"]
    assert refresh["ids_read"] == 1002
    assert (refresh["ids_matched"], refresh["ids_unmatched"]) == (1000, 2)
    assert refresh["unmatched_sample"] == UNKNOWN_CONTACTS
    assert refresh["storage"] == "local"  # the demo warehouse is read-only
    in_model = demo.user_emails(f"lower(trim(email)) IN ({', '.join(repr(e.lower()) for e in tagged)})")
    assert refresh["rows"] == len(in_model)
    estimate = demo.client.get(f"/api/v1/segments/{remote_id}/estimate").json()
    assert estimate["count"] == len(in_model)

    # A warehouse condition on top of the remote segment, activated to another destination.
    combined = demo.client.post(
        "/api/v1/segments",
        json={
            "name": "Engaged in France",
            "model_id": demo.users_model_id,
            "definition": {
                "conditions": {
                    "kind": "group",
                    "op": "and",
                    "conditions": [
                        {"kind": "segment", "segment_id": remote_id},
                        {"kind": "property", "field": "country", "operator": "equals", "value": "FR"},
                    ],
                }
            },
        },
    )
    assert combined.status_code == 201, combined.text
    activation = demo.client.post(
        "/api/v1/activations",
        json={
            "name": "Engaged France → Mailchimp",
            "segment_id": combined.json()["id"],
            "destination_id": demo.workspace.destinations["mailchimp"],
            "service": "membership",
            "target": {"kind": "static_segment", "name": "Engaged France", "create_if_missing": True},
            "identifier": {"field": "email", "kind": "email"},
        },
    )
    assert activation.status_code == 201, activation.text
    activation_id = activation.json()["id"]

    def expected() -> set[str]:
        tagged_now = {c.email.lower() for c in demo.intercom.contacts.values() if demo.tag.id in c.tags}
        return {e for e in demo.users("country = 'FR'") if e in tagged_now}

    def mailchimp_members() -> set[str]:
        target = demo.client.get(f"/api/v1/activations/{activation_id}").json()["target"]
        mailchimp = demo.emulators.emulators["mailchimp"]
        return {m.lower() for m in mailchimp.members(Target("static_segment", str(target["id"]), ""))}

    first = demo.run(activation_id)
    assert first.state == "succeeded", first.error
    assert expected()
    assert mailchimp_members() == expected()

    # Membership changes in Intercom: the next refresh and run carry the change through.
    france = sorted(expected())
    dropped = set(france[:20])
    newly = {e for e in contacts[1000:] if e.lower() in demo.users("country = 'FR'")}
    newly = set(sorted(newly)[:15])
    demo.tag_contacts((tagged - dropped) | newly)
    again = demo.refresh(remote_id)
    assert again["state"] == "succeeded", again["error"]
    assert again["ids_read"] == 1000 - 20 + 15
    second = demo.run(activation_id)
    assert second.state == "succeeded", second.error
    assert (second.counts["added"], second.counts["removed"]) == (15, 20), second.counts
    assert mailchimp_members() == expected()
    assert not (mailchimp_members() & {e.lower() for e in dropped})


def test_unknown_remote_id_and_unsupported_platform_are_refused_with_the_reason(demo: RemoteDemo) -> None:
    unknown = demo.create_remote(remote_id="999999", name="Ghost tag")
    assert unknown.status_code == 422
    assert "999999" in unknown.text
    assert "no longer exists" in unknown.text

    voyado = demo.create_remote(destination_id=demo.workspace.destinations["voyado"], name="Voyado label")
    assert voyado.status_code == 422
    assert "Voyado Engage cannot be used for remote segments" in voyado.text
    platforms = {p["type"]: p for p in demo.client.get("/api/v1/segments/remote-platforms").json()}
    assert platforms["intercom"]["supported"]
    assert platforms["mailchimp"]["supported"]
    assert not platforms["voyado"]["supported"]
    assert "Voyado" in platforms["voyado"]["reason"]

    wrong_field = demo.create_remote(identifier_field="no_such_field", name="Bad field")
    assert wrong_field.status_code == 422
    assert "no_such_field" in wrong_field.text


def test_a_refresh_interrupted_mid_pagination_keeps_the_previous_membership(demo: RemoteDemo) -> None:
    tagged = set(_intercom_emails(demo)[:400])  # three pages of 150 in Intercom's search
    demo.tag_contacts(tagged)
    remote_id = demo.create_remote().json()["id"]
    assert demo.refresh(remote_id)["state"] == "succeeded"
    before = demo.client.get(f"/api/v1/segments/{remote_id}/estimate").json()["count"]

    demo.tag_contacts(set(sorted(tagged)[:320]))  # still three pages
    # The tag lookup and the first page answer; every retry of the second page fails.
    demo.intercom.inject("server_error", 20, after=2)
    failed = demo.refresh(remote_id)
    demo.intercom.faults.clear()
    assert failed["state"] == "failed"
    assert "Intercom" in failed["error"] or "500" in failed["error"], failed["error"]
    assert demo.client.get(f"/api/v1/segments/{remote_id}/estimate").json()["count"] == before
    with demo.database.session() as session:
        alerts = [row.event for row in session.scalars(select(PendingAlert))]
    assert any(
        a.get("headline") == "Remote segment refresh failed" and "previous membership is kept" in a["message"]
        for a in alerts
    ), alerts

    recovered = demo.refresh(remote_id)
    assert recovered["state"] == "succeeded"
    assert recovered["ids_read"] == 320
    assert demo.client.get(f"/api/v1/segments/{remote_id}/estimate").json()["count"] < before


def test_refresh_schedules_queue_once_and_a_writable_source_keeps_members_in_the_warehouse(
    demo: RemoteDemo,
) -> None:
    with demo.database.session() as session:
        source = session.scalars(select(Source)).one()
        source.config = {**source.config, "read_only": False, "bookkeeping_schema": "sluice"}
    demo.tag_contacts(set(_intercom_emails(demo)[:50]))
    remote_id = demo.create_remote(refresh_schedule={"kind": "interval", "minutes": 5}).json()["id"]
    with demo.database.session() as session:
        assert claim_due_refreshes(session) == []  # a new schedule starts at its next due time
        segment = session.get(Segment, remote_id)
        assert segment is not None
        assert segment.next_refresh_at is not None
        due = segment.next_refresh_at
    with demo.database.session() as session:
        queued = claim_due_refreshes(session, now=due)
        assert len(queued) == 1
        assert claim_due_refreshes(session, now=due) == []  # claimed once
        assert refreshes_to_dispatch(session, requeue_after=_minutes(10), now=due) == queued
        assert refreshes_to_dispatch(session, requeue_after=_minutes(10), now=due) == []
    assert execute_refresh(demo.database, demo.settings, queued[0], worker="test") == "succeeded"
    history = demo.client.get(f"/api/v1/segments/{remote_id}/refreshes").json()["items"]
    assert history[0]["trigger"] == "schedule"
    assert history[0]["storage"] == "bookkeeping"
    assert history[0]["rows"] == 50
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sluice'"
            ).fetchall()
        ]
    assert tables == [f"sluice_remote_{remote_id.lower()}_{queued[0].lower()}"]


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def test_the_demo_imports_its_engaged_intercom_contacts(demo: RemoteDemo) -> None:
    assert (
        seed_demo_remote_segment(demo.database, demo.settings, demo.workspace, demo.emulators) == "succeeded"
    )
    segment = next(
        s for s in demo.client.get("/api/v1/segments").json()["items"] if s["name"] == DEMO_REMOTE_SEGMENT
    )
    engaged = {c.email.lower() for c in demo.intercom.contacts.values() if c.tags}
    count = demo.client.get(f"/api/v1/segments/{segment['id']}/estimate").json()["count"]
    assert 0 < count <= len(demo.user_emails("email IS NOT NULL"))
    assert count == sum(1 for e in demo.user_emails("email IS NOT NULL") if e in engaged)
    # Starting the demo again refreshes the same segment (no duplicate).
    assert (
        seed_demo_remote_segment(demo.database, demo.settings, demo.workspace, demo.emulators) == "succeeded"
    )
    names = [s["name"] for s in demo.client.get("/api/v1/segments").json()["items"]]
    assert names.count(DEMO_REMOTE_SEGMENT) == 1
