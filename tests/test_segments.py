"""Segments store each row number in two bytes: past 65,536 rows (a segment at a million passages holds ~100,000)
columns, merges and saved files must still give every row's own number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rectbot.retrieval import segments
from rectbot.retrieval.segments import BLOCK_ROWS, Segment

ROWS = 2 * BLOCK_ROWS + 4_321  # three blocks, the last one partial


@pytest.fixture(scope="module")
def passages() -> list[list[str]]:
    """Tokens of each row: one in every row, one in every seventh, one only in the last block, one in one row."""
    rows = []
    for row in range(ROWS):
        tokens = ["村"]
        if row % 7 == 0:
            tokens += ["书记", "书记"]
        if row >= 2 * BLOCK_ROWS + 100:
            tokens.append("夜校")
        if row == BLOCK_ROWS:
            tokens.append("积分超市")
        rows.append(tokens)
    return rows


def expected_column(passages: list[list[str]], token: str, dead: set[int] = frozenset()) -> list[tuple[int, int]]:
    """(row, term frequency) of a token, rows renumbered without the dead ones."""
    live = [tokens for row, tokens in enumerate(passages) if row not in dead]
    return [(row, tokens.count(token)) for row, tokens in enumerate(live) if token in tokens]


def column(segment: Segment, token: str) -> list[tuple[int, int]]:
    rows, tf = segment.column(token)  # type: ignore[misc]
    return list(zip(rows.tolist(), tf.tolist(), strict=True))


@pytest.fixture(scope="module")
def built(passages: list[list[str]]) -> Segment:
    return Segment.build(np.arange(1, ROWS + 1), passages)


def test_rows_past_the_first_block_keep_their_numbers(built: Segment, passages: list[list[str]]) -> None:
    assert built.rows.dtype == np.uint16 and built.blocks is not None and built.blocks.shape == (4, 2)
    for token in ("村", "书记", "夜校", "积分超市"):
        assert column(built, token) == expected_column(passages, token), token
    whole = built.rows_between(0, len(built.tokens))
    assert whole.tolist() == [row for token in built.tokens for row, _ in column(built, token)]


def test_a_saved_segment_is_two_bytes_a_row_and_reads_back_the_same(
    built: Segment, passages: list[list[str]], tmp_path: Path
) -> None:
    built.save(tmp_path)
    assert np.load(tmp_path / built.name / "rows.npy").dtype == np.uint16
    loaded = Segment.load(tmp_path, built.name)
    for token in ("村", "书记", "夜校", "积分超市"):
        assert column(loaded, token) == expected_column(passages, token), token


def test_merging_across_blocks_with_removed_rows_renumbers_every_row(built: Segment, passages: list[list[str]]) -> None:
    dead_rows = {0, 7, BLOCK_ROWS, BLOCK_ROWS + 1, 2 * BLOCK_ROWS + 100, ROWS - 1}
    dead = np.zeros(ROWS, dtype=bool)
    dead[list(dead_rows)] = True
    small = Segment.build(np.array([ROWS + 1]), [["夜校", "书记"]])
    merged = Segment.merge([(built, dead), (small, None)])
    assert len(merged) == ROWS - len(dead_rows) + 1
    everything = passages + [["夜校", "书记"]]
    for token in ("村", "书记", "夜校"):
        assert column(merged, token) == expected_column(everything, token, dead_rows), token
    assert merged.column("积分超市") is None  # held only by a removed row


def test_a_segment_saved_before_rows_were_compact_still_loads(passages: list[list[str]], tmp_path: Path) -> None:
    segment = Segment.build(np.arange(1, 101), passages[:100])
    segment.save(tmp_path)
    folder = tmp_path / segment.name
    rows = np.load(folder / "rows.npy").astype(np.int32)
    np.save(folder / "rows.npy", rows)  # as written before: four-byte rows and no blocks file
    (folder / "blocks.npy").unlink()
    loaded = Segment.load(tmp_path, segment.name)
    assert loaded.blocks is None and column(loaded, "书记") == expected_column(passages[:100], "书记")


def test_a_merge_in_many_small_chunks_gives_the_same_columns(
    built: Segment, passages: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A merge and the block counting work a million entries at a time; in chunks of 1,000 here, so that a
    # segment of this size goes through the chunked paths many times.
    monkeypatch.setattr(segments, "_MERGE_CHUNK", 1_000)
    dead_rows = {3, BLOCK_ROWS - 1, BLOCK_ROWS, 2 * BLOCK_ROWS}
    dead = np.zeros(ROWS, dtype=bool)
    dead[list(dead_rows)] = True
    merged = Segment.merge([(built, dead)])
    for token in ("村", "书记", "夜校"):
        assert column(merged, token) == expected_column(passages, token, dead_rows), token
    assert merged.column("积分超市") is None  # its one row was removed


@pytest.mark.parametrize("rows", [BLOCK_ROWS - 1, BLOCK_ROWS, BLOCK_ROWS + 1])
def test_the_block_edges(rows: int) -> None:
    passages = [["村"] + (["书记"] if row >= rows - 2 else []) for row in range(rows)]
    segment = Segment.build(np.arange(rows), passages)
    assert segment.blocks is not None and segment.blocks.shape == (2, 0 if rows <= BLOCK_ROWS else 1)
    assert column(segment, "书记") == expected_column(passages, "书记")
    assert column(segment, "村")[-1] == (rows - 1, 1)


def test_a_segment_with_damaged_block_starts_is_refused_when_loaded(built: Segment, tmp_path: Path) -> None:
    built.save(tmp_path)
    blocks = np.load(tmp_path / built.name / "blocks.npy")
    backwards = blocks.copy()
    backwards[:, 1] = 0  # the third block would start before the second
    past_the_end = blocks.copy()
    past_the_end[:, -1] = np.diff(built.indptr) + 1
    for damaged in (backwards, past_the_end):
        np.save(tmp_path / built.name / "blocks.npy", damaged)
        with pytest.raises(ValueError, match="block starts"):
            Segment.load(tmp_path, built.name)


def test_an_old_segment_over_several_blocks_merges_into_a_compact_one(passages: list[list[str]], tmp_path: Path) -> None:
    old = Segment.build(np.arange(1, ROWS + 1), passages)
    old.save(tmp_path)
    folder = tmp_path / old.name
    np.save(folder / "rows.npy", old.rows_between(0, len(old.tokens)))  # four-byte rows, as written before
    (folder / "blocks.npy").unlink()
    loaded = Segment.load(tmp_path, old.name)
    assert loaded.blocks is None and loaded.rows.dtype == np.int32
    dead = np.zeros(ROWS, dtype=bool)
    dead[[0, BLOCK_ROWS + 5]] = True
    merged = Segment.merge([(loaded, dead)])
    assert merged.rows.dtype == np.uint16
    for token in ("村", "书记", "夜校"):
        assert column(merged, token) == expected_column(passages, token, {0, BLOCK_ROWS + 5}), token
