"""Liveness and store health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from sluice import __version__
from sluice.api.deps import get_database
from sluice.core.errors import SluiceError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    store: str


class StoreUnavailable(SluiceError):
    status = 503
    code = "store_unavailable"
    title = "Store unavailable"


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """``ok`` when the control-plane database answers."""
    try:
        get_database(request).ping()
    except Exception as exc:
        raise StoreUnavailable(f"the control database does not answer ({type(exc).__name__})") from None
    return Health(status="ok", version=__version__, store="ok")
