"""The reference gateway's data: contract objects (NAVIGATOR_CONTRACT.md §1) and their change feed.

Storage-independent: the gateway stands for the region's navigator, so it knows nothing of the
bot's tables. Builders make objects with the contract's field names; ``Catalogue`` keeps them by
uuid and serves ``/changes`` pages in ``(lastmodifiedTs, uuid)`` order.
"""

from __future__ import annotations

import bisect
import random
import time
import uuid as uuid_module
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

Obj = dict[str, Any]
DATASOURCE = "reference-gateway"
FOCUS_CODES = (
    "tekhnicheskoe",
    "estestvennonauchnoe",
    "hudozhestvennoe",
    "socialno-pedagogicheskoe",
    "turistsko-kraevedcheskoe",
    "fizkulturno-sportivnoe",
)
SUBJECTS = {
    "tekhnicheskoe": ("Робототехника", "Программирование на Python", "3D-моделирование"),
    "estestvennonauchnoe": ("Юный эколог", "Занимательная химия", "Астрономия"),
    "hudozhestvennoe": ("Хоровое пение", "Изостудия «Палитра»", "Народный танец"),
    "socialno-pedagogicheskoe": ("Школа вожатых", "Медиацентр", "Английский клуб"),
    "turistsko-kraevedcheskoe": ("Юные краеведы", "Спортивный туризм", "Музейное дело"),
    "fizkulturno-sportivnoe": ("Мини-футбол", "Шахматы", "Плавание"),
}


def new_uuid(rng: random.Random | None = None) -> str:
    if rng is None:
        return str(uuid_module.uuid4())
    return str(uuid_module.UUID(int=rng.getrandbits(128), version=4))


def _common(kind: str, uuid: str, ts: int, local_id: int) -> Obj:
    return {
        "type": kind,
        "uuid": uuid,
        "lastmodifiedTs": ts,
        "isDeleted": False,
        "localId": str(local_id),
        "datasource": DATASOURCE,
    }


def partner(uuid: str, ts: int, municipality: str, *, name: str = "", **fields: Any) -> Obj:
    return {
        **_common("partner", uuid, ts, 1),
        "publicName": name or f"Дом детского творчества {uuid[:4]}",
        "typeOrg": "additional",
        "municipality": municipality,
        "actualAddress": "ул. Весенняя, 1",
        "phone": "+7 3842 00-00-00",
        **fields,
    }


def program(uuid: str, ts: int, partner_uuid: str, *, name: str = "", **fields: Any) -> Obj:
    return {
        **_common("program", uuid, ts, 2),
        "partnerUuid": partner_uuid,
        "name": name or f"Робототехника {uuid[:4]}",
        "announce": "Собираем и программируем роботов",
        "detailDescription": "<p>Занятия <b>два раза</b> в неделю.</p>",
        "focusCode": "tekhnicheskoe",
        "levelSet": ["basic"],
        "programRegistries": ["certified"],
        "minAge": 7,
        "maxAge": 14,
        "ovz": False,
        "educationForm": "in_person",
        "address": "ул. Весенняя, 1",
        "state": "published",
        **fields,
    }


def group(
    uuid: str, ts: int, program_uuid: str, *, today: date | None = None, **fields: Any
) -> Obj:
    day = today or date.today()
    return {
        **_common("group", uuid, ts, 3),
        "programUuid": program_uuid,
        "name": f"Группа {uuid[:4]}",
        "ageFrom": 7,
        "ageTo": 14,
        "size": 15,
        "freePlaces": 15,
        "dateBegin": (day + timedelta(days=10)).isoformat(),
        "dateEnd": (day + timedelta(days=250)).isoformat(),
        "orderFrom": (day - timedelta(days=5)).isoformat(),
        "orderTo": (day + timedelta(days=30)).isoformat(),
        "isLocked": False,
        "financingSources": [{"source": "pfdod_certificate", "cost": 1000.0}],
        **fields,
    }


def schedule(uuid: str, ts: int, group_uuid: str, **fields: Any) -> Obj:
    return {
        **_common("schedule", uuid, ts, 4),
        "groupUuid": group_uuid,
        "weekDays": ["mon", "wed"],
        "timeStart": "15:00",
        "timeEnd": "16:30",
        **fields,
    }


def tombstone(obj: Obj, ts: int) -> Obj:
    """``isDeleted: true`` carries only the common fields (contract §1)."""
    common = _common(obj["type"], obj["uuid"], ts, int(obj.get("localId") or 0))
    return {**common, "isDeleted": True}


def generate(
    programs: int, municipalities: list[str], *, seed: int = 11, ts: int = 1_764_547_200
) -> Iterator[Obj]:
    """A plausible region: a partner per ten programs, one or two groups each, a schedule per
    group. Streams (the bench writes 100 000 programs without holding them)."""
    rng = random.Random(seed)
    today = date.today()
    partner_uuid = ""
    for index in range(programs):
        if index % 10 == 0:
            partner_uuid = new_uuid(rng)
            town = municipalities[(index // 10) % len(municipalities)]
            yield partner(partner_uuid, ts, town, name=f"Центр творчества №{index // 10 + 1}")
        focus = FOCUS_CODES[index % len(FOCUS_CODES)]
        title = f"{rng.choice(SUBJECTS[focus])} {index + 1}"
        low = rng.randint(5, 12)
        program_uuid = new_uuid(rng)
        yield program(
            program_uuid,
            ts,
            partner_uuid,
            name=title,
            focusCode=focus,
            minAge=low,
            maxAge=min(17, low + rng.randint(2, 6)),
        )
        for _ in range(1 + index % 2):
            group_uuid = new_uuid(rng)
            yield group(group_uuid, ts, program_uuid, today=today, ageFrom=low, ageTo=low + 2)
            yield schedule(new_uuid(rng), ts, group_uuid)


class Catalogue:
    """Objects by uuid, newest version each, and the change feed over them."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self._feed: list[tuple[int, str]] = []  # sorted (lastmodifiedTs, uuid)
        self._clock = 0

    def tick(self) -> int:
        """A lastmodifiedTs newer than every one so far (Unix seconds, strictly increasing)."""
        self._clock = max(self._clock + 1, int(time.time()))
        return self._clock

    def put(self, obj: Obj) -> Obj:
        old = self.objects.get(obj["uuid"])
        if old is not None:
            self._feed.remove((old["lastmodifiedTs"], old["uuid"]))
        self.objects[obj["uuid"]] = obj
        bisect.insort(self._feed, (obj["lastmodifiedTs"], obj["uuid"]))
        self._clock = max(self._clock, obj["lastmodifiedTs"])
        return obj

    def change(self, uuid: str, **fields: Any) -> Obj:
        """A new version of an object with some fields changed."""
        return self.put({**self.objects[uuid], **fields, "lastmodifiedTs": self.tick()})

    def delete(self, uuid: str) -> Obj:
        return self.put(tombstone(self.objects[uuid], self.tick()))

    def page(self, since: str | None, limit: int) -> tuple[list[Obj], str | None, bool]:
        """Objects after the cursor ``since`` (``"<ts>:<uuid>"``), at most ``limit``."""
        start = 0
        if since:
            ts, _, uuid = since.partition(":")
            start = bisect.bisect_right(self._feed, (int(ts), uuid))
        keys = self._feed[start : start + limit]
        objects = [self.objects[uuid] for _, uuid in keys]
        cursor = f"{keys[-1][0]}:{keys[-1][1]}" if keys else since
        return objects, cursor, start + len(keys) < len(self._feed)
