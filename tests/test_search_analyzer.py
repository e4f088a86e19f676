"""The search analyzer: morphology, stop words, thesaurus, typos, query parsing, planning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.models import ProgramFormat
from storage.search.analyzer import index_terms, stem, stems
from storage.search.query import Place, parse_query
from storage.search.ranking import Quality, plan, subject_key, varied
from storage.search.thesaurus import THESAURUS, build
from storage.search.vocabulary import Vocabulary

PLACES = [
    Place.of(1, "город Кемерово", "city"),
    Place.of(2, "Новокузнецкий городской округ", "okrug"),
    Place.of(3, "Новокузнецкий муниципальный район", "district"),
    Place.of(4, "Ленинск-Кузнецкий городской округ", "okrug"),
    Place.of(5, "Беловский городской округ", "okrug"),
]


@pytest.mark.parametrize(
    "forms",
    [
        ("робототехника", "робототехнику", "робототехники", "Робототехникой"),
        ("шахматы", "шахматами", "шахмат"),
        ("плавание", "плаванию", "плаванием"),
        ("ёлка", "елка", "ЁЛКИ"),
    ],
)
def test_word_forms_share_a_stem(forms: tuple[str, ...]) -> None:
    assert len({stem(w.lower().replace("ё", "е")) for w in forms}) == 1


def test_stop_words_are_dropped_but_subject_words_are_not() -> None:
    assert stems("хочу кружок по танцам для детей") == [stem("танцам")]
    assert stems("Занимательная математика") == [stem("занимательная"), stem("математика")]
    assert stems("изостудия, изо") == [stem("изостудия"), stem("изо")]


def test_index_terms_mark_the_title() -> None:
    terms = index_terms("хор «кедр» · мбу до «дом творчества» · поём в хоре")
    assert terms[stem("хор")] is True and terms[stem("творчества")] is False


@given(st.text(max_size=200))
def test_index_terms_never_fail_and_fit_the_column(text: str) -> None:
    assert all(0 < len(word) <= 40 for word in index_terms(text))


def test_thesaurus_joins_everyday_words_and_subjects_both_ways() -> None:
    dance = THESAURUS.lookup((stem("танцы"),))
    assert (stem("хореография"),) in dance and (stem("танец"),) in dance
    assert (stem("танцы"),) in THESAURUS.lookup((stem("хореография"),))
    assert (stem("шахматы"),) in THESAURUS.lookup(("chess",))
    # One way only for a broader word: sport finds football, football does not find sport.
    assert (stem("футбол"),) in THESAURUS.lookup((stem("спорт"),))
    assert (stem("спорт"),) not in THESAURUS.lookup((stem("футбол"),))


def test_thesaurus_phrases_need_all_their_words() -> None:
    thesaurus = build({"synonyms": {"tt": ["пинг-понг", "настольный теннис"]}})
    assert (stem("настольный"), stem("теннис")) in thesaurus.lookup((stem("пинг"), stem("понг")))


def test_a_typo_is_read_as_the_closest_indexed_word() -> None:
    vocabulary = Vocabulary(sorted(map(stem, ["шахматы", "робототехника", "радио", "хоккей"])))
    assert vocabulary.close_to(stem("шахмоты")) == [stem("шахматы")]
    assert vocabulary.close_to(stem("рабатехника")) == [stem("робототехника")]
    assert vocabulary.close_to(stem("хокей")) == [stem("хоккей")]
    assert vocabulary.close_to(stem("квантовая")) == []


def test_plan_ranks_own_words_above_synonyms_above_typos() -> None:
    vocabulary = Vocabulary(sorted(map(stem, ["шахматы", "дзюдо"])))
    [chess] = plan(["шахмоты"], vocabulary)
    assert chess.terms[(stem("шахмоты"),)] is Quality.exact
    assert chess.terms[(stem("шахматы"),)] is Quality.typo and chess.typos
    [dance] = plan(["танцы"], vocabulary)
    assert dance.terms[(stem("хореография"),)] is Quality.synonym
    # Known words are not second-guessed; several words are several groups (all needed).
    assert len(plan(["дзюдо", "шахматы"], vocabulary)) == 2
    assert not plan(["дзюдо"], vocabulary)[0].typos


@pytest.mark.parametrize(
    ("text", "words", "age"),
    [
        ("танцы для девочки 7 лет", ("танцы",), 7),
        ("ребёнку 9", (), 9),
        ("шахматы для 10-летнего", ("шахматы",), 10),
        ("робототехника 10", ("робототехника",), 10),
        ("chess for 8 year old", ("chess",), 8),
        ("школа 45", ("школа", "45"), None),  # not an age: a number to search
    ],
)
def test_an_age_in_the_query_becomes_the_age_filter(
    text: str, words: tuple[str, ...], age: int | None
) -> None:
    parsed = parse_query(text)
    assert parsed.words == words and parsed.age == age


def test_filter_words_become_filters() -> None:
    parsed = parse_query("бесплатно рисование онлайн")
    assert parsed.words == ("рисование",) and parsed.price == "free"
    assert parsed.format is ProgramFormat.distance
    assert parse_query("по сертификату").price == "certificate"
    assert parse_query("футбол рядом").near and parse_query("для детей с ОВЗ").adapted


def test_a_municipality_name_switches_the_municipality() -> None:
    assert parse_query("шахматы в Кемерово", PLACES).municipality_id == 1
    assert parse_query("плавание новокузнецк", PLACES).municipality_id == 2
    assert parse_query("плавание новокузнецкий район", PLACES).municipality_id == 3
    parsed = parse_query("Ленинск-Кузнецкий хор", PLACES)
    assert parsed.municipality_id == 4 and parsed.words == ("хор",)
    assert parse_query("белые медведи", PLACES).municipality_id is None


def test_stop_word_phrases_of_the_thesaurus_are_kept() -> None:
    assert parse_query("что где когда").words == ("что", "где", "когда")


def test_first_pages_show_each_subject_once_first() -> None:
    assert subject_key("Хор «Кедр»") == subject_key("Хор «Родник»") == "хор"
    assert subject_key("Робототехника для начинающих") == "робототехника"
    rows = [(1, "Ансамбль «А»", 50, 1), (2, "Ансамбль «Б»", 50, 1), (3, "Танец", 30, 1)]
    assert [r[0] for r in varied(rows, title_at=1)] == [1, 3, 2]
    weak = [(1, "Ансамбль «А»", 50, 1), (2, "Ансамбль «Б»", 50, 1), (3, "Танец", 5, 1)]
    assert [r[0] for r in varied(weak, title_at=1)] == [1, 2, 3]  # a weak match waits
