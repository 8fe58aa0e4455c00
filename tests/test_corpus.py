"""Ingest and index: identity by content hash, republished articles, rejections, stale and crashed indexes."""

from __future__ import annotations

import json
import random
import threading
import shutil
from pathlib import Path

import pytest

from retrieval.corpus import Corpus, files_under
from retrieval.index import PassageIndex
from retrieval.search import Confidence, Searcher
from retrieval.store import Store
from retrieval.tokenizer import Tokenizer
from tests.conftest import SEEDS

NEW_REPORT = (
    "某某县推行“红色夜校”整顿软弱涣散村党组织\n\n"
    "时间：2020-05-06 来源：测试日报\n\n"
    "某某县在软弱涣散村开办红色夜校，每周三晚上组织党员学习政策、讨论村务，半年来共办夜校四十二期。\n"
)


def hold(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> tuple[threading.Event, threading.Event]:
    """Make target.name wait, once called, until released: (called, release)."""
    called, release = threading.Event(), threading.Event()
    original = getattr(target, name)

    def held(*args: object) -> object:
        called.set()
        release.wait(10)
        return original(*args)

    monkeypatch.setattr(target, name, held)
    return called, release


async def search_texts(corpus: Corpus, question: str) -> list[str]:
    return [hit.text for hit in (await Searcher.over(corpus).search(question, k=5)).hits]


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


async def test_the_same_bytes_under_another_name_are_unchanged(corpus: Corpus, tmp_path: Path) -> None:
    copy = tmp_path / "copy-of-002.txt"
    shutil.copy(SEEDS / "002_fd0e3d0b9b3fec5c.txt", copy)
    [report] = await corpus.ingest([copy])
    assert report.status == "unchanged"
    assert "002_fd0e3d0b9b3fec5c.txt" in (report.reason or "")


async def test_a_republished_article_is_one_excerpt_with_both_sources(corpus: Corpus, tmp_path: Path) -> None:
    # The 鹿寨县 report republished on another site: the same text in traditional script, wrapped in page chrome.
    import opencc

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


async def test_a_crash_while_saving_a_file_keeps_the_old_version(corpus: Corpus, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([path])

    async def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_repair_copies", crash)
    path.write_text(NEW_REPORT.replace("四十二期", "五十六期"), encoding="utf-8")
    with pytest.raises(RuntimeError):
        await corpus.ingest([path])
    monkeypatch.undo()
    await corpus.reindex()
    texts = await search_texts(corpus, "红色夜校")
    assert any("四十二期" in t for t in texts) and not any("五十六期" in t for t in texts)


async def test_a_stale_index_is_rebuilt_at_start_up(seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path) -> None:
    database = seeded_dir / "rectbot.sqlite3"
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    (tmp_path / "night-school.txt").write_text(NEW_REPORT, encoding="utf-8")
    # Change the database behind the index's back (as a crash between commit and index save would).
    await corpus._ingest_path(files_under([tmp_path / "night-school.txt"])[0])
    await corpus.close()
    reopened = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    try:
        assert await search_texts(reopened, "红色夜校")
    finally:
        await reopened.close()


async def test_a_missing_or_corrupt_index_is_rebuilt(seeded_dir: Path, tokenizer: Tokenizer) -> None:
    database = seeded_dir / "rectbot.sqlite3"
    index_dir = seeded_dir / "rectbot.index"
    assert index_dir.is_dir()
    for path in index_dir.rglob("*"):
        if path.is_file():
            path.write_bytes(b"garbage")
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    try:
        assert await search_texts(corpus, "村官回归工程")
    finally:
        await corpus.close()
    shutil.rmtree(index_dir)
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    try:
        assert await search_texts(corpus, "村官回归工程")
    finally:
        await corpus.close()


async def test_a_crash_during_reindex_leaves_search_working(corpus: Corpus, monkeypatch) -> None:
    def crash(*args, **kwargs):
        raise MemoryError("out of memory while building")

    monkeypatch.setattr(PassageIndex, "build", crash)
    with pytest.raises(MemoryError):
        await corpus.reindex()
    assert await search_texts(corpus, "村官回归工程")  # the previous index is still in use


async def test_migrations_are_recorded(corpus: Corpus) -> None:
    rows = await corpus.store._reader.execute_fetchall("SELECT name FROM migrations")
    assert [row[0] for row in rows] == ["001_documents_and_passages", "003_never_reuse_document_and_passage_ids",
                                         "004_files_by_path_and_removals", "006_document_lookups"]


async def test_changing_the_passage_shape_resplits_on_reindex(seeded_dir: Path, tokenizer: Tokenizer) -> None:
    from retrieval.passages import PassageParams

    database = seeded_dir / "rectbot.sqlite3"
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer, passage_params=PassageParams(100, 160))
    try:
        texts = await corpus.store.searchable_passages()
        assert max(len(text) for _, _, text in texts) < 400
        default_count = len(texts)
    finally:
        await corpus.close()
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    try:
        assert len(await corpus.store.searchable_passages()) < default_count
    finally:
        await corpus.close()


UNRELATED_SENTENCES = [
    "今天天气晴朗，最高气温二十八度，傍晚有雷阵雨，出门请带好雨具。",
    "红烧肉要先焯水，再用冰糖炒出糖色，小火慢炖一个小时才软烂入味。",
    "昨晚的足球比赛主队二比一逆转，下半场替补前锋打进了制胜球。",
    "这款手机的屏幕更亮，电池续航提升了两成，拍照夜景模式也更清晰。",
    "高铁票在开车前十五天开售，节假日建议提前设置候补购票。",
    "股市今天小幅高开，科技板块领涨，成交量比上周明显放大。",
    "孩子的数学作业要先检查计算，再看应用题的单位有没有写对。",
    "周末去公园散步，湖边的银杏叶黄了，拍照的人特别多。",
]


async def test_a_hundred_unrelated_documents_do_not_silence_confident_answers(corpus: Corpus, tmp_path: Path) -> None:
    questions = ["村官回归工程", "第一书记怎么发挥作用", "软弱涣散村党组织怎么整顿", "村支书年纪太大了咋办啊", "支书"]
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
    texts = await search_texts(corpus, "红色夜校")
    assert any("四十二期" in t for t in texts) and any("五十六期" in t for t in texts)


async def test_identical_bytes_at_another_path_are_unchanged_and_say_where(corpus: Corpus, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "b").mkdir()
    (tree / "a" / "report.txt").write_text(NEW_REPORT, encoding="utf-8")
    (tree / "b" / "copy.txt").write_text(NEW_REPORT, encoding="utf-8")
    reports = {r.path: r for r in await corpus.ingest([tree])}
    assert reports["a/report.txt"].status == "added"
    assert reports["b/copy.txt"].status == "unchanged"
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


async def test_a_database_from_before_paths_migrates_without_loss(tmp_path: Path, tokenizer: Tokenizer) -> None:
    from testkit.old_releases import migrated_as_released

    database = tmp_path / "old.sqlite3"
    old = migrated_as_released(database, through="003_never_reuse_document_and_passage_ids")
    old.execute("INSERT INTO files VALUES (1, 'night-school.txt', 'abc', 'utf-8', 10, '2026-01-01')")
    old.execute(
        "INSERT INTO documents (id, file_id, position, title, sections, text, text_hash) "
        "VALUES (7, 1, 0, '红色夜校', '[]', '某某县开办红色夜校，共办夜校四十二期。', 'h')"
    )
    old.execute("INSERT INTO passages (id, document_id, position, start, end, text) "
                "VALUES (9, 7, 0, 0, 19, '某某县开办红色夜校，共办夜校四十二期。')")
    old.commit()
    old.close()
    corpus = await Corpus.open(database, tokenizer=tokenizer)
    try:
        [doc] = await corpus.store.documents()
        assert (doc.id, doc.path, doc.file_name, doc.title) == (7, "night-school.txt", "night-school.txt", "红色夜校")
        assert "四十二期" in (await search_texts(corpus, "红色夜校"))[0]
    finally:
        await corpus.close()


async def test_refresh_follows_another_writer_and_keeps_answering_meanwhile(
    seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path, monkeypatch
) -> None:
    import asyncio

    database = seeded_dir / "rectbot.sqlite3"
    serving = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    other = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    try:
        (tmp_path / "night-school.txt").write_text(NEW_REPORT, encoding="utf-8")
        # The other writer commits but has not saved its index yet: the serving corpus catches up by itself,
        # indexing only the new document.
        await other._ingest_path(files_under([tmp_path / "night-school.txt"])[0])
        building, release = hold(monkeypatch, serving, "_updated_index")
        monkeypatch.setattr(serving, "_build_from_store", lambda *args: pytest.fail("the whole index was rebuilt"))
        refreshing = asyncio.create_task(serving.refresh())
        assert await asyncio.to_thread(building.wait, 10)
        assert await search_texts(serving, "村官回归工程")  # the old index answers while the new one is built
        assert await search_texts(serving, "红色夜校") == []
        release.set()
        assert await refreshing is True
        assert await search_texts(serving, "红色夜校")
        assert await serving.refresh() is False  # nothing changed since
    finally:
        await serving.close()
        await other.close()


async def test_an_index_save_waits_for_another_processes_save_and_spares_its_files(corpus: Corpus) -> None:
    import asyncio
    import subprocess
    import sys

    index_dir = corpus.index_dir
    in_progress = index_dir / ".words.tmp-other-process"
    in_progress.mkdir()
    lock_file = index_dir.parent / f".{index_dir.name}.lock"
    # Another process holds the lock, as it does for the whole of its save.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"f = open({str(lock_file)!r}, 'a+b'); fcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('locked', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        saving = asyncio.create_task(asyncio.to_thread(corpus.index.save, index_dir))
        await asyncio.sleep(0.5)
        assert not saving.done()  # it waits for the other save
        assert in_progress.is_dir()  # and never removes the other process's files meanwhile
        holder.stdin.write("done\n")
        holder.stdin.flush()
        await asyncio.wait_for(saving, 30)
    finally:
        holder.kill()
        holder.wait()
    assert not in_progress.exists()  # its owner is gone: now it is a leftover
    assert await search_texts(corpus, "村官回归工程")


# An index that grows ----------------------------------------------------------------------------------------


def forbid_full_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any whole-index build fail the test."""
    monkeypatch.setattr(PassageIndex, "build", lambda *args, **kwargs: pytest.fail("the whole index was rebuilt"))


async def test_adding_one_document_segments_only_its_passages(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segmented: list[str] = []
    passage_tokens = corpus.tokenizer.passage_tokens
    monkeypatch.setattr(corpus.tokenizer, "passage_tokens", lambda text: segmented.append(text) or passage_tokens(text))
    forbid_full_builds(monkeypatch)
    before = len(corpus.index)
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    [report] = await corpus.ingest([path])
    assert len(segmented) == report.articles[0].passages == len(corpus.index) - before
    assert any("四十二期" in text for text in segmented)
    texts = await search_texts(corpus, "红色夜校")
    assert texts and "四十二期" in texts[0]


async def test_removing_a_file_takes_it_out_without_a_rebuild(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([path])
    assert await search_texts(corpus, "红色夜校")
    before = len(corpus.index)
    forbid_full_builds(monkeypatch)
    monkeypatch.setattr(corpus.tokenizer, "passage_tokens", lambda text: pytest.fail("a passage was segmented"))
    [removal] = await corpus.remove(["night-school.txt"], removed_by="admin")
    assert removal.path == "night-school.txt"
    assert await search_texts(corpus, "红色夜校") == []
    assert len(corpus.index) == before - 1
    assert await search_texts(corpus, "村官回归工程")


QUESTIONS = ["红色夜校", "村官回归工程", "软弱涣散村党组织整顿", "第一书记", "沙坡头区", "党员学习政策", "集体经济"]


async def answers(corpus: Corpus) -> list[list[tuple[int, float]]]:
    """Every question's hits as (passage id, score)."""
    searcher = Searcher.over(corpus)
    results = [await searcher.search(question, k=10) for question in QUESTIONS]
    return [[(hit.passage_id, round(hit.score, 9)) for hit in result.hits] for result in results]


async def test_after_adds_replacements_and_removals_answers_are_those_of_a_reindex(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(5)
    folder = tmp_path / "uploads"
    folder.mkdir()
    forbid_full_builds(monkeypatch)
    for number in range(6):
        text = NEW_REPORT.replace("某某县", rng.choice(["沙坡头区", "鹿寨县", "平昌县"])).replace("四十二", str(number))
        (folder / f"report-{number}.txt").write_text(text + UNRELATED_SENTENCES[number], encoding="utf-8")
        await corpus.ingest([folder / f"report-{number}.txt"])
    (folder / "report-2.txt").write_text(NEW_REPORT.replace("红色", "蓝色"), encoding="utf-8")
    await corpus.ingest([folder / "report-2.txt"])  # replaced
    # The same report republished: a copy, not searched, until its original is removed.
    copy = (SEEDS / sorted(p.name for p in SEEDS.iterdir())[0]).read_bytes()
    (folder / "republished.txt").write_bytes("来源：转载\n\n".encode() + copy)
    await corpus.ingest([folder / "republished.txt"])
    await corpus.remove(["report-4.txt", sorted(p.name for p in SEEDS.iterdir())[0]], removed_by="admin")
    grown = await answers(corpus)
    assert len(corpus.index.words.segments()) > 1  # it did grow in segments
    monkeypatch.undo()
    await corpus.reindex()
    assert len(corpus.index.words.segments()) == 1
    assert grown == await answers(corpus)


async def test_a_crash_between_saving_the_new_segments_and_the_manifest_leaves_a_consistent_index(
    seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.backend as backend

    database = seeded_dir / "rectbot.sqlite3"
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backend, "write_json", crash)  # segments written, the manifest (the commit) not
    try:
        with pytest.raises(OSError, match="No space"):
            await corpus.ingest([path])
        assert await search_texts(corpus, "村官回归工程")  # the index in use is the previous one
    finally:
        await corpus.close()
    monkeypatch.undo()
    assert any(p.name.startswith("seg-") for p in (corpus.index_dir / "words").iterdir())
    forbid_full_builds(monkeypatch)
    reopened = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer)
    try:
        # The previous index loads, then catches up with the database: only the new report is indexed.
        assert reopened.index.fingerprint == await reopened.store.fingerprint()
        assert await search_texts(reopened, "红色夜校")
        manifest = json.loads((reopened.index_dir / "manifest.json").read_text(encoding="utf-8"))
        saved = {entry["name"] for entry in manifest["fields"]["words"]["segments"]}
        assert {p.name for p in (reopened.index_dir / "words").iterdir()} == saved | {
            entry["dead"] for entry in manifest["fields"]["words"]["segments"] if entry["dead"]
        }
    finally:
        await reopened.close()


async def test_searches_during_an_add_are_answered_from_the_old_index(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    updating, release = hold(monkeypatch, corpus, "_updated_index")
    path = tmp_path / "night-school.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    old = corpus.index
    ingesting = asyncio.create_task(corpus.ingest([path]))
    assert await asyncio.to_thread(updating.wait, 10)
    assert corpus.index is old
    assert await search_texts(corpus, "村官回归工程")
    assert await search_texts(corpus, "红色夜校") == []
    release.set()
    [report] = await ingesting
    assert report.status == "added" and corpus.index is not old
    assert await search_texts(corpus, "红色夜校")

