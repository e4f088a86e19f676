"""Command line: ``python -m bot run | migrate | seed-demo [--programs N] [--children N
--enrollments M] | sandbox | navigator import FILE | navigator pull | snils … | backup FILE``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Family Navigator Bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="apply migrations and run (the sandbox when BOT_TOKEN is empty)")
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed-demo", help="load the deterministic demo region")
    seed.add_argument("--programs", type=int, default=2000, help="number of programs")
    seed.add_argument("--seed", type=int, default=484, help="random seed")
    seed.add_argument("--children", type=int, default=0, help="families' children (benchmarks)")
    seed.add_argument("--enrollments", type=int, default=0, help="their enrollments")
    sub.add_parser("sandbox", help="run the bot with the local Telegram emulator and web chat")
    navigator = sub.add_parser("navigator", help="navigator sync: import an export file, pull")
    nav_sub = navigator.add_subparsers(dest="navigator_command", required=True)
    nav_import = nav_sub.add_parser("import", help="apply a JSON Lines export (.gz allowed)")
    nav_import.add_argument("file", type=Path)
    nav_sub.add_parser("pull", help="pull every change from NAVIGATOR_URL once")
    snils = sub.add_parser("snils", help="СНИЛС encryption keys")
    snils_sub = snils.add_subparsers(dest="snils_command", required=True)
    snils_sub.add_parser("new-key", help="print a fresh key for SNILS_KEY / SNILS_KEYS")
    rotate = snils_sub.add_parser("rotate", help="re-encrypt stored СНИЛС under the newest key")
    rotate.add_argument("--batch", type=int, default=500, help="rows per transaction")
    backup = sub.add_parser("backup", help="copy the SQLite database (online backup API)")
    backup.add_argument("file", help="where to write the copy")
    return parser


def _snils(settings: Settings, args: argparse.Namespace) -> int:
    from bot.secrets import make_key, rotate

    if args.snils_command == "new-key":
        print(make_key())
        return 0
    print(asyncio.run(rotate(settings, args.batch)))
    return 0


def _backup(settings: Settings, target: str) -> int:
    from storage.backup import BackupRefused, backup_sqlite

    try:
        pages = asyncio.run(backup_sqlite(settings.sqlite_path, target))
    except BackupRefused as refusal:
        print(f"backup refused: {refusal}", file=sys.stderr)
        return 1
    print(f"backup written to {target} ({pages} pages)")
    return 0


async def _seed(
    settings: Settings, programs: int, seed: int, children: int = 0, enrollments: int = 0
) -> int:
    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.seed import SeedRefused, seed_demo

    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        report = await seed_demo(engine, programs=programs, seed=seed)
        if children or enrollments:  # issue 14: indicators at benchmark scale
            from storage.calendar import today
            from storage.seed.families import seed_families

            report += "\n" + await seed_families(
                engine, children=children, enrollments=enrollments, seed=seed, today=today()
            )
    except SeedRefused as refusal:
        print(f"seed-demo refused: {refusal}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(report)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "migrate":
        from storage.migrate import upgrade

        asyncio.run(upgrade(settings.database_url))
        print("migrations applied")
        return 0
    if args.command == "seed-demo":
        return asyncio.run(
            _seed(settings, args.programs, args.seed, args.children, args.enrollments)
        )
    if args.command == "navigator":
        from bot.navigator_cli import run_import, run_pull

        if args.navigator_command == "import":
            return asyncio.run(run_import(settings, args.file))
        return asyncio.run(run_pull(settings))
    if args.command == "snils":
        return _snils(settings, args)
    if args.command == "backup":
        return _backup(settings, args.file)
    if args.command == "sandbox" or (args.command == "run" and settings.bot_token is None):
        from bot.sandbox import run_sandbox

        asyncio.run(run_sandbox(settings))
        return 0
    assert settings.bot_token is not None
    from bot.runtime import run_polling, run_webhook
    from bot.secrets import require_production_secrets

    require_production_secrets(settings)  # exits with the reason and how to make a key
    runner = run_webhook if settings.webhook_url else run_polling
    asyncio.run(runner(settings, settings.bot_token.get_secret_value()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
