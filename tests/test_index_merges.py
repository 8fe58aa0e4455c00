"""Segment merges: live rows kept in order, planned by size, applied late, saved and loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rectbot.retrieval.segments as segments_module
from rectbot.retrieval.index import IndexParams, plan_merges
from rectbot.retrieval.segments import Segment
from tests.index_helpers import (
    pseudo_chinese_corpus,
    make_queries,
    build,
    load,
    assert_same_ranking,
    apply_merges,
    columns,
)


@pytest.mark.parametrize("chunk", [1, 37, 10**6], ids=["a column at a time", "a few columns", "whole segments"])
def test_a_merged_segment_holds_the_live_rows_of_its_sources_in_order(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments_module, "_MERGE_CHUNK", chunk)
    ids, docs, _ = pseudo_chinese_corpus(300, vocabulary=200, seed=9)
    rng = np.random.default_rng(4)
    sources = []
    for start in range(0, 300, 100):
        segment = Segment.build(np.array(ids[start : start + 100]), docs[start : start + 100])
        sources.append((segment, rng.random(100) < 0.3 if start else None))
    merged = Segment.merge(sources)
    expected_ids = [int(i) for segment, dead in sources for i in (segment.ids if dead is None else segment.ids[~dead])]
    assert merged.ids.tolist() == expected_ids
    doc_of = dict(zip(ids, docs, strict=True))
    scratch = Segment.build(np.array(expected_ids), [doc_of[i] for i in expected_ids])
    assert columns(merged) == columns(scratch)
    assert merged.lengths.tolist() == scratch.lengths.tolist()
    for token in merged.tokens:
        rows, _ = merged.column(token)
        assert np.all(np.diff(rows) > 0)  # rows ascend within a column, as search and save expect
    everything_removed = Segment.merge([(sources[1][0], np.ones(100, dtype=bool))])
    assert len(everything_removed) == 0 and everything_removed.tokens == ()


@pytest.mark.parametrize(
    ("sizes", "runs"),
    [
        ([], []),
        ([(100, 0, 1000)], []),
        ([(1000, 0, 10_000), (10, 0, 100)], []),  # the newest is far smaller than the base: nothing to do yet
        ([(1000, 0, 10_000), (40, 0, 400), (30, 0, 300)], [[1, 2]]),  # the newest catches up with the one before
        ([(1000, 0, 10_000), (400, 0, 4000), (300, 0, 3000)], [[0, 1, 2]]),  # ... and together with the base
        ([(1000, 0, 90_000), (400, 0, 4000), (300, 0, 3000)], [[1, 2]]),  # the base would grow past max_entries
        ([(1000, 600, 10_000), (10, 0, 100)], [[0]]),  # mostly removed: rewritten without them
        ([(1000, 400, 10_000), (10, 0, 100)], []),
        ([(1000, 0, 10_000), (400, 300, 4000), (60, 0, 600)], [[1, 2]]),  # counted by live rows
    ],
)
def test_merges_are_planned_by_live_rows_up_to_a_size(sizes: list[tuple[int, int, int]], runs: list[list[int]]) -> None:
    assert plan_merges(sizes, max_entries=20_000) == runs


def test_a_merge_applied_after_adds_and_removes_keeps_them(synthetic: tuple[list[int], list[list[str]], list[str]]) -> None:
    ids, docs, _ = synthetic
    index = build(docs[:500], ids=ids[:500])
    index = index.updated(ids[500:800], docs[500:800], ids[:10], fingerprint="f2")
    [merge] = index.merges_of([[0, 1]])
    result = merge.run()
    # Meanwhile: a passage of the merged rows removed, another added.
    later = index.updated(ids[800:801], docs[800:801], [ids[600]], fingerprint="f3")
    merged = later.with_merged([(merge, result)])
    assert merged is not None and merged.fingerprint == "f3"
    assert [len(ids_) for _, ids_ in merged.segments()] == [790, 1]
    assert ids[600] not in merged.passage_ids[merged.live].tolist()
    live = dict(zip(ids[10:801], docs[10:801], strict=True))
    del live[ids[600]]
    assert_same_ranking(merged, live, make_queries(synthetic[2], 20, seed=2))
    # An index that no longer holds the sources (rebuilt meanwhile) refuses the merge.
    assert build(docs[:5], ids=ids[:5]).with_merged([(merge, result)]) is None


def test_a_merge_writes_a_segment_that_loads_as_it_was(tmp_path: Path, synthetic: tuple[list[int], list[list[str]], list[str]]) -> None:
    ids, docs, _ = synthetic
    index = build(docs[:1000], ids=ids[:1000]).updated(ids[1000:1100], docs[1000:1100], ids[:600], fingerprint="g")
    planned = index.planned_merges()
    assert [len(merge.sources) for merge in planned] == [1]  # the base, mostly removed, rewritten alone
    merged = apply_merges(index, [(merge, merge.run()) for merge in planned])
    merged.save(tmp_path / "idx")
    loaded = load(tmp_path / "idx", IndexParams(), fingerprint="g")
    for query in make_queries(synthetic[2], 20, seed=3):
        assert loaded.search(query, 20) == merged.search(query, 20) == index.search(query, 20)
