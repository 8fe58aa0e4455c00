"""The query log, saved answers, votes and seen message ids: kept in SQLite, apart from the corpus state."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from retrieval.corpus import Corpus
from retrieval.documents import Article
from retrieval.passages import Passage
from retrieval.store import MIGRATIONS, AskedQuestion, FileRecord, Store, StoredArticle


def asked(question: str, hits: int = 3, user: str = "u1", channel: str = "telegram") -> AskedQuestion:
    return AskedQuestion(channel, user, "private", question, hits, 2.5)


async def test_logging_questions_does_not_make_the_index_stale(corpus: Corpus) -> None:
    before = await corpus.store.fingerprint()
    question_id = await corpus.store.log_question(asked("第一书记"), [1, 2, 3], "u1")
    await corpus.store.extend_answer(question_id, [4, 5])
    await corpus.store.save_vote(question_id, "u1", 1)
    assert await corpus.store.fingerprint() == before


async def test_an_answer_survives_reopening_the_database(corpus: Corpus) -> None:
    question_id = await corpus.store.log_question(asked("第一书记"), [7, 8, 9], "u1")
    await corpus.store.extend_answer(question_id, [10])
    reopened = await Store.open(corpus.store.path)
    try:
        saved = await reopened.answer(question_id)
        assert saved is not None and saved.question == "第一书记" and saved.shown == (7, 8, 9, 10)
        assert await reopened.conversation("telegram", "u1") == question_id
        assert await reopened.answer(question_id + 1000) is None
    finally:
        await reopened.close()


async def test_the_latest_vote_of_a_user_counts(corpus: Corpus) -> None:
    question_id = await corpus.store.log_question(asked("第一书记"), [1], "u1")
    await corpus.store.save_vote(question_id, "u1", 1)
    await corpus.store.save_vote(question_id, "u1", -1)
    await corpus.store.save_vote(question_id, "u2", 1)
    assert await corpus.store.votes(question_id) == {"u1": -1, "u2": 1}


async def test_question_stats_count_answered_and_list_the_gaps(corpus: Corpus) -> None:
    store = corpus.store
    for question, hits in [("第一书记", 3), ("高铁票", 0), ("高铁票", 0), (" 高铁票", 0), ("天气", 0), ("村两委", 2)]:
        await store.log_question(asked(question, hits), [], "u1")
    now = datetime.now(timezone.utc)
    stats = await store.question_stats(now - timedelta(hours=1), now - timedelta(days=7))
    assert (stats.today, stats.week, stats.answered_week) == (6, 6, 2)
    assert stats.unanswered == (("高铁票", 3), ("天气", 1))
    later = await store.question_stats(now + timedelta(hours=1), now + timedelta(hours=1))
    assert (later.today, later.week, later.unanswered) == (0, 0, ())


async def test_a_message_id_is_new_only_once(corpus: Corpus) -> None:
    assert await corpus.store.first_sighting("wecom", "123") is True
    assert await corpus.store.first_sighting("wecom", "123") is False
    assert await corpus.store.first_sighting("telegram", "123") is True


async def test_an_older_database_is_migrated_keeping_its_documents(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # a database as the first release left it
        db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        name, sql = MIGRATIONS[0]
        db.executescript(sql)
        db.execute("INSERT INTO migrations VALUES (?, '2026-01-01')", (name,))
        db.execute("INSERT INTO files (file_name, content_hash, size, ingested_at) VALUES ('a.txt', 'h', 1, 'x')")
        db.execute("INSERT INTO documents (file_id, position, title, sections, text, text_hash) "
                   "VALUES (1, 0, '标题', '[]', '正文', 't')")
        db.execute("INSERT INTO passages (document_id, position, start, end, text) VALUES (1, 0, 0, 2, '正文')")
    store = await Store.open(path)
    try:
        assert await store.count_files() == 1
        assert [(d.title, d.passages) for d in await store.documents()] == [("标题", 1)]
        question_id = await store.log_question(asked("第一书记"), [], "u1")
        assert (await store.answer(question_id)).question == "第一书记"
        assert await store.delete_files(["a.txt"], "test")  # foreign keys still cascade after the tables were rebuilt
        assert await store.passages_by_id([1]) == {} and await store.documents() == []
    finally:
        await store.close()


async def test_answers_logged_before_private_buttons_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # a database as release 004 left it, with an answer in it
        db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for name, sql in MIGRATIONS:
            if name.startswith("005"):
                break
            db.executescript(sql)
            db.execute("INSERT INTO migrations VALUES (?, '2026-01-01')", (name,))
        db.execute("INSERT INTO questions (asked_at, channel, user_id, chat_type, question, hits, latency_ms, shown) "
                   "VALUES ('2026-01-01T00:00:00+00:00', 'telegram', 'u1', 'private', '第一书记', 3, 1.0, '[7, 8, 9]')")
        db.execute("INSERT INTO conversations VALUES ('telegram', 'u1', 1)")
    store = await Store.open(path)
    try:
        old = await store.answer(1)
        assert old is not None and (old.question, old.shown) == ("第一书记", (7, 8, 9))
        assert (old.owner, old.token) == (None, None)  # no token: its buttons are answered as expired
        assert await store.conversation("telegram", "u1") == 1  # 更多 typed as text still pages it
        new_id = await store.log_question(asked("村两委"), [1], "u1", owner="user:u1", token="t" * 12)
        new = await store.answer(new_id)
        assert (new.channel, new.owner, new.token) == ("telegram", "user:u1", "t" * 12)
    finally:
        await store.close()


def stored(text: str, passages: int = 3) -> StoredArticle:
    """An article of `passages` one-line passages, hashed by its text."""
    lines = [f"{text}第{n}段。" for n in range(passages)]
    body = "\n".join(lines)
    starts = [sum(len(line) + 1 for line in lines[:n]) for n in range(passages)]
    parts = [Passage(n, None, start, start + len(line), line) for n, (start, line) in enumerate(zip(starts, lines))]
    return StoredArticle(Article(title=text, date=None, source=None, author=None, region=None, text=body), parts, text)


def file(path: str) -> FileRecord:
    return FileRecord(path, path, f"bytes of {path}", "utf-8", 10)


async def rows_changed(store: Store, write: Awaitable[object]) -> int:
    """Rows the writer connection inserted, updated or deleted while `write` ran."""
    before = store._writer.total_changes
    await write
    return store._writer.total_changes - before


async def store_with(path: Path, documents: int) -> Store:
    store = await Store.open(path)
    for n in range(documents):
        await store.save_file(file(f"other/{n}.txt"), [stored(f"其他报告{n}")], "shape")
    return store


@pytest.mark.parametrize("write", ["save", "save a copy", "replace", "delete the original"])
async def test_a_write_changes_rows_in_proportion_to_the_file_not_to_the_corpus(tmp_path: Path, write: str) -> None:
    changed = {}
    for corpus_size in (1, 200):
        store = await store_with(tmp_path / f"{corpus_size}.sqlite3", corpus_size)
        try:
            await store.save_file(file("original.txt"), [stored("原文")], "shape")
            if write == "save":
                action = store.save_file(file("new.txt"), [stored("新报告"), stored("又一篇")], "shape")
            elif write == "save a copy":
                action = store.save_file(file("copy.txt"), [stored("原文")], "shape")
            elif write == "replace":
                action = store.save_file(file("original.txt"), [stored("原文修订")], "shape")
            else:
                await store.save_file(file("copy.txt"), [stored("原文")], "shape")
                action = store.delete_files(["original.txt"], "test")
            changed[corpus_size] = await rows_changed(store, action)
        finally:
            await store.close()
    assert changed[200] == changed[1]


async def test_the_oldest_copy_becomes_searchable_and_the_others_follow_it(tmp_path: Path) -> None:
    store = await store_with(tmp_path / "db.sqlite3", 3)
    try:
        for name in ("a.txt", "b.txt", "c.txt"):
            await store.save_file(file(name), [stored("同一篇报告")], "shape")
        await store.save_file(file("two.txt"), [stored("同一篇报告"), stored("同一篇报告")], "shape")

        def primaries(docs: list) -> dict[str, list[str]]:
            by_text: dict[str, list[str]] = {}
            for doc in docs:
                by_text.setdefault(doc.title, []).append(doc.path if doc.duplicate_of is None else "")
            return {title: [p for p in paths if p] for title, paths in by_text.items()}

        docs = await store.documents()
        assert primaries(docs)["同一篇报告"] == ["a.txt"]
        first = next(d.id for d in docs if d.path == "a.txt")
        assert all(d.duplicate_of == first for d in docs if d.title == "同一篇报告" and d.path != "a.txt")

        await store.delete_files(["a.txt"], "test")
        docs = await store.documents()
        assert primaries(docs)["同一篇报告"] == ["b.txt"]
        second = next(d.id for d in docs if d.path == "b.txt")
        assert all(d.duplicate_of == second for d in docs if d.title == "同一篇报告" and d.path != "b.txt")

        # Replacing the primary's file with other text hands the text to the next oldest copy.
        await store.save_file(file("b.txt"), [stored("另一篇")], "shape")
        docs = await store.documents()
        assert primaries(docs)["同一篇报告"] == ["c.txt"]
        assert primaries(docs)["另一篇"] == ["b.txt"]
        assert all(p for p in primaries(docs).values())  # every text keeps one searchable document
        assert len(await store.searchable_passages()) == 3 * (3 + 2)  # 其他报告 x3, 同一篇报告, 另一篇
    finally:
        await store.close()


async def test_the_writer_uses_wal_with_normal_sync(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3")
    try:
        [[mode]] = await store._writer.execute_fetchall("PRAGMA journal_mode")
        [[synchronous]] = await store._writer.execute_fetchall("PRAGMA synchronous")
        assert (mode, synchronous) == ("wal", 1)  # 1 = NORMAL: safe in WAL mode, only the last commits may be lost
    finally:
        await store.close()
