"""Runtime settings from CASEWORK_* environment variables. Nothing is read at import."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    # -- operations (deploy/) -------------------------------------------------------------
    metrics_token: SecretStr | None = None
    """If set, `/metrics` (API and worker) answers only `Authorization: Bearer <token>`.
    Unset: whoever reaches the port may scrape (keep it off the public proxy)."""
    worker_http_address: str | None = None
    """`HOST:PORT` where a worker serves `/healthz`, `/readyz` and `/metrics` (casework's
    own series); unset: no HTTP endpoint on the worker."""
    temporal_metrics_address: str | None = None
    """`HOST:PORT` where the Temporal SDK's own metrics are served in Prometheus format
    (temporalio Runtime telemetry, path `/metrics`); unset: not exported."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); unset: no tracing."""
    # -- Worker Versioning (deploy/README.md, "Upgrading workers") -------------------------
    worker_deployment_name: str | None = Field(default=None, min_length=1, pattern=r"^[^.\s]+$")
    """Temporal Worker Deployment the worker belongs to (no `.`: Temporal writes a version
    as `<name>.<build id>`); with `worker_build_id` the worker declares that version and
    receives only the tasks Temporal routes to it. Unset (both): an unversioned worker."""
    worker_build_id: str | None = Field(default=None, min_length=1, max_length=255)
    """This worker's build, e.g. the image tag (`0.2.0`); set with the deployment name."""
    worker_versioning_behavior: Literal["auto_upgrade", "pinned"] = "auto_upgrade"
    """What a versioned worker's workflows do when another build becomes current:
    `auto_upgrade` (running cases move to it; changes go behind `workflow.patched`, see
    docs/DECISIONS.md) or `pinned` (they finish on the build that started them)."""
    act_wait_seconds: float = 60.0
    """How long `casework act` waits for an action's outcome before saying "try again"."""
    bank_ledger: Path | None = None
    """A file for the worker's fake bank to keep its transfers in (activities.ledger_bank);
    None: the in-memory fake bank."""

    # -- sign-in (casework.auth) -----------------------------------------------------------
    public_url: str | None = None
    """The address people use, e.g. `https://casework.example.org` behind a TLS proxy:
    forms are accepted only from this origin and cookies are `Secure` when it is https.
    Unset: the origin of each request (the embedded stack on 127.0.0.1)."""
    session_hours: float = 12.0
    """A browser session ends this long after sign-in."""
    session_idle_minutes: float = 30.0
    """... or after this long without a request."""
    sign_in_window_minutes: float = 15.0
    sign_in_failures_per_account: int = 5
    """Failed sign-ins of one account within the window before it must wait."""
    sign_in_failures_per_address: int = 20
    """Failed sign-ins from one address within the window before it must wait."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks (`10.0.0.5,10.1.0.0/24`) of reverse proxies
    allowed to name the signed-in user in `proxy_user_header` (single sign-on in front);
    they must also send `proxy_secret`. Empty: the header is ignored."""
    proxy_secret: SecretStr | None = None
    """Shared secret the trusted proxy sends in `X-Casework-Proxy-Secret`."""
    proxy_user_header: str = "X-Casework-User"
    oidc_issuer: str | None = None
    """OpenID Connect provider (its `/.well-known/openid-configuration` is read); with
    `oidc_client_id` and `oidc_client_secret` set, the sign-in page offers it."""
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile"
    oidc_user_claim: str = "preferred_username"
    """The ID token claim that holds the casework user id."""

    @model_validator(mode="after")
    def _versioned_worker_names_both(self) -> Settings:
        if (self.worker_deployment_name is None) != (self.worker_build_id is None):
            given, missing = (
                ("CASEWORK_WORKER_DEPLOYMENT_NAME", "CASEWORK_WORKER_BUILD_ID")
                if self.worker_build_id is None
                else ("CASEWORK_WORKER_BUILD_ID", "CASEWORK_WORKER_DEPLOYMENT_NAME")
            )
            raise ValueError(f"{given} is set but {missing} is not: set both or neither")
        return self

    @cached_property
    def processes(self) -> ProcessConfig:
        return load_process_config(self.config, self.holidays_file)
