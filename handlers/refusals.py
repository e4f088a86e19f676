"""Domain refusal codes (storage.errors.DomainError) in the user's language.

The shared and certificate codes are here; handlers/enrollment_texts.py adds the enrollment
ones (``handlers.load_texts()`` imports it). tests/test_registries.py checks that every code
storage raises has a text.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.formatting import day
from storage.errors import DomainError

REFUSALS: dict[str, Callable[[dict[str, Any]], str]] = {
    "not_found": lambda p: _("Не найдено или уже недоступно."),
    "forbidden": lambda p: _("Недостаточно прав для этого действия."),
    "admin_only": lambda p: _(
        "Параметры финансирования меняет только администратор. Посмотреть их можно: /municipality."
    ),
    # Families (storage/families.py): consent, language and children.
    "consent_required": lambda p: _(
        "Сначала нужно согласие на обработку персональных данных: без него данные детей не хранятся."
    ),
    "consent_outdated": lambda p: _(
        "Текст согласия обновился. Откройте /start, чтобы прочитать его."
    ),
    "language_unsupported": lambda p: _("Этот язык пока не поддерживается."),
    "child_name_length": lambda p: ngettext(
        "Имя должно быть от {min} до {max} символа.",
        "Имя должно быть от {min} до {max} символов.",
        int(p["max"]),
    ).format(**p),
    "child_name_chars": lambda p: _("В имени допустимы только буквы, пробелы и дефис."),
    "birth_date_format": lambda p: _(
        "Не понял дату. Напишите её в формате ДД.ММ.ГГГГ, например 05.09.2016."
    ),
    "birth_date_impossible": lambda p: _("Такой даты нет в календаре. Проверьте день и месяц."),
    "birth_date_future": lambda p: _("Дата рождения не может быть в будущем."),
    "child_too_old": lambda p: ngettext(
        "Ребёнку больше {max} года: бот помогает с кружками для детей до 18 лет.",
        "Ребёнку больше {max} лет: бот помогает с кружками для детей до 18 лет.",
        int(p["max"]),
    ).format(**p),
    "child_too_young": lambda p: _(
        "Ребёнку меньше года. Проверьте год рождения или добавьте ребёнка позже."
    ),
    "children_limit": lambda p: ngettext(
        "Можно добавить не больше {max} ребёнка.",
        "Можно добавить не больше {max} детей.",
        int(p["max"]),
    ).format(**p),
    "child_duplicate": lambda p: _("Ребёнок «{name}» с этой датой рождения уже добавлен.").format(
        **p
    ),
    "child_has_enrollments": lambda p: _(
        "У ребёнка «{name}» есть действующие заявки. Сначала отмените их в «Мои заявки»."
    ).format(**p),
    # Certificates (storage/certificates.py, storage/snils.py, storage/roles.py, storage/privacy.py).
    "snils_format": lambda p: _(
        "СНИЛС — это 11 цифр, например 112-233-445 95. Проверьте и напишите ещё раз."
    ),
    "snils_invalid": lambda p: _("Такого СНИЛС не бывает у ребёнка. Проверьте номер по карточке."),
    "snils_checksum": lambda p: _(
        "В СНИЛС опечатка: контрольное число (две последние цифры) не сходится с остальными. "
        "Сверьте номер с карточкой."
    ),
    "certificate_age": lambda p: ngettext(
        "Сертификат выдаётся детям от {min} до {max} года в день подачи заявления. "
        "Ребёнку сейчас полных лет: {age}.",
        "Сертификат выдаётся детям от {min} до {max} лет в день подачи заявления. "
        "Ребёнку сейчас полных лет: {age}.",
        int(p["max"]),
    ).format(**p),
    "certificate_exists": lambda p: _(
        "У ребёнка уже есть сертификат № {number}: второй не выдаётся."
    ).format(**p),
    "certificate_exists_elsewhere": lambda p: _(
        "На этот СНИЛС сертификат уже выдан, и он в аккаунте другого родителя (законного "
        "представителя). Он видит его в «Сертификаты». Чтобы перенести сертификат к вам, "
        "обратитесь в МОЦ своего муниципалитета с документами."
    ),
    "application_pending": lambda p: _(
        "Заявление №{application_id} уже на рассмотрении: дождитесь решения."
    ).format(**p),
    "application_pending_elsewhere": lambda p: _(
        "На этот СНИЛС уже подано заявление из аккаунта другого родителя. Дождитесь решения "
        "или обратитесь в МОЦ своего муниципалитета."
    ),
    "snils_used_for_other_child": lambda p: _(
        "Этот СНИЛС уже указан в заявлении для другого вашего ребёнка. Проверьте номер."
    ),
    "application_decided": lambda p: _("По заявлению уже принято решение: {status}.").format(
        status={"approved": _("одобрено"), "rejected": _("отклонено")}.get(
            str(p.get("status")), str(p.get("status"))
        )
    ),
    "application_withdrawn": lambda p: _(
        "Родитель удалил данные ребёнка: одобрить нельзя. Отклоните заявление с причиной."
    ),
    "certificate_already_issued": lambda p: _(
        "Ребёнку уже выдан сертификат № {number}. Отклоните это заявление с причиной."
    ).format(**p),
    "certificate_issue_failed": lambda p: _("Не удалось выдать сертификат. Попробуйте ещё раз."),
    "reason_required": lambda p: _("Нужна причина отказа: её получит родитель."),
    "reason_too_long": lambda p: ngettext(
        "Причина слишком длинная: не больше {limit} символа.",
        "Причина слишком длинная: не больше {limit} символов.",
        int(p["limit"]),
    ).format(**p),
    "parameters_empty": lambda p: _("Укажите, что изменить: например quota=500."),
    "parameter_unknown": lambda p: _("Нет такого параметра: {key}.").format(**p),
    "parameter_invalid": lambda p: _("Неверное значение параметра {key}.").format(**p),
    "parameter_range": lambda p: _("{key}: допустимо от {min} до {max}.").format(**p),
    "municipality_ambiguous": lambda p: _(
        "Подходит несколько муниципалитетов: {names}. Уточните название или укажите id."
    ).format(names=html.escape(str(p["names"]))),  # names from the database
    "role_self": lambda p: _("Свою роль поменять нельзя: попросите другого администратора."),
    "role_municipality_required": lambda p: (
        _(
            "Для сотрудника МОЦ укажите муниципалитет: /role <telegram id> staff <id муниципалитета>."
        )
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    ),
    "privacy_open_enrollments": lambda p: _(
        "Есть открытые заявки на программы ({count}). Сначала отмените их в «Мои заявки», "
        "затем удалите данные."
    ).format(**p),
    # Delivery settings (storage/delivery/settings.py): choices come from buttons only.
    "bad_timing": lambda p: _("Такого варианта напоминаний нет. Выберите из списка в /settings."),
    "bad_quiet_hours": lambda p: _(
        "Такого варианта тихих часов нет. Выберите из списка в /settings."
    ),
    "indicators_day": lambda p: _("Показатели можно посмотреть с {earliest} по {latest}.").format(
        earliest=day(p["earliest"]), latest=day(p["latest"])
    ),
}


def refusal_text(error: DomainError) -> str:
    render = REFUSALS.get(error.code)
    if render is None:
        return _("Действие отклонено.")
    return render(error.params)
