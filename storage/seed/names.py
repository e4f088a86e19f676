"""English names and МОЦ contacts of the demo municipalities (issue 12)."""

from __future__ import annotations

from storage.seed.region import MunicipalityInfo

_LETTERS = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_ENDINGS = (("ский", "sky"), ("цкий", "tsky"), ("ий", "y"), ("ый", "y"))
_KINDS = (
    ("городской округ", "Urban Okrug"),
    ("муниципальный район", "Municipal District"),
)


def transliterate(word: str) -> str:
    """A Russian word in Latin letters, the way road signs spell it ("Беловский" → "Belovsky")."""
    lower = word.lower()
    for ending, latin in _ENDINGS:
        if lower.endswith(ending):
            stem = "".join(_LETTERS.get(ch, ch) for ch in lower[: -len(ending)])
            return (stem + latin).capitalize()
    return "".join(_LETTERS.get(ch, ch) for ch in lower).capitalize()


def english_name(name: str) -> str:
    """ "Беловский городской округ" → "Belovsky Urban Okrug"; "город Кемерово" → "Kemerovo"."""
    if name.startswith("город "):
        return _latin_words(name.removeprefix("город "))
    for russian, english in _KINDS:
        if name.endswith(russian):
            return f"{_latin_words(name.removesuffix(russian).strip())} {english}"
    return _latin_words(name)


def _latin_words(text: str) -> str:
    return " ".join("-".join(map(transliterate, word.split("-"))) for word in text.split())


def moc_contacts(info: MunicipalityInfo, number: int) -> str:
    """Demo contacts of the municipal support centre (МОЦ): a phone on the local code, a mailbox."""
    mailbox = transliterate(info.adjective).lower().replace("-", "")
    if info.kind == "district":  # the town's okrug and the district around it share a name
        mailbox += "-rayon"
    local = f"{number:02d}-{(number * 37) % 100:02d}"
    return f"+7 ({info.phone_code}) 2-{local} · moc.{mailbox}@kuzbass-dod.example"
