"""The corpus in SQLite: files, documents, passages and removals, and what a write costs."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import pytest

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.documents import Article
from rectbot.retrieval.passages import Passage
from rectbot.retrieval.store import FileRecord, PathTaken, Store, StoredArticle
from testkit.old_releases import migrated_as_released


async def test_an_older_database_is_migrated_keeping_its_documents(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with migrated_as_released(path, through="001_documents_and_passages") as db:  # as the first release left it
        db.execute("INSERT INTO files (file_name, content_hash, size, ingested_at) VALUES ('a.txt', 'h', 1, 'x')")
        db.execute("INSERT INTO documents (file_id, position, title, sections, text, text_hash) "
                   "VALUES (1, 0, '标题', '[]', '正文', 't')")
        db.execute("INSERT INTO passages (document_id, position, start, end, text) VALUES (1, 0, 0, 2, '正文')")
    db.close()
    store = await Store.open(path)
    try:
        assert await store.count_files() == 1
        assert [(d.title, d.passages) for d in await store.documents()] == [("标题", 1)]
        assert await store.delete_files(["a.txt"], "test")  # foreign keys still cascade after the tables were rebuilt
        assert await store.passages_by_id([1]) == {} and await store.documents() == []
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
    before = store.database._writer.total_changes
    await write
    return store.database._writer.total_changes - before


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
                action = store.save_file(file("original.txt"), [stored("原文修订")], "shape", "bytes of original.txt")
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
        await store.save_file(file("b.txt"), [stored("另一篇")], "shape", replacing="bytes of b.txt")
        docs = await store.documents()
        assert primaries(docs)["同一篇报告"] == ["c.txt"]
        assert primaries(docs)["另一篇"] == ["b.txt"]
        assert all(p for p in primaries(docs).values())  # every text keeps one searchable document
        assert len(await store.searchable_passages()) == 3 * (3 + 2)  # 其他报告 x3, 同一篇报告, 另一篇
    finally:
        await store.close()


async def test_reading_every_passage_a_batch_at_a_time_never_sorts_them_all(corpus: Corpus) -> None:
    """A full build reads the passages in batches; each batch must cost what it reads (a 1M-passage reindex spent
    40 s sorting every remaining passage for each batch of 5,000)."""
    reader = corpus.store._reader
    statements: list[str] = []
    await reader.set_trace_callback(statements.append)
    try:
        batch = await corpus.store.searchable_passages(after=3, limit=10)
    finally:
        await reader.set_trace_callback(None)
    assert [passage_id for passage_id, _, _ in batch] == sorted(passage_id for passage_id, _, _ in batch)
    assert len(batch) == 10 and batch[0][0] > 3
    statement = next(s for s in statements if "FROM passages p" in s)
    plan = [row[-1] for row in await reader.execute_fetchall("EXPLAIN QUERY PLAN " + statement)]
    assert plan[0].startswith("SEARCH p USING INTEGER PRIMARY KEY"), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


async def test_a_save_refuses_a_path_another_writer_took_since_it_was_chosen(tmp_path: Path) -> None:
    store = await store_with(tmp_path / "db.sqlite3", 0)
    try:
        await store.save_file(file("总结.txt"), [stored("先存的报告")], "shape")
        with pytest.raises(PathTaken):  # chosen while it was free
            await store.save_file(FileRecord("总结.txt", "总结.txt", "other bytes", "utf-8", 10), [stored("后来的")], "shape")
        with pytest.raises(PathTaken):  # chosen to replace a version that is no longer there
            await store.save_file(file("总结.txt"), [stored("后来的")], "shape", replacing="an older version")
        assert [d.title for d in await store.documents()] == ["先存的报告"]
    finally:
        await store.close()
