"""Text analysis shared by the index and the query: folding, words, stems, stop words.

Both sides reduce a word to its Snowball stem (PyStemmer: Russian for Cyrillic, English for
Latin words), so «робототехнику», «робототехники» and «робототехника» all become
«робототехник». A stem is a prefix of the word's forms, which is what the portable index is
good at: a query stem is a range on ``program_words.word`` and also finds derived words
(«хореограф» → «хореографическая»). Fleeting vowels the stemmer cannot see («танец» /
«танцы») are joined by the thesaurus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

SEARCH_WORD_MAX = 40  # the longest word kept (program_words.word is this wide)
MIN_WORD_LENGTH = 2  # "и", "в": too common to index, too vague to search
PREFIX_MIN = 4  # a shorter stem matches only the same word ("лег" must not find "легкая")
TITLE_SEPARATOR = " · "  # search_text is "title · provider · description"

_WORDS = re.compile(r"\w+")
_LATIN = re.compile(r"[a-z]+")
_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH = Stemmer.Stemmer("english")

# Words that say nothing about the subject; dropped from queries and from the index.
# Written as people type them; compared by stem, so every form of each word goes.
STOP_WORDS_TEXT = """
    и в во на по за из к ко с со у о об от до для при про без под над же ли бы не ни а но или
    что как где когда какой какая какие какую который это этот эта эти тот та те там тут
    я мы ты вы он она они мой моя мое мои наш наша наше наши свой своя свои его ее их
    хочу хотим хотел хотела хотят надо нужно нужен нужна нужны можно ищу ищем найти подскажите
    посоветуйте пожалуйста есть будет был была были очень самый лучший хороший хорошая
    кружок кружки кружка кружков секция секции секцию секций занятие занятия занятий заниматься
    курс курсы курсов урок уроки уроков направление направления программа программы
    обучение научиться учиться научить
    ребенок ребенка ребенку дети детей детям детский детская детское детские
    сын сына сыну дочь дочка дочке дочери дочку малыш малыша малышу малыши школьник
    школьника школьнику школьники подросток подростка подростков мальчик мальчика мальчиков
    девочка девочки девочек год года лет летний летнего летней возраст возраста
    the a an for of to in on at and or with my our me we i want need looking find some any
    kid kids child children son daughter boy girl boys girls teen teens class classes
    club clubs course courses lesson lessons activity activities program programs
    year years old age aged please best good
"""

_FOLD = str.maketrans({"ё": "е", "Ё": "е"})


def fold(text: str) -> str:
    """Lower case, ё→е: what both sides compare (SQLite's lower() does not fold Cyrillic)."""
    return text.translate(_FOLD).lower()


def words(text: str) -> list[str]:
    """The words of a text, folded, in order, one-letter words dropped."""
    return [w for w in _WORDS.findall(fold(text)) if len(w) >= MIN_WORD_LENGTH or w.isdigit()]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The index form of a folded word (digits and mixed words like "3d" stay as they are)."""
    if word.isdigit() or not word.isalpha():
        return word[:SEARCH_WORD_MAX]
    stemmer = _ENGLISH if _LATIN.fullmatch(word) else _RUSSIAN
    stemmed = stemmer.stemWord(word)
    return (stemmed if len(stemmed) >= MIN_WORD_LENGTH else word)[:SEARCH_WORD_MAX]


STOP_FORMS: frozenset[str] = frozenset(words(STOP_WORDS_TEXT))
# Other forms of the longer stop words go by stem ("кружочки" → "кружочк"); short stems ("из")
# would also catch subject words ("изо"), so those match only as the listed forms.
STOP_STEMS: frozenset[str] = frozenset(s for s in map(stem, STOP_FORMS) if len(s) >= 4)


def is_stop(word: str) -> bool:
    return word in STOP_FORMS or stem(word) in STOP_STEMS


def stems(text: str) -> list[str]:
    """Stems of the subject words of a text, in order, stop words dropped."""
    return [stem(w) for w in words(text) if not is_stop(w)]


def index_terms(search_text: str) -> dict[str, bool]:
    """What ``program_words`` holds for a (folded) ``search_text``: stem → is it in the title."""
    title, _sep, rest = search_text.partition(TITLE_SEPARATOR)
    terms = dict.fromkeys(stems(rest), False)
    terms.update(dict.fromkeys(stems(title), True))
    return terms


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
