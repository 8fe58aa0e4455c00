"""An index that grows: an add or a removal costs what it holds, and answers after any sequence of them are those of
a reindex."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rectbot.retrieval.corpus import Corpus
from tests.conftest import SEEDS
from tests.corpus_helpers import NEW_REPORT, UNRELATED_SENTENCES, answers, forbid_full_builds, search_texts


async def test_adding_one_document_segments_only_its_passages(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segmented: list[str] = []
    search_cut = corpus.tokenizer.search_cut  # what cutting passages calls for each one
    monkeypatch.setattr(corpus.tokenizer, "search_cut", lambda text: segmented.append(text) or search_cut(text))
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
    monkeypatch.setattr(corpus.tokenizer, "search_cut", lambda text: pytest.fail("a passage was segmented"))
    [removal] = await corpus.remove(["night-school.txt"], removed_by="admin")
    assert removal.path == "night-school.txt"
    assert await search_texts(corpus, "红色夜校") == []
    assert len(corpus.index) == before - 1
    assert await search_texts(corpus, "村官回归工程")


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
