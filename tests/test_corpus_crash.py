"""Crash safety: a crash while saving a file, building or saving the index, or between a commit and the index save,
leaves search working and the next start consistent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import rectbot.retrieval.backend as backend
from rectbot.retrieval.corpus import Corpus, files_under
from rectbot.retrieval.index import PassageIndex
from rectbot.retrieval.store import Store
from rectbot.retrieval.tokenizer import Tokenizer
from tests.conftest import SEEDS
from tests.corpus_helpers import NEW_REPORT, forbid_full_builds, search_texts


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


async def test_a_crash_between_saving_the_new_segments_and_the_manifest_leaves_a_consistent_index(
    seeded_dir: Path, tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
