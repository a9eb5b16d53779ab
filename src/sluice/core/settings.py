"""Runtime settings, read from ``SLUICE_*`` environment variables (and a ``.env`` file).

A bad value stops start-up with one clear line naming the setting (:class:`SettingsError`).
The secret key is generated once into the data dir (mode 0600) when not given.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sluice.core.errors import SettingsError

SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    """All settings of one Sluice installation."""

    model_config = SettingsConfigDict(env_prefix="SLUICE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".sluice"), description="Where Sluice keeps its local state.")
    database_url: str | None = Field(
        default=None,
        description="Control-plane database URL; default is a SQLite file in the data dir. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Key that encrypts secrets at rest; generated into the data dir if unset."
    )
    redis_url: str | None = Field(default=None, description="Redis URL for the job queue when scaling out.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    demo: bool = Field(default=False, description="Demo mode: one-click sign-in as a demo owner.")
    admin_email: str | None = Field(default=None, description="Email of the owner created on first start.")
    admin_password: SecretStr | None = Field(default=None, description="Password of that first owner.")
    public_url: str | None = Field(
        default=None,
        description="External base URL (https://sluice.example.com) for links and SSO redirects.",
    )
    session_hours: int = Field(default=24 * 14, ge=1, description="Lifetime of a browser session.")
    login_max_failures: int = Field(default=5, ge=1, description="Failed sign-ins before a lock-out.")
    login_lockout_minutes: int = Field(default=15, ge=1, description="Length of a sign-in lock-out.")
    # Jobs (sluice.jobs): queue, scheduler, reconciler, automatic pause, alert e-mail.
    queue_name: str = Field(
        default="sluice", description="Name of the job queue (in Redis or the SQLite queue)."
    )
    worker_concurrency: int = Field(
        default=2, ge=1, le=64, description="Runs one worker process executes at once."
    )
    scheduler_tick_seconds: float = Field(
        default=5.0, gt=0, description="How often schedulers look for due runs."
    )
    heartbeat_timeout_seconds: float = Field(
        default=300.0, gt=0, description="A running run silent this long is failed (its worker died)."
    )
    refresh_retry_base_seconds: float = Field(
        default=0.5,
        gt=0,
        description="First wait before retrying a destination error while reading remote members (doubles).",
    )
    refresh_timeout_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="A remote segment refresh running this long is failed (its worker died).",
    )
    requeue_after_seconds: float = Field(
        default=600.0, gt=0, description="A queued run not picked up this long is handed to the queue again."
    )
    pause_after_failures: int = Field(
        default=3, ge=1, description="Consecutive failed runs that pause an activation."
    )
    probe_backoff_seconds: float = Field(
        default=60.0,
        gt=0,
        description="First wait before probing a paused activation; doubles up to the maximum.",
    )
    probe_backoff_max_seconds: float = Field(default=3600.0, gt=0, description="Longest wait between probes.")
    schedule_seconds_allowed: bool = Field(
        default=False, description="Tests only: interval schedules in seconds."
    )
    run_executor: str | None = Field(
        default=None, description="module:function that executes a run (default: the sync runner)."
    )
    run_memory_limit: str = Field(
        default="512MB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory a sync run's local DuckDB may use before it spills to disk.",
    )
    warehouse_diff_min_rows: int = Field(
        default=1_000_000,
        ge=0,
        description="Activations in diff mode 'auto' diff inside the warehouse from this audience size on.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for e-mail alerts.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_sender: str = Field(default="sluice@localhost", description="From address of e-mail alerts.")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def control_db_url(self) -> str:
        """The control-plane database URL actually used."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sluice.db').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """The secret key: from settings, else read or created (0600) in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _read_or_create_key(self.data_dir / SECRET_KEY_FILE)


def _read_or_create_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "SLUICE_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {name}: {message}") from None
