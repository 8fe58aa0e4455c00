"""Abuse, bounded for CI: fuzzed questions, malformed uploads, and a crowd asking during a reindex lose nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from rectbot.bot.chatlog import ChatLog
from rectbot.bot.core import Asker, Core, Pending
from rectbot.retrieval.corpus import Corpus
from testkit.abuse import assert_valid_for_every_channel, fuzzed_questions, malformed_files

ASKER = Asker(channel="telegram", user_id="7")
ADMIN = Asker(channel="telegram", user_id="9", is_admin=True)


async def test_a_thousand_fuzzed_messages_never_crash_and_every_reply_is_valid(corpus: Corpus, chatlog: ChatLog) -> None:
    core = Core(corpus, chatlog=chatlog)
    for question in fuzzed_questions(1000):
        for asker in (ASKER, ADMIN):
            reply = await core.handle(asker, question)
            if isinstance(reply, Pending):
                reply = await reply.job
            assert_valid_for_every_channel(reply)


async def test_malformed_uploads_are_answered_and_lose_nothing(corpus: Corpus, tmp_path: Path) -> None:
    before = {doc.path for doc in await corpus.store.documents()}
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name, data in malformed_files().items():
        (uploads / name).write_bytes(data)
    reports = {report.path: report for report in await corpus.ingest([uploads])}
    assert set(reports) == set(malformed_files())
    added = {path for path, report in reports.items() if report.status == "added"}
    # Text is read in whatever encoding it comes; zip-as.md holds good.docx's bytes: a copy, never a second excerpt.
    assert added == {"good.docx", "gbk.txt", "utf16.txt", "zip-as.md"}
    assert all(article.republished for article in reports["zip-as.md"].articles)
    rejected = [report for report in reports.values() if report.status == "rejected"]
    assert len(rejected) == len(reports) - len(added)
    assert all(report.reason and report.rejection for report in rejected)  # each says why
    after = {doc.path for doc in await corpus.store.documents()}
    assert before <= after  # nothing that was there is gone
    database = sqlite3.connect(corpus.store.path)
    try:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        searchable = database.execute(
            "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.document_id WHERE d.duplicate_of IS NULL"
        ).fetchone()[0]
    finally:
        database.close()
    assert len(corpus.index) == searchable  # the index agrees with the database
    read = [document for document in await corpus.store.documents() if document.path in added]
    assert len(read) == len(added)
    for document in read:
        for passage in await corpus.store.passages_of_document(document.id):
            assert not any(0xD800 <= ord(c) <= 0xDFFF or ord(c) < 9 for c in passage.text)


async def test_fifty_users_asking_during_an_ingest_and_a_reindex_are_all_answered(
    corpus: Corpus, chatlog: ChatLog, tmp_path: Path
) -> None:
    core = Core(corpus, chatlog=chatlog)
    (tmp_path / "new.txt").write_text("雪乡县整顿软弱涣散村党组织\n\n雪乡县建立“板凳会议”制度，每月召开群众议事会。\n", encoding="utf-8")
    questions = fuzzed_questions(50, seed=1)
    work = [corpus.ingest([tmp_path / "new.txt"]), corpus.reindex()]
    asks = [core.handle(Asker("wecom", f"user-{n}"), f"{q} 第一书记怎么开展工作") for n, q in enumerate(questions)]
    results = await asyncio.gather(*work, *asks)
    [added] = results[0]
    assert added.status == "added", added
    for reply in results[len(work):]:
        assert_valid_for_every_channel(reply)
    final = await core.ask(ASKER, "板凳会议")
    # Regression: a write between the reindex's reads once left the new report's passages out for good.
    assert any("板凳会议" in hit.text for hit in final.hits)
