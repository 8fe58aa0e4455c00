"""A consistent copy of the live database, taken with SQLite's online backup API while bots keep writing."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path


class BackupError(RuntimeError):
    """The backup could not be made; the message says why (nothing was left at the target)."""


@dataclass(frozen=True)
class BackupReport:
    """What was copied."""

    target: Path
    size: int  # bytes
    documents: int
    questions: int


def backup_database(source: Path, target: Path, *, pages_per_step: int = 1024) -> BackupReport:
    """Copy the database at source to target (a new file), consistent even while other processes write.

    A WAL-mode database cannot be copied file by file: the copy may hold half a transaction, or miss what is
    still in the -wal file. SQLite's backup API copies pages under a read transaction and restarts when a
    writer changes the source, so the copy is one committed state. It is written beside the target and
    renamed into place, so an interrupted backup never leaves a partial file under the target's name.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent} to write {target.name} in")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(partial)) as writer:
            reader.backup(writer, pages=pages_per_step)
            writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            (check,) = writer.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            documents = _count(writer, "documents")
            questions = _count(writer, "questions")
        os.replace(partial, target)
    except sqlite3.Error as e:
        raise BackupError(f"cannot back up {source}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, documents, questions)


def _count(db: sqlite3.Connection, table: str) -> int:
    """Rows in a table, 0 when the database has no such table."""
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
