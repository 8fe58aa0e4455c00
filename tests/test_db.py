"""The database under the corpus and the chat log: connection settings, the write path, named migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectbot.retrieval.db import Database, Migration


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "db.sqlite3")
    yield database
    await database.close()


async def tables(database: Database) -> set[str]:
    rows = await database.reader.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}


async def test_the_writer_uses_wal_with_normal_sync_and_foreign_keys(database: Database) -> None:
    writer = database._writer
    [[mode]] = await writer.execute_fetchall("PRAGMA journal_mode")
    [[synchronous]] = await writer.execute_fetchall("PRAGMA synchronous")
    [[foreign_keys]] = await writer.execute_fetchall("PRAGMA foreign_keys")
    assert (mode, synchronous, foreign_keys) == ("wal", 1, 1)  # 1 = NORMAL: in WAL only the last commits may be lost


async def test_two_owners_each_apply_their_migrations_once(database: Database) -> None:
    first = [Migration("a_001_notes", "CREATE TABLE notes (text TEXT)")]
    second = [Migration("b_001_tags", "CREATE TABLE tags (name TEXT)"), Migration("b_002_more", "ALTER TABLE tags ADD COLUMN n")]
    assert await database.migrate(first) == ["a_001_notes"]
    assert await database.migrate(second) == ["b_001_tags", "b_002_more"]
    assert await database.migrate(first) == [] and await database.migrate(second) == []  # ALTER twice would fail
    rows = await database.reader.execute_fetchall("SELECT name FROM migrations")
    assert [row[0] for row in rows] == ["a_001_notes", "b_001_tags", "b_002_more"]
    assert {"notes", "tags"} <= await tables(database)


async def test_a_failed_migration_records_nothing_and_the_write_path_still_works(database: Database) -> None:
    migrations = [
        Migration("a_001_notes", "CREATE TABLE notes (text TEXT)"),
        Migration("a_002_broken", "CREATE TABLE half (x); INSERT INTO missing VALUES (1)"),
    ]
    with pytest.raises(sqlite3.OperationalError, match="missing"):
        await database.migrate(migrations)
    rows = await database.reader.execute_fetchall("SELECT name FROM migrations")
    assert [row[0] for row in rows] == ["a_001_notes"]
    assert "half" not in await tables(database)  # the broken migration's first statement was rolled back too
    async with database.transaction() as db:  # not left inside the failed migration's transaction
        await db.execute("INSERT INTO notes VALUES ('still writable')")
    assert [row[0] for row in await database.reader.execute_fetchall("SELECT text FROM notes")] == ["still writable"]


async def test_a_transaction_that_fails_writes_nothing(database: Database) -> None:
    await database.migrate([Migration("a_001_notes", "CREATE TABLE notes (text TEXT)")])
    with pytest.raises(RuntimeError):
        async with database.transaction() as db:
            await db.execute("INSERT INTO notes VALUES ('lost')")
            raise RuntimeError("crash mid-write")
    [[count]] = await database.reader.execute_fetchall("SELECT count(*) FROM notes")
    assert count == 0


@pytest.mark.parametrize("name", ["001 notes", "drop'; --", "Notes", ""])
def test_a_migration_name_is_plain(name: str) -> None:
    with pytest.raises(ValueError, match="migration name"):
        Migration(name, "SELECT 1")


async def test_a_list_repeating_a_name_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="repeat"):
        await database.migrate([Migration("a_001", "SELECT 1"), Migration("a_001", "SELECT 2")])
