"""Names shown in the user's language: a municipality reads in English for English speakers."""

from __future__ import annotations

from handlers.formatting import current_locale
from storage.models import Municipality


def place_name(municipality: Municipality) -> str:
    """The English name (``name_en``) for an English-speaking user, when there is one."""
    if current_locale() == "en" and municipality.name_en:
        return municipality.name_en
    return municipality.name
