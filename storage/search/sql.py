"""The scoring SQL of a search plan, written as text with bound parameters.

A plan of a few words becomes dozens of index ranges; built with SQLAlchemy's expression
language, constructing and compiling that statement cost more than running it (tens of
milliseconds against one), and even as ``text()`` building and compiling it cost 2–9 ms against
about one for SQLite to run it. So the ranked page is written here in the driver's own
parameter style and sent with ``exec_driver_sql`` (``ranked_page``); ``group_programs`` stays a
``text()`` clause for the catalogue's plain conditions. Plain SQL that SQLite and PostgreSQL both
run: ranges on ``program_words``' primary key, UNION ALL, GROUP BY, a capped count. Terms are
bound parameters; only integers this module makes, and the filters' SQL that SQLAlchemy renders
with literal values, are written inline.

What it reads is what it costs (about a microsecond an index row), so: alternatives that
another one of the group subsumes are not read (``TermGroup.essential``), and a phrase reads
the rows of its rarest stem only and looks the others up per program
(``ix_program_words_program_id``: a dozen words a program) instead of reading them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, TextClause, text
from sqlalchemy.sql.selectable import TextualSelect

from storage.search.analyzer import PREFIX_MIN
from storage.search.estimates import rows_expected
from storage.search.terms import Quality, least_score

if TYPE_CHECKING:
    from storage.search.terms import TermGroup
    from storage.search.vocabulary import Vocabulary

TITLE_WEIGHT = 10
OTHER_WEIGHT = 1
_PREFIX_END = "\uffff"  # above every character a word holds: a prefix range's end
_WEIGHT = f"CASE WHEN in_title THEN {TITLE_WEIGHT} ELSE {OTHER_WEIGHT} END"

# A phrase's other stems are looked up per program: by the primary key when the stem's range
# holds at most this many words (point seeks, next to each other), else by program id.
LOOKUP_WORDS_MAX = 8


class _Builder:
    """SQL text and its parameters, in a DB-API ``paramstyle`` ("named" for ``text()``)."""

    def __init__(
        self,
        municipality_id: int | None,
        prefix: str,
        vocabulary: Vocabulary | None,
        paramstyle: str = "named",
        nest: bool = True,
        dialect: str | None = None,  # what the fence is written for (``_FENCE``)
    ) -> None:
        self.params: dict[str, Any] = {}
        self.nest = nest
        self.dialect = dialect
        self.prefix = prefix
        self.vocabulary = vocabulary
        self.paramstyle = paramstyle
        self.municipality_id = municipality_id

    @property
    def scope(self) -> str:
        """The municipality condition, bound where it is written (positional styles count
        placeholders in the order of the text)."""
        if self.municipality_id is None:  # the whole region: a seek per municipality
            return "municipality_id IN (SELECT id FROM municipalities)"
        return f"municipality_id = {self.bind(self.municipality_id)}"

    def rows(self, stem: str, title: bool = False) -> int:
        """Index rows of the stem's range (``title``: those in titles), unknown without a
        vocabulary: a long stem is usually the rarer."""
        return self.vocabulary.frequency(stem, title=title) if self.vocabulary else -len(stem)

    def readable(self, phrase: Sequence[str], title: bool = False) -> bool:
        """Worth a statement: with a vocabulary, every stem is held by some program (in some
        title, for the title tier)."""
        vocabulary = self.vocabulary
        return vocabulary is None or all(vocabulary.frequency(s, title=title) for s in phrase)

    def bind(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return _PLACEHOLDERS[self.paramstyle](name, len(self.params))

    def driver_params(self) -> Sequence[Any] | dict[str, Any]:
        if self.paramstyle in ("named", "pyformat"):
            return self.params
        return tuple(self.params.values())

    def starts(self, term: str, column: str = "word") -> str:
        if len(term) < PREFIX_MIN:
            return f"{column} = {self.bind(term)}"
        return f"{column} >= {self.bind(term)} AND {column} < {self.bind(term + _PREFIX_END)}"

    def term(
        self,
        term: str,
        quality: Quality,
        group: int,
        title: bool = False,
        inner: Sequence[tuple[str, Quality]] = (),
    ) -> str:
        """Rows of one stem; the word as typed scores one more when it is the whole word.
        ``inner``: stems of the group whose ranges lie inside this one (``TermGroup.nested``),
        scored as their own rows would be. ``title``: its title rows only (the title tier,
        ``ranked_page``)."""
        weight, where = (TITLE_WEIGHT, " AND in_title") if title else (_WEIGHT, "")
        return (
            f"SELECT program_id AS pid, {group} AS g, ({self._score(term, quality, inner)}) "
            f"* ({weight}) AS score FROM program_words WHERE {self.scope} AND "
            f"{self.starts(term)}{where}"
        )

    def _score(self, term: str, quality: Quality, inner: Sequence[tuple[str, Quality]]) -> str:
        """The quality of a row of ``term``'s range: the best of the stems whose range holds
        its word (the whole typed word one more than a longer one)."""
        cases: list[tuple[int, str, str]] = []  # (quality, "word" | "starts", stem)
        for stem, stem_quality in [*inner, (term, quality)]:
            if stem_quality is Quality.exact:
                cases.append((int(stem_quality), "word", stem))
            if stem != term:
                cases.append((least_score(stem_quality), "starts", stem))
        if not cases:
            return str(int(quality))
        cases.sort(key=lambda case: -case[0])  # stable: the first that holds is the best
        # Bound in the order the text reads (positional paramstyles).
        whens = " ".join(
            f"WHEN {f'word = {self.bind(stem)}' if kind == 'word' else self.starts(stem)} "
            f"THEN {value}"
            for value, kind, stem in cases
        )
        return f"CASE {whens} ELSE {least_score(quality)} END"

    def _by_rows(self, phrase: Sequence[str], title: bool) -> list[str]:
        """The phrase's stems, the rarest (the one a statement reads) first."""
        return sorted(phrase, key=lambda stem: (self.rows(stem, title), -len(stem)))

    def phrase(self, phrase: Sequence[str], quality: int, group: int, title: bool = False) -> str:
        """Programs holding every stem; a title match when each stem is in the title.

        The rarest stem's rows drive; each other stem is a per-program EXISTS (and, for a
        driver row in the title, one more for the title). The lookups name no municipality,
        so they go by ``ix_program_words_program_id``, never along a word range.
        ``title``: title matches only (the title tier, ``ranked_page``).
        """
        driver, *others = self._by_rows(phrase, title)

        def has(stem: str, title: bool) -> str:
            words = self.vocabulary.indexed_words(stem) if self.vocabulary else []
            if 0 < len(words) <= LOOKUP_WORDS_MAX:
                listed = ", ".join(self.bind(word) for word in words)
                where = (
                    f"o.municipality_id = d.municipality_id AND o.word IN ({listed}) "
                    "AND o.program_id = d.program_id"
                )
            else:
                where = f"o.program_id = d.program_id AND {self.starts(stem, 'o.word')}"
            return (
                f"EXISTS (SELECT 1 FROM program_words o WHERE {where}{' AND o.in_title' * title})"
            )

        if title:
            return (
                f"SELECT d.program_id AS pid, {group} AS g, {quality * TITLE_WEIGHT} AS score "
                f"FROM program_words d WHERE d.{self.scope} AND {self.starts(driver, 'd.word')} "
                "AND d.in_title AND " + " AND ".join(has(stem, True) for stem in others)
            )
        in_title = " AND ".join(["d.in_title", *(has(stem, True) for stem in others)])
        return (
            f"SELECT d.program_id AS pid, {group} AS g, {quality} * CASE WHEN {in_title} "
            f"THEN {TITLE_WEIGHT} ELSE {OTHER_WEIGHT} END AS score FROM program_words d "
            f"WHERE d.{self.scope} AND {self.starts(driver, 'd.word')} AND "
            + " AND ".join(has(stem, False) for stem in others)
        )

    def group(self, group: TermGroup, index: int, title: bool = False) -> list[str]:
        """The group's alternatives, single stems first: a capped count
        (``_capped_count_sql``) often has enough programs before it reaches a phrase's
        per-program lookups. With ``nest``, a stem whose range lies inside another's is read
        within it (``TermGroup.nested``)."""
        return [sql for sql, _ in self.arms(group, index, title)]

    def arms(
        self, group: TermGroup, index: int, title: bool = False
    ) -> list[tuple[str, int | None]]:
        """``group``'s statements, each with the most rows a program can have in it: the
        indexed words of the range it reads (``None``: unknown, without a vocabulary)."""
        essential = group.essential()
        nested = group.nested() if self.nest else {}
        alternatives = sorted(
            ((p, q) for p, q in essential.items() if p not in nested),
            key=lambda item: len(item[0]) > 1,
        )
        vocabulary = self.vocabulary
        return [
            (
                self.term(
                    p[0], q, index, title,
                    [(i[0], essential[i]) for i, o in nested.items() if o == p],
                )
                if len(p) == 1
                else self.phrase(p, int(q), index, title),
                max(1, len(vocabulary.indexed_words(self._by_rows(p, title)[0])))
                if vocabulary
                else None,
            )
            for p, q in alternatives
            if self.readable(p, title)
        ]  # fmt: skip


def outside_tier_bound(groups: Sequence[TermGroup]) -> int:
    """The most a program outside the title tier of several groups can score: one group
    matched outside its title (its best quality at most), each other one in the title."""
    best = [max(map(int, group.essential().values())) for group in groups]
    everything = sum(TITLE_WEIGHT * quality for quality in best)
    return max(everything - (TITLE_WEIGHT - OTHER_WEIGHT) * quality for quality in best)


_PLACEHOLDERS: dict[str, Callable[[str, int], str]] = {
    "named": lambda name, _n: f":{name}",
    "qmark": lambda _name, _n: "?",
    "numeric": lambda _name, n: f":{n}",
    "numeric_dollar": lambda _name, n: f"${n}",
    "format": lambda _name, _n: "%s",
    "pyformat": lambda name, _n: f"%({name})s",
}


def placeholder(paramstyle: str, name: str, position: int) -> str:
    """The driver's marker of parameter ``name``, the ``position``-th (1-based) of a statement."""
    return _PLACEHOLDERS[paramstyle](name, position)


# Costs for choosing between reading every group and looking some up per program, in
# microseconds as measured on the bench (docs/PERFORMANCE.md): an index row read through the
# two groupings of the union, a driving row grouped once, a point seek (SQLite evaluates the
# lookup twice: in the sum and in the filter on it).
_UNION_ROW_COST = 1.8
_DRIVER_ROW_COST = 1.0
_SEEK_COST = 2.0


def _lookup_plan(builder: _Builder, groups: Sequence[TermGroup], title: bool = False) -> int | None:
    """The group to drive a several-word query with, the others looked up per program, when
    that reads less than every group: each other group is one stem of a few indexed words
    («юный»: one seek a program). ``None``: read them all. ``title``: for the title tier,
    which reads title rows only."""
    vocabulary = builder.vocabulary
    assert vocabulary is not None
    # What a group reads: a phrase reads its rarest stem's rows (and looks the rest up).
    rows = [
        sum(min(builder.rows(s, title) for s in p) for p in g.read() if builder.readable(p, title))
        for g in groups
    ]
    seeks: list[int | None] = []  # per program, to look the group up; None: it cannot be
    for group in groups:
        alternatives = list(group.essential())
        words = len(vocabulary.indexed_words(alternatives[0][0])) if alternatives else 0
        single = len(alternatives) == 1 and len(alternatives[0]) == 1
        seeks.append(words if single and 0 < words <= LOOKUP_WORDS_MAX else None)
    best: tuple[float, int] | None = None
    for driver in range(len(groups)):
        others = [seeks[i] for i in range(len(groups)) if i != driver]
        if any(n is None for n in others):
            continue
        cost = rows[driver] * (_DRIVER_ROW_COST + _SEEK_COST * sum(n or 0 for n in others))
        if best is None or cost < best[0]:
            best = (cost, driver)
    if best is None or best[0] >= _UNION_ROW_COST * sum(rows):
        return None
    return best[1]


# Keeps a subquery whole: without it the filter on the looked-up sum moves into the grouping,
# and each per-program lookup runs twice (in the sum and in the filter): a seventh of the
# statement of «хореографическая студия» in the largest town. Neither planner moves a filter
# into a subquery with a LIMIT or an OFFSET.
_FENCE = {"sqlite": " LIMIT -1", "postgresql": " OFFSET 0"}


def _looked_up_sql(
    builder: _Builder,
    groups: Sequence[TermGroup],
    driver: int,
    vocabulary: Vocabulary,
    title: bool = False,
) -> str:
    """(pid, score, hits) of programs matching every group: the driver's rows, and for each
    program a point seek per word of each other group (``_lookup_plan``); a program one of
    them misses gets a NULL sum and is left out. ``title``: title rows only (the tier)."""
    looks = []
    for index, group in enumerate(groups):
        if index == driver:
            continue
        ((stem,), quality) = next(iter(group.essential().items()))
        score = (
            f"CASE WHEN o.word = {builder.bind(stem)} THEN {int(quality)} "
            f"ELSE {int(quality) - 1} END"
            if quality is Quality.exact
            else str(int(quality))
        )
        scope = builder.scope
        listed = ", ".join(builder.bind(word) for word in vocabulary.indexed_words(stem))
        weight = (
            TITLE_WEIGHT
            if title
            else f"CASE WHEN o.in_title THEN {TITLE_WEIGHT} ELSE {OTHER_WEIGHT} END"
        )
        looks.append(
            f"(SELECT MAX(({score}) * ({weight})) FROM program_words o WHERE o.{scope} "
            f"AND o.word IN ({listed}) AND o.program_id = matched.pid{' AND o.in_title' * title})"
        )
    union = " UNION ALL ".join(builder.group(groups[driver], driver, title))
    summed = " + ".join(["MAX(score)", *looks])
    return (
        f"SELECT pid, score, hits FROM (SELECT pid, {summed} AS score, {len(groups)} AS hits "
        f"FROM ({union}) AS matched GROUP BY pid{_FENCE[builder.dialect or '']}) AS looked "
        "WHERE score IS NOT NULL"
    )


def _scores_sql(
    builder: _Builder,
    groups: Sequence[TermGroup],
    require_all: bool,
    title: bool = False,
    lookups: bool = True,
    best: int | None = None,
) -> str:
    """(pid, score, hits) per matching program: hits = groups matched, score = their sum.
    ``title``: title matches only. ``lookups``: several groups may be read by looking some
    up per program (``_lookup_plan``; the same rows). ``best``: one group, only programs
    that may be among its ``best`` first: each alternative's own best (below)."""
    several = lookups and require_all and len(groups) > 1
    if (
        several
        and builder.vocabulary
        and (driver := _lookup_plan(builder, groups, title)) is not None
    ):
        return _looked_up_sql(builder, groups, driver, builder.vocabulary, title)
    parts = [arm for i, g in enumerate(groups) for arm in builder.arms(g, i, title)]
    arms = [sql for sql, _ in parts]
    if best is not None and len(groups) == 1 and all(words for _, words in parts):
        # A program among the group's best N (score, then id) has its score from some
        # alternative's row; the rows ahead of it there are of programs that score at least
        # as much overall, fewer than N of them, each with a row per word of the range at
        # most. So it is among that alternative's best N × words rows: ranking those of each
        # alternative is ranking them all.
        arms = [
            f"SELECT * FROM ({sql} ORDER BY score DESC, pid LIMIT {int(best) * int(words or 1)})"
            f" AS best_{n}"
            for n, (sql, words) in enumerate(parts)
        ]
    union = " UNION ALL ".join(arms)
    if len(groups) == 1:  # one group: its best alternative is the score
        sql = f"SELECT pid, MAX(score) AS score, 1 AS hits FROM ({union}) AS matched GROUP BY pid"
    else:
        having = f" HAVING COUNT(*) = {len(groups)}" if require_all else ""
        sql = (
            "SELECT pid, SUM(score) AS score, COUNT(*) AS hits FROM ("
            f"SELECT pid, g, MAX(score) AS score FROM ({union}) AS matched GROUP BY pid, g"
            f") AS per_group GROUP BY pid{having}"
        )
    return sql


def _capped_count_sql(builder: _Builder, group: TermGroup, filters_sql: str, cap: int) -> str:
    """How many programs match one group, counted up to ``cap``: the count stops there, where
    an exact one would read every match (as costly as ranking them all)."""
    union = " UNION ALL ".join(builder.group(group, 0))
    if filters_sql:
        matched = (
            f"SELECT DISTINCT m.pid FROM ({union}) AS m JOIN programs ON programs.id = m.pid "
            f"WHERE {filters_sql}"
        )
    else:
        matched = f"SELECT DISTINCT pid FROM ({union}) AS m"
    return f"(SELECT COUNT(*) FROM ({matched} LIMIT {int(cap)}) AS counted)"


@dataclass(frozen=True, slots=True)
class RankedPage:
    """The statement of one ranked page and its parameters, in the driver's style."""

    sql: str
    params: Sequence[Any] | dict[str, Any]


def ranked_page(
    groups: Sequence[TermGroup],
    *,
    municipality_id: int | None,
    columns: Sequence[str],
    filters_sql: str,
    on: str | date,
    limit: int,
    offset: int,
    require_all: bool,
    paramstyle: str,
    dialect: str,
    vocabulary: Vocabulary | None = None,
    title: bool = False,
    count_cap: int | None = None,
    lookups: bool = True,
) -> RankedPage:
    """Rows of ``columns`` (of ``programs``), then title, score, hits, total, enrollment rank,
    latitude, longitude, in rank order: groups matched, score, program id.

    The rank and the total are read from the index alone unless ``filters_sql`` (conditions
    on ``programs``) asks for more; ``programs`` and ``groups`` are read for the page's rows
    only. Enrollment rank: 2 a group takes enrollments and has free seats, 1 takes them (a
    waiting list), 0 or NULL none.

    ``title``: rank title matches only — the *title tier*. Any title match outscores any
    other (the weights), so when the tier fills the page its rows are the full ranking's
    (storage.search.ranking reads the tier first). ``count_cap``: for one group, the total
    is counted up to the cap only (``_capped_count_sql``); otherwise it is exact.
    """
    builder = _Builder(municipality_id, "r", vocabulary, paramstyle, lookups, dialect)
    # Bound in the order the text reads: the enrollment subquery comes before the matches.
    day = [builder.bind(on) for _ in range(4)]
    open_now = [f"g.enrollment_opens_on <= {a} AND g.enrollment_closes_on >= {b}" for a, b in
                (day[:2], day[2:])]  # fmt: skip
    enrollment = (
        f"(SELECT MAX(CASE WHEN {open_now[0]} AND g.seats_taken < g.capacity THEN 2 "
        f"WHEN {open_now[1]} THEN 1 ELSE 0 END) FROM groups g WHERE g.program_id = programs.id)"
    )
    # Where about as few programs match as the count would stop at, it would read them all
    # again: ranking every match and counting the ranked rows reads them once (a third less
    # for «краевед» in a town; the title tier's total counts every match, not the tier).
    cap = count_cap if len(groups) == 1 else None  # a capped count is of one group
    few = (
        cap is not None
        and not title
        and rows_expected(groups[0], vocabulary, municipality_id, phrases=False) <= cap
    )
    if cap is not None and not few:
        total = _capped_count_sql(builder, groups[0], filters_sql, cap)
    else:
        total = "COUNT(*) OVER ()"
    # Without filters every match counts: the page's window may come from each alternative's
    # best (a filter could drop them, so it needs every match).
    best = offset + limit if lookups and not filters_sql and not few else None
    matched = _scores_sql(builder, groups, require_all, title, lookups, best)
    if filters_sql:
        found = (
            f"SELECT s.pid, s.score, s.hits FROM ({matched}) AS s "
            f"JOIN programs ON programs.id = s.pid WHERE {filters_sql}"
        )
    else:
        found = matched
    shown = ", ".join(f"programs.{name}" for name in columns)
    sql = (
        f"SELECT {shown}, programs.title, ranked.score, ranked.hits, ranked.total, "
        f"{enrollment}, programs.latitude, programs.longitude FROM ("
        f"SELECT pid, score, hits, {total} AS total FROM ({found}) AS found "
        f"ORDER BY hits DESC, score DESC, pid LIMIT {int(limit)} OFFSET {int(offset)}"
        ") AS ranked JOIN programs ON programs.id = ranked.pid "
        # The index holds published programs only; a stale row never shows.
        "WHERE programs.published ORDER BY ranked.hits DESC, ranked.score DESC, ranked.pid"
    )
    return RankedPage(sql, builder.driver_params())


def group_programs(group: TermGroup, municipality_id: int | None, index: int) -> TextualSelect:
    """The ids of the programs matching one group (for plain conditions, unranked)."""
    builder = _Builder(municipality_id, f"c{index}_", None)
    union = " UNION ALL ".join(builder.group(group, index))
    sql = f"SELECT pid FROM ({union}) AS matched_{index}"
    return _columns(text(sql).bindparams(**builder.params), "pid")


def _columns(clause: TextClause, *names: str) -> TextualSelect:
    return clause.columns(**dict.fromkeys(names, Integer))
