"""A crash while the index is saved leaves the previous one loadable; a killed save leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from rectbot.retrieval.index import ENGINES, IndexParams, PassageIndex
from tests.index_helpers import DOCS, build, load, assert_previous_index_intact, crash_on_call


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("call", [1, 3, 5, 6])
def test_a_crash_while_writing_a_new_segment_leaves_the_previous_index(
    engine: str, call: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "idx"
    previous = build(DOCS * 10, engine)
    previous.save(directory)
    newer = previous.updated([100, 101, 102], [["新", "文章"]] * 3, [0], fingerprint="corpus-v2")
    assert len(newer.segments()) == 2  # too small to be merged into the first
    # np.save is called once per segment array (5), then once for the removed rows.
    monkeypatch.setattr(np, "save", crash_on_call(np.save, call))
    with pytest.raises(OSError, match="No space"):
        newer.save(directory)
    monkeypatch.undo()
    assert_previous_index_intact(directory, previous)


def test_a_crash_before_the_manifest_is_replaced_leaves_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "idx"
    previous = build(DOCS * 10)
    previous.save(directory)
    newer = previous.updated([100, 101], [["新", "文章"]] * 2, [1], fingerprint="corpus-v2")
    # The new segment and removed rows are written; replacing params.json (the commit) fails.
    monkeypatch.setattr(os, "replace", crash_on_call(os.replace, 2))
    with pytest.raises(OSError, match="No space"):
        newer.save(directory)
    monkeypatch.undo()
    assert_previous_index_intact(directory, previous)
    newer.save(directory)
    assert load(directory, IndexParams(), fingerprint="corpus-v2").search(["新"], 10) == newer.search(["新"], 10)


def test_leftovers_of_a_killed_save_are_ignored_then_removed(saved_index: tuple[Path, PassageIndex]) -> None:
    directory, previous = saved_index
    leftover = directory / ".seg-killed.tmp-1234"
    leftover.mkdir()
    (leftover / "ids.npy").write_bytes(b"half")
    orphan = directory / "seg-never-committed"
    orphan.mkdir()
    assert load(directory, IndexParams()).search(["整顿"], 10) == previous.search(["整顿"], 10)
    previous.save(directory)
    assert not leftover.exists() and not orphan.exists()
    assert sorted(p.name for p in directory.parent.iterdir()) == ["idx"]
