"""Ready announcement templates, written from the regional documents (shared/seeds):

- 002 (распоряжение № 212-р о ПФДО): the certificate is a registry record that lets a child aged
  5 to 18 study at the budget's expense; the funded status pays for programs of any provider;
- 001 (МОЦ methodology, §3.9–3.11): the МОЦ informs families, keeps the public list of events
  and grows the share of children in technical and natural-science programs;
- 000 (распоряжение № 484-р): enrollment through the navigator of supplementary education.

Staff edit a template before sending it (the text is sent to them to copy).
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram.utils.i18n import gettext as _

TEMPLATES: dict[str, tuple[Callable[[], str], Callable[[], str]]] = {
    "cert": (
        lambda: _("🎫 Как получить сертификат"),
        lambda: _(
            "<b>Сертификат дополнительного образования</b>\n"
            "Каждый ребёнок от 5 до 18 лет может получить сертификат: это запись в реестре, "
            "по которой кружки и секции оплачиваются из бюджета.\n\n"
            "Как получить: в боте откройте «🎫 Сертификаты» → «Подать заявление», укажите "
            "ребёнка и его СНИЛС. Решение придёт сюда же."
        ),
    ),
    "enrollment": (
        lambda: _("📝 Открыта запись на новый учебный год"),
        lambda: _(
            "<b>Открыта запись на новый учебный год!</b>\n"
            "Кружки, секции и студии муниципалитета ждут детей. Выберите программу в «📚 "
            "Каталог», подайте заявку в два касания — и следите за ней в «📝 Мои заявки».\n\n"
            "Мест в группах ограниченное число: не откладывайте."
        ),
    ),
    "stem": (
        lambda: _("🔬 Бесплатные технические и естественнонаучные программы"),
        lambda: _(
            "<b>Робототехника, программирование, экология, химия — бесплатно</b>\n"
            "В муниципалитете работают программы технической и естественнонаучной "
            "направленности, которые оплачиваются по сертификату.\n\n"
            "Найдите их в «📚 Каталог» → направление «техническая» или «естественнонаучная»."
        ),
    ),
    "event": (
        lambda: _("🎉 Приглашение на мероприятие"),
        lambda: _(
            "<b>Приглашаем на мероприятие!</b>\n"
            "Название: …\nКогда: …\nГде: …\nДля детей: … лет\n\n"
            "Участие бесплатное. Подробности и напоминание — в «🎉 Мероприятия»."
        ),
    ),
}


def template_title(key: str) -> str:
    return TEMPLATES[key][0]()


def template_text(key: str) -> str:
    return TEMPLATES[key][1]()
