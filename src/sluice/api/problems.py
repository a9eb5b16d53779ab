"""The one place where errors become HTTP responses (``application/problem+json``, RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sluice.core.errors import SluiceError
from sluice.core.logging import get_logger, request_id_var
from sluice.core.redaction import redact

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = get_logger(__name__)


def problem(status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    """A problem+json response carrying the request id."""
    body: dict[str, Any] = {
        "type": f"https://sluice.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    body.update(redact(extra))
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": error.get("msg", "")}
        for error in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error type to a problem response."""

    @app.exception_handler(SluiceError)
    async def _sluice_error(_: Request, exc: SluiceError) -> JSONResponse:
        if exc.status >= 500:
            log.error("request failed", code=exc.code, error=exc.message)
        return problem(exc.status, exc.title, exc.message, exc.code, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(part for part in first["loc"] if part not in ("body", "query", "path"))
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return problem(422, "Invalid input", detail, "invalid_input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(
            exc.status_code, "http_error"
        )
        return problem(exc.status_code, str(exc.detail), str(exc.detail), code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", error_type=type(exc).__name__)
        return problem(
            500,
            "Internal error",
            "Something went wrong on our side; the request id identifies it in the server log.",
            "internal_error",
        )
