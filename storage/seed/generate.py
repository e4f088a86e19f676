"""Rows of the demo region, built from one ``random.Random(seed)`` and a reference day.

Pure Python, no database: the same (seed, programs, today) always gives the same rows, whatever
the batch size, because every random draw happens in one fixed order. Rows are plain dicts keyed
by column name, ready for SQLAlchemy Core ``insert()`` executemany.

Guarantees that tests and the sandbox rely on (in priority order, as far as ``programs`` allows):
1. ``MAIN_MUNICIPALITY`` has, for every direction, one ``certified`` program that costs at most
   half the municipality's nominal and one ``general`` (free) program; both admit ages 7–14 and
   their first group admits the same ages, has at least 5 free seats and an enrollment window
   open on ``today`` (12 programs);
2. every stage II municipality has a program (17 more);
3. every other stage I municipality has a program in every direction (96 more).
Guaranteed programs are always published and their first group is open as in 1.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from storage.catalog import search_text_for
from storage.models.enums import Direction, Level, ProgramFormat, ProviderKind, Registry
from storage.seed import vocab
from storage.seed.groups import GroupDrawer, StudyYear, weighted
from storage.seed.names import english_name, moc_contacts
from storage.seed.region import (
    MAIN_MUNICIPALITY,
    MUNICIPALITIES,
    REGION_TIMEZONE,
    STREETS,
    MunicipalityInfo,
)

Row = dict[str, Any]

GUARANTEED_AGES = (7, 14)
SHARE_OF_CHILDREN_FUNDED = (0.25, 0.30)  # seeds/002: "не менее 25 процентов детей" at stage I
NOMINAL_RUBLES = range(5_000, 15_001, 500)  # per period
# Private providers and ИП come with personified financing (seeds/002 §1: equal access).
PROVIDER_SHARES: dict[bool, dict[ProviderKind, int]] = {
    True: {
        ProviderKind.municipal: 62,
        ProviderKind.state: 5,
        ProviderKind.private: 18,
        ProviderKind.entrepreneur: 15,
    },
    False: {
        ProviderKind.municipal: 75,
        ProviderKind.state: 5,
        ProviderKind.private: 12,
        ProviderKind.entrepreneur: 8,
    },
}


@dataclass(slots=True)
class Batch:
    programs: list[Row] = field(default_factory=list)
    groups: list[Row] = field(default_factory=list)
    slots: list[Row] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Planned:
    """What a program must be before its details are drawn (``None``: draw it)."""

    municipality: int  # index into MUNICIPALITIES
    direction: Direction | None = None
    registry: Registry | None = None
    guaranteed: bool = False


@dataclass(slots=True)
class _Provider:
    id: int
    kind: ProviderKind
    name: str
    directions: tuple[Direction, ...]
    specialised: bool
    address: str
    latitude: float
    longitude: float


@dataclass(slots=True)
class _Place:
    """A municipality while its programs are drawn."""

    id: int
    info: MunicipalityInfo
    financing: bool
    nominal_kopecks: int
    funded_quota: int
    providers: list[_Provider] = field(default_factory=list)
    by_direction: dict[Direction, list[_Provider]] = field(default_factory=dict)
    name_counts: dict[str, int] = field(default_factory=dict)
    school_number: int = 0


class RegionBuilder:
    """Draws the region: ``municipalities`` and ``providers`` rows, then program batches."""

    def __init__(self, *, programs: int, seed: int, today: date) -> None:
        if programs < 0:
            raise ValueError("programs must be >= 0")
        self.rng = random.Random(seed)
        self.today = today
        self.year = StudyYear.around(today)
        self.group_drawer = GroupDrawer(self.rng, today, self.year)
        # A fixed "last modified" moment keeps rows reproducible (no wall clock).
        self.updated_at = datetime.combine(today, time(0), tzinfo=UTC)
        self.programs = programs
        # Draw order is fixed here (municipalities, plan, providers, then programs lazily).
        self.places = [self._place(i, info) for i, info in enumerate(MUNICIPALITIES)]
        self.plan = self._plan(programs)
        self.provider_rows: list[Row] = []
        self._drawn = False
        self.providers = self._providers()

    # -- municipalities -----------------------------------------------------------------------

    def _place(self, index: int, info: MunicipalityInfo) -> _Place:
        financing = info.stage == 1
        nominal = self.rng.choice(NOMINAL_RUBLES) * 100 if financing else 0
        share = self.rng.uniform(*SHARE_OF_CHILDREN_FUNDED)
        quota = round(info.children_5_18 * share) if financing else 0
        return _Place(index + 1, info, financing, nominal, quota)

    @property
    def municipality_rows(self) -> list[Row]:
        rows = []
        for place in self.places:
            info = place.info
            rows.append({
                "id": place.id,
                "name": info.name,
                "name_en": english_name(info.name),
                "moc_contacts": moc_contacts(info, place.id),
                "kind": info.kind,
                "timezone": REGION_TIMEZONE,
                "latitude": info.latitude,
                "longitude": info.longitude,
                "children_5_18": info.children_5_18,
                "pilot_stage": info.stage,
                "financing_enabled": place.financing,
                "funded_quota": place.funded_quota,
                "funded_issued": 0,
                "nominal_kopecks": place.nominal_kopecks,
                "period_start": self.year.starts_on if place.financing else None,
                "period_months": 12,
                "budget_program_limit": 3,
                "unused_funded_days": 30,
                "documents_days": 5,
                "waitlist_offer_hours": 24,
            })  # fmt: skip
        return rows

    # -- which program goes where -------------------------------------------------------------

    def _plan(self, programs: int) -> list[_Planned]:
        main = next(i for i, m in enumerate(MUNICIPALITIES) if m.name == MAIN_MUNICIPALITY)
        guaranteed = [
            _Planned(main, direction, registry, True)
            for direction in Direction
            for registry in (Registry.certified, Registry.general)
        ]
        guaranteed += [
            _Planned(i, None, None, True) for i, m in enumerate(MUNICIPALITIES) if m.stage == 2
        ]
        guaranteed += [
            _Planned(i, direction, None, True)
            for i, m in enumerate(MUNICIPALITIES)
            if m.stage == 1 and i != main
            for direction in Direction
        ]
        plan = guaranteed[:programs]
        rest = programs - len(plan)
        if rest > 0:
            weights = [m.children_5_18 for m in MUNICIPALITIES]
            picks = self.rng.choices(range(len(MUNICIPALITIES)), weights=weights, k=rest)
            plan += [_Planned(i) for i in picks]
        return plan

    # -- providers ----------------------------------------------------------------------------

    def _providers(self) -> list[_Provider]:
        counts = [0] * len(self.places)
        for planned in self.plan:
            counts[planned.municipality] += 1
        providers: list[_Provider] = []
        for place, count in zip(self.places, counts, strict=True):
            wanted = 1 + count // 9  # about nine programs per provider, as in seeds/003
            for n in range(wanted):
                provider = self._provider(place, len(providers) + 1, first=n == 0)
                providers.append(provider)
                place.providers.append(provider)
                for direction in provider.directions:
                    place.by_direction.setdefault(direction, []).append(provider)
        return providers

    def _provider(self, place: _Place, pid: int, *, first: bool) -> _Provider:
        rng = self.rng
        # Every municipality has a house of creativity offering every direction: the first one.
        kind = ProviderKind.municipal if first else weighted(rng, PROVIDER_SHARES[place.financing])
        town = vocab.translit(place.info.localities[0].split(" ", 1)[1])
        domain = rng.choice(vocab.MAIL_DOMAINS)
        if kind is ProviderKind.entrepreneur:
            name, directions, email = self._entrepreneur(domain)
            specialised, phone = False, self._mobile()
        elif kind is ProviderKind.private:
            name, directions, email = self._private(place, town, domain)
            specialised, phone = False, self._mobile()
        else:
            template = vocab.UNIVERSAL if first else self._template(place, kind)
            name, number = self._institution_name(place, template)
            directions, specialised = template.directions, template.specialised
            email = f"{template.email}{number}.{town}@{domain}"
            phone = self._landline(place.info.phone_code)
        address, lat, lon = self._address(place)
        self.provider_rows.append({
            "id": pid,
            "name": name,
            "kind": str(kind),
            "municipality_id": place.id,
            "phone": phone,
            "email": email,
            "website": None,
            "navigator_id": None,
        })  # fmt: skip
        return _Provider(pid, kind, name, directions, specialised, address, lat, lon)

    def _template(self, place: _Place, kind: ProviderKind) -> vocab.ProviderTemplate:
        is_main = place.info.name == MAIN_MUNICIPALITY
        eligible = [
            t
            for t in vocab.PROVIDER_TEMPLATES
            if t.kind is kind
            and t.weight > 0
            and not (t.towns_only and place.info.kind == "district")
            and not (t.main_only and (not is_main or place.name_counts.get(t.name, 0) > 0))
        ]
        return weighted(self.rng, [(t, t.weight) for t in eligible])

    def _institution_name(self, place: _Place, template: vocab.ProviderTemplate) -> tuple[str, str]:
        """The name and the number used in the mailbox ("" for the first of its kind)."""
        seen = place.name_counts.get(template.name, 0) + 1
        place.name_counts[template.name] = seen
        if "{n}" in template.name:  # schools are numbered, with gaps as in real towns
            # One sequence for schools, gymnasiums and lyceums: numbers are unique in a town.
            number = place.school_number + self.rng.randint(1, 6)
            place.school_number = number
            return template.name.format(n=number), str(number)
        suffix = "" if seen == 1 else f" № {seen}"
        name = template.name.format(num=suffix, adj=place.info.adjective)
        return name, "" if seen == 1 else str(seen)

    def _private(
        self, place: _Place, town: str, domain: str
    ) -> tuple[str, tuple[Direction, ...], str]:
        """A private organisation; a brand already in town opens a numbered branch."""
        rng = self.rng
        form = weighted(rng, list(vocab.PRIVATE_FORMS))
        unused = [b for b in vocab.PRIVATE_BRANDS if b[0] not in place.name_counts]
        brand, directions, prefix = rng.choice(unused or vocab.PRIVATE_BRANDS)
        seen = place.name_counts.get(brand, 0) + 1
        place.name_counts[brand] = seen
        if seen == 1:
            return f"{form} «{brand}»", directions, f"{prefix}.{town}@{domain}"
        return f"{form} «{brand}», филиал № {seen}", directions, f"{prefix}{seen}.{town}@{domain}"

    def _entrepreneur(self, domain: str) -> tuple[str, tuple[Direction, ...], str]:
        rng = self.rng
        surname = rng.choice(vocab.SURNAMES)
        if rng.random() < 0.7:  # most tutors are women
            surname += "а"
        first, middle = rng.choice(vocab.INITIALS), rng.choice(vocab.INITIALS)
        directions = tuple(
            sorted(
                set(rng.choices(list(vocab.DIRECTION_WEIGHTS), k=rng.randint(1, 2))),
                key=list(Direction).index,
            )
        )
        email = f"{vocab.translit(surname)}.{vocab.translit(first + middle)}@{domain}"
        return f"ИП {surname} {first}. {middle}.", directions, email

    def _landline(self, code: str) -> str:
        digits = 10 - len(code)
        local = "".join(str(self.rng.randint(0, 9)) for _ in range(digits))
        local = str(self.rng.randint(2, 7)) + local[1:]  # local numbers do not start with 0/1
        return f"+7 ({code}) {local[:-4]}-{local[-4:-2]}-{local[-2:]}"

    def _mobile(self) -> str:
        rest = "".join(str(self.rng.randint(0, 9)) for _ in range(7))
        return f"+7 {self.rng.choice(vocab.MOBILE_PREFIXES)} {rest[:3]}-{rest[3:5]}-{rest[5:]}"

    def _address(self, place: _Place) -> tuple[str, float, float]:
        rng, info = self.rng, place.info
        village = len(info.localities) > 1 and rng.random() < 0.3
        locality = rng.choice(info.localities[1:]) if village else info.localities[0]
        house = rng.randint(1, 120)
        address = f"{locality}, {rng.choice(STREETS)}, {house}"
        # Towns spread a few kilometres around the centre; districts spread wider.
        spread = 0.12 if info.kind == "district" else 0.04
        lat = round(info.latitude + rng.uniform(-spread, spread), 6)
        lon = round(info.longitude + rng.uniform(-spread, spread) * 1.7, 6)
        return address, lat, lon

    # -- programs, groups, schedules ----------------------------------------------------------

    def batches(self, size: int) -> Iterator[Batch]:
        """Program rows with their groups and slots, ``size`` programs at a time (once only:
        the draws continue the builder's random stream)."""
        if self._drawn:
            raise RuntimeError("a RegionBuilder yields its programs once")
        self._drawn = True
        group_id = slot_id = 0
        batch = Batch()
        for index, planned in enumerate(self.plan):
            program, groups, slots = self._program(index + 1, planned, group_id, slot_id)
            group_id += len(groups)
            slot_id += len(slots)
            batch.programs.append(program)
            batch.groups += groups
            batch.slots += slots
            if len(batch.programs) >= size:
                yield batch
                batch = Batch()
        if batch.programs:
            yield batch

    # Over 60 lines on purpose: every random draw of a program happens here in one fixed order
    # (the seed's determinism); split, the order would be spread over several functions.
    def _program(
        self, pid: int, planned: _Planned, group_id: int, slot_id: int
    ) -> tuple[Row, list[Row], list[Row]]:
        rng = self.rng
        place = self.places[planned.municipality]
        direction = planned.direction or weighted(rng, vocab.DIRECTION_WEIGHTS)
        main_guarantee = planned.guaranteed and planned.registry is not None
        subjects = vocab.SUBJECTS[direction]
        if main_guarantee:  # ages 7–14 must fit: only broad subjects
            lo, hi = GUARANTEED_AGES
            subjects = tuple(s for s in subjects if s.age_min <= lo and s.age_max >= hi)
        subject = rng.choice(subjects)
        level = weighted(rng, {Level.intro: 45, Level.basic: 40, Level.advanced: 15})
        if main_guarantee:
            level = rng.choice((Level.intro, Level.basic))
        provider = rng.choice(place.by_direction[direction])
        registry = planned.registry or self._registry(place, provider, level)
        fmt = self._format(direction)
        months = rng.choice((9, 9, 9, 8))
        age_min, age_max = self._ages(subject, level)
        if main_guarantee:
            age_min, age_max, months = subject.age_min, subject.age_max, 9
        cost = self._cost(place, provider, registry, months, cheap=main_guarantee)
        adapted = rng.random() < 0.05
        if fmt is ProgramFormat.in_person and rng.random() < 0.2:  # a second venue
            address, lat, lon = self._address(place)
        else:
            address, lat, lon = provider.address, provider.latitude, provider.longitude
        title = self._title(subject, level)
        description = " ".join(
            [
                subject.about,
                vocab.LEVEL_TEXT[level],
                vocab.FORMAT_TEXT[fmt],
                rng.choice(vocab.OUTCOMES[direction]),
                *([vocab.ADAPTED_TEXT] if adapted else []),
            ]
        )
        published = planned.guaranteed or rng.random() >= 0.02  # a few archived programs
        program = {
            "id": pid,
            "title": title,
            "description": description,
            "direction": str(direction),
            "level": str(level),
            "format": str(fmt),
            "registry": str(registry),
            "age_min": age_min,
            "age_max": age_max,
            "municipality_id": place.id,
            "provider_id": provider.id,
            "address": address,
            "latitude": lat,
            "longitude": lon,
            "cost_kopecks": cost,
            "months": months,
            "disability_adapted": adapted,
            "published": published,
            "navigator_id": None,
            "search_text": search_text_for(title, description, provider.name),
            "updated_at": self.updated_at,
        }
        groups, slots = self.group_drawer.groups(
            pid, age_min, age_max, months, group_id, slot_id, guaranteed=planned.guaranteed
        )
        return program, groups, slots

    def _registry(self, place: _Place, provider: _Provider, level: Level) -> Registry:
        if provider.kind in (ProviderKind.private, ProviderKind.entrepreneur):
            # Personified financing is what lets private providers in (seeds/002 §1).
            if place.financing and self.rng.random() < 0.85:
                return Registry.certified
            return Registry.general
        weights = {Registry.general: 45, Registry.significant: 20}
        if place.financing:
            weights[Registry.certified] = 35
        if provider.specialised and level is not Level.intro:
            weights[Registry.preprofessional] = 25
        return weighted(self.rng, weights)

    def _format(self, direction: Direction) -> ProgramFormat:
        if direction in (Direction.sports, Direction.tourism_local_history):
            weights = {ProgramFormat.in_person: 97, ProgramFormat.network: 3}
        else:
            weights = {
                ProgramFormat.in_person: 88,
                ProgramFormat.distance: 7,
                ProgramFormat.network: 5,
            }
        return weighted(self.rng, weights)

    def _ages(self, subject: vocab.Subject, level: Level) -> tuple[int, int]:
        rng = self.rng
        lo = subject.age_min + rng.choice((0, 0, 1, 2))
        hi = subject.age_max - rng.choice((0, 0, 1, 2))
        if level is Level.advanced:
            lo += 2
        lo, hi = max(5, lo), min(17, hi)
        if hi - lo < 1:  # too narrow after the draws: the subject's own range
            lo, hi = subject.age_min, subject.age_max
        return lo, hi

    def _cost(
        self, place: _Place, provider: _Provider, registry: Registry, months: int, *, cheap: bool
    ) -> int:
        """Whole-period cost in kopecks: only certified programs are paid (from a certificate)."""
        if registry is not Registry.certified:
            return 0
        private = provider.kind in (ProviderKind.private, ProviderKind.entrepreneur)
        monthly = (
            self.rng.randrange(600, 2501, 50) if private else self.rng.randrange(300, 1201, 50)
        )
        if cheap:  # two such programs fit in one nominal
            monthly = max(50, min(monthly, place.nominal_kopecks // 100 // (2 * months) // 50 * 50))
        return monthly * 100 * months

    def _title(self, subject: vocab.Subject, level: Level) -> str:
        rng = self.rng
        if subject.named:
            return f"{subject.title} «{rng.choice(vocab.STUDIO_NAMES)}»"
        if subject.graded and level is Level.intro and rng.random() < 0.5:
            return f"{subject.title} для начинающих"
        if subject.graded and level is Level.advanced and rng.random() < 0.6:
            return f"{subject.title}. Продвинутый уровень"
        return subject.title
