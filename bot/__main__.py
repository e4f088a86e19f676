"""Command line: ``python -m bot run | migrate | seed-demo [--programs N] [--children N
--enrollments M] | sandbox``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

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
    return parser


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
    if args.command == "sandbox" or (args.command == "run" and settings.bot_token is None):
        from bot.sandbox import run_sandbox

        asyncio.run(run_sandbox(settings))
        return 0
    assert settings.bot_token is not None
    from bot.runtime import run_polling, run_webhook

    runner = run_webhook if settings.webhook_url else run_polling
    asyncio.run(runner(settings, settings.bot_token.get_secret_value()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
