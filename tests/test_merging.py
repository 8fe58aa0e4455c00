"""Background merges in the corpus: updates never wait for them, searches use the old segments until the merged
ones are saved and swapped in, and a crash at any point of a merge leaves an index that agrees with the database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import rectbot.retrieval.backend as backend
import rectbot.retrieval.corpus as corpus_module
import rectbot.retrieval.index as index_module
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.tokenizer import Tokenizer
from tests.conftest import ROOT
from tests.corpus_helpers import NEW_REPORT, answers, forbid_full_builds, search_texts

# A second report, unrelated to the first, to add while a merge runs.
OTHER_REPORT = NEW_REPORT.replace("红色夜校", "蓝色课堂").replace("夜校", "课堂").replace("某某县", "另一县")


@pytest.fixture(autouse=True)
def merge_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any new segment calls for a merge (the seeds are far too small to reach the real ratio)."""
    monkeypatch.setattr(index_module, "MERGE_RATIO", 10**6)


def segment_counts(corpus: Corpus) -> list[int]:
    index = corpus.index
    return [len(index.words.segments()), len(index.grams.segments()), len(index.context.segments())]


def saved_segments(corpus: Corpus) -> dict[str, set[str]]:
    """The segment names the saved manifest holds, by field."""
    manifest = json.loads((corpus.index_dir / "manifest.json").read_text(encoding="utf-8"))
    return {field: {entry["name"] for entry in manifest["fields"][field]["segments"]} for field in manifest["fields"]}


def hold_merges(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make each merge wait, once its segments are merged and staged, until released: (merged, release)."""
    merged, release = threading.Event(), threading.Event()
    original = backend.MergeJob.run

    def held(self: backend.MergeJob, *args: object) -> object:
        done = original(self, *args)
        merged.set()
        assert release.wait(20)
        return done

    monkeypatch.setattr(backend.MergeJob, "run", held)
    return merged, release


async def test_updates_do_not_wait_for_a_merge_and_searches_use_the_old_segments_until_it_is_swapped_in(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged, release = hold_merges(monkeypatch)
    (tmp_path / "night-school.txt").write_text(NEW_REPORT, encoding="utf-8")
    (tmp_path / "classroom.txt").write_text(OTHER_REPORT, encoding="utf-8")
    await corpus.ingest([tmp_path / "night-school.txt"])
    assert await asyncio.to_thread(merged.wait, 20)  # the merge of the base and the new segment is under way
    assert segment_counts(corpus) == [2, 2, 2]
    before_merge = saved_segments(corpus)

    # While it runs, a file is added and another removed: neither waits for it.
    [added] = await asyncio.wait_for(corpus.ingest([tmp_path / "classroom.txt"]), 20)
    assert added.status == "added"
    await asyncio.wait_for(corpus.remove(["night-school.txt"], removed_by="admin"), 20)
    assert not corpus._merging.done()
    assert segment_counts(corpus) == [3, 3, 3]  # the old segments, searched until the merge is swapped in
    assert await search_texts(corpus, "蓝色课堂")
    assert await search_texts(corpus, "红色夜校") == []

    release.set()
    await corpus.merges_done()
    assert segment_counts(corpus) == [1, 1, 1]
    assert saved_segments(corpus) != before_merge and all(len(names) == 1 for names in saved_segments(corpus).values())
    # The merge planned before the removal did not bring the removed report back.
    assert await search_texts(corpus, "红色夜校") == []
    assert await search_texts(corpus, "蓝色课堂")
    merged_answers = await answers(corpus)
    await corpus.reindex()
    assert merged_answers == await answers(corpus)
    assert not (corpus.index_dir / "merging").exists() or not any((corpus.index_dir / "merging").iterdir())


async def test_close_lets_a_small_merge_finish_and_stops_a_large_one(
    seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = seeded_dir / "rectbot.sqlite3"
    (tmp_path / "night-school.txt").write_text(NEW_REPORT, encoding="utf-8")
    (tmp_path / "classroom.txt").write_text(OTHER_REPORT, encoding="utf-8")

    corpus = await Corpus.open(database, tokenizer=tokenizer)
    await corpus.ingest([tmp_path / "night-school.txt"])
    await corpus.close()  # as `rectbot ingest FILE` ends: the seeds' merge is small, so it is finished
    assert all(len(names) == 1 for names in saved_segments(corpus).values())

    monkeypatch.setattr(corpus_module, "FINISH_ON_CLOSE_ENTRIES", 0)  # now every merge counts as large
    merged, release = hold_merges(monkeypatch)
    corpus = await Corpus.open(database, tokenizer=tokenizer)
    await corpus.ingest([tmp_path / "classroom.txt"])
    assert await asyncio.to_thread(merged.wait, 20)
    closing = asyncio.create_task(corpus.close())
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(closing, 20)
    assert all(len(names) == 2 for names in saved_segments(corpus).values())  # stopped: saved as it was
    reopened = await Corpus.open(database, tokenizer=tokenizer)
    try:
        assert reopened.index.fingerprint == await reopened.store.fingerprint()
        assert await search_texts(reopened, "蓝色课堂") and await search_texts(reopened, "红色夜校")
    finally:
        await reopened.close()
    assert not any((corpus.index_dir / "merging").iterdir())


async def test_a_failed_merge_leaves_the_index_as_it_was_and_is_not_retried_until_the_next_change(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts = []

    def full_disk(self: backend.MergeJob, *args: object) -> None:
        attempts.append(self)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backend.MergeJob, "run", full_disk)
    (tmp_path / "night-school.txt").write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([tmp_path / "night-school.txt"])
    await corpus.merges_done()
    await corpus.merges_done()
    assert len(attempts) == 1 and "merging index segments failed" in caplog.text
    assert segment_counts(corpus) == [2, 2, 2]
    assert await search_texts(corpus, "红色夜校")
    monkeypatch.undo()
    monkeypatch.setattr(index_module, "MERGE_RATIO", 10**6)
    await corpus.remove(["night-school.txt"], removed_by="admin")
    await corpus.merges_done()
    assert segment_counts(corpus) == [1, 1, 1]
    assert await search_texts(corpus, "红色夜校") == []


# A process that adds a report, then is killed while the merge that follows is staged or being committed.
CHILD = """
import asyncio, sys, time
from pathlib import Path
import rectbot.retrieval.backend as backend
import rectbot.retrieval.index as index_module
from rectbot.retrieval.corpus import Corpus

database, new_file, moment = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
index_module.MERGE_RATIO = 10**6
armed = False

def stop_here(label):
    print(label, flush=True)
    time.sleep(60)  # killed meanwhile

if moment == "staged":
    run = backend.MergeJob.run
    def staged(self, *args):
        done = run(self, *args)
        stop_here("staged")
        return done
    backend.MergeJob.run = staged
else:  # the merged segments moved into place, the manifest not yet replaced
    write_json = backend.write_json
    def committing(path, value):
        if armed:
            stop_here("committing")
        write_json(path, value)
    backend.write_json = committing

async def main():
    global armed
    corpus = await Corpus.open(database)
    await corpus.ingest([new_file])
    armed = True  # the merge task starts after this: the update's own save is done
    print("ingested", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@pytest.mark.parametrize("moment", ["staged", "committing"])
async def test_a_process_killed_during_a_merge_leaves_an_index_that_agrees_with_the_database(
    moment: str, seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = seeded_dir / "rectbot.sqlite3"
    new_file = tmp_path / "night-school.txt"
    new_file.write_text(NEW_REPORT, encoding="utf-8")
    # This checkout's code, as the test process has it (an installed or shimmed `rectbot`, else the checkout).
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(database), str(new_file), moment], cwd=ROOT,
                             env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while moment not in lines:
            line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 120)
            assert line, child.stderr.read()
            lines.append(line.strip())
        staging = next((seeded_dir / "rectbot.index" / "merging").iterdir())
        assert staging.name.startswith(f"{child.pid}-")
    finally:
        child.kill()
        child.wait()

    forbid_full_builds(monkeypatch)
    corpus = await Corpus.open(database, tokenizer=tokenizer)
    try:
        # The index saved before the merge: whole, and at the database's state (the new report in it).
        assert corpus.index.fingerprint == await corpus.store.fingerprint()
        assert segment_counts(corpus) == [2, 2, 2]
        assert await search_texts(corpus, "红色夜校")
        assert staging.exists()  # not yet cleaned: loading never writes
        await corpus.merges_done()  # the merge is planned again; its save removes what the killed one left
        assert segment_counts(corpus) == [1, 1, 1]
        assert not staging.exists()
        for field, names in saved_segments(corpus).items():
            assert {path.name for path in (corpus.index_dir / field).iterdir() if path.is_dir()} == names
        grown = await answers(corpus)
        monkeypatch.undo()
        await corpus.reindex()
        assert grown == await answers(corpus)
    finally:
        await corpus.close()
