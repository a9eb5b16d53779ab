import os
import stat

import pytest

from sluice.core.errors import SettingsError
from sluice.core.settings import Settings, load_settings


def test_defaults_use_sqlite_in_the_data_dir(settings: Settings) -> None:
    assert settings.control_db_url.startswith("sqlite:///")
    assert settings.control_db_url.endswith("/data/sluice.db")


def test_secret_key_is_generated_once_with_mode_0600(settings: Settings) -> None:
    key = settings.resolved_secret_key
    path = settings.data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=settings.data_dir).resolved_secret_key == key
    assert len(key) >= 40


def test_given_secret_key_is_used_and_no_file_written(settings: Settings) -> None:
    configured = Settings(data_dir=settings.data_dir, secret_key="s3cret-value-from-env")
    assert configured.resolved_secret_key == "s3cret-value-from-env"
    assert not (settings.data_dir / "secret.key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SLUICE_PORT", "eighty", "SLUICE_PORT"),
        ("SLUICE_DATABASE_URL", "mysql://x", "SLUICE_DATABASE_URL"),
        ("SLUICE_REDIS_URL", "http://nope", "SLUICE_REDIS_URL"),
        ("SLUICE_LOG_LEVEL", "loud", "SLUICE_LOG_LEVEL"),
    ],
)
def test_bad_value_gives_one_line_naming_the_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert named in caught.value.message
    assert "\n" not in caught.value.message


def test_postgresql_url_is_normalised_to_psycopg(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().control_db_url == "postgresql+psycopg://u@h/db"
    assert "SLUICE_DATABASE_URL" in os.environ
