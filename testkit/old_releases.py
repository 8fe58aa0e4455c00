"""Databases as an older release left them, rebuilt from SQL that release ran or wrote (tests/data/release_*.sql)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
MIGRATION_MARK = re.compile(r"^-- migration: (\S+)$", re.MULTILINE)


def release_migrations() -> list[tuple[str, str]]:
    """(name, sql) of each migration release c907642 applied (when its store held the chat log), in order."""
    parts = MIGRATION_MARK.split((DATA / "release_migrations.sql").read_text(encoding="utf-8"))
    return list(zip(parts[1::2], parts[2::2]))


def migrated_as_released(path: Path, through: str) -> sqlite3.Connection:
    """A new database at path holding the release's migrations up to and including `through`, each recorded."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    names = [name for name, _ in release_migrations()]
    for name, sql in release_migrations()[: names.index(through) + 1]:
        db.executescript(sql)
        db.execute("INSERT INTO migrations VALUES (?, '2026-01-01')", (name,))
    db.commit()
    return db


def written_by_release(path: Path) -> None:
    """A database at path holding what release c907642's Store wrote: documents, a removal and chat rows."""
    with sqlite3.connect(path) as db:
        db.executescript((DATA / "release_database.sql").read_text(encoding="utf-8"))
    db.close()
