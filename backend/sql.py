"""SQL constructs that each engine is given in its own words, built once with their statements.

Every construct here exists because the plain SQLAlchemy spelling made the review queue's statements
re-rendered on every execution, or cost a statement of their own: an expanding IN is rewritten into the
SQL string each time (ids_in, in_constants), a bound constant hides a partial index from the planner
(matches_partial_index), and a card's photos and strip were read by statements of their own
(json_rows, days_before, moment_key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Integer,
    String,
    TypeDecorator,
    bindparam,
    literal,
    literal_column,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

# Constants written into SQL (matches_partial_index) are rendered as SQLite writes them; a quoted string
# or a number reads the same to PostgreSQL.
_LITERAL_DIALECT = sqlite_dialect.dialect()


def matches_partial_index(column: Any, value: Any) -> Any:
    """`column = value` with the value written into the SQL rather than bound. A partial index's WHERE
    (such as `status = 'pending'`, migrations 0011 and 0012) is matched against the query's text, so
    only then do SQLite and PostgreSQL's generic plans use the index without visiting the table. The
    value is rendered once, when the statement is built, not on every execution as a literal-execute
    parameter would be (SQLAlchemy then rewrites the SQL string each time)."""
    rendered = literal(value, column.type).compile(
        dialect=_LITERAL_DIALECT, compile_kwargs={"literal_binds": True}
    )
    return column == literal_column(str(rendered), column.type)


def in_constants(column: Any, ids: Iterable[int]) -> Any:
    """`column IN (1, 2)` with the integers written into the SQL: for short lists fixed by who asks
    (a reviewer's programmes), which the statements built for her carry anyway. A Python list given to
    `in_` becomes an expanding parameter instead, which SQLAlchemy renders into the SQL string again on
    every execution."""
    return column.in_([literal_column(str(int(i)), Integer) for i in ids])


class IdList(TypeDecorator[list[int]]):
    """A list of ids bound as one parameter: a JSON array on SQLite (read with json_each), an integer
    array on PostgreSQL. See ids_in."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(BigInteger()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        ids = [int(i) for i in value]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class ids_in(FunctionElement[bool]):
    """`ids_in(column, "name")`: the column's value is among the ids bound under "name", a list.

    An expanding IN (`column.in_(bindparam(name, expanding=True))`) is rendered into the SQL string on
    every execution, one placeholder per id; this is one parameter, so the SQL is the same whatever the
    list and is compiled once: SQLite reads the ids with json_each, PostgreSQL compares with ANY. The
    review queue binds one such list per kind of card on a page."""

    type = Boolean()
    inherit_cache = True
    name = "ids_in"
    # A condition in itself: without this, SQLite (no native boolean) would get `... = 1` appended.
    _is_implicitly_boolean = True

    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, bindparam(name, type_=IdList()))


@compiles(ids_in)
def _ids_in_sqlite(element: ids_in, compiler: Any, **kw: Any) -> str:
    column, ids = list(element.clauses)
    # Both parts are SQLAlchemy's own rendering: a column name and a placeholder.
    return f"{compiler.process(column, **kw)} IN (SELECT value FROM json_each({compiler.process(ids, **kw)}))"  # noqa: S608


@compiles(ids_in, "postgresql")
def _ids_in_postgresql(element: ids_in, compiler: Any, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)})"


class json_rows(FunctionElement[Any]):
    """`json_rows(a, b, …)`, an aggregate: the group's rows as a JSON array of arrays, `[[a, b, …], …]`,
    decoded to Python lists; None or `[]` when there are none. The order of the rows is not defined
    (SQLite 3.40 has no ORDER BY inside an aggregate): give each row its sort key and sort in Python.
    It lets a statement carry an entry's photos, or its strip, as one column of the entry's row."""

    type = JSON()
    inherit_cache = True
    name = "json_rows"


@compiles(json_rows)
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"


def _is_day(column: Any) -> bool:
    return issubclass(column.type._type_affinity, Date) and not issubclass(
        column.type._type_affinity, DateTime
    )


class days_before(FunctionElement[Any]):
    """`days_before(column, n)`: the column's day, or moment, n days earlier, computed by the engine
    (for a bound per row of a correlated subquery). On SQLite a moment is computed to the millisecond
    (strftime's %f); stored moments carry microseconds, so a bound can be up to a millisecond early."""

    inherit_cache = True
    name = "days_before"

    def __init__(self, column: Any, days: int) -> None:
        super().__init__(column, literal_column(str(int(days)), Integer))
        self.type = column.type


@compiles(days_before)
def _days_before_sqlite(element: days_before, compiler: Any, **kw: Any) -> str:
    column, days = list(element.clauses)
    shift = f"'-{int(days.name)} days'"
    rendered = compiler.process(column, **kw)
    if _is_day(column):
        return f"date({rendered}, {shift})"
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime gives three decimals, padded to six.
    return f"(strftime('%Y-%m-%d %H:%M:%f', {rendered}, {shift}) || '000')"


@compiles(days_before, "postgresql")
def _days_before_postgresql(element: days_before, compiler: Any, **kw: Any) -> str:
    column, days = list(element.clauses)
    rendered = compiler.process(column, **kw)
    if _is_day(column):
        return f"({rendered} - {int(days.name)})"
    return f"({rendered} - INTERVAL '{int(days.name)} days')"


class moment_key(FunctionElement[Any]):
    """A value that orders moments of one column the same way on every engine's JSON: PostgreSQL
    writes a timestamp into JSON in the session's time zone (offsets differ across a DST change), so
    it gives seconds since the epoch there; SQLite's stored UTC text, and any day, order as they are."""

    inherit_cache = True
    name = "moment_key"

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(moment_key)
def _moment_key_sqlite(element: moment_key, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(moment_key, "postgresql")
def _moment_key_postgresql(element: moment_key, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    rendered = compiler.process(column, **kw)
    return rendered if _is_day(column) else f"extract(epoch from {rendered})"
