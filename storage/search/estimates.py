"""How much a search plan reads, estimated from the vocabulary's counts (no SQL): what the
planner (ranking.py) and the statements (sql.py) choose between shapes by."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.search.terms import TermGroup
    from storage.search.vocabulary import Vocabulary


def rows_expected(
    group: TermGroup,
    vocabulary: Vocabulary | None,
    municipality_id: int | None,
    *,
    title: bool = False,
    phrases: bool = True,
) -> float:
    """About how many rows a statement of the group reads in the municipality (``title``:
    the title tier's, its title rows): each alternative's (a phrase's: its rarest stem's)
    region-wide rows times the municipality's part of the index. ``phrases`` False: the
    single stems' only — about how many programs match, as a phrase's driving rows are mostly
    of programs without its other words. Unknown without a vocabulary: infinite."""
    if vocabulary is None:
        return math.inf
    rows = sum(
        min(vocabulary.frequency(stem, title=title) for stem in phrase)
        for phrase in group.read()
        if phrases or len(phrase) == 1
    )
    return rows * vocabulary.share(municipality_id)
