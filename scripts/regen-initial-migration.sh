#!/usr/bin/env bash
# Before the first release the schema is one migration: rebuild it from the models.
# (After a release, add new revisions with `alembic revision --autogenerate` instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f storage/migrations/versions/0001_*.py
DATABASE_URL="sqlite+aiosqlite:///$tmp/empty.sqlite3" .venv/bin/alembic \
  -x url="sqlite+aiosqlite:///$tmp/empty.sqlite3" revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null
sed -i 's/[[:space:]]*$//' storage/migrations/versions/0001_*.py
.venv/bin/ruff format -q storage/migrations/versions/
.venv/bin/ruff check --fix -q storage/migrations/versions/ || true
rm -rf "$tmp"
ls storage/migrations/versions/0001_*.py
