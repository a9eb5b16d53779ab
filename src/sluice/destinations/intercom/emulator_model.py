"""Records and errors of the Intercom emulator (shared by its tag and upsert routes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse


@dataclass
class Contact:
    id: str
    email: str | None
    external_id: str | None = None
    role: str = "user"
    tags: set[str] = field(default_factory=set)
    #: standard attributes (name, phone, …) and ``custom_attributes`` values, by name
    attributes: dict[str, Any] = field(default_factory=dict)
    archived: bool = False


@dataclass
class Company:
    id: str
    company_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


class IntercomError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def error_list(status: int, code: str, message: str) -> JSONResponse:
    body = {
        "type": "error.list",
        "request_id": str(uuid.uuid4()),
        "errors": [{"code": code, "message": message}],
    }
    return JSONResponse(body, status_code=status)
