"""The reader process of ``python -m bot navigator import`` (bot/navigator_reader.py):

    python -m bot.navigator_reader_process FILE LINES_PER_BATCH

It needs the contract's checks (storage.navigator.mapping) and the enums they map onto, not the
storage package's repositories and models (70 MiB and two seconds of imports): the two packages
are registered bare, without running their ``__init__``, before the reader is imported, so the
process stays at a few tens of MiB. Batches go to stdout, framed; nothing else is written there.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bare(name: str) -> None:
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(ROOT.joinpath(*name.split(".")))]
        sys.modules[name] = package


def main(argv: list[str]) -> int:
    _bare("storage")
    _bare("storage.models")
    from bot.navigator_reader import serve

    serve(Path(argv[0]), int(argv[1]), sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
