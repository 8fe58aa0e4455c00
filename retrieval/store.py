"""The corpus in SQLite: files, documents, passages and removals, on the database's one write path."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from rectbot.retrieval.db import Database, Migration, timestamp
from rectbot.retrieval.articles import Article
from rectbot.retrieval.passages import Passage

logger = logging.getLogger(__name__)

# The corpus's named migrations, applied in order. Names 002 and 005 are taken: they created the query log's
# tables, which the application now migrates itself.
MIGRATIONS: list[Migration] = [
    Migration(
        "001_documents_and_passages",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            file_name TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL,
            encoding TEXT,
            size INTEGER NOT NULL,
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX files_content_hash ON files(content_hash);
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            title TEXT,
            date TEXT,
            source TEXT,
            author TEXT,
            region TEXT,
            sections TEXT NOT NULL,
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            duplicate_of INTEGER REFERENCES documents(id) ON DELETE SET NULL
        );
        CREATE INDEX documents_text_hash ON documents(text_hash);
        CREATE TABLE passages (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            section TEXT,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX passages_document ON passages(document_id, position);
        """,
    ),
    Migration(
        # Saved answers refer to passages by id, so an id must never be given to another passage.
        "003_never_reuse_document_and_passage_ids",
        """
        CREATE TABLE documents_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            title TEXT,
            date TEXT,
            source TEXT,
            author TEXT,
            region TEXT,
            sections TEXT NOT NULL,
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            duplicate_of INTEGER REFERENCES documents(id) ON DELETE SET NULL
        );
        INSERT INTO documents_new SELECT * FROM documents;
        CREATE TABLE passages_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            section TEXT,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            text TEXT NOT NULL
        );
        INSERT INTO passages_new SELECT * FROM passages;
        DROP TABLE passages;
        DROP TABLE documents;
        ALTER TABLE documents_new RENAME TO documents;
        ALTER TABLE passages_new RENAME TO passages;
        CREATE INDEX documents_text_hash ON documents(text_hash);
        CREATE INDEX passages_document ON passages(document_id, position);
        """,
    ),
    Migration(
        # A file is identified by its path under the folder given to ingest (or its chat, for uploads):
        # 2019/工作总结.txt and 2020/工作总结.txt are two files. Older files keep their name as their path.
        "004_files_by_path_and_removals",
        """
        CREATE TABLE files_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL UNIQUE,
            file_name TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            encoding TEXT,
            size INTEGER NOT NULL,
            ingested_at TEXT NOT NULL
        );
        INSERT INTO files_new (id, path, file_name, content_hash, encoding, size, ingested_at)
            SELECT id, file_name, file_name, content_hash, encoding, size, ingested_at FROM files;
        DROP TABLE files;
        ALTER TABLE files_new RENAME TO files;
        CREATE INDEX files_content_hash ON files(content_hash);
        CREATE TABLE removals (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            titles TEXT NOT NULL,
            removed_by TEXT NOT NULL,
            removed_at TEXT NOT NULL
        );
        """,
    ),
    Migration(
        # Replacing or removing a file finds its documents, and their copies, without scanning every document.
        "006_document_lookups",
        """
        CREATE INDEX IF NOT EXISTS documents_file ON documents(file_id);
        CREATE INDEX IF NOT EXISTS documents_copies ON documents(duplicate_of);
        """,
    ),
    Migration(
        # Where an ingested file is on disk, so that another folder's file of the same name is never taken for a
        # new version of it. Files stored before (and uploads) have none.
        "007_file_origins",
        """
        ALTER TABLE files ADD COLUMN origin TEXT;
        CREATE INDEX files_origin ON files(origin);
        """,
    ),
]


@dataclass(frozen=True)
class FileRecord:
    """A file as ingested: its path is its identity, its hash says whether it changed."""

    path: str  # relative to the folder given to ingest, or channel/chat/name for an upload
    file_name: str
    content_hash: str
    encoding: str | None
    size: int
    origin: str | None = None  # where an ingested file is on disk (resolved); None for uploads


class PathTaken(Exception):
    """Another writer saved a different file at the path since the caller chose it."""


@dataclass(frozen=True)
class StoredArticle:
    """An article ready to store: metadata, passages and the hash that finds republished copies."""

    article: Article
    passages: Sequence[Passage]
    text_hash: str


@dataclass(frozen=True)
class DocumentRow:
    """A stored document with what `rectbot docs` and the channels show."""

    id: int
    file_name: str
    title: str | None
    date: str | None
    source: str | None
    author: str | None
    region: str | None
    sections: tuple[str, ...]
    passages: int
    duplicate_of: int | None
    also_in: tuple[str, ...]  # sources of other copies of the same article
    path: str = ""
    ingested_at: str = ""


@dataclass(frozen=True)
class Removal:
    """A file taken out of the corpus: what, by whom, when."""

    path: str
    titles: tuple[str, ...]
    removed_by: str
    removed_at: str
    # Of its documents, how many another file holds the same text of (still searchable); said, not logged.
    kept: int = field(default=0, compare=False)


@dataclass(frozen=True)
class PassageRow:
    """A passage with its document's citation fields."""

    id: int
    document_id: int
    position: int
    section: str | None
    start: int
    end: int
    text: str
    title: str | None
    date: str | None
    source: str | None
    author: str | None
    region: str | None
    file_name: str


class Store:
    """The corpus tables of a database; every write bumps the corpus generation that the index is checked against."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.path = database.path
        self._reader = database.reader

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at path with the corpus tables migrated."""
        database = await Database.open(path)
        try:
            await database.migrate(MIGRATIONS)
            if not await database.reader.execute_fetchall("SELECT value FROM meta WHERE key = 'corpus_id'"):
                async with database.writing() as db:
                    await db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('corpus_id', ?)", (uuid.uuid4().hex,))
        except BaseException:
            await database.close()
            raise
        return cls(database)

    async def close(self) -> None:
        """Close the database."""
        await self.database.close()

    # Reads

    async def fingerprint(self) -> str:
        """Identifies the searchable corpus state; it changes with every corpus write."""
        rows = dict(await self._reader.execute_fetchall("SELECT key, value FROM meta"))
        return f"{rows.get('corpus_id', '')}:{rows.get('generation', '0')}"

    async def count_files(self) -> int:
        """Number of ingested files."""
        rows = await self._reader.execute_fetchall("SELECT count(*) FROM files")
        return rows[0][0]

    async def file_at(self, path: str) -> FileRecord | None:
        """The stored version of the file at path, if any."""
        rows = await self._reader.execute_fetchall(
            "SELECT path, file_name, content_hash, encoding, size, origin FROM files WHERE path = ?", (path,)
        )
        return FileRecord(*rows[0]) if rows else None

    async def file_from(self, origin: str) -> FileRecord | None:
        """The stored version of the file ingested from this place on disk, if any."""
        rows = await self._reader.execute_fetchall(
            "SELECT path, file_name, content_hash, encoding, size, origin FROM files WHERE origin = ? LIMIT 1",
            (origin,),
        )
        return FileRecord(*rows[0]) if rows else None

    async def paths_ingested_from(self, location: str, separator: str = "/") -> list[str]:
        """The stored paths of the files ingested from this place on disk: the file, or every file under the folder."""
        folder = location.rstrip(separator) + separator
        rows = await self._reader.execute_fetchall(
            "SELECT path FROM files WHERE origin = ? OR substr(origin, 1, ?) = ? ORDER BY path",
            (location, len(folder), folder),
        )
        return [row[0] for row in rows]

    async def record_origin(self, path: str, origin: str) -> None:
        """Remember where the file stored at path is on disk (found unchanged there). Nothing searchable changes, so
        the corpus generation does not move."""
        async with self.database.transaction() as db:
            await db.execute("UPDATE files SET origin = ? WHERE path = ?", (origin, path))

    async def path_by_hash(self, content_hash: str) -> str | None:
        """The path a file with these exact bytes was stored under, if any."""
        rows = await self._reader.execute_fetchall(
            "SELECT path FROM files WHERE content_hash = ? ORDER BY id LIMIT 1", (content_hash,)
        )
        return rows[0][0] if rows else None

    async def paths_of_documents(self, document_ids: Iterable[int]) -> dict[int, str]:
        """The path of the file holding each of these documents (ids not stored are left out)."""
        ids = list(document_ids)
        rows = await self._reader.execute_fetchall(
            f"SELECT d.id, f.path FROM documents d JOIN files f ON f.id = d.file_id "
            f"WHERE d.id IN ({','.join('?' * len(ids))})",
            ids,
        )
        return {row[0]: row[1] for row in rows}

    async def removals(self) -> list[Removal]:
        """Every removal, oldest first."""
        rows = await self._reader.execute_fetchall(
            "SELECT path, titles, removed_by, removed_at FROM removals ORDER BY id"
        )
        return [Removal(row[0], tuple(json.loads(row[1])), row[2], row[3]) for row in rows]

    async def passage_params(self) -> str | None:
        """The passage shape the stored passages were made with."""
        rows = await self._reader.execute_fetchall("SELECT value FROM meta WHERE key = 'passage_params'")
        return rows[0][0] if rows else None

    async def document_texts(self) -> list[tuple[int, str, list[tuple[str, int]]]]:
        """(id, text, sections) of every document, to re-split passages."""
        rows = await self._reader.execute_fetchall("SELECT id, text, sections FROM documents ORDER BY id")
        return [(row[0], row[1], [tuple(s) for s in json.loads(row[2])]) for row in rows]

    async def searchable_passages(
        self, documents: Iterable[int] | None = None, *, after: int | None = None, limit: int | None = None
    ) -> list[tuple[int, int, str]]:
        """(id, document id, text) of every passage of a primary document (not a republished copy), by id.

        With `documents`, only the passages of those of them that are primary; with `after` and `limit`, the
        first `limit` of those with a greater id (to read them a batch at a time).
        """
        parameters: tuple[str | int, ...]
        among, parameters = _among("d.id", documents)
        if after is not None:
            among, parameters = f"{among} AND p.id > ?", (*parameters, after)
        # Every passage: walk them by id (CROSS JOIN keeps passages the outer loop), so that a batch costs what
        # it reads; SQLite's own choice, documents first, sorted every remaining passage for each batch.
        join = "JOIN" if documents is not None else "CROSS JOIN"
        rows = await self._reader.execute_fetchall(
            f"""SELECT p.id, p.document_id, p.text FROM passages p
               {join} documents d ON d.id = p.document_id WHERE d.duplicate_of IS NULL {among} ORDER BY p.id
               {"LIMIT ?" if limit is not None else ""}""",
            (*parameters, *((limit,) if limit is not None else ())),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def count_searchable_passages(self) -> int:
        """The number of passages of primary documents (what searchable_passages() returns)."""
        rows = await self._reader.execute_fetchall(
            "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.document_id WHERE d.duplicate_of IS NULL"
        )
        return rows[0][0]

    async def document_contexts(
        self, lead_chars: int = 150, documents: Iterable[int] | None = None
    ) -> list[tuple[int, str]]:
        """(id, title, region, source, author and opening text) of every primary document (or of those in
        `documents`), by id.

        A passage is also matched through these: a report's title or opening often names the place and the
        method that its paragraphs only imply, and staff ask for a paper by its author (霍修勇写的那篇).
        """
        among, parameters = _among("id", documents)
        rows = await self._reader.execute_fetchall(
            f"""SELECT id, coalesce(title, '') || char(10) || coalesce(region, '') || char(10) || coalesce(source, '')
                      || char(10) || coalesce(author, '') || char(10) || substr(text, 1, ?) FROM documents
               WHERE duplicate_of IS NULL {among} ORDER BY id""",
            (lead_chars, *parameters),
        )
        return [(row[0], row[1]) for row in rows]

    async def primary_document_ids(self) -> list[int]:
        """The ids of the searchable documents (not republished copies), ascending: what the index must hold."""
        rows = await self._reader.execute_fetchall("SELECT id FROM documents WHERE duplicate_of IS NULL ORDER BY id")
        return [row[0] for row in rows]

    async def file_names(self, document_ids: Iterable[int]) -> dict[int, str]:
        """The name of the file each document came from, keyed by document id."""
        among, parameters = _among("d.id", document_ids)
        rows = await self._reader.execute_fetchall(
            f"SELECT d.id, f.file_name FROM documents d JOIN files f ON f.id = d.file_id WHERE 1 {among}", parameters
        )
        return {row[0]: row[1] for row in rows}

    async def passages_by_id(self, ids: Iterable[int]) -> dict[int, PassageRow]:
        """Passages with their citation fields, keyed by id; ids no longer stored are absent."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._reader.execute_fetchall(
            f"""SELECT p.id, p.document_id, p.position, p.section, p.start, p.end, p.text,
                       d.title, d.date, d.source, d.author, d.region, f.file_name
                FROM passages p JOIN documents d ON d.id = p.document_id JOIN files f ON f.id = d.file_id
                WHERE p.id IN ({marks})""",
            ids,
        )
        return {row[0]: PassageRow(*row) for row in rows}

    async def passages_of_document(self, document_id: int) -> list[PassageRow]:
        """All passages of a document in reading order."""
        rows = await self._reader.execute_fetchall(
            "SELECT id FROM passages WHERE document_id = ? ORDER BY position", (document_id,)
        )
        by_id = await self.passages_by_id(row[0] for row in rows)
        return [by_id[row[0]] for row in rows]

    async def documents(self, document_id: int | None = None) -> list[DocumentRow]:
        """Every stored document (or only the one with document_id), primaries and republished copies, by id."""
        rows = await self._reader.execute_fetchall(
            """SELECT d.id, f.file_name, d.title, d.date, d.source, d.author, d.region, d.sections,
                      (SELECT count(*) FROM passages p WHERE p.document_id = d.id), d.duplicate_of,
                      (SELECT json_group_array(coalesce(c.source, cf.file_name))
                         FROM documents c JOIN files cf ON cf.id = c.file_id
                        WHERE c.text_hash = d.text_hash AND c.id != d.id),
                      f.path, f.ingested_at
               FROM documents d JOIN files f ON f.id = d.file_id
               WHERE ? IS NULL OR d.id = ? ORDER BY d.id""",
            (document_id, document_id),
        )
        return [
            DocumentRow(
                id=row[0],
                file_name=row[1],
                title=row[2],
                date=row[3],
                source=row[4],
                author=row[5],
                region=row[6],
                sections=tuple(title for title, _ in json.loads(row[7])),
                passages=row[8] if row[9] is None else 0,
                duplicate_of=row[9],
                also_in=tuple(json.loads(row[10])),
                path=row[11],
                ingested_at=row[12],
            )
            for row in rows
        ]

    async def document(self, document_id: int) -> DocumentRow | None:
        """One document by id."""
        return next(iter(await self.documents(document_id)), None)

    # The write path

    async def save_file(
        self, record: FileRecord, articles: Sequence[StoredArticle], passage_params: str, replacing: str | None = None
    ) -> list[bool]:
        """Store a file's articles in one transaction, replacing the version at the same path whose content hash is
        `replacing` (None: the path must be free); `PathTaken` if the path holds anything else by then.

        An article whose text is already stored (the same report republished elsewhere) is kept as a
        copy of the first one: it is listed with the documents but its passages are not searched.
        Returns, per article, whether it was such a copy.
        """
        async with self._transaction() as db:
            # Checked inside the write transaction: another ingest, here or in another process, may have saved a
            # file at this path since the caller chose it, and saving now would replace that file.
            async with db.execute("SELECT content_hash FROM files WHERE path = ?", (record.path,)) as found:
                there = await found.fetchone()
            if (there[0] if there else None) != replacing:
                raise PathTaken(record.path)
            # The texts of the version replaced may have copies elsewhere that now need a new original.
            hashes = await self._text_hashes_at(db, [record.path])
            await db.execute("DELETE FROM files WHERE path = ?", (record.path,))
            cursor = await db.execute(
                "INSERT INTO files (path, file_name, content_hash, encoding, size, ingested_at, origin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.path, record.file_name, record.content_hash, record.encoding, record.size, timestamp(),
                 record.origin),
            )
            file_id = cursor.lastrowid
            assert file_id is not None  # an INSERT sets it
            copies = [await self._insert_article(db, file_id, position, stored) for position, stored in enumerate(articles)]
            await self._repair_copies(db, hashes | {stored.text_hash for stored in articles})
            # Passages made now have the current shape; an older recorded shape is left for reindex to see.
            await db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('passage_params', ?)", (passage_params,))
        return copies

    async def replace_passages(self, passages: Mapping[int, Sequence[Passage]], passage_params: str) -> None:
        """Replace the passages of the given documents (after their shape changed), in one transaction."""
        async with self._transaction() as db:
            for document_id, document_passages in passages.items():
                await db.execute("DELETE FROM passages WHERE document_id = ?", (document_id,))
                await self._insert_passages(db, document_id, document_passages)
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('passage_params', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (passage_params,),
            )

    async def delete_files(self, paths: Iterable[str], removed_by: str) -> list[Removal]:
        """Remove the files at these paths with their documents, logging who did it; what was removed."""
        removed = []
        paths = list(paths)
        async with self._transaction() as db:
            hashes = await self._text_hashes_at(db, paths)
            for path in paths:
                kept = await db.execute_fetchall(
                    "SELECT count(*) FROM documents d JOIN files f ON f.id = d.file_id WHERE f.path = ? AND EXISTS ("
                    " SELECT 1 FROM documents o JOIN files g ON g.id = o.file_id"
                    f" WHERE o.text_hash = d.text_hash AND g.path NOT IN ({', '.join('?' * len(paths))}))",
                    (path, *paths),
                )
                titles = await db.execute_fetchall(
                    "SELECT coalesce(d.title, f.file_name) FROM files f LEFT JOIN documents d ON d.file_id = f.id "
                    "WHERE f.path = ? ORDER BY d.position",
                    (path,),
                )
                cursor = await db.execute("DELETE FROM files WHERE path = ?", (path,))
                if cursor.rowcount == 0:
                    continue
                removal = Removal(path, tuple(row[0] for row in titles), removed_by, timestamp(), kept[0][0])
                await db.execute(
                    "INSERT INTO removals (path, titles, removed_by, removed_at) VALUES (?, ?, ?, ?)",
                    (path, json.dumps(removal.titles, ensure_ascii=False), removed_by, removal.removed_at),
                )
                removed.append(removal)
            await self._repair_copies(db, hashes)
        for removal in removed:
            logger.info("removed %s (%d documents) by %s", removal.path, len(removal.titles), removed_by)
        return removed

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A corpus write: one transaction on the database's write path, bumping the corpus generation."""
        async with self.database.transaction() as db:
            yield db
            await self._bump_generation(db)

    async def _insert_article(self, db: aiosqlite.Connection, file_id: int, position: int, stored: StoredArticle) -> bool:
        article = stored.article
        async with db.execute(
            "SELECT id FROM documents WHERE text_hash = ? AND duplicate_of IS NULL ORDER BY id LIMIT 1",
            (stored.text_hash,),
        ) as found:
            original = await found.fetchone()
        duplicate_of = original[0] if original is not None else None
        sections = json.dumps([[s.title, s.start] for s in article.sections], ensure_ascii=False)
        cursor = await db.execute(
            """INSERT INTO documents (file_id, position, title, date, source, author, region, sections, text,
                                      text_hash, duplicate_of)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                file_id,
                position,
                article.title,
                article.date,
                article.source,
                article.author,
                article.region,
                sections,
                article.text,
                stored.text_hash,
                duplicate_of,
            ),
        )
        document_id = cursor.lastrowid
        assert document_id is not None  # an INSERT sets it
        await self._insert_passages(db, document_id, stored.passages)
        return duplicate_of is not None

    async def _insert_passages(self, db: aiosqlite.Connection, document_id: int, passages: Sequence[Passage]) -> None:
        await db.executemany(
            "INSERT INTO passages (document_id, position, section, start, end, text) VALUES (?, ?, ?, ?, ?, ?)",
            [(document_id, p.position, p.section, p.start, p.end, p.text) for p in passages],
        )

    async def _text_hashes_at(self, db: aiosqlite.Connection, paths: Sequence[str]) -> set[str]:
        """The text hashes of the documents in the files at these paths."""
        rows = await db.execute_fetchall(
            # CROSS JOIN keeps files outermost: a path not stored (a new file) never reads documents.
            "SELECT DISTINCT d.text_hash FROM files f CROSS JOIN documents d ON d.file_id = f.id "
            "WHERE f.path IN (SELECT value FROM json_each(?))",
            (json.dumps(list(paths), ensure_ascii=False),),
        )
        return {row[0] for row in rows}

    async def _repair_copies(self, db: aiosqlite.Connection, text_hashes: Iterable[str]) -> None:
        """Keep exactly one searchable document per text, the oldest, among the texts this write touched.

        Only the documents holding these texts are looked at, and only those whose role changes are
        written (SQLite rewrites a row even when an UPDATE sets the value it already has), so a save costs
        what its file holds, not what the corpus holds.
        """
        await db.execute(
            """WITH firsts (text_hash, first) AS (
                   SELECT text_hash, min(id) FROM documents
                   WHERE text_hash IN (SELECT value FROM json_each(?)) GROUP BY text_hash)
               UPDATE documents SET duplicate_of = nullif(firsts.first, documents.id)
               FROM firsts
               WHERE documents.text_hash = firsts.text_hash
                 AND documents.duplicate_of IS NOT nullif(firsts.first, documents.id)""",
            (json.dumps(sorted(set(text_hashes)), ensure_ascii=False),),
        )

    async def _bump_generation(self, db: aiosqlite.Connection) -> None:
        await db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )


def _among(column: str, ids: Iterable[int] | None) -> tuple[str, tuple[str, ...]]:
    """An SQL condition (and its parameter) keeping rows whose column is among ids; nothing when ids is None."""
    if ids is None:
        return "", ()
    return f"AND {column} IN (SELECT value FROM json_each(?))", (json.dumps([int(i) for i in ids]),)
