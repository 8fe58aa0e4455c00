"""Logging for the `rectbot` command: quiet noisy libraries, and never print a secret."""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[secret]"
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


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to standard error at `level`, with secrets redacted on every handler."""
    level = level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Telegram's Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
