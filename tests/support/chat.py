"""Conversation fixtures over the local Bot API emulator (filled in by the emulator work)."""
