"""Catalogues: en complete, not stale against the code, no dynamic msgids."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import i18n as catalogue_tool  # noqa: E402

GETTEXT_NAMES = {"_", "__", "gettext", "lazy_gettext"}


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


def test_english_is_complete() -> None:
    missing = [m.id for m in _catalog("en") if m.id and not m.string]
    assert missing == []


def test_no_fuzzy_translations() -> None:
    fuzzy = [m.id for m in _catalog("en") if m.id and m.fuzzy]
    assert fuzzy == []


def test_placeholders_survive_translation() -> None:
    """An English text must use exactly the Russian text's {placeholders}."""
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    broken = [
        m.id for m in _catalog("en") if m.id and m.string and fields(m.id) != fields(m.string)
    ]
    assert broken == []


@pytest.mark.parametrize("folder", ["bot", "handlers"])
def test_msgids_are_literal_strings(folder: str) -> None:
    """f-strings or variables inside _() cannot be extracted or translated."""
    offenders = []
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and not (
                    isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                )
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
