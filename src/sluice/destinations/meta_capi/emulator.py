"""A local fake of the Meta Conversions API (``POST /{pixel_id}/events`` and the pixel itself).

Faithful to (see README.md for sources): the token and Graph error objects of every Graph API fake
(:mod:`sluice.destinations.meta.graph_emulation`); ``data`` as a JSON array (or a JSON string, as
form posts send it) of at most 1,000 server events; ``event_name``, integer ``event_time`` (Unix
seconds), ``action_source`` and ``user_data`` required; **the whole request refused** when one
``event_time`` is more than 7 days old (62 for ``physical_store``) or ahead of now; contact
information (``em``, ``ph``, ``fn``, ``ln``, ``db``, ``ge``, ``ct``, ``st``, ``zp``, ``country``)
accepted only as SHA-256 digests — raw values are refused and recorded as a limit violation;
``data_processing_options`` ``[]`` or ``["LDU"]`` with country 0/1 and state 0/1000; an answer
``{"events_received": n, "messages": [], "fbtrace_id": …}``; ``test_event_code`` routes events to
the Test Events tab (kept apart); events with the same ``event_name`` and ``event_id`` within 48 h
are counted once.

Stated assumptions (not confirmed against a live pixel): the exact wording and subcodes of the
refusals (code 100 with an ``error_user_msg``); whether Meta refuses or silently drops unhashed
contact information (it refuses here, so a leak fails loudly); that website events without
``client_user_agent``/``event_source_url`` are accepted (Meta calls them required for website
events but documents no error for their absence).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from fastapi import FastAPI, Request

from sluice.destinations.emulation import ReceivedEvent
from sluice.destinations.meta.graph_emulation import GraphEmulator, GraphError, not_found
from sluice.destinations.meta_capi.config import ActionSource
from sluice.destinations.sdk import Target, TargetSpec

PIXEL_ID = "987654321012345"
BATCH_LIMIT = 1000
DAY = 86_400
WINDOW = 7 * DAY
PHYSICAL_STORE_WINDOW = 62 * DAY
DEDUPE_WINDOW = 2 * DAY
FUTURE_SKEW = 60
SHA256 = re.compile(r"[0-9a-f]{64}")
HASHED_USER_KEYS = frozenset({"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country"})
MATCH_KEYS = HASHED_USER_KEYS | {
    "external_id",
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "madid",
    "anon_id",
}
ACTION_SOURCES = frozenset(get_args(ActionSource))
CONSENT_KEYS = ("data_processing_options", "data_processing_options_country", "data_processing_options_state")


def invalid(message: str, subcode: int = 2804000) -> GraphError:
    """Meta's refusal of a whole events request (code 100 with a user message)."""
    return GraphError(
        400, "Invalid parameter", 100, subcode, error_user_title="Invalid parameter", error_user_msg=message
    )


@dataclass
class Pixel:
    id: str
    name: str
    #: counted production events by (event_name, event_id or a fresh id), with when they arrived
    events: dict[tuple[str, str], tuple[dict[str, Any], float]] = field(default_factory=dict)
    test_events: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0


class MetaCapiEmulator(GraphEmulator):
    """One pixel (dataset) under ``/{version}``."""

    name = "meta_capi"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "Meta does not report unmatched people"
    requires_hashing = True
    event_specs = (TargetSpec(kind="event", name="Purchase"),)
    throttled_message = "There have been too many calls from this ad-account. Wait a bit and try again."

    def __init__(self, **kwargs: Any) -> None:
        self.pixels = {PIXEL_ID: Pixel(PIXEL_ID, "Sluice demo pixel")}
        super().__init__(**kwargs)

    def _pixel(self, pixel_id: str, method: str = "get") -> Pixel:
        pixel = self.pixels.get(pixel_id)
        if pixel is None:
            raise not_found(pixel_id, method)
        return pixel

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        self.add_error_handler(app)

        @app.get("/{version}/{pixel_id}")
        def get_pixel(version: str, pixel_id: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            pixel = self._pixel(pixel_id)
            return {"id": pixel.id, "name": pixel.name}

        @app.post("/{version}/{pixel_id}/events")
        async def post_events(version: str, pixel_id: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            pixel = self._pixel(pixel_id, "post")
            body = await self.json_body(request) or {}
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    data = None
            if not isinstance(data, list) or not data:
                raise GraphError(400, "(#100) The parameter data is required", 100)
            if len(data) > BATCH_LIMIT:
                self.violation(f"{len(data)} events in one request")
                raise invalid(
                    f"You can send up to {BATCH_LIMIT} events per request; this one has {len(data)}."
                )
            now = self.clock()
            for index, event in enumerate(data):
                self._validate(index, event, now)
            test_code = body.get("test_event_code")
            for event in data:
                if test_code:
                    pixel.test_events.append(event)
                    continue
                self._count(pixel, event, now)
            return {"events_received": len(data), "messages": [], "fbtrace_id": uuid.uuid4().hex[:11]}

    def _validate(self, index: int, event: Any, now: float) -> None:
        """Refuse the whole request for one bad event, as Meta does."""
        where = f"data[{index}]"
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("event_name"), str)
            or not event["event_name"]
        ):
            raise invalid(f"{where}: event_name is required")
        moment = event.get("event_time")
        if not isinstance(moment, int) or isinstance(moment, bool):
            raise invalid(f"{where}: event_time must be a Unix timestamp in seconds (an integer)")
        source = event.get("action_source")
        if source not in ACTION_SOURCES:
            raise invalid(f"{where}: action_source must be one of {', '.join(sorted(ACTION_SOURCES))}")
        window = PHYSICAL_STORE_WINDOW if source == "physical_store" else WINDOW
        if now - moment > window:
            self.violation(f"stale event_time in {where}")
            raise invalid(
                f"{where}: event_time is more than {window // DAY} days in the past; no events were processed",
                2804003,
            )
        if moment - now > FUTURE_SKEW:
            raise invalid(f"{where}: event_time is in the future", 2804004)
        user = event.get("user_data")
        if not isinstance(user, dict) or not MATCH_KEYS & user.keys():
            raise invalid(f"{where}: user_data needs at least one customer information parameter")
        for key in HASHED_USER_KEYS & user.keys():
            values = user[key] if isinstance(user[key], list) else [user[key]]
            if not all(isinstance(v, str) and SHA256.fullmatch(v) for v in values):
                self.violation(f"unhashed user_data.{key} in {where}")
                raise invalid(f"{where}: user_data.{key} must be normalised and SHA-256 hashed", 2804019)
        options = event.get("data_processing_options")
        if options is not None and (not isinstance(options, list) or set(options) - {"LDU"}):
            raise invalid(f'{where}: data_processing_options must be [] or ["LDU"]')
        if event.get("data_processing_options_country", 0) not in (0, 1) or event.get(
            "data_processing_options_state", 0
        ) not in (0, 1000):
            raise invalid(f"{where}: data_processing_options_country is 0 or 1, _state 0 or 1000")

    def _count(self, pixel: Pixel, event: dict[str, Any], now: float) -> None:
        """Keep an event; one with the name and id of an event kept within 48 h is a duplicate."""
        event_id = event.get("event_id")
        key = (str(event["event_name"]), str(event_id) if event_id else uuid.uuid4().hex)
        seen = pixel.events.get(key)
        if seen is not None and now - seen[1] <= DEDUPE_WINDOW:
            pixel.duplicates += 1
            return
        pixel.events[key] = (event, now)

    def state(self) -> dict[str, Any]:
        return {
            "pixels": [
                {
                    "id": p.id,
                    "events": len(p.events),
                    "test_events": len(p.test_events),
                    "duplicates_dropped": p.duplicates,
                }
                for p in self.pixels.values()
            ]
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "access_token": self.token(valid=valid),
            "pixel_id": PIXEL_ID,
            "base_url": self.graph_url(base_url),
        }

    def target_spec(self) -> TargetSpec:
        return self.event_specs[0]

    def members(self, target: Target) -> set[str]:
        """People with at least one counted event of ``target`` (the closest thing to members)."""
        return {event.identifier for event in self.received_events(target)}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        raise NotImplementedError("the Conversions API has events, not members")

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        raise NotImplementedError("Meta event names need no creation")

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        return {
            "event_time": occurred_at,
            "value": round(number * 10.5, 2),
            "currency": "EUR",
            "phone": f"+1 650 555 {number % 10_000:04d}",
            "first_name": f"Ann{number}",
            "country": "US",
            "client_ip_address": "2001:db8::7",
            "client_user_agent": "Mozilla/5.0 (X11; Linux)",
        }

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        events = []
        for pixel in self.pixels.values():
            for (name, _), (event, _at) in pixel.events.items():
                if name != target.id:
                    continue
                emails = event["user_data"].get("em") or []
                first = emails[0] if isinstance(emails, list) and emails else str(emails)
                events.append(
                    ReceivedEvent(
                        self.known.get(first, first),
                        datetime.fromtimestamp(event["event_time"], UTC),
                        str(event["event_id"]) if event.get("event_id") else None,
                        {k: event[k] for k in CONSENT_KEYS if k in event},
                    )
                )
        return events

    def consent_fields(self, target: Target) -> tuple[dict[str, Any], dict[str, Any]] | None:
        ldu: dict[str, Any] = {
            "data_processing_options": ["LDU"],
            "data_processing_options_country": 1,
            "data_processing_options_state": 1000,
        }
        return ldu, dict(ldu)
