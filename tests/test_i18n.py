"""Catalogues: en complete, ru's plural forms complete, not stale against the code, no dynamic
msgids; scripts/i18n.py extracts, fills and reports plural entries."""

from __future__ import annotations

import ast
import gettext
import io
import json
import re
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import i18n as catalogue_tool  # noqa: E402

GETTEXT_NAMES = {"_", "__", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with catalogue_tool.po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id for m in catalog if m.id}


def test_catalogues_are_in_sync_with_the_code() -> None:
    in_code = _ids(catalogue_tool.extract())
    for lang in catalogue_tool.LANGUAGES:
        in_po = _ids(_catalog(lang))
        assert in_code - in_po == set(), f"{lang}: run `make locales-update` (new strings)"
        assert in_po - in_code == set(), f"{lang}: run `make locales-update` (stale strings)"


def _forms(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return catalogue_tool.forms(message)


def test_english_is_complete() -> None:
    catalog = _catalog("en")
    missing = [m.id for m in catalog if m.id and catalogue_tool.incomplete(m, catalog)]
    assert missing == []


def test_russian_plural_entries_have_three_forms() -> None:
    """msgids are Russian, but a count needs ru's three forms (1 год, 2 года, 5 лет): an entry
    without them would compile to an empty text."""
    catalog = _catalog("ru")
    assert catalog.num_plurals == 3
    plurals = [m for m in catalog if m.id and m.pluralizable]
    assert plurals, "the code shows counts through ngettext"
    assert [m.id for m in plurals if len(_forms(m)) != 3 or not all(_forms(m))] == []
    assert catalogue_tool.missing() == []


def test_no_fuzzy_translations() -> None:
    fuzzy = [m.id for m in _catalog("en") if m.id and m.fuzzy]
    assert fuzzy == []


def test_placeholders_survive_translation() -> None:
    """An English text must use exactly the Russian text's {placeholders}."""
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    broken = [
        m.id
        for m in _catalog("en")
        if m.id and not m.pluralizable and m.string and fields(m.id) != fields(m.string)  # type: ignore[arg-type]
    ]
    assert broken == []


@pytest.mark.parametrize("lang", catalogue_tool.LANGUAGES)
def test_placeholders_survive_in_every_plural_form(lang: str) -> None:
    broken = [
        (m.id, form)
        for m in _catalog(lang)
        if m.id and m.pluralizable
        for form in _forms(m)
        if catalogue_tool.placeholders(form) != catalogue_tool.msgid_placeholders(m)
    ]
    assert broken == []


def _compiled(lang: str) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, _catalog(lang))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", {1: "1 год", 2: "2 года", 4: "4 года", 5: "5 лет", 11: "11 лет", 21: "21 год",
                22: "22 года", 112: "112 лет"}),
        ("en", {1: "1 year", 2: "2 years", 5: "5 years", 21: "21 years"}),
    ],
)  # fmt: skip
def test_ages_take_the_languages_plural_forms(lang: str, expected: dict[int, str]) -> None:
    translations = _compiled(lang)
    said = {n: translations.ngettext("{n} год", "{n} лет", n).format(n=n) for n in expected}
    assert said == expected


# Counts shown with their noun: a placeholder right before a word whose form depends on the
# number. Each must come through ngettext (a plural entry).
COUNTED = re.compile(
    r"\{[a-z_]+\}\s*(лет|года?|дн(ей|я|ь)|детей|ребён\w*|символ\w*|знак\w*|час(а|ов)?|"
    r"месяц\w*|мест[а]?|заяв\w*|программ\w*|групп\w*)(?![а-яё])"
)


def test_a_count_with_its_noun_goes_through_ngettext() -> None:
    singular_counts = {
        m.id
        for m in catalogue_tool.extract()
        if m.id and not m.pluralizable and COUNTED.search(m.id)  # type: ignore[arg-type]
    }
    assert singular_counts == set()


def test_a_count_is_recognised() -> None:
    """The pattern above catches what it is for, and lets invariant styles pass."""
    assert COUNTED.search("Ребёнку больше {max} лет") and COUNTED.search("{n} дня")
    assert not COUNTED.search("Свободных мест: {free}") and not COUNTED.search("{n} раб. дн.")


# --- scripts/i18n.py: extraction, fill and missing for plural entries ------------------------


def test_plural_calls_are_extracted_with_msgid_plural(tmp_path: Path) -> None:
    (tmp_path / "texts.py").write_text(
        "from aiogram.utils.i18n import gettext as _, lazy_ngettext, ngettext\n"
        'a = ngettext("{n} день", "{n} дней", n)\n'
        'b = _("{n} год", "{n} лет", n)\n'
        'c = lazy_ngettext("{n} час", "{n} часов", n=n)\n'
        'd = _("Привет")\n'
        'e = _("Язык", locale="en")\n',
        encoding="utf-8",
    )
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            tmp_path, [("**.py", "python")], keywords=catalogue_tool.KEYWORDS
        )
    }
    assert found == {
        ("{n} день", "{n} дней"),
        ("{n} год", "{n} лет"),
        ("{n} час", "{n} часов"),
        "Привет",
        "Язык",
    }


@pytest.fixture
def scratch_locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tool working on copies of the catalogues."""
    for lang in catalogue_tool.LANGUAGES:
        target = tmp_path / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes(catalogue_tool.po_path(lang).read_bytes())
    monkeypatch.setattr(catalogue_tool, "LOCALES", tmp_path)
    return tmp_path


def _blank(lang: str, msgid: str) -> None:
    catalog = catalogue_tool.load(lang)
    catalog[msgid].string = ("",) * catalog.num_plurals
    catalogue_tool.save(lang, catalog)


YEAR = "{n} год"
YEAR_RU = ["{n} год", "{n} года", "{n} лет"]
YEAR_EN = ["{n} year", "{n} years"]
DAY = "{n} день"  # a correct entry beside the wrong one: not written either
DAY_FORMS = {"en": ["{n} d", "{n} ds"], "ru": ["{n} день", "{n} дня", "{n} дней"]}


def _fill(tmp_path: Path, entries: dict[str, object]) -> int:
    path = tmp_path / "fill.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    return catalogue_tool.fill(path)


def test_missing_reports_a_plural_entry_short_of_its_forms(scratch_locales: Path) -> None:
    assert catalogue_tool.missing() == []
    _blank("ru", YEAR)
    assert catalogue_tool.missing() == [("ru", YEAR)]
    catalog = catalogue_tool.load("en")
    catalog[YEAR].string = ("{n} year", "")
    catalogue_tool.save("en", catalog)
    assert catalogue_tool.missing() == [("ru", YEAR), ("en", YEAR)]


def test_fill_takes_both_languages_forms(scratch_locales: Path) -> None:
    _blank("ru", YEAR)
    _blank("en", YEAR)
    assert _fill(scratch_locales, {YEAR: {"en": YEAR_EN, "ru": YEAR_RU}}) == 0
    assert catalogue_tool.load("ru")[YEAR].string == tuple(YEAR_RU)
    assert catalogue_tool.load("en")[YEAR].string == tuple(YEAR_EN)
    assert catalogue_tool.missing() == []
    # English forms alone keep the Russian ones already there
    assert _fill(scratch_locales, {YEAR: ["{n} yr", "{n} yrs"]}) == 0
    assert catalogue_tool.load("ru")[YEAR].string == tuple(YEAR_RU)
    assert catalogue_tool.load("en")[YEAR].string == ("{n} yr", "{n} yrs")


@pytest.mark.parametrize(
    "entry",
    [
        YEAR_EN,  # the Russian forms are not in the catalogue and not given
        {"en": YEAR_EN, "ru": ["{n} год", "{n} лет"]},  # two forms where ru has three
        {"en": YEAR_EN, "ru": ["{n} год", "{n} года", "лет"]},  # a form lost its {n}
        {"en": ["{n} year", "{count} years"], "ru": YEAR_RU},  # a placeholder renamed
        {"en": "{n} years", "ru": YEAR_RU},  # one text for a plural entry
    ],
)
def test_fill_refuses_an_incomplete_plural_entry_and_writes_nothing(
    scratch_locales: Path, entry: object
) -> None:
    _blank("ru", YEAR)
    _blank("en", YEAR)

    def translations() -> dict[str, dict[object, object]]:
        return {
            lang: {m.id: m.string for m in catalogue_tool.load(lang) if m.id}
            for lang in catalogue_tool.LANGUAGES
        }

    before = translations()
    assert _fill(scratch_locales, {YEAR: entry, "Привет": "Hello", DAY: DAY_FORMS}) == 1
    assert translations() == before


def _literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


@pytest.mark.parametrize("folder", ["bot", "handlers"])
def test_msgids_are_literal_strings(folder: str) -> None:
    """f-strings or variables inside _() cannot be extracted or translated; nor can a plural
    form (the second argument of ngettext, or of _ called with a count)."""
    offenders = []
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
            ):
                plural = node.func.id.endswith("ngettext") or len(node.args) >= 3
                texts = node.args[:2] if plural else node.args[:1]
                if not all(_literal(text) for text in texts):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
