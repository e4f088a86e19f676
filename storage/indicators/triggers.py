"""Database triggers that note every row whose indicator contribution a write may have changed.

The report reads small per-day aggregates (``storage/indicators/facts.py``). What keeps them
true is not a call in each writer — enrollments alone are written by transitions, seat offers,
expiry jobs, the privacy deletion, foreign-key cascades and bulk Core statements — but a trigger
on each table the figures come from: it inserts (kind, id) into ``indicator_stale`` in the
writer's own transaction, so no writer, present or future, in this process or another, can be
missed. The report recomputes the noted rows before it reads (``facts.catch_up``).

One specification, two dialects: SQLite triggers and PostgreSQL PL/pgSQL trigger functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import MetaData

CHILD, CERTIFICATE, PROGRAM = 1, 2, 3  # indicator_stale.kind

_MARK = "INSERT INTO indicator_stale (kind, ref) "


@dataclass(frozen=True)
class Mark:
    """On ``ops`` of ``table`` (an UPDATE only when one of ``columns`` changed) run
    ``statements`` with ``{r}`` the row (NEW; OLD for DELETE, and for UPDATE too if ``moves``)."""

    name: str
    table: str
    ops: tuple[str, ...]
    columns: tuple[str, ...]
    statements: tuple[str, ...]
    moves: bool = False


MARKS: tuple[Mark, ...] = (
    Mark(
        "enrollment",
        "enrollments",
        ("INSERT", "UPDATE", "DELETE"),
        ("status", "active_since", "ended_at", "child_id", "program_id"),
        (
            _MARK + f"SELECT {CHILD}, {{r}}.child_id WHERE {{r}}.child_id IS NOT NULL",
            _MARK + f"VALUES ({PROGRAM}, {{r}}.program_id)",
        ),
        moves=True,
    ),
    Mark(
        "program",
        "programs",
        ("INSERT", "UPDATE", "DELETE"),
        ("published", "direction", "format", "level", "disability_adapted", "municipality_id"),
        (_MARK + f"VALUES ({PROGRAM}, {{r}}.id)",),
    ),
    Mark(
        "program_kind",  # what the program's children count as
        "programs",
        ("UPDATE",),
        ("direction", "disability_adapted"),
        (
            _MARK + f"SELECT DISTINCT {CHILD}, child_id FROM enrollments "
            "WHERE program_id = {r}.id AND child_id IS NOT NULL",
        ),
    ),
    Mark(
        "parent",  # children live where their parent says
        "users",
        ("UPDATE",),
        ("municipality_id",),
        (_MARK + f"SELECT {CHILD}, id FROM children WHERE parent_id = {{r}}.id",),
    ),
    Mark(
        "child",
        "children",
        ("UPDATE", "DELETE"),
        ("birth_date", "parent_id"),
        (
            _MARK + f"VALUES ({CHILD}, {{r}}.id)",
            _MARK + f"SELECT {CERTIFICATE}, id FROM certificates WHERE child_id = {{r}}.id",
        ),
    ),
    Mark(
        "certificate",
        "certificates",
        ("INSERT", "UPDATE", "DELETE"),
        ("status", "issued_at", "downgraded_at", "child_id", "birth_year", "municipality_id"),
        (_MARK + f"VALUES ({CERTIFICATE}, {{r}}.id)",),
    ),
)


def _rows(mark: Mark, op: str) -> Sequence[str]:
    if op == "DELETE":
        return ("OLD",)
    if op == "UPDATE" and mark.moves:
        return ("OLD", "NEW")
    return ("NEW",)


def _body(mark: Mark, op: str) -> str:
    return "".join(
        statement.format(r=row) + "; " for row in _rows(mark, op) for statement in mark.statements
    )


def _changed(mark: Mark, different: str) -> str:
    return " OR ".join(f"OLD.{c} {different} NEW.{c}" for c in mark.columns)


def sqlite_ddl() -> list[str]:
    ddl = []
    for mark in MARKS:
        for op in mark.ops:
            of, when = "", ""
            if op == "UPDATE":
                of, when = f" OF {', '.join(mark.columns)}", f" WHEN {_changed(mark, 'IS NOT')}"
            ddl.append(
                f"CREATE TRIGGER IF NOT EXISTS ind_{mark.name}_{op.lower()} AFTER {op}{of} "
                f"ON {mark.table} FOR EACH ROW{when} BEGIN {_body(mark, op)}END"
            )
    return ddl


def postgresql_ddl() -> list[str]:
    ddl = []
    for mark in MARKS:
        for op in mark.ops:
            name = f"ind_{mark.name}_{op.lower()}"
            of, when = "", ""
            if op == "UPDATE":
                of = f" OF {', '.join(mark.columns)}"
                when = f" WHEN ({_changed(mark, 'IS DISTINCT FROM')})"
            ddl += [
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {_body(mark, op)}RETURN NULL; END $$",
                f"DROP TRIGGER IF EXISTS {name} ON {mark.table}",
                f"CREATE TRIGGER {name} AFTER {op}{of} ON {mark.table} FOR EACH ROW{when} "
                f"EXECUTE FUNCTION {name}()",
            ]
    return ddl


def drop_ddl(dialect: str) -> list[str]:
    ddl = []
    for mark in MARKS:
        for op in mark.ops:
            name = f"ind_{mark.name}_{op.lower()}"
            if dialect == "postgresql":
                ddl += [f"DROP TRIGGER IF EXISTS {name} ON {mark.table}"]
                ddl += [f"DROP FUNCTION IF EXISTS {name}()"]
            else:
                ddl.append(f"DROP TRIGGER IF EXISTS {name}")
    return ddl


def install(conn: Connection) -> None:
    """Create (or replace) the triggers; idempotent, for ``create_all`` and a kept database."""
    statements = postgresql_ddl() if conn.dialect.name == "postgresql" else sqlite_ddl()
    for statement in statements:
        conn.execute(text(statement))


def _after_create(_metadata: MetaData, connection: Connection, **_kw: object) -> None:
    install(connection)


def register(metadata: MetaData) -> None:
    """``metadata.create_all`` installs the triggers too (the tests and the benches build so)."""
    if not event.contains(metadata, "after_create", _after_create):
        event.listen(metadata, "after_create", _after_create)
