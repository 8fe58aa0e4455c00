"""The index grown and shrunk, with merges: any sequence ranks as a build from scratch."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rectbot.retrieval.index as index_module
from rectbot.retrieval.index import IDF_METHODS, PassageIndex, SegmentMerge, plan_merges
from rectbot.retrieval.segments import Segment
from tests.index_helpers import DOCS, pseudo_chinese_corpus, build, assert_same_ranking, apply_merges


WORDS = ["党支部", "整顿", "软弱", "涣散", "书记", "村", "集体", "经济", "组织", "生活", "选配", "夜校"]
docs_strategy = st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12), min_size=0, max_size=6)
step_strategy = st.tuples(docs_strategy, st.lists(st.integers(0, 10**6), max_size=4))


def add_and_remove(
    index: PassageIndex, live: dict[int, list[str]], next_id: int, added: list[list[str]], picks: list[int]
) -> tuple[PassageIndex, int]:
    """One step of a random history: add passages under new ids and remove the live ones the picks point at;
    `live` follows. Returns the new index and the next free id."""
    ids = list(range(next_id, next_id + len(added)))
    next_id += len(added)
    removable = sorted(live)
    removed = sorted({removable[p % len(removable)] for p in picks}) if removable else []
    index = index.updated(ids, added, removed, fingerprint=f"v{next_id}")
    for passage_id in removed:
        del live[passage_id]
    live.update(zip(ids, added, strict=True))
    return index, next_id


@pytest.mark.parametrize("idf", IDF_METHODS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=docs_strategy, steps=st.lists(step_strategy, min_size=1, max_size=8))
def test_any_sequence_of_adds_and_removes_ranks_as_a_build_from_scratch(
    idf: str, initial: list[list[str]], steps: list[tuple[list[list[str]], list[int]]]
) -> None:
    questions = [[w] for w in WORDS] + [["党支部", "整顿"], ["村", "村", "夜校"], ["经济", "不在词表"]]
    index = build(initial, idf=idf)
    live = dict(enumerate(initial))
    next_id = len(initial)
    for added, picks in steps:
        index, next_id = add_and_remove(index, live, next_id, added, picks)
        assert_same_ranking(index, live, questions)


@pytest.mark.parametrize("idf", IDF_METHODS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=docs_strategy,
    steps=st.lists(st.tuples(docs_strategy, st.lists(st.integers(0, 10**6), max_size=4), st.sampled_from(
        ["none", "plan", "apply", "plan and apply"])), min_size=1, max_size=10),
    which=st.sampled_from(["planned", "all", "newest"]),
)
def test_merges_interleaved_with_adds_and_removes_rank_as_a_build_from_scratch(
    idf: str, initial: list[list[str]], steps: list[tuple[list[list[str]], list[int], str]], which: str
) -> None:
    """A merge planned on one index, run, and applied to a later one (as the background merger does) changes no score."""
    questions = [[w] for w in WORDS] + [["党支部", "整顿"], ["村", "村", "夜校"], ["经济", "不在词表"]]
    index = build(initial, idf=idf)
    live = dict(enumerate(initial))
    next_id = len(initial)
    pending: list[tuple[SegmentMerge, Segment]] = []
    for added, picks, merging in steps:
        if merging in ("plan", "plan and apply") and not pending:
            count = len(index.segments())
            runs = {
                "planned": plan_merges(index.segment_sizes(), max_entries=10**9),
                "all": [list(range(count))],  # everything into one segment
                "newest": [[count - 1]],  # the newest segment rewritten without its removed rows
            }[which] if count else []
            pending = [(merge, merge.run()) for merge in index.merges_of(runs)]
        index, next_id = add_and_remove(index, live, next_id, added, picks)
        if merging in ("apply", "plan and apply") and pending:
            index, pending = apply_merges(index, pending), []
        assert_same_ranking(index, live, questions)


def test_a_larger_corpus_grown_in_batches_with_merges_in_the_background_ranks_as_built_from_scratch(
    synthetic: tuple[list[int], list[list[str]], list[str]], synthetic_queries: list[list[str]]
) -> None:
    ids, docs, _ = synthetic
    rng = np.random.default_rng(3)
    index = build(docs[:1000], ids=ids[:1000])
    live = dict(zip(ids[:1000], docs[:1000], strict=True))
    position = 1000
    pending: list[tuple[SegmentMerge, Segment]] = []
    merges = 0
    while position < len(ids):
        size = int(rng.integers(1, 200))
        batch = list(zip(ids[position : position + size], docs[position : position + size], strict=True))
        position += size
        removed = rng.choice(sorted(live), size=int(rng.integers(0, 60)), replace=False).tolist()
        index = index.updated([i for i, _ in batch], [d for _, d in batch], removed, fingerprint="f")
        for passage_id in removed:
            del live[passage_id]
        live.update(batch)
        # A merge takes about as long as an update or two: applied one update after it was planned.
        if pending:
            index, pending = apply_merges(index, pending), []
            merges += 1
        else:
            pending = [(merge, merge.run()) for merge in index.planned_merges()]
    index = apply_merges(index, pending) if pending else index
    while planned := index.planned_merges():
        index = apply_merges(index, [(merge, merge.run()) for merge in planned])
    assert merges > 5
    assert len(index.segments()) <= 2 + int(np.log2(len(live)))  # merges keep few segments
    assert_same_ranking(index, live, synthetic_queries[:30])
    assert_same_ranking(index.merged(), live, synthetic_queries[:30])


def test_a_passage_can_come_back_after_being_removed() -> None:
    index = build(DOCS)
    index = index.updated([], [], [1], fingerprint="f")
    assert index.search(["书记"], 10) == []
    index = index.updated([1], [["书记", "选配"]], [], fingerprint="f")
    assert [hit.passage_id for hit in index.search(["书记"], 10)] == [1]
    assert len(index) == len(DOCS)


def test_updating_leaves_the_old_index_unchanged() -> None:
    index = build(DOCS)
    before = {tuple(q): index.search(q, 10) for q in (["整顿"], ["书记"], ["夜校"])}
    ids_before = index.passage_ids.copy()
    index.updated([10], [["夜校", "整顿"]], [0, 1], fingerprint="f")
    assert {tuple(q): index.search(q, 10) for q in (["整顿"], ["书记"], ["夜校"])} == before
    assert np.array_equal(index.passage_ids, ids_before) and len(index) == len(DOCS)


def test_updates_refuse_ids_already_indexed_or_not_indexed() -> None:
    index = build(DOCS)
    with pytest.raises(ValueError, match="already"):
        index.updated([2], [["村"]], [], fingerprint="f")
    with pytest.raises(ValueError, match="not in the index"):
        index.updated([], [], [42], fingerprint="f")
    removed = index.updated([], [], [3], fingerprint="f")
    with pytest.raises(ValueError, match="not in the index"):
        removed.updated([], [], [3], fingerprint="f")


def test_a_small_addition_builds_only_its_own_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    ids, docs, _ = pseudo_chinese_corpus(2000, vocabulary=500, seed=5)
    index = build(docs, ids=ids)
    built_indexes: list[int] = []
    original = index_module.Segment.build.__func__

    def counting(cls: type, segment_ids: np.ndarray, segment_docs: list[list[str]]) -> object:
        built_indexes.append(len(segment_docs))
        return original(cls, segment_ids, segment_docs)

    monkeypatch.setattr(index_module.Segment, "build", classmethod(counting))
    merges: list[int] = []
    original_merge = index_module.Segment.merge.__func__
    monkeypatch.setattr(index_module.Segment, "merge", classmethod(
        lambda cls, parts: merges.append(sum(len(s) for s, _ in parts)) or original_merge(cls, parts)))
    grown = index.updated([10**6], [["夜校", "整顿"]], ids[:3], fingerprint="f")
    assert built_indexes == [1] and merges == []
    assert [hit.passage_id for hit in grown.search(["夜校"], 10)] == [10**6]
