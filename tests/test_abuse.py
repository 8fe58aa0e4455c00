"""Abuse, bounded for CI: fuzzed questions, malformed uploads, and a crowd asking during a reindex lose nothing."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

from bot.core import Asker, Core, Pending
from bot.render import render_plain, render_telegram, render_wecom
from retrieval.corpus import Corpus
from tests.docfactory import make_docx

ASKER = Asker(channel="telegram", user_id="7")
ADMIN = Asker(channel="telegram", user_id="9", is_admin=True)
PIECES = [
    "软弱涣散", "第一书记", "村党组织", "整顿", "怎么办", "咋整", "？", "!", " ", "\n", "\t", "🙂", "👍🏽", "\u200b",
    "<b>", "</i>", "&amp;", "]]>", "\x00", "\x01", "\x0b", "\x1b", "\ud800", "\udfff", "\ufffe", "\uffff", "\u2028",
    "網(wǎng)", "ＡＢＣ", "abc", "DROP TABLE documents;", "%s", "{0}", "\\", "'", '"', "更多", "上下文 1", "文档 1",
    "删除 1", "确认删除 1", "重建索引", "统计", "帮助", "a" * 50, "党" * 40,
]


def fuzzed_questions(count: int, seed: int = 0) -> list[str]:
    """Questions glued together from domain words, commands, markup, controls, surrogates and emoji."""
    chooser = random.Random(seed)
    questions = []
    for _ in range(count):
        parts = [chooser.choice(PIECES) for _ in range(chooser.randint(0, 8))]
        if chooser.random() < 0.2:
            parts.append("".join(chr(chooser.randint(1, 0x2FFFF)) for _ in range(chooser.randint(1, 30))))
        questions.append("".join(parts))
    return questions


def assert_valid_for_every_channel(reply: object) -> None:
    """The reply renders for the terminal, as WeCom XML and as Telegram HTML within their limits."""
    render_plain(reply)
    wecom = render_wecom(reply)
    assert len(wecom.encode("utf-8")) <= 2048
    ET.fromstring(f"<xml><Content><![CDATA[{wecom.replace(']]>', ']]]]><![CDATA[>')}]]></Content></xml>")
    telegram = render_telegram(reply)
    assert len(telegram) <= 4096
    telegram.encode("utf-8")


async def test_a_thousand_fuzzed_messages_never_crash_and_every_reply_is_valid(corpus: Corpus) -> None:
    core = Core(corpus)
    for question in fuzzed_questions(1000):
        for asker in (ASKER, ADMIN):
            reply = await core.handle(asker, question)
            if isinstance(reply, Pending):
                reply = await reply.job
            assert_valid_for_every_channel(reply)


def malformed_files(seed: int = 0) -> dict[str, bytes]:
    """Broken, mislabelled, binary and mis-encoded files, and one good report."""
    chooser = random.Random(seed)
    good = make_docx("冰城县整顿软弱涣散党组织的做法", ["冰城县推行“雪橇夜校”制度，组织党员冬季集中学习。"])
    files = {
        "good.docx": good,
        "truncated.docx": good[: len(good) // 2],
        "flipped.docx": bytes(b ^ 0xFF if i % 97 == 0 else b for i, b in enumerate(good)),
        "pdf-as.txt": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
        "zip-as.md": good,
        "gbk.txt": "软弱涣散村党组织整顿工作总结。".encode("gbk"),
        "utf16.txt": "软弱涣散村党组织整顿工作总结。".encode("utf-16"),
        "nul.html": b"<html>\x00\x00<body>\x00</body></html>",
        "deep.html": b"<div>" * 5000 + "整顿".encode() + b"</div>" * 5000,
        "controls.txt": "标题\x01\x02\x0b\x0c\x1b\n\n正文\ufffe里有控制字符。".encode("utf-8", "surrogatepass"),
        "surrogates.txt": "正文\ud800里有代理字符。".encode("utf-8", "surrogatepass"),
        "empty.pdf": b"",
        "noise.pdf": b"%PDF-" + bytes(chooser.randrange(256) for _ in range(3000)),
    }
    for number in range(10):
        files[f"random-{number}.txt"] = bytes(chooser.randrange(256) for _ in range(chooser.randint(1, 4000)))
    return files


async def test_malformed_uploads_are_answered_and_lose_nothing(corpus: Corpus, tmp_path: Path) -> None:
    before = {doc.path for doc in await corpus.store.documents()}
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name, data in malformed_files().items():
        (uploads / name).write_bytes(data)
    reports = {report.path: report for report in await corpus.ingest([uploads])}
    assert set(reports) == set(malformed_files())
    assert reports["good.docx"].status == "added"
    for report in reports.values():
        assert report.status in ("added", "rejected", "unchanged", "skipped")
        assert report.status != "rejected" or report.reason
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
    for passage in await corpus.store.passages_of_document(max(d.id for d in await corpus.store.documents())):
        assert not any(0xD800 <= ord(c) <= 0xDFFF or ord(c) < 9 for c in passage.text)


async def test_fifty_users_asking_during_an_ingest_and_a_reindex_are_all_answered(corpus: Corpus, tmp_path: Path) -> None:
    core = Core(corpus)
    (tmp_path / "new.txt").write_text("雪乡县整顿软弱涣散村党组织\n\n雪乡县建立“板凳会议”制度，每月召开群众议事会。\n", encoding="utf-8")
    questions = fuzzed_questions(50, seed=1)
    work = [corpus.ingest([tmp_path / "new.txt"]), corpus.reindex()]
    asks = [core.handle(Asker("wecom", f"user-{n}"), f"{q} 第一书记怎么开展工作") for n, q in enumerate(questions)]
    results = await asyncio.gather(*work, *asks)
    for reply in results[len(work):]:
        assert_valid_for_every_channel(reply)
    assert any("板凳会议" in hit.text for hit in (await core.ask(ASKER, "板凳会议")).hits)
