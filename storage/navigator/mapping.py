"""The contract's objects (NAVIGATOR_CONTRACT.md §1) checked and mapped onto our vocabulary.

Pure functions: a raw JSON object in, a typed record out, or ``BadRecord`` with a reason code
that is kept in ``navigator_reports`` (the record is skipped, the page goes on). Records are
named tuples: an import checks its lines in a reader process (bot/navigator_reader.py) and
sends them over as plain tuples, which become records again at the cost of a tuple.
"""

from __future__ import annotations

import re
from datetime import date, time
from functools import lru_cache
from html import unescape
from typing import Any, NamedTuple

# From the enums module itself: the reader process (bot/navigator_reader_process.py) loads
# this module without the storage package and its models.
from storage.models.enums import Direction, Level, ProgramFormat, ProviderKind, Registry

TYPES = ("partner", "program", "group", "schedule")
PARENT_FIELD = {"program": "partnerUuid", "group": "programUuid", "schedule": "groupUuid"}
MAX_TEXT = 255

FOCUS = {
    "tekhnicheskoe": Direction.technical,
    "estestvennonauchnoe": Direction.natural_science,
    "hudozhestvennoe": Direction.arts,
    "socialno-pedagogicheskoe": Direction.social_humanitarian,
    "turistsko-kraevedcheskoe": Direction.tourism_local_history,
    "fizkulturno-sportivnoe": Direction.sports,
}
LEVELS = {"initial": Level.intro, "basic": Level.basic, "advanced": Level.advanced}
FORMS = {
    "in_person": ProgramFormat.in_person,
    "distance": ProgramFormat.distance,
    "network": ProgramFormat.network,
}
# In order of precedence: a program in several registries is shown by the first that applies.
REGISTRIES = {
    "certified": Registry.certified,
    "preprof": Registry.preprofessional,
    "valued": Registry.significant,
    "other": Registry.general,
    "paid": Registry.general,  # outside personified financing: a general program with a price
}
ORG_KINDS = {
    "additional": ProviderKind.municipal,
    "general": ProviderKind.municipal,
    "preschool": ProviderKind.municipal,
    "culture": ProviderKind.municipal,
    "sport": ProviderKind.municipal,
    "professional": ProviderKind.state,
    "high": ProviderKind.state,
    "private": ProviderKind.private,
    "ip": ProviderKind.entrepreneur,
    "none": ProviderKind.private,
}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
PAYING_SOURCES = ("pfdod_certificate", "paid", "private")
DEFAULT_AGES = (5, 17)  # rule 1, when the navigator gives no ages


class BadRecord(ValueError):
    """The object cannot be used; ``code`` is the reason kept for administrators."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail[:MAX_TEXT]


class Envelope(NamedTuple):
    """The common fields every object carries."""

    type: str
    uuid: str
    modified_ts: int
    deleted: bool
    parent_uuid: str | None


class PartnerRecord(NamedTuple):
    name: str
    kind: ProviderKind
    municipality: str
    oktmo: str | None
    phone: str | None
    email: str | None
    website: str | None


class ProgramRecord(NamedTuple):
    partner_uuid: str
    title: str
    description: str
    direction: Direction
    level: Level
    registry: Registry
    format: ProgramFormat
    age_min: int
    age_max: int
    disability_adapted: bool
    municipality: str | None
    oktmo: str | None
    address: str
    latitude: float | None
    longitude: float | None
    published: bool


class GroupRecord(NamedTuple):
    program_uuid: str
    name: str
    age_min: int | None
    age_max: int | None
    capacity: int
    free_places: int
    starts_on: date
    ends_on: date
    opens_on: date | None
    closes_on: date | None
    locked: bool
    monthly_cost_kopecks: int


class ScheduleRecord(NamedTuple):
    group_uuid: str
    weekdays: tuple[int, ...]
    starts_at: time
    ends_at: time


Record = PartnerRecord | ProgramRecord | GroupRecord | ScheduleRecord


def envelope(raw: object) -> Envelope:
    """The common fields, or ``BadRecord``: without them the object cannot even be versioned."""
    if not isinstance(raw, dict):
        raise BadRecord("not_an_object")
    kind, uuid, ts = raw.get("type"), raw.get("uuid"), raw.get("lastmodifiedTs")
    if kind not in TYPES:
        raise BadRecord("unknown_type", str(kind)[:40])
    if not isinstance(uuid, str) or not uuid or len(uuid) > 64:
        raise BadRecord("bad_uuid")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise BadRecord("bad_lastmodifiedTs")
    deleted = raw.get("isDeleted", False)
    if not isinstance(deleted, bool):
        raise BadRecord("bad_value", "isDeleted")
    parent = raw.get(PARENT_FIELD[kind]) if kind in PARENT_FIELD else None
    if not deleted and kind in PARENT_FIELD and (not isinstance(parent, str) or not parent):
        raise BadRecord("missing_field", PARENT_FIELD[kind])
    return Envelope(kind, uuid, ts, deleted, parent if isinstance(parent, str) else None)


def parse(kind: str, raw: dict[str, Any]) -> Record:
    return _PARSERS[kind](raw)


RECORDS: dict[str, type[Record]] = {
    "partner": PartnerRecord,
    "program": ProgramRecord,
    "group": GroupRecord,
    "schedule": ScheduleRecord,
}


class Checked(NamedTuple):
    """One object with its common fields read; ``record`` is its record or why it cannot be
    used when that was checked already (an import's reader), None when not yet (a pull page)."""

    envelope: Envelope
    payload: dict[str, Any] | None  # the decoded object (None: only its text came over)
    text: str | None  # its JSON text as received, kept as the ledger's payload
    record: Record | BadRecord | None


def check(raw: object, text: str | None = None) -> Checked:
    """The common fields now, the record when it is needed (``BadRecord``: not versionable)."""
    try:
        return Checked(envelope(raw), raw, text, None)  # type: ignore[arg-type]
    except BadRecord as error:
        uuid = raw.get("uuid") if isinstance(raw, dict) else None
        if isinstance(uuid, str):
            error.detail = f"{uuid}: {error.detail}"[:MAX_TEXT]
        raise


def checked_record(kind: str, raw: dict[str, Any]) -> Record | BadRecord:
    try:
        return parse(kind, raw)
    except BadRecord as error:
        return error


# --- field readers ------------------------------------------------------------------------------


def _text(raw: dict[str, Any], name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise BadRecord("missing_field", name)
        return ""
    if not isinstance(value, str):
        raise BadRecord("bad_value", name)
    value = " ".join(value.split())
    if required and not value:
        raise BadRecord("missing_field", name)
    return value[:limit]


def _optional(raw: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str | None:
    return _text(raw, name, limit=limit) or None


def _int(raw: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise BadRecord("missing_field", name)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise BadRecord("bad_value", name)
    return value


def _bool(raw: dict[str, Any], name: str) -> bool:
    value = raw.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRecord("bad_value", name)
    return value


def _date(raw: dict[str, Any], name: str, *, required: bool = False) -> date | None:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise BadRecord("missing_field", name)
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return _iso_date(value)
    except ValueError:
        raise BadRecord("bad_value", name) from None


# A catalogue has a few hundred distinct dates and clock times: each parsed once, and the same
# object every time (pickled once per batch on its way from the reader process).
_iso_date = lru_cache(maxsize=4096)(date.fromisoformat)
_iso_time = lru_cache(maxsize=4096)(time.fromisoformat)


def _clock(raw: dict[str, Any], name: str) -> time:
    value = raw.get(name)
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise BadRecord("missing_field" if value is None else "bad_value", name)
    try:
        return _iso_time(value)
    except ValueError:
        raise BadRecord("bad_value", name) from None


def _coordinate(raw: dict[str, Any], name: str, bound: float) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > bound:
        raise BadRecord("bad_value", name)
    return float(value)


def _strings(raw: dict[str, Any], name: str) -> list[str]:
    value = raw.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRecord("bad_value", name)
    return value


_TAG = re.compile(r"<[^>]*>")


def strip_html(text: str) -> str:
    """The navigator's simple HTML as plain text (the catalogue escapes what it shows)."""
    return " ".join(unescape(_TAG.sub(" ", text)).split())


# --- the four types -----------------------------------------------------------------------------


def _partner(raw: dict[str, Any]) -> PartnerRecord:
    kind = raw.get("typeOrg") or "none"
    if kind not in ORG_KINDS:
        raise BadRecord("bad_value", "typeOrg")
    return PartnerRecord(
        name=_text(raw, "publicName", required=True),
        kind=ORG_KINDS[kind],
        municipality=_text(raw, "municipality", required=True, limit=120),
        oktmo=_optional(raw, "oktmo", 16),
        phone=_optional(raw, "phone", 32),
        email=_optional(raw, "email", 128),
        website=_optional(raw, "site"),
    )


def _program(raw: dict[str, Any]) -> ProgramRecord:
    focus = raw.get("focusCode")
    if focus not in FOCUS:
        raise BadRecord("missing_field" if focus is None else "bad_value", "focusCode")
    levels = _strings(raw, "levelSet")
    if levels and levels[0] not in LEVELS:
        raise BadRecord("bad_value", "levelSet")
    registries = [r for r in _strings(raw, "programRegistries") if r in REGISTRIES]
    registry = min((REGISTRIES[r] for r in registries), default=Registry.general, key=_rank)
    form = raw.get("educationForm") or "in_person"
    if form not in FORMS:
        raise BadRecord("bad_value", "educationForm")
    age_min = _int(raw, "minAge")
    age_max = _int(raw, "maxAge")
    low = DEFAULT_AGES[0] if age_min is None else age_min
    high = max(DEFAULT_AGES[1], low) if age_max is None else age_max
    if low > high:
        raise BadRecord("bad_value", "minAge > maxAge")
    announce = strip_html(_text(raw, "announce", limit=2000))
    detail = strip_html(_text(raw, "detailDescription", limit=20_000))
    return ProgramRecord(
        partner_uuid=str(raw["partnerUuid"]),
        title=_text(raw, "name", required=True),
        description="\n\n".join(part for part in (announce, detail) if part)[:4000],
        direction=FOCUS[focus],
        level=LEVELS[levels[0]] if levels else Level.intro,
        registry=registry,
        format=FORMS[form],
        age_min=low,
        age_max=high,
        disability_adapted=_bool(raw, "ovz"),
        municipality=_optional(raw, "municipality", 120),
        oktmo=_optional(raw, "oktmo", 16),
        address=_text(raw, "address"),
        latitude=_coordinate(raw, "latitude", 90),
        longitude=_coordinate(raw, "longitude", 180),
        published=raw.get("state") == "published",
    )


def _rank(registry: Registry) -> int:
    return list(Registry).index(registry)


def _monthly_cost(raw: dict[str, Any]) -> int:
    """Kopecks per month the family's certificate or purse pays; 0 for budget places."""
    sources = raw.get("financingSources") or []
    if not isinstance(sources, list):
        raise BadRecord("bad_value", "financingSources")
    cost = 0
    for source in sources:
        if not isinstance(source, dict) or not isinstance(source.get("source"), str):
            raise BadRecord("bad_value", "financingSources")
        value = source.get("cost", 0) or 0
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise BadRecord("bad_value", "financingSources.cost")
        if source["source"] in PAYING_SOURCES:
            cost = max(cost, round(value * 100))
    return cost


def _group(raw: dict[str, Any]) -> GroupRecord:
    size = _int(raw, "size", required=True)
    free = _int(raw, "freePlaces")
    assert size is not None
    starts = _date(raw, "dateBegin", required=True)
    ends = _date(raw, "dateEnd", required=True)
    assert starts is not None and ends is not None
    if starts > ends:
        raise BadRecord("bad_value", "dateBegin > dateEnd")
    age_min, age_max = _int(raw, "ageFrom"), _int(raw, "ageTo")
    if age_min is not None and age_max is not None and age_min > age_max:
        raise BadRecord("bad_value", "ageFrom > ageTo")
    return GroupRecord(
        program_uuid=str(raw["programUuid"]),
        name=_text(raw, "name", required=True, limit=120),
        age_min=age_min,
        age_max=age_max,
        capacity=size,
        free_places=size if free is None else min(free, size),
        starts_on=starts,
        ends_on=ends,
        opens_on=_date(raw, "orderFrom"),
        closes_on=_date(raw, "orderTo"),
        locked=_bool(raw, "isLocked"),
        monthly_cost_kopecks=_monthly_cost(raw),
    )


def _schedule(raw: dict[str, Any]) -> ScheduleRecord:
    days = _strings(raw, "weekDays")
    if not days:
        raise BadRecord("missing_field", "weekDays")
    if any(day not in WEEKDAYS for day in days):
        raise BadRecord("bad_value", "weekDays")
    starts, ends = _clock(raw, "timeStart"), _clock(raw, "timeEnd")
    if starts >= ends:
        raise BadRecord("bad_value", "timeStart >= timeEnd")
    _date(raw, "periodFrom")  # checked; the bot's slots are weekly, the group's dates bound them
    _date(raw, "periodTo")
    return ScheduleRecord(
        group_uuid=str(raw["groupUuid"]),
        weekdays=tuple(sorted({WEEKDAYS[day] for day in days})),
        starts_at=starts,
        ends_at=ends,
    )


_PARSERS = {"partner": _partner, "program": _program, "group": _group, "schedule": _schedule}
