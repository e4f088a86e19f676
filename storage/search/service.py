"""Search as the catalogue runs it: parse, plan, rank, and fall back to partial matches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import today
from storage.search.query import ParsedQuery, parse_query
from storage.search.ranking import RESULTS_MAX, plan, ranked_rows
from storage.search.terms import TermGroup
from storage.search.vocabulary import Vocabulary, vocabulary

if TYPE_CHECKING:
    from storage.catalog import CatalogQuery


@dataclass(frozen=True, slots=True)
class SearchInfo:
    """What a search page says beyond its rows."""

    parsed: ParsedQuery
    municipality_id: int | None  # where it searched (the query may have named a municipality)
    partial: bool = False  # nothing matched every word: these match some of them
    typos: tuple[str, ...] = ()  # indexed words a misspelt query word was read as
    more: bool = False  # more than RESULTS_MAX match: the total is the best RESULTS_MAX


def _parsed(vocab: Vocabulary, text: str) -> ParsedQuery:
    """``parse_query`` with the vocabulary's places, remembered with it: a pure function of
    the text, and popular queries come again and again."""
    return vocab.statement(("parsed", text), lambda: parse_query(text, vocab.places))


async def parse(session: AsyncSession, text: str) -> ParsedQuery:
    return _parsed(await vocabulary(session), text)


async def search_rows(
    session: AsyncSession,
    query: CatalogQuery,
    filters_of: Callable[[CatalogQuery], list[ColumnElement[bool]]],
    columns: Sequence[Any],
    *,
    page: int,
    page_size: int,
) -> tuple[list[Sequence[Any]], int, SearchInfo, CatalogQuery]:
    """Rows of one page, the total (at most ``RESULTS_MAX``: ``SearchInfo.more`` says
    there are more), what was understood, and the query with the text's filters applied (for
    a filters-only query, the caller browses with it).

    ``filters_of`` gives the query's conditions beyond "published, in this municipality" and
    the text (those the index holds)."""
    vocab = await vocabulary(session)
    parsed = _parsed(vocab, query.text)
    effective = query.with_parsed(parsed)
    groups = vocab.statement(("plan", parsed.words), lambda: plan(parsed.words, vocab))  # pure too
    info = SearchInfo(
        parsed,
        effective.municipality_id,
        typos=tuple(t for g in groups for t in g.typos),
    )
    if not groups:
        return [], 0, info, effective
    filters = filters_of(replace(effective, text=""))
    arguments: dict[str, Any] = {
        "municipality_id": effective.municipality_id,
        "on": today(),
        "page": page,
        "page_size": page_size,
        "location": effective.location,
        "vocabulary": vocab,
    }
    # A word the index knows in no form cannot match: skip the search for all of them.
    findable = [g for g in groups if _findable(g, vocab)]
    rows: list[Sequence[Any]] = []
    total = 0
    if len(findable) == len(groups):
        rows, total = await ranked_rows(session, groups, filters, columns, **arguments)
        if not rows and page > 0:  # past the end: the true total
            _, total = await ranked_rows(
                session, groups, filters, columns, **{**arguments, "page": 0, "page_size": 1}
            )
    if total == 0 and len(groups) > 1 and findable:
        rows, total = await ranked_rows(
            session, findable, filters, columns, **arguments, require_all=False
        )
        if not rows and page > 0:
            _, total = await ranked_rows(
                session, findable, filters, columns,
                **{**arguments, "page": 0, "page_size": 1}, require_all=False,
            )  # fmt: skip
        info = replace(info, partial=total > 0)
    if total > RESULTS_MAX:  # the best RESULTS_MAX are listed (storage.search.ranking)
        info = replace(info, more=True)
        total = RESULTS_MAX
    return rows, total, info, effective


def _findable(group: TermGroup, vocab: Vocabulary) -> bool:
    """Some alternative of the group has every stem in the index (in some municipality)."""
    return any(all(map(vocab.frequency, phrase)) for phrase in group.terms)
