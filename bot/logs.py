"""Logging for the `rectbot` command: quiet noisy libraries, and never print a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from enum import StrEnum

REDACTED = "[secret]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogFormat(StrEnum):
    """How log lines are written."""

    TEXT = "text"  # for people reading a terminal or journalctl
    JSON = "json"  # one JSON object per line, for log collectors (Loki, Elasticsearch, CloudWatch)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)
SHORTEST_SECRET_PART = 8  # shorter pieces of a secret would redact ordinary words


def secret_parts(secret: str) -> list[str]:
    """The part of a secret after its last ':' (a Telegram token's secret), when long enough to mean anything."""
    _, colon, part = secret.rpartition(":")
    return [part] if colon and len(part) >= SHORTEST_SECRET_PART else []


class RedactSecrets(logging.Filter):
    """Replaces configured secrets (tokens, keys) in log messages and tracebacks."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # A Telegram token is "bot id:secret"; the secret part alone (quoted in a URL as id%3Asecret) is a secret too.
        pieces = {piece for secret in secrets if secret for piece in (secret, *secret_parts(secret))}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(pieces, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """text with every secret replaced."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if not self.secrets:
            return True
        message = record.getMessage()
        if (clean := self.redact(message)) != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(
    level: str, secrets: Iterable[str] = (), log_format: LogFormat = LogFormat.TEXT, sql: bool = False
) -> None:
    """Log to standard error at `level` in `log_format`, with secrets redacted on every handler; aiosqlite's two
    lines per SQL statement only when `sql` is set."""
    level = level.upper()
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    if log_format is LogFormat.JSON:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    # httpx logs every request URL, and Telegram's Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if not sql:
        logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLogger().level))
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
