"""`casework migrate`: the deployment's one-off schema step (deploy/: a compose service, a
Kubernetes Job), run before new workers and API processes start."""

from __future__ import annotations

from casework.cli import JsonOpt, app, emit_json, fail, handled, out, settings


@app.command()
@handled
def migrate(as_json: bool = JsonOpt) -> None:
    """Bring the database schema to the newest revision (idempotent), then exit.

    Workers and the API also migrate when they start; running this first means several
    of them starting at once find nothing left to do."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import OperationalError

    from casework.privacy.keys import KeyringError, load_keyring
    from casework.store.db import make_engine
    from casework.store.db import migrate as upgrade

    s = settings()
    eng = make_engine(s.database_url)
    try:
        try:
            keys = load_keyring(s)
        except KeyringError as e:
            fail(f"CASEWORK_ENCRYPTION_KEYS: {e}", 1)
        try:
            upgrade(eng, keys)
            with eng.connect() as conn:
                revision = MigrationContext.configure(conn).get_current_revision()
        except OperationalError as e:
            fail(f"CASEWORK_DATABASE_URL: 数据库不可达 (database unreachable): {e.orig}", 1)
    finally:
        eng.dispose()
    if as_json:
        emit_json({"revision": revision})
    else:
        out.print(f"数据库已是最新 (schema up to date): revision {revision}")
