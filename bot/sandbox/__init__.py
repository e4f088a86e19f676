"""The sandbox: the real bot, the local Telegram emulator, demo data and a web chat.

``python -m bot run`` without BOT_TOKEN (or ``python -m bot sandbox``) calls ``run_sandbox``;
tests use ``start_sandbox`` to run it inside a context on a free port.
"""

from bot.sandbox.runner import NotLoopbackError, Sandbox, run_sandbox, start_sandbox

__all__ = ["NotLoopbackError", "Sandbox", "run_sandbox", "start_sandbox"]
