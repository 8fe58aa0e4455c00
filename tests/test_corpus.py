"""Ingest: identity by content hash and path, republished articles, rejections, uploads; searchable at once."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import opencc
import pytest

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Confidence, Searcher
from tests.conftest import SEEDS
from tests.corpus_helpers import NEW_REPORT, UNRELATED_SENTENCES, search_texts


async def test_seeds_are_ingested_into_an_empty_database(corpus: Corpus) -> None:
    documents = await corpus.store.documents()
    assert {doc.file_name for doc in documents} == {p.name for p in SEEDS.iterdir()}
    assert all(doc.passages > 0 for doc in documents if doc.duplicate_of is None)
    assert len(corpus.index) > 50


async def test_ingesting_unchanged_files_changes_nothing(corpus: Corpus) -> None:
    before = await corpus.store.fingerprint()
    reports = await corpus.ingest([SEEDS])
    assert {r.status for r in reports} == {"unchanged"}
    assert await corpus.store.fingerprint() == before


async def test_a_new_file_is_searchable_right_after_ingest(corpus: Corpus, tmp_path: Path) -> None:
    assert await search_texts(corpus, "红色夜校") == []
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    [report] = await corpus.ingest([path])
    assert report.status == "added"
    assert report.articles[0].date == "2020-05-06"
    texts = await search_texts(corpus, "红色夜校")
    assert texts and "四十二期" in texts[0]


async def test_a_changed_file_replaces_its_old_version(corpus: Corpus, tmp_path: Path) -> None:
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([path])
    path.write_text(NEW_REPORT.replace("四十二期", "五十六期"), encoding="utf-8")
    [report] = await corpus.ingest([path])
    assert report.status == "replaced"
    texts = await search_texts(corpus, "红色夜校")
    assert any("五十六期" in t for t in texts)
    assert not any("四十二期" in t for t in texts)
    assert sum(doc.file_name == "night-school.txt" for doc in await corpus.store.documents()) == 1


async def test_the_same_bytes_under_another_name_are_a_copy_that_says_of_what(corpus: Corpus, tmp_path: Path) -> None:
    copy = tmp_path / "copy-of-002.txt"
    shutil.copy(SEEDS / "002_fd0e3d0b9b3fec5c.txt", copy)
    [report] = await corpus.ingest([copy])
    assert report.status == "added" and all(article.republished for article in report.articles)
    assert "002_fd0e3d0b9b3fec5c.txt" in (report.reason or "")
    [again] = await corpus.ingest([copy])
    assert again.status == "unchanged"


async def test_a_republished_article_is_one_excerpt_with_both_sources(corpus: Corpus, tmp_path: Path) -> None:
    # The 鹿寨县 report republished on another site: the same text in traditional script, wrapped in page chrome.

    body = (SEEDS / "002_fd0e3d0b9b3fec5c.txt").read_text(encoding="utf-8")
    traditional = opencc.OpenCC("s2t").convert(body)
    page = f"当前位置：首页 > 基层党建\n\n来源：柳州日报\n\n{traditional}\n\n打印 纠错\n"
    (tmp_path / "luzhai-republished.txt").write_text(page, encoding="utf-8")
    [report] = await corpus.ingest([tmp_path / "luzhai-republished.txt"])
    assert report.status == "added" and report.articles[0].republished

    hits = (await Searcher.over(corpus).search("鹿寨县五招祛掉病根", k=10)).shown
    documents = {hit.doc_id for hit in hits}
    assert len([h for h in hits if "五招" in h.text]) == 1
    docs = {doc.id: doc for doc in await corpus.store.documents()}
    copy = next(doc for doc in docs.values() if doc.file_name == "luzhai-republished.txt")
    assert copy.duplicate_of in documents
    assert "柳州日报" in docs[copy.duplicate_of].also_in


async def test_removing_the_original_makes_the_copy_searchable(corpus: Corpus, tmp_path: Path) -> None:
    body = (SEEDS / "002_fd0e3d0b9b3fec5c.txt").read_text(encoding="utf-8")
    (tmp_path / "copy.txt").write_text("来源：柳州日报\n\n" + body, encoding="utf-8")
    await corpus.ingest([tmp_path / "copy.txt"])
    [removal] = await corpus.remove(["002_fd0e3d0b9b3fec5c.txt"], removed_by="cli:test")
    assert removal.removed_by == "cli:test" and await corpus.store.removals() == [removal]
    hits = [hit for hit in (await Searcher.over(corpus).search("鹿寨县五招祛掉病根", k=5)).shown if "五招" in hit.text]
    assert [hit.source for hit in hits] == ["柳州日报"]  # the copy's one excerpt, cited with the copy's source


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("binary.txt", bytes(range(256)) * 40, "binary"),
        ("broken.docx", b"this is not a zip archive", "docx"),
    ],
)
async def test_bad_files_are_rejected_with_a_reason_and_nothing_is_lost(
    corpus: Corpus, tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    before = await corpus.store.documents()
    good = tmp_path / "good.txt"
    good.write_text(NEW_REPORT, encoding="utf-8")
    (tmp_path / name).write_bytes(data)
    reports = {r.file_name: r for r in await corpus.ingest([tmp_path])}
    assert reports[name].status == "rejected"
    assert reason in (reports[name].reason or "").lower()
    assert reports["good.txt"].status == "added"
    after = await corpus.store.documents()
    assert len(after) == len(before) + 1
    assert await search_texts(corpus, "红色夜校")


async def test_a_hundred_unrelated_documents_do_not_silence_confident_answers(corpus: Corpus, tmp_path: Path) -> None:
    questions = ["村官回归工程", "第一书记怎么发挥作用", "软弱涣散村党组织怎么整顿", "村支书年纪大怎么办", "支书"]
    searcher = Searcher.over(corpus)
    before = {q: (await searcher.search(q, k=3)).confidence for q in questions}
    assert set(before.values()) == {Confidence.CONFIDENT}
    folder = tmp_path / "unrelated"
    folder.mkdir()
    chooser = random.Random(0)
    for number in range(100):
        lines = [chooser.choice(UNRELATED_SENTENCES) + f"第{number}篇第{line}段。" for line in range(12)]
        (folder / f"note-{number:03}.txt").write_text("生活小贴士\n\n" + "\n\n".join(lines), encoding="utf-8")
    reports = await corpus.ingest([folder])
    assert sum(report.status == "added" for report in reports) == 100
    after = {q: (await searcher.search(q, k=3)).confidence for q in questions}
    assert after == before


async def test_the_same_file_name_in_two_folders_is_two_documents(corpus: Corpus, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "2019").mkdir(parents=True)
    (tree / "2020").mkdir()
    (tree / "2019" / "工作总结.txt").write_text(NEW_REPORT, encoding="utf-8")
    (tree / "2020" / "工作总结.txt").write_text(NEW_REPORT.replace("红色夜校", "板凳会议"), encoding="utf-8")
    reports = await corpus.ingest([tree])
    assert {(r.path, r.status) for r in reports} == {("2019/工作总结.txt", "added"), ("2020/工作总结.txt", "added")}
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")
    paths = {doc.path for doc in await corpus.store.documents()}
    assert {"2019/工作总结.txt", "2020/工作总结.txt"} <= paths


async def test_a_new_version_at_the_same_path_replaces_only_that_path(corpus: Corpus, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for year in ("2019", "2020"):
        (tree / year).mkdir(parents=True)
        (tree / year / "工作总结.txt").write_text(NEW_REPORT.replace("某某县", f"{year}年某某县"), encoding="utf-8")
    await corpus.ingest([tree])
    (tree / "2020" / "工作总结.txt").write_text(NEW_REPORT.replace("四十二期", "五十六期"), encoding="utf-8")
    reports = {r.path: r.status for r in await corpus.ingest([tree])}
    assert reports == {"2019/工作总结.txt": "unchanged", "2020/工作总结.txt": "replaced"}
    # Both versions stay searchable; an answer shows one paragraph of the two, as they are near copies.
    for issues in ("四十二期", "五十六期"):
        texts = await search_texts(corpus, f"红色夜校办了{issues}")
        assert texts and issues in texts[0]


async def test_two_files_of_one_name_named_in_one_command_are_two_documents(corpus: Corpus, tmp_path: Path) -> None:
    # A trial: `rectbot ingest c/2019/总结.txt c/2020/总结.txt` said added, then replaced, and the 2019 report was gone.
    for year, practice in (("2019", "红色夜校"), ("2020", "板凳会议")):
        (tmp_path / year).mkdir()
        (tmp_path / year / "总结.txt").write_text(NEW_REPORT.replace("红色夜校", practice), encoding="utf-8")
    reports = await corpus.ingest([tmp_path / "2019" / "总结.txt", tmp_path / "2020" / "总结.txt"])
    assert [(r.path, r.status) for r in reports] == [("总结.txt", "added"), ("2020/总结.txt", "added")]
    assert "总结.txt" in (reports[1].reason or "")  # says why it is stored under a longer path
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")


async def test_a_folder_holding_a_name_another_file_has_keeps_both(corpus: Corpus, tmp_path: Path) -> None:
    # A trial: `rectbot ingest edge/a` holding its own D001.txt replaced the D001.txt ingested from pages/.
    for folder, practice in (("pages", "红色夜校"), ("a", "板凳会议")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "D001.txt").write_text(NEW_REPORT.replace("红色夜校", practice), encoding="utf-8")
    [first] = await corpus.ingest([tmp_path / "pages"])
    [second] = await corpus.ingest([tmp_path / "a"])
    assert (first.path, first.status, second.path, second.status) == ("D001.txt", "added", "a/D001.txt", "added")
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")
    # Each folder's file is still updated in place when it changes.
    (tmp_path / "a" / "D001.txt").write_text(NEW_REPORT.replace("红色夜校", "院坝会").replace("四十二期", "九期"),
                                             encoding="utf-8")
    [again] = await corpus.ingest([tmp_path / "a"])
    assert (again.path, again.status) == ("a/D001.txt", "replaced")
    assert not await search_texts(corpus, "板凳会议")
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "院坝会")
    [unchanged] = await corpus.ingest([tmp_path / "pages"])
    assert (unchanged.path, unchanged.status) == ("D001.txt", "unchanged")


async def test_an_upload_to_a_path_an_ingested_file_has_keeps_both(corpus: Corpus, tmp_path: Path) -> None:
    # A review: a folder holding telegram/42/总结.txt, then an upload to that chat, failed an assertion.
    (tmp_path / "export" / "telegram" / "42").mkdir(parents=True)
    (tmp_path / "export" / "telegram" / "42" / "总结.txt").write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([tmp_path / "export"])
    other = NEW_REPORT.replace("红色夜校", "板凳会议").encode()
    upload = await corpus.ingest_bytes(other, "总结.txt", path="telegram/42/总结.txt")
    assert (upload.status, upload.path) == ("added", "telegram/42/总结 (2).txt")
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")


async def test_a_folder_named_in_another_encoding_is_ingested(corpus: Corpus, tmp_path: Path) -> None:
    # A review: the place on disk of a folder named in GBK bytes could not be stored, and the whole run stopped.
    folder = tmp_path / os.fsdecode("整顿".encode("gbk"))
    folder.mkdir()
    (folder / "a.txt").write_text(NEW_REPORT, encoding="utf-8")
    [report] = await corpus.ingest([folder])
    assert report.status == "added" and await search_texts(corpus, "红色夜校")
    [again] = await corpus.ingest([folder])
    assert again.status == "unchanged"


async def test_a_file_stored_before_locations_were_recorded_is_never_replaced_by_another(
    corpus: Corpus, tmp_path: Path
) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "D001.txt").write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([tmp_path / "pages"])
    async with corpus.store._transaction() as db:  # as a database of an older release holds it
        await db.execute("UPDATE files SET origin = NULL")
    # Found unchanged where it is, it is known by that place from now on, and updated in place.
    [unchanged] = await corpus.ingest([tmp_path / "pages"])
    assert unchanged.status == "unchanged"
    (tmp_path / "pages" / "D001.txt").write_text(NEW_REPORT.replace("四十二期", "五十六期"), encoding="utf-8")
    [replaced] = await corpus.ingest([tmp_path / "pages"])
    assert (replaced.path, replaced.status) == ("D001.txt", "replaced")
    # One stored without a place, and changed, is kept beside the new file rather than replaced by it.
    async with corpus.store._transaction() as db:
        await db.execute("UPDATE files SET origin = NULL")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "D001.txt").write_text(NEW_REPORT.replace("红色夜校", "板凳会议"), encoding="utf-8")
    [kept_both] = await corpus.ingest([tmp_path / "other"])
    assert (kept_both.path, kept_both.status) == ("other/D001.txt", "added")
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")


async def test_identical_bytes_at_another_path_are_a_copy_and_say_where(corpus: Corpus, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "b").mkdir()
    (tree / "a" / "report.txt").write_text(NEW_REPORT, encoding="utf-8")
    (tree / "b" / "copy.txt").write_text(NEW_REPORT, encoding="utf-8")
    reports = {r.path: r for r in await corpus.ingest([tree])}
    assert reports["a/report.txt"].status == "added"
    assert reports["b/copy.txt"].status == "added" and reports["b/copy.txt"].articles[0].republished
    assert "a/report.txt" in (reports["b/copy.txt"].reason or "")


async def test_unsupported_files_in_a_folder_are_skipped_not_rejected(corpus: Corpus, tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text(NEW_REPORT, encoding="utf-8")
    (tmp_path / "名单.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    reports = {r.path: r for r in await corpus.ingest([tmp_path])}
    assert reports["report.txt"].status == "added"
    assert reports["名单.xlsx"].status == "skipped" and ".xlsx" in (reports["名单.xlsx"].reason or "")
    [named] = await corpus.ingest([tmp_path / "名单.xlsx"])
    assert named.status == "rejected"  # named on its own, it is what the admin asked for


async def test_uploads_are_identified_by_their_chat_and_name(corpus: Corpus) -> None:
    first = await corpus.ingest_bytes(NEW_REPORT.encode(), "工作总结.txt", path="telegram/100/工作总结.txt")
    other = NEW_REPORT.replace("红色夜校", "板凳会议").encode()
    second = await corpus.ingest_bytes(other, "工作总结.txt", path="telegram/200/工作总结.txt")
    assert (first.status, second.status) == ("added", "added")
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")


async def test_a_file_with_another_files_bytes_keeps_its_text_when_that_file_changes(corpus: Corpus) -> None:
    # Session 24's review: the second upload of the same bytes was not stored, so when the first file got a new
    # version, the text both had been sent with was gone.
    old = NEW_REPORT.encode()
    await corpus.ingest_bytes(old, "夜校.txt")
    await corpus.ingest_bytes(old, "夜校副本.txt")
    texts = await search_texts(corpus, "红色夜校办了四十二期")
    assert sum("四十二期" in text for text in texts) == 1  # one excerpt, not one per file
    replaced = await corpus.ingest_bytes(NEW_REPORT.replace("四十二期", "五十六期").encode(), "夜校.txt")
    assert replaced.status == "replaced"
    texts = await search_texts(corpus, "红色夜校办了四十二期")
    assert texts and "四十二期" in texts[0]
    removed = await corpus.remove(["夜校副本.txt"], "test")
    assert removed and not any("四十二期" in text for text in await search_texts(corpus, "红色夜校办了四十二期"))


async def test_one_report_in_two_folders_under_one_name_is_two_files(corpus: Corpus, tmp_path: Path) -> None:
    # Session 26's review: 2019/总结.txt and 2020/总结.txt with the same bytes were one file, known by the later place;
    # when 2020's was rewritten, 2019's text went, and removing 2020's took 2019's text with it.
    for year in ("2019", "2020"):
        (tmp_path / year).mkdir()
        (tmp_path / year / "总结.txt").write_text(NEW_REPORT, encoding="utf-8")
    reports = await corpus.ingest([tmp_path / "2019" / "总结.txt", tmp_path / "2020" / "总结.txt"])
    assert [(r.path, r.status) for r in reports] == [("总结.txt", "added"), ("2020/总结.txt", "added")]
    (tmp_path / "2020" / "总结.txt").write_text(NEW_REPORT.replace("四十二期", "五十六期"), encoding="utf-8")
    [rewritten] = await corpus.ingest([tmp_path / "2020" / "总结.txt"])
    assert (rewritten.path, rewritten.status) == ("2020/总结.txt", "replaced")
    assert any("四十二期" in text for text in await search_texts(corpus, "红色夜校办了四十二期"))
    await corpus.remove(["2020/总结.txt"], "test")
    assert any("四十二期" in text for text in await search_texts(corpus, "红色夜校办了四十二期"))


async def test_a_file_moved_to_a_new_folder_is_still_one_file(corpus: Corpus, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "总结.txt").write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([tmp_path / "old" / "总结.txt"])
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "总结.txt").rename(tmp_path / "new" / "总结.txt")
    [moved] = await corpus.ingest([tmp_path / "new" / "总结.txt"])
    assert (moved.path, moved.status) == ("总结.txt", "unchanged")
