"""Concurrency: searches go on from the old index while it is updated, another process's writes are followed, and
index saves of two processes wait for each other."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from rectbot.retrieval.corpus import Corpus, files_under
from rectbot.retrieval.tokenizer import Tokenizer
from tests.conftest import SEEDS
from tests.corpus_helpers import NEW_REPORT, hold, search_texts


async def test_searches_during_an_add_are_answered_from_the_old_index(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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


async def test_refresh_follows_another_writer_and_keeps_answering_meanwhile(
    seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path, monkeypatch
) -> None:
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
    index_dir = corpus.index_dir
    in_progress = index_dir / ".words.tmp-other-process"
    in_progress.mkdir()
    lock_file = index_dir.parent / f".{index_dir.name}.lock"
    # Another process holds the lock, as it does for the whole of its save.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys\n"
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


async def test_two_files_of_one_name_ingested_at_once_are_both_kept(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Session 24's review: two ingests at the same moment both found 总结.txt free, and the later save replaced the
    # earlier file. Here both have chosen their path before either saves.
    for year, practice in (("2019", "红色夜校"), ("2020", "板凳会议")):
        (tmp_path / year).mkdir()
        (tmp_path / year / "总结.txt").write_text(NEW_REPORT.replace("红色夜校", practice), encoding="utf-8")
    both_chose = asyncio.Barrier(2)
    save_file, saves = corpus.store.save_file, 0

    async def save_after_both_chose(*args, **kwargs):
        nonlocal saves
        saves += 1
        if saves <= 2:
            await both_chose.wait()
        return await save_file(*args, **kwargs)

    monkeypatch.setattr(corpus.store, "save_file", save_after_both_chose)
    first, second = await asyncio.gather(
        corpus.ingest([tmp_path / "2019" / "总结.txt"]), corpus.ingest([tmp_path / "2020" / "总结.txt"])
    )
    paths = sorted(report.path for report in first + second)
    assert [report.status for report in first + second] == ["added", "added"]
    assert paths[0] != paths[1] and "总结.txt" in paths
    assert await search_texts(corpus, "红色夜校") and await search_texts(corpus, "板凳会议")
