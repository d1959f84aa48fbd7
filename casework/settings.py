"""Runtime settings from CASEWORK_* environment variables. Nothing is read at import."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from casework.config import ProcessConfig, load_process_config


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore")

    database_url: str = "sqlite:///.casework/casework.db"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    task_queue: str = "casework"
    config: Path | None = None
    """Process configuration file (TOML or JSON); processes.md defaults when unset."""
    holidays_file: Path | None = None
    """Holidays and make-up working days for years chinese-calendar does not cover."""
    home: Path = Path(".casework")
    """Where the embedded stack keeps its files (database, Temporal's db, logs)."""
    log_level: str = "INFO"
    log_json: bool = True
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    max_cached_workflows: int = 10_000
    encryption_keys: SecretStr | None = None
    """Master keys `id:BASE64,...`, current first (casework.privacy.keys). Unset: the
    embedded SQLite stack keeps generated keys in `home/encryption-keys`."""
    codec_server_token: SecretStr | None = None
    """If set, `casework codec-server` answers only requests whose Authorization header
    carries this value (`temporal --codec-auth`, the UI's access-token option)."""
    act_wait_seconds: float = 60.0
    """How long `casework act` waits for an action's outcome before saying "try again"."""

    @cached_property
    def processes(self) -> ProcessConfig:
        return load_process_config(self.config, self.holidays_file)
