"""The append path's few hot statements, run on the driver's cursor.

An event append is four or five small statements. Through SQLAlchemy's execution
layer each costs about 50 µs of Python on top of the database's own work, which made
the append four times a raw insert on SQLite (BENCHMARKS.md). The statements are still
written with SQLAlchemy Core and compiled by the engine's dialect — the SQL text is
SQLAlchemy's — but once, and executed on the DB-API cursor of the connection the
transaction already holds. Values are bound the way the tables' types bind them
(`UTCDateTime`: naive UTC text on SQLite, aware datetimes on PostgreSQL); the contract
tests read them back through SQLAlchemy on both back-ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, DateTime, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeDecorator


class Prepared:
    """One statement compiled for one dialect, with its literal parameters."""

    def __init__(
        self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = cast(
            SQLCompiler,
            stmt.compile(dialect=dialect, column_keys=list(column_keys or []) or None),
        )
        self.sql = compiled.string
        self._literals = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.value is not None
        }
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._get: Callable[[Mapping[str, Any]], Any] | None = None
        if self._order is not None:
            # itemgetter of one name gives the value, not a one-item tuple.
            self._get = itemgetter(*self._order) if len(self._order) > 1 else self._few
        self._bind = _sqlite_value if dialect.name == "sqlite" else _pg_value
        # Only time columns need converting: find them once, by their bound type.
        self._times = tuple(
            name
            for name, bind in compiled.binds.items()
            if isinstance(bind.type, (TypeDecorator, DateTime))
        )
        self._time_places = (
            [i for i, name in enumerate(self._order) if name in self._times]
            if self._order is not None
            else []
        )

    def _few(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] for name in self._order or ())

    def params(self, values: Mapping[str, Any]) -> Any:
        merged = {**self._literals, **values} if self._literals else values
        if self._get is not None:  # positional: a tuple in the compiled order
            out = self._get(merged)
            if not self._time_places:
                return out
            bind = self._bind
            listed = list(out)
            for i in self._time_places:
                listed[i] = bind(listed[i])
            return listed
        if not self._times:
            return merged
        named = dict(merged)
        for name in self._times:
            if name in named:
                named[name] = self._bind(named[name])
        return named

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run on the connection's DB-API cursor, inside its current transaction.
        Driver errors come out as SQLAlchemy's (IntegrityError, OperationalError...),
        translated here rather than by a context manager, which cost more than the
        statement's own Python on this path (BENCHMARKS.md, "Append"). The engine's
        `after_cursor_execute` listeners (instrumentation, tests) hear of it as of any
        statement."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            params = self.params(values)
        except ValueError as err:  # as SQLAlchemy reports a value its type refuses
            raise StatementError(str(err), self.sql, dict(values), err) from err
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            cursor.execute(self.sql, params)
        except dbapi_error as err:
            raise DBAPIError.instance(self.sql, params, err, dbapi_error) from err
        listeners = conn.dispatch.after_cursor_execute
        if listeners:
            listeners(conn, cursor, self.sql, params, None, False)
        return cursor


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; casework stores aware UTC times only")
    return value.astimezone(UTC)


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DATETIME storage format, always with microseconds.
    if value is None:
        return None
    return _utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_value(value: Any) -> Any:
    return None if value is None else _utc(value)


class Statements:
    """Prepared statements per dialect, built on first use."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, object], Prepared] = {}

    def get(
        self,
        dialect: Dialect,
        key: object,
        build: Any,
        column_keys: Sequence[str] | None = None,
    ) -> Prepared:
        found = self._cache.get((dialect.name, key))
        if found is None:
            found = Prepared(build(), dialect, column_keys)
            self._cache[(dialect.name, key)] = found
        return found
