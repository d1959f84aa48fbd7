"""Contract of the schema: Alembic owns it, `migrate()` is idempotent, and the newest
revision creates exactly what `casework.store.tables` describes."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, String, inspect

from casework.store.db import alembic_config, migrate
from casework.store.event_store import EventStore
from casework.store.tables import metadata
from tests.store.builders import comments, opened, raw_rows


def schema_of(engine: Engine) -> dict[str, Any]:
    insp = inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table)
            ),
        }
        for table in sorted(insp.get_table_names())
    }


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string()))
    [head] = script.get_heads()  # one line of history, no branches
    return head


def test_migrate_again_is_a_no_op(engine: Engine, store: EventStore) -> None:
    store.append("HR-2026-000001", 0, [opened("HR-2026-000001"), *comments("HR-2026-000001", 2)])
    schema, rows = schema_of(engine), raw_rows(engine)
    assert current_revision(engine) == head_revision(engine)

    migrate(engine)
    migrate(engine)

    assert schema_of(engine) == schema
    assert raw_rows(engine) == rows
    assert current_revision(engine) == head_revision(engine)
    assert store.verify().broken == []
    # Still a working store after the no-op upgrades.
    assert [e.seq for e in store.append("HR-2026-000001", 3, comments("HR-2026-000001", 1))] == [4]


def test_the_head_revision_matches_the_table_definitions(engine: Engine) -> None:
    """Autogenerate finds nothing to do: no table, column, type, nullability, index or
    constraint of `tables.metadata` is missing from (or extra in) the migrations."""
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)


def test_the_comparison_would_see_a_drift(engine: Engine) -> None:
    """The check above is not vacuous: a column the migrations lack, or a changed
    type, shows up as a difference on this back-end."""
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["cases"].append_column(Column("priority", Integer, nullable=True))
    drifted.tables["case_tasks"].c.status.type = String(40)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, drifted)
    kinds = {(d[0] if isinstance(d, tuple) else d[0][0]) for d in differences}
    assert kinds == {"add_column", "modify_type"}, differences
