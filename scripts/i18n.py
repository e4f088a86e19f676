"""Message catalogues: extract from code, merge into ru/en, fill translations, report gaps.

    python scripts/i18n.py sync            # extract + update both catalogues (keeps translations)
    python scripts/i18n.py fill FILE.json  # {"русский msgid": "English text"} into en
    python scripts/i18n.py missing         # msgids without an English translation

msgids are the Russian texts (ru is the default language); en must be complete. A lock file
serialises concurrent runs, so several people can sync at once without losing entries.
"""

from __future__ import annotations

import fcntl
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
LANGUAGES = ("ru", "en")
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None}
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


def fill(path: Path) -> None:
    translations: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    sync()
    catalog = load("en")
    unknown = []
    for msgid, text in translations.items():
        message = catalog.get(msgid)
        if message is None:
            unknown.append(msgid)
            continue
        message.string = text
        message.flags.discard("fuzzy")
    save("en", catalog)
    for msgid in unknown:
        print(f"not in the code (skipped): {msgid!r}", file=sys.stderr)


def missing() -> list[str]:
    catalog = load("en")
    return [m.id for m in catalog if m.id and not m.string]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "sync"
    with locked():
        if command == "sync":
            sync()
        elif command == "fill":
            fill(Path(argv[1]))
        elif command == "missing":
            gaps = missing()
            for msgid in gaps:
                print(json.dumps(msgid, ensure_ascii=False))
            return 1 if gaps else 0
        else:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
