"""Users (role, language, consent, municipality) and their children.

Rules kept here (DESIGN.md §3 rule 11, 152-ФЗ): nothing about a child is stored or changed
without the parent's consent to the current version of the consent text; a parent reaches only
their own children (every call takes the acting user's id); deleting a child or withdrawing
consent erases the child's data, СНИЛС included.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from types import EllipsisType

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.base import utcnow
from storage.calendar import NotADate, age_on, parse_date
from storage.calendar import today as region_today
from storage.errors import DomainError, NotFound
from storage.guardians import refuse_guardian
from storage.models import Child, Enrollment, Municipality, Role, User
from storage.privacy import erase_children, lock_certificates, open_enrollments
from storage.repo import Repo
from storage.text import squash_spaces

# Bump when the consent text changes: everyone is asked again before child data is touched.
CONSENT_VERSION = "2026-11"
SUPPORTED_LANGUAGES = ("ru", "en")
TELEGRAM_LANGUAGE_LEN = 8  # users.telegram_language: an IETF tag as Telegram sends it

CHILD_NAME_MIN = 2
CHILD_NAME_MAX = 60
# Supplementary education serves children up to 17 inclusive (rule 1); babies are not yet
# anybody's pupils, so a child under one is almost certainly a typo in the year.
CHILD_AGE_MIN = 1
CHILD_AGE_MAX = 17
MAX_CHILDREN = 10

_HYPHENS_RE = re.compile(r"\s*[-‐‑–—]\s*")  # any dash, spaces around it dropped


def normalize_child_name(raw: str) -> str:
    """Trim, collapse spaces, unify dashes; raise DomainError when the name is not a name.

    Letters of any alphabet, spaces and hyphens only: no digits, emoji or markup.
    """
    name = squash_spaces(unicodedata.normalize("NFC", raw))
    name = _HYPHENS_RE.sub("-", name).strip("-").strip()
    if not CHILD_NAME_MIN <= len(name) <= CHILD_NAME_MAX:
        raise DomainError("child_name_length", min=CHILD_NAME_MIN, max=CHILD_NAME_MAX)
    if not all(ch.isalpha() or ch in " -" for ch in name) or "--" in name:
        raise DomainError("child_name_chars")
    if sum(ch.isalpha() for ch in name) < CHILD_NAME_MIN:
        raise DomainError("child_name_length", min=CHILD_NAME_MIN, max=CHILD_NAME_MAX)
    return name


def parse_birth_date(raw: str) -> date:
    """``DD.MM.YYYY`` (dots, dashes or slashes) → date; impossible dates are refused."""
    try:
        return parse_date(raw)
    except NotADate:
        raise DomainError("birth_date_format") from None
    except ValueError:
        raise DomainError("birth_date_impossible", text=raw.strip()) from None


def check_birth_date(birth_date: date, today: date) -> None:
    """A child's birth date must be in the past and give an age the service covers."""
    if birth_date > today:
        raise DomainError("birth_date_future")
    age = age_on(birth_date, today)
    if age > CHILD_AGE_MAX:
        raise DomainError("child_too_old", max=CHILD_AGE_MAX)
    if age < CHILD_AGE_MIN:
        raise DomainError("child_too_young", min=CHILD_AGE_MIN)


def _check_room(children: int) -> None:
    if children >= MAX_CHILDREN:
        raise DomainError("children_limit", max=MAX_CHILDREN)


def has_consent(user: User) -> bool:
    """Consent counts only for the current version of the text the parent agreed to."""
    return user.consent_version == CONSENT_VERSION


class FamilyRepo(Repo):
    async def get_or_create_user(
        self,
        telegram_id: int,
        *,
        is_admin: bool = False,
        telegram_language: str | EllipsisType | None = ...,
    ) -> User:
        """The user behind an update; registered on first contact with no personal data.

        Their municipality comes in the same statement: most screens read it next, and
        ``session.get(Municipality, id)`` then finds it in the session without a query.
        ``telegram_language``: the language code of their Telegram client (``...``: leave it),
        remembered for the notifications sent later, outside any update (bot/workers); it is
        committed only when it changed.
        """
        if isinstance(telegram_language, str):
            telegram_language = telegram_language[:TELEGRAM_LANGUAGE_LEN] or None
        row = (
            await self.session.execute(
                select(User, Municipality)
                .outerjoin(Municipality, User.municipality_id == Municipality.id)
                .where(User.telegram_id == telegram_id)
            )
        ).first()
        user = row[0] if row is not None else None
        if user is None:
            user = User(telegram_id=telegram_id, role=Role.admin if is_admin else Role.parent)
            if telegram_language is not ...:
                user.telegram_language = telegram_language
            self.session.add(user)
            try:
                await self.session.commit()
            except IntegrityError:  # the same user's parallel update registered them first
                await self.session.rollback()
                user = await self.session.scalar(
                    select(User).where(User.telegram_id == telegram_id)
                )
                assert user is not None
        changed = False
        if is_admin and user.role != Role.admin:
            user.role = Role.admin
            changed = True
        if telegram_language is not ... and user.telegram_language != telegram_language:
            user.telegram_language = telegram_language
            changed = True
        if changed:
            await self.session.commit()
        return user

    async def locales_for(
        self, telegram_ids: Iterable[int]
    ) -> dict[int, tuple[str | None, str | None]]:
        """Each user's saved language and their Telegram client's, by Telegram id (for the
        notification sender, which picks the locale)."""
        rows = await self.session.execute(
            select(User.telegram_id, User.language, User.telegram_language).where(
                User.telegram_id.in_(set(telegram_ids))
            )
        )
        return {telegram_id: (saved, client) for telegram_id, saved, client in rows.all()}

    async def get_user(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound("user")
        return user

    # --- settings -------------------------------------------------------------------------

    async def set_language(self, user_id: int, language: str | None) -> User:
        """Save the interface language; None goes back to following Telegram's."""
        if language is not None and language not in SUPPORTED_LANGUAGES:
            raise DomainError("language_unsupported", language=language)
        user = await self.get_user(user_id)
        user.language = language
        await self.session.commit()
        return user

    async def set_municipality(self, user_id: int, municipality_id: int) -> User:
        if await self.session.get(Municipality, municipality_id) is None:
            raise NotFound("municipality")
        user = await self.get_user(user_id)
        user.municipality_id = municipality_id
        await self.session.commit()
        return user

    # --- consent (152-ФЗ) -------------------------------------------------------------------

    async def give_consent(self, user_id: int, version: str = CONSENT_VERSION) -> User:
        """Record agreement to ``version`` of the consent text; repeating it changes nothing."""
        if version != CONSENT_VERSION:  # an old screen's button: the text has changed since
            raise DomainError("consent_outdated")
        user = await self.get_user(user_id)
        if user.consent_version != version:
            user.consent_version = version
            user.consent_at = utcnow()
            await self.session.commit()
        return user

    async def withdraw_consent(self, user_id: int) -> int:
        """Withdraw consent and erase the children stored under it; returns how many.

        Refused while an enrollment still holds a seat or money, like deleting one child.
        (storage/privacy.py erases everything else about the family on request.)
        """
        user = await self.get_user(user_id)
        children = await self.list_children(user_id)
        await self._refuse_open_enrollments(children)
        await erase_children(self.session, [child.id for child in children])
        user.consent_version = None
        user.consent_at = None
        await self.session.commit()
        return len(children)

    # --- children ------------------------------------------------------------------------------

    async def list_children(self, user_id: int) -> list[Child]:
        query = select(Child).where(Child.parent_id == user_id).order_by(Child.birth_date, Child.id)
        return list((await self.session.scalars(query)).all())

    async def count_children(self, user_id: int) -> int:
        query = select(func.count()).select_from(Child).where(Child.parent_id == user_id)
        return int(await self.session.scalar(query) or 0)

    async def get_child(self, user_id: int, child_id: int) -> Child:
        """The acting parent's child; another parent's (or a forged) id is simply not found."""
        child = await self.session.scalar(
            select(Child).where(Child.id == child_id, Child.parent_id == user_id)
        )
        if child is None:
            await refuse_guardian(self.session, user_id, child_id=child_id)  # issue 15
            raise NotFound("child")
        return child

    async def check_room_for_child(self, user_id: int) -> None:
        """Refuse early (before the form) what ``add_child`` would refuse about the family."""
        await self._consenting_user(user_id)
        _check_room(await self.count_children(user_id))

    async def add_child(
        self, user_id: int, full_name: str, birth_date: date, *, today: date | None = None
    ) -> Child:
        user = await self._consenting_user(user_id)
        name = normalize_child_name(full_name)
        check_birth_date(birth_date, today or region_today())
        children = await self.list_children(user.id)
        _check_room(len(children))
        if any(self._same_child(c, name, birth_date) for c in children):
            raise DomainError("child_duplicate", name=name)
        child = Child(parent_id=user.id, full_name=name, birth_date=birth_date)
        self.session.add(child)
        await self.session.commit()
        return child

    async def update_child(
        self,
        user_id: int,
        child_id: int,
        *,
        full_name: str | None = None,
        birth_date: date | None = None,
        today: date | None = None,
    ) -> Child:
        await self._consenting_user(user_id)
        child = await self.get_child(user_id, child_id)
        name = normalize_child_name(full_name) if full_name is not None else child.full_name
        born = birth_date if birth_date is not None else child.birth_date
        if birth_date is not None:
            check_birth_date(birth_date, today or region_today())
        others = [c for c in await self.list_children(user_id) if c.id != child.id]
        if any(self._same_child(c, name, born) for c in others):
            raise DomainError("child_duplicate", name=name)
        child.full_name = name
        child.birth_date = born
        await self.session.commit()
        return child

    async def delete_child(self, user_id: int, child_id: int) -> None:
        """Erase a child's data. Allowed without consent: a parent may always erase data.

        Refused while an enrollment still holds a seat or money: it must be cancelled first,
        or the provider would wait for a child nobody can name.
        """
        child = await self.get_child(user_id, child_id)
        await self._refuse_open_enrollments([child])
        await erase_children(self.session, [child.id])
        await self.session.commit()

    # --- helpers -------------------------------------------------------------------------------

    async def _refuse_open_enrollments(self, children: list[Child]) -> None:
        """A child whose enrollment still holds a seat or money cannot simply vanish.

        Checked under the certificates' locks, kept until the erasure commits, so that no
        submission lands in between (see storage/privacy.py).
        """
        child_ids = [child.id for child in children]
        async with self.refusals_release_locks():
            await lock_certificates(self.session, child_ids)
            busy = await self.session.scalar(
                select(Enrollment.child_id).where(open_enrollments(child_ids)).limit(1)
            )
            for child in children:
                if child.id == busy:
                    raise DomainError("child_has_enrollments", name=child.full_name)

    async def _consenting_user(self, user_id: int) -> User:
        user = await self.get_user(user_id)
        if not has_consent(user):
            raise DomainError("consent_required")
        return user

    @staticmethod
    def _same_child(child: Child, name: str, birth_date: date) -> bool:
        return child.birth_date == birth_date and child.full_name.casefold() == name.casefold()
