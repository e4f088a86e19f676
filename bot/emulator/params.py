"""Bot API parameters from JSON, form or multipart bodies (where everything is a string)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.emulator.errors import bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Typed access to one call's parameters, failing with Telegram's Bad Request wording."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None):
        self.values = dict(values)
        self.uploads = dict(uploads or {})

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def str(self, name: str, *, required: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(required)
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def int(self, name: str, *, required: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(required)
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def float(self, name: str, *, required: str | None = None) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(required)
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1"}
        return bool(value)

    def json(self, name: str, *, what: str | None = None) -> Any:
        """A structured parameter: already decoded in JSON bodies, a JSON string in forms."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def loggable(self) -> dict[str, Any]:
        """The parameters without file bytes, for the call log."""
        logged = dict(self.values)
        for key, upload in self.uploads.items():
            logged[key] = f"<file {upload.filename or key}: {len(upload.data)} bytes>"
        return logged
