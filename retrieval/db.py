"""One SQLite database (aiosqlite): a read connection, a single serialised write path, named migrations."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import aiosqlite

logger = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"[0-9a-z_]+")


@dataclass(frozen=True)
class Migration:
    """A named schema change: applied once, then recorded by name in the `migrations` table."""

    name: str  # unique across every owner of the database
    sql: str

    def __post_init__(self) -> None:
        if not MIGRATION_NAME.fullmatch(self.name):
            raise ValueError(f"migration name {self.name!r} must be lowercase letters, digits and underscores")


def timestamp(moment: datetime | None = None) -> str:
    """A moment (now by default) as stored: UTC, ISO 8601, to the second, so text order is time order."""
    return (moment or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")


class Database:
    """Reads on one connection, every write on another, serialised by a lock; owners add tables by migration."""

    def __init__(self, path: Path, reader: aiosqlite.Connection, writer: aiosqlite.Connection) -> None:
        self.path = path
        self.reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating if needed) the database at path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():  # said here: aiosqlite's thread for a connection that failed outlives the event loop
            raise IsADirectoryError(21, "a folder, not a database file", str(path))
        # Autocommit mode: the write path opens its transactions explicitly.
        writer = await aiosqlite.connect(path, isolation_level=None)
        try:
            await writer.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the database; a power loss may undo the last commits, not break them.
            await writer.execute("PRAGMA synchronous=NORMAL")
            await writer.execute("PRAGMA busy_timeout=5000")
            await writer.execute("PRAGMA foreign_keys=ON")
            reader = await aiosqlite.connect(path)
        except (sqlite3.DatabaseError, OSError):
            await writer.close()
            raise
        await reader.execute("PRAGMA busy_timeout=5000")
        reader.row_factory = aiosqlite.Row
        return cls(path, reader, writer)

    async def close(self) -> None:
        """Close both connections."""
        await self.reader.close()
        await self._writer.close()

    async def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        """Apply, in order, those of migrations not yet recorded, each in its own transaction; their names."""
        names = [migration.name for migration in migrations]
        if len(set(names)) != len(names):
            raise ValueError(f"migration names repeat: {names}")
        async with self.writing() as db:
            await db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = {row[0] for row in await db.execute_fetchall("SELECT name FROM migrations")}
            pending = [migration for migration in migrations if migration.name not in applied]
            if not pending:
                return []
            # Migrations rebuild tables, which must not cascade deletes: keys are enforced again once they are done.
            await db.execute("PRAGMA foreign_keys=OFF")
            try:
                for migration in pending:
                    logger.info("applying migration %s", migration.name)
                    # One script, one transaction: the schema change and its record commit together or not at all.
                    await db.executescript(
                        f"BEGIN; {migration.sql}; "
                        f"INSERT INTO migrations VALUES ('{migration.name}', '{timestamp()}'); COMMIT;"
                    )
            except BaseException:
                if db.in_transaction:
                    await db.rollback()
                raise
            finally:
                await db.execute("PRAGMA foreign_keys=ON")
        return [migration.name for migration in pending]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The write path: the write connection alone, in an immediate transaction committed if the block succeeds."""
        async with self.writing() as db:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                await db.commit()
            except BaseException:
                await db.rollback()
                raise

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """The write connection alone, in autocommit: each statement is its own transaction (one trip, not three)."""
        async with self._write_lock:
            yield self._writer
