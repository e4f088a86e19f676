"""Message catalogues: extract from code, merge into ru/en, fill translations, report gaps.

    python scripts/i18n.py sync            # extract + update both catalogues (keeps translations)
    python scripts/i18n.py fill FILE.json  # translations into en (and ru's plural forms)
    python scripts/i18n.py missing         # what is still untranslated, one line per gap

msgids are the Russian texts (ru is the default language); en must be complete. A lock file
serialises concurrent runs, so several people can sync at once without losing entries.

Counts go through ``ngettext`` (or aiogram's ``_(singular, plural, n)``, the same function):
the msgid is the Russian singular, msgid_plural the Russian «many» form. Russian has three
forms (1 год, 2 года, 5 лет: the ru catalogue's Plural-Forms header), so a plural entry needs
its three ru forms in the ru catalogue as well as the two English ones; until both are there,
``missing`` reports it (an incomplete entry would compile to an empty text). In FILE.json a
plural entry is keyed by its singular msgid:

    {"Привет": "Hello",
     "{n} год": {"en": ["{n} year", "{n} years"], "ru": ["{n} год", "{n} года", "{n} лет"]}}

(a bare list is the English forms). Every form keeps the msgid's {placeholders}.
"""

from __future__ import annotations

import fcntl
import json
import string
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
LANGUAGES = ("ru", "en")
# aiogram's gettext is also its ngettext: _(singular, plural, n). Two arguments are a
# singular and a locale, three or four a plural (babel counts keyword arguments too).
_GETTEXT_OR_PLURAL = {1: (1,), 2: (1,), 3: (1, 2), 4: (1, 2)}
KEYWORDS: dict[str, Any] = {
    "_": _GETTEXT_OR_PLURAL,
    "__": _GETTEXT_OR_PLURAL,
    "gettext": _GETTEXT_OR_PLURAL,
    "lazy_gettext": _GETTEXT_OR_PLURAL,
    "ngettext": (1, 2),
    "lazy_ngettext": (1, 2),
}
SOURCE_DIRS = ("bot", "handlers")


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


@contextmanager
def locked() -> Iterator[None]:
    LOCALES.mkdir(exist_ok=True)
    with open(LOCALES / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def extract() -> Catalog:
    template = Catalog(project="family-navigator-bot", charset="utf-8")
    for folder in SOURCE_DIRS:
        method_map = [("**.py", "python")]
        for filename, _lineno, message, comments, context in extract_from_dir(
            ROOT / folder, method_map, keywords=KEYWORDS, comment_tags=("i18n:",)
        ):
            template.add(message, locations=[], auto_comments=comments, context=context)
            del filename
    return template


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="family-navigator-bot", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def save(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.fuzzy = False  # babel marks new headers fuzzy, and compile would then skip the file
    with path.open("wb") as handle:
        write_po(
            handle, catalog, no_location=True, sort_output=True, ignore_obsolete=True, width=100
        )


def sync() -> None:
    template = extract()
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        save(lang, catalog)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def msgid_placeholders(message: Message) -> set[str]:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    return set().union(*(placeholders(text) for text in ids))


def forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)


def incomplete(message: Message, catalog: Catalog) -> bool:
    """Untranslated, or a plural entry short of the language's forms."""
    if message.pluralizable:
        return len(forms(message)) != catalog.num_plurals or not all(forms(message))
    return not message.string


def _plural_problems(message: Message, texts: object, catalog: Catalog, lang: str) -> list[str]:
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        return [f"{lang}: a plural entry takes a list of forms"]
    if len(texts) != catalog.num_plurals:
        return [f"{lang}: needs {catalog.num_plurals} forms, got {len(texts)}"]
    wanted = msgid_placeholders(message)
    return [
        f"{lang}: form {index} has {sorted(placeholders(text))}, wants {sorted(wanted)}"
        for index, text in enumerate(texts)
        if not text or placeholders(text) != wanted
    ]


def _translations(
    msgid: str, value: object, catalogs: dict[str, Catalog]
) -> tuple[dict[str, Any], list[str]]:
    """What FILE.json gives for one msgid, per language, and what is wrong with it."""
    message = catalogs["en"].get(msgid)
    if message is None:
        return {}, []
    if not message.pluralizable:
        if not isinstance(value, str) or placeholders(value) != msgid_placeholders(message):
            return {}, [f"en: wants one text with {sorted(msgid_placeholders(message))}"]
        return {"en": value}, []
    given = value if isinstance(value, dict) else {"en": value}
    problems = [f"not a language: {lang}" for lang in given if lang not in catalogs]
    for lang, texts in given.items():
        if lang in catalogs:
            problems += _plural_problems(message, texts, catalogs[lang], lang)
    ru_message = catalogs["ru"].get(msgid)
    if "ru" not in given and ru_message is not None and incomplete(ru_message, catalogs["ru"]):
        problems.append('ru: the three Russian forms are missing (give them as "ru")')
    return ({lang: tuple(texts) for lang, texts in given.items()}, problems)


def fill(path: Path) -> int:
    """Write FILE.json's translations; refuse the whole file (exit 1) if any entry is wrong."""
    entries: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    sync()
    catalogs = {lang: load(lang) for lang in LANGUAGES}
    updates: list[tuple[str, dict[str, Any]]] = []
    errors = []
    for msgid, value in entries.items():
        if catalogs["en"].get(msgid) is None:
            print(f"not in the code (skipped): {msgid!r}", file=sys.stderr)
            continue
        texts, problems = _translations(msgid, value, catalogs)
        errors += [f"{msgid!r}: {problem}" for problem in problems]
        updates.append((msgid, texts))
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print("nothing written", file=sys.stderr)
        return 1
    for msgid, texts in updates:
        for lang, text in texts.items():
            message = catalogs[lang][msgid]
            message.string = text
            message.flags.discard("fuzzy")
    for lang in LANGUAGES:
        save(lang, catalogs[lang])
    return 0


def missing() -> list[tuple[str, str]]:
    """(language, msgid) of every gap: en untranslated or short of a plural form, ru plural
    entries without their three forms (ru's singular entries are their msgids)."""
    gaps = []
    for lang in LANGUAGES:
        catalog = load(lang)
        for message in catalog:
            if not message.id or (lang == "ru" and not message.pluralizable):
                continue
            if incomplete(message, catalog):
                key = message.id[0] if isinstance(message.id, tuple) else message.id
                gaps.append((lang, key))
    return gaps


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "sync"
    with locked():
        if command == "sync":
            sync()
        elif command == "fill":
            return fill(Path(argv[1]))
        elif command == "missing":
            gaps = missing()
            for lang, msgid in gaps:
                print(f"{lang}: {json.dumps(msgid, ensure_ascii=False)}")
            return 1 if gaps else 0
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
