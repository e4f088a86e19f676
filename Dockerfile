# Family Navigator Bot: migrations, then the bot (long polling, or webhook when WEBHOOK_URL is set).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
COPY scripts ./scripts
COPY babel.cfg alembic.ini ./
RUN pip install . \
    && pybabel compile -d locales -D messages \
    && useradd --create-home --uid 10001 navigator \
    && mkdir -p /app/data && chown navigator /app/data
USER navigator
VOLUME ["/app/data"]
EXPOSE 8081
# `run` applies migrations first; `migrate` alone is there for one-off jobs.
CMD ["python", "-m", "bot", "run"]
