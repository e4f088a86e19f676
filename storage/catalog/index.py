"""``program_words``: the search index of published programs, kept in step with them.

ORM flushes of programs update it in the same transaction (``after_flush``); loaders that
write programs with Core (the seed, the navigator import) call ``reindex_search_words`` or
insert ``word_rows`` themselves. Only published programs are indexed: search ranks and counts
from this index alone (storage.search), so it must hold exactly what search may return.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, delete, event, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from storage.models import Program, ProgramWord
from storage.search import analyzer
from storage.search.vocabulary import mark_stale

MAX_QUERY_WORDS = 8
WORD_BATCH = 5_000
_REINDEX_CHUNK = 500  # ids per statement: under every driver's parameter limit


def index_words(search_text: str) -> set[str]:
    """The stems of a (folded) ``search_text`` that go into ``program_words`` (storage.search)."""
    return set(analyzer.index_terms(search_text))


def search_words(text: str) -> list[str]:
    """The words of a query that search looks for, folded; punctuation separates words, and
    one-letter words and stop words («кружок», «для») are dropped."""
    words = [w for w in analyzer.words(text) if not analyzer.is_stop(w)]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]  # unique, in order


def word_rows(
    program_id: int,
    municipality_id: int,
    search_text: str,
    *,
    published: bool = True,
    terms: Iterable[tuple[str, bool]] | None = None,
) -> list[dict[str, Any]]:
    """``program_words`` rows of one program, for loaders that insert in bulk (none for a
    program that is not published); ``terms``: those of ``search_text``, if worked out ahead."""
    if not published:
        return []
    if terms is None:
        terms = sorted(analyzer.index_terms(search_text).items())
    return [
        {
            "municipality_id": municipality_id,
            "word": word,
            "program_id": program_id,
            "in_title": in_title,
        }
        for word, in_title in terms
    ]


def _batched(rows: list[dict[str, Any]], size: int = WORD_BATCH) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def reindex_search_words(
    connection: AsyncConnection | AsyncSession, program_ids: Collection[int] | None = None
) -> int:
    """Rebuild ``program_words`` for some programs (all when ``program_ids`` is None) from
    their ``search_text``; returns the number of words written. For loaders that write
    programs with Core ``insert()``/``update()`` (the seed, the navigator import): ORM flushes
    are kept in step automatically. Runs in the caller's transaction; commits nothing."""
    source = select(Program.id, Program.municipality_id, Program.search_text, Program.published)
    if program_ids is None:
        await connection.execute(delete(ProgramWord))
        programs = (await connection.execute(source)).all()
    else:
        ids = sorted(set(program_ids))
        programs = []
        for start in range(0, len(ids), _REINDEX_CHUNK):
            chunk = ids[start : start + _REINDEX_CHUNK]
            await connection.execute(delete(ProgramWord).where(ProgramWord.program_id.in_(chunk)))
            programs += (await connection.execute(source.where(Program.id.in_(chunk)))).all()
    rows = [
        row
        for pid, mid, text, published in programs
        for row in word_rows(pid, mid, text or "", published=bool(published))
    ]
    # In primary-key order: appending to the b-tree is several times faster than scattering.
    rows.sort(key=lambda row: (row["municipality_id"], row["word"], row["program_id"]))
    for batch in _batched(rows):
        await connection.execute(insert(ProgramWord.__table__), batch)
    mark_stale(connection)
    return len(rows)


_INDEXED_ATTRIBUTES = ("search_text", "municipality_id", "published")


def _words_outdated(program: Program, is_new: bool) -> bool:
    if is_new:
        return True
    state = inspect(program)
    return any(state.attrs[name].history.has_changes() for name in _INDEXED_ATTRIBUTES)


@event.listens_for(Session, "after_flush")
def _keep_search_words(session: Session, _flush: UOWTransaction) -> None:
    """Programs added or changed through the ORM get their words in the same transaction.

    (In ``after_flush`` the new/dirty lists and attribute history still describe the flush.)
    """
    changed = [
        obj
        for obj, is_new in [*((o, True) for o in session.new), *((o, False) for o in session.dirty)]
        if isinstance(obj, Program) and _words_outdated(obj, is_new)
    ]
    if not changed:
        return
    connection: Connection = session.connection()
    ids = [program.id for program in changed]
    connection.execute(delete(ProgramWord).where(ProgramWord.program_id.in_(ids)))
    rows = [
        row
        for program in changed
        for row in word_rows(
            program.id,
            program.municipality_id,
            program.search_text or "",
            published=program.published is not False,  # None: the column default (True)
        )
    ]
    for batch in _batched(rows):
        connection.execute(insert(ProgramWord.__table__), batch)
    mark_stale(connection)
