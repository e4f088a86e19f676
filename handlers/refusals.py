"""Domain refusal codes (storage.errors.DomainError) in the user's language.

Each area adds its codes here, so one place answers "why not" for every rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.utils.i18n import gettext as _

from storage.errors import DomainError

REFUSALS: dict[str, Callable[[dict[str, Any]], str]] = {
    "not_found": lambda p: _("Не найдено или уже недоступно."),
    "forbidden": lambda p: _("Недостаточно прав для этого действия."),
}


def refusal_text(error: DomainError) -> str:
    render = REFUSALS.get(error.code)
    if render is None:
        return _("Действие отклонено.")
    return render(error.params)
