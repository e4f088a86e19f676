"""The scoring SQL of a search plan, written as text with bound parameters.

A plan of a few words becomes dozens of index ranges; built with SQLAlchemy's expression
language, constructing and compiling that statement cost more than running it (tens of
milliseconds against one). The text is plain SQL that SQLite and PostgreSQL both run: ranges on
``program_words``' primary key, UNION ALL, GROUP BY. Terms are bound parameters; only integers
this module makes are written inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, TextClause, text
from sqlalchemy.sql.selectable import TextualSelect

from storage.search.analyzer import PREFIX_MIN
from storage.search.terms import Quality

if TYPE_CHECKING:
    from storage.search.terms import TermGroup

TITLE_WEIGHT = 10
OTHER_WEIGHT = 1
_PREFIX_END = "\uffff"  # above every character a word holds: a prefix range's end
_WEIGHT = f"CASE WHEN in_title THEN {TITLE_WEIGHT} ELSE {OTHER_WEIGHT} END"


class _Builder:
    def __init__(self, municipality_id: int | None, prefix: str) -> None:
        self.params: dict[str, Any] = {}
        self.prefix = prefix
        if municipality_id is None:  # the whole region: a seek per municipality
            self.scope = "municipality_id IN (SELECT id FROM municipalities)"
        else:
            self.scope = f"municipality_id = {self.bind(municipality_id)}"

    def bind(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def starts(self, term: str) -> str:
        if len(term) < PREFIX_MIN:
            return f"word = {self.bind(term)}"
        return f"word >= {self.bind(term)} AND word < {self.bind(term + _PREFIX_END)}"

    def term(self, term: str, quality: int, exact: bool, group: int) -> str:
        """Rows of one stem; the word as typed scores one more when it is the whole word."""
        score = (
            f"CASE WHEN word = {self.bind(term)} THEN {quality} ELSE {quality - 1} END"
            if exact
            else str(quality)
        )
        return (
            f"SELECT program_id AS pid, {group} AS g, ({score}) * ({_WEIGHT}) AS score "
            f"FROM program_words WHERE {self.scope} AND {self.starts(term)}"
        )

    def phrase(self, phrase: Sequence[str], quality: int, group: int) -> str:
        """Programs holding every stem; a title match only when all of it is in the title."""
        parts = " UNION ALL ".join(
            f"SELECT program_id AS pid, {n} AS n, {_WEIGHT} AS weight "
            f"FROM program_words WHERE {self.scope} AND {self.starts(term)}"
            for n, term in enumerate(phrase)
        )
        return (
            f"SELECT pid, {group} AS g, MIN(weight) * {quality} AS score "
            f"FROM ({parts}) AS phrase_{self.prefix}{group}_{len(self.params)} "
            f"GROUP BY pid HAVING COUNT(DISTINCT n) = {len(phrase)}"
        )

    def group(self, group: TermGroup, index: int) -> list[str]:
        return [
            self.term(p[0], int(q), q is Quality.exact, index)
            if len(p) == 1
            else self.phrase(p, int(q), index)
            for p, q in group.terms.items()
        ]


def scores(
    groups: Sequence[TermGroup], municipality_id: int | None, *, require_all: bool
) -> TextualSelect:
    """(pid, score, hits) per matching program: hits = groups matched, score = their sum."""
    builder = _Builder(municipality_id, "t")
    union = " UNION ALL ".join(part for i, g in enumerate(groups) for part in builder.group(g, i))
    having = f" HAVING COUNT(*) = {len(groups)}" if require_all else ""
    sql = (
        "SELECT pid, SUM(score) AS score, COUNT(*) AS hits FROM ("
        f"SELECT pid, g, MAX(score) AS score FROM ({union}) AS matched GROUP BY pid, g"
        f") AS per_group GROUP BY pid{having}"
    )
    return _columns(text(sql).bindparams(**builder.params), "pid", "score", "hits")


def group_programs(group: TermGroup, municipality_id: int | None, index: int) -> TextualSelect:
    """The ids of the programs matching one group (for plain conditions, unranked)."""
    builder = _Builder(municipality_id, f"c{index}_")
    union = " UNION ALL ".join(builder.group(group, index))
    sql = f"SELECT pid FROM ({union}) AS matched_{index}"
    return _columns(text(sql).bindparams(**builder.params), "pid")


def _columns(clause: TextClause, *names: str) -> TextualSelect:
    return clause.columns(**dict.fromkeys(names, Integer))
