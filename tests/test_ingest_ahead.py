"""Ingest parses files ahead of saving them: each file is still judged against what the files before it saved."""

from __future__ import annotations

from pathlib import Path

from rectbot.retrieval.corpus import Corpus
from tests.corpus_helpers import NEW_REPORT, search_texts


async def test_a_copy_of_a_files_old_bytes_is_added_when_that_file_changes_in_the_same_ingest(
    corpus: Corpus, tmp_path: Path
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text(NEW_REPORT, encoding="utf-8")
    (folder / "b.txt").write_text(NEW_REPORT, encoding="utf-8")  # a copy, kept as the old version
    first = await corpus.ingest([folder])
    assert [(r.status, r.same_as) for r in first] == [("added", None), ("added", "a.txt")]
    (folder / "a.txt").write_text(NEW_REPORT.replace("四十二期", "五十六期"), encoding="utf-8")
    second = await corpus.ingest([folder])
    # b.txt was stored as a copy of a.txt's text: it holds that text now a.txt has changed.
    assert [r.status for r in second] == ["replaced", "unchanged"]
    # Both versions are searchable; an answer shows one paragraph of the two, as they are near copies.
    for issues in ("四十二期", "五十六期"):
        texts = await search_texts(corpus, f"红色夜校办了{issues}")
        assert texts and issues in texts[0]
