"""Tests for retrieval.backend: a SearchIndex grown and shrunk ranks as one built from scratch; saves are crash-safe."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rectbot.retrieval.index as index_module
from rectbot.retrieval.backend import SearchIndex, SearchIndexBuilder
from rectbot.retrieval.index import IndexParams, PassageIndex, StaleIndex
from rectbot.retrieval.query import Query
from rectbot.retrieval.segments import Segment
from rectbot.retrieval.token_batch import TokenBatch
from rectbot.retrieval.tokenizer import PassageTokens, bigrams
from tests.index_helpers import crash_on_call

VERSIONS = {"tokenizer": "test"}
WORDS = ["党支部", "整顿", "软弱", "涣散", "书记", "村", "集体", "经济", "夜校", "沙坡头区", "中卫"]

# A document: its context words and its passages' words (grams are derived from the words).
Document = tuple[list[str], list[list[str]]]


def tokens(words: list[str]) -> PassageTokens:
    return PassageTokens(list(words), [gram for word in words for gram in bigrams(word)])


def query(*words: str) -> Query:
    return Query(text="".join(words), topic=words, words=words, grams=tuple(g for w in words for g in bigrams(w)))


QUERIES = [query(w) for w in WORDS] + [query("党支部", "整顿"), query("夜校", "中卫"), query("村", "经济", "书记")]


class Library:
    """Documents with ids handed out as the store does (never reused), passages numbered likewise."""

    def __init__(self) -> None:
        self.documents: dict[int, tuple[list[str], list[tuple[int, list[str]]]]] = {}
        self.next_document = 1
        self.next_passage = 1

    def add(self, document: Document) -> tuple[list[tuple[int, int, PassageTokens]], list[tuple[int, list[str]]]]:
        doc_id = self.next_document
        self.next_document += 1
        passages = []
        for words in document[1]:
            passages.append((self.next_passage, words))
            self.next_passage += 1
        self.documents[doc_id] = (document[0], passages)
        return [(pid, doc_id, tokens(words)) for pid, words in passages], [(doc_id, document[0])]

    def scratch(self, fingerprint: str) -> SearchIndex:
        passages = sorted((pid, doc_id, tokens(words)) for doc_id, (_, ps) in self.documents.items() for pid, words in ps)
        contexts = sorted((doc_id, context) for doc_id, (context, _) in self.documents.items())
        return SearchIndex.build(passages, contexts, IndexParams(), fingerprint=fingerprint, versions=VERSIONS)


def assert_same_results(grown: SearchIndex, scratch: SearchIndex) -> None:
    assert len(grown) == len(scratch)
    assert sorted(grown.passage_ids().tolist()) == sorted(scratch.passage_ids().tolist())
    assert grown.document_ids().tolist() == scratch.document_ids().tolist()
    for q in QUERIES:
        ours, theirs = grown.search(q, 50), scratch.search(q, 50)
        assert [(c.passage_id, c.document_id) for c in ours] == [(c.passage_id, c.document_id) for c in theirs], q
        assert np.allclose([c.score for c in ours], [c.score for c in theirs], rtol=1e-9)
        assert np.allclose([c.context for c in ours], [c.context for c in theirs], rtol=1e-9)
        some = {c.document_id for c in theirs[::2]}
        assert [c.passage_id for c in grown.search(q, 10, allowed=some)] == [
            c.passage_id for c in scratch.search(q, 10, allowed=some)
        ]
    for word in WORDS:
        assert grown.document_frequency(word) == scratch.document_frequency(word)
        assert grown.context_frequency(word) == scratch.context_frequency(word)


document_strategy = st.tuples(
    st.lists(st.sampled_from(WORDS), max_size=4),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=8), max_size=5),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=st.lists(document_strategy, max_size=6),
    steps=st.lists(st.tuples(st.lists(document_strategy, max_size=3), st.lists(st.integers(0, 99), max_size=2),
                             st.sampled_from(["none", "plan", "apply", "plan and apply"])),
                   min_size=1, max_size=8),
    which=st.sampled_from(["planned", "all"]),
)
def test_documents_added_and_removed_in_any_order_rank_as_a_build_from_scratch(
    initial: list[Document], steps: list[tuple[list[Document], list[int], str]], which: str
) -> None:
    """Merges planned on one index and applied to a later one, as the corpus merges in the background, included."""
    library = Library()
    for document in initial:
        library.add(document)
    index = library.scratch("g0")
    done = None
    for number, (added, picks, merging) in enumerate(steps, start=1):
        if merging in ("plan", "plan and apply") and done is None:
            if which == "planned":
                job = index.planned_merges()
            else:  # every segment of each field into one
                job = index.merge_job([list(range(len(index.words.segments())))] if index.words.segments() else [],
                                      [list(range(len(index.context.segments())))] if index.context.segments() else [])
            done = job.run() if job is not None else None
        present = sorted(library.documents)
        removed = sorted({present[p % len(present)] for p in picks}) if present else []
        for doc_id in removed:
            del library.documents[doc_id]
        passages, contexts = [], []
        for document in added:
            new_passages, new_contexts = library.add(document)
            passages += new_passages
            contexts += new_contexts
        before = [index.search(q, 50) for q in QUERIES]
        updated = index.updated(passages, contexts, removed, fingerprint=f"g{number}")
        assert [index.search(q, 50) for q in QUERIES] == before  # the old index is untouched
        index = updated
        assert index.fingerprint == f"g{number}"
        if merging in ("apply", "plan and apply") and done is not None:
            merged = index.with_merged(done)
            assert merged is not None and merged.fingerprint == index.fingerprint
            index, done = merged, None
        assert_same_results(index, library.scratch("scratch"))
    assert_same_results(index.merged(), library.scratch("scratch"))


def grown_library(count: int = 60) -> tuple[Library, SearchIndex]:
    """A library of `count` documents indexed at once, then one more document added and two removed."""
    rng = np.random.default_rng(1)
    library = Library()
    for _ in range(count):
        library.add(([str(w) for w in rng.choice(WORDS, 2)],
                     [[str(w) for w in rng.choice(WORDS, int(rng.integers(1, 8)))] for _ in range(3)]))
    index = library.scratch("db:1")
    passages, contexts = library.add((["夜校", "中卫"], [["夜校", "整顿", "村"], ["夜校"]]))
    del library.documents[3], library.documents[7]
    return library, index.updated(passages, contexts, [3, 7], fingerprint="db:2")


def test_an_index_built_in_small_segments_ranks_as_one_built_in_one(tmp_path: Path) -> None:
    library, _ = grown_library()
    whole = library.scratch("db:2")
    builder = SearchIndexBuilder(segment_entries=25)
    for doc_id, (_, passages) in sorted(library.documents.items()):
        for passage_id, words in passages:
            builder.add(passage_id, doc_id, tokens(words))
    contexts = sorted((doc_id, context) for doc_id, (context, _) in library.documents.items())
    pieces = builder.build(contexts, IndexParams(), fingerprint="db:2", versions=VERSIONS)
    assert len(whole.words.segments()) == 1
    assert len(pieces.words.segments()) > 3
    # The two fields are cut at the same passages (a merge must drop the same rows from both).
    assert [len(ids) for _, ids in pieces.words.segments()] == [len(ids) for _, ids in pieces.grams.segments()]
    assert_same_results(pieces, whole)
    pieces.save(tmp_path / "idx")
    assert_same_results(SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint="db:2", versions=VERSIONS), whole)
    # Growing and shrinking it works as for any index.
    passages, contexts = library.add((["夜校"], [["夜校", "书记"]]))
    del library.documents[5]
    assert_same_results(pieces.updated(passages, contexts, [5], fingerprint="db:3"), library.scratch("db:3"))


@pytest.mark.parametrize("segment_entries", [25, 7, 10_000])
def test_passages_added_as_a_batch_make_the_segments_added_one_by_one_make(segment_entries: int) -> None:
    library, _ = grown_library()
    passages = [(passage_id, doc_id, tokens(words)) for doc_id, (_, found) in sorted(library.documents.items())
                for passage_id, words in found]
    passages.append((999, 1, PassageTokens([], [])))  # a passage with no token at all
    one_by_one, batched = SearchIndexBuilder(segment_entries), SearchIndexBuilder(segment_entries)
    for passage_id, doc_id, passage_tokens in passages:
        one_by_one.add(passage_id, doc_id, passage_tokens)
    for start in range(0, len(passages), 4):  # several batches, so segments close inside and between them
        part = passages[start : start + 4]
        batched.add_batch([p for p, _, _ in part], [d for _, d, _ in part],
                          TokenBatch.of_lists([tuple(t) for _, _, t in part]))
    contexts = sorted((doc_id, context) for doc_id, (context, _) in library.documents.items())
    built = [b.build(contexts, IndexParams(), fingerprint="db:2", versions=VERSIONS) for b in (one_by_one, batched)]
    for field in ("words", "grams"):
        expected, got = (getattr(index, field).segments() for index in built)
        assert [ids.tolist() for _, ids in got] == [ids.tolist() for _, ids in expected]
        for (expected_segment, _), (got_segment, _) in zip(
            getattr(built[0], field)._parts.parts, getattr(built[1], field)._parts.parts, strict=True
        ):
            assert got_segment.tokens == expected_segment.tokens  # the same columns, numbered alike
            for name in ("lengths", "indptr", "rows", "tf"):
                assert np.array_equal(getattr(got_segment, name), getattr(expected_segment, name)), name
    assert_same_results(built[1], built[0])


def test_an_empty_token_in_a_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="empty string"):
        SearchIndexBuilder().add_batch([1], [1], TokenBatch.of_lists([(["村", ""], ["村"])]))


def test_a_saved_grown_index_loads_with_the_same_results(tmp_path: Path) -> None:
    library, index = grown_library()
    assert len(index.words.segments()) == 2  # the base and the new document's segment
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint="db:2", versions=VERSIONS)
    assert_same_results(loaded, library.scratch("scratch"))
    assert SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint=None, versions=VERSIONS).fingerprint == "db:2"
    with pytest.raises(StaleIndex, match="fingerprint differs"):
        SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint="db:3", versions=VERSIONS)


def test_saving_a_grown_index_writes_only_the_new_segments(tmp_path: Path) -> None:
    library = Library()
    for n in range(40):
        library.add(([WORDS[n % len(WORDS)]], [[WORDS[(n + 1) % len(WORDS)], "村"]] * 3))
    index = library.scratch("db:1")
    index.save(tmp_path / "idx")
    before = {path: path.stat().st_mtime_ns for path in (tmp_path / "idx").rglob("*") if path.is_file()}
    passages, contexts = library.add((["夜校"], [["夜校"]]))
    index.updated(passages, contexts, [], fingerprint="db:2").save(tmp_path / "idx")
    after = {path: path.stat().st_mtime_ns for path in (tmp_path / "idx").rglob("*") if path.is_file()}
    rewritten = {path.name for path in before if after.get(path) != before[path]}
    assert rewritten == {"manifest.json"}  # the base segments were left as they were
    assert len(set(after) - set(before)) == 3 * 7 + 1  # a segment (6 arrays + vocabulary) per field, document ids


@pytest.mark.parametrize(
    "crash", ["words segment", "grams segment", "context segment", "context removals", "document ids", "manifest"]
)
def test_a_crash_at_any_point_of_a_save_leaves_the_previous_index(
    crash: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = Library()
    for n in range(40):
        library.add(([WORDS[n % len(WORDS)]], [[WORDS[(n + 1) % len(WORDS)], "村"]] * 3))
    previous = library.scratch("db:1")
    previous.save(tmp_path / "idx")
    passages, contexts = library.add((["夜校"], [["夜校", "书记"]]))
    newer = previous.updated(passages, contexts, [5], fingerprint="db:2")
    del library.documents[5]
    original_save, saves = np.save, []
    previous.save(tmp_path / "dry-run")
    monkeypatch.setattr(np, "save", lambda *args, **kwargs: saves.append(args[0]) or original_save(*args, **kwargs))
    newer.save(tmp_path / "dry-run")
    monkeypatch.undo()
    assert len(saves) == 22  # so that the calls counted below are the ones named
    if crash == "manifest":
        # os.replace: the removed rows of words, grams and context, the new segment's document ids, the manifest.
        monkeypatch.setattr(os, "replace", crash_on_call(os.replace, 5))
    else:
        # np.save: for words, grams and context in turn the new segment (6 arrays) and the removed rows; then ids.
        call = {"words segment": 2, "grams segment": 10, "context segment": 17, "context removals": 21,
                "document ids": 22}[crash]
        monkeypatch.setattr(np, "save", crash_on_call(np.save, call))
    with pytest.raises(OSError, match="No space"):
        newer.save(tmp_path / "idx")
    monkeypatch.undo()
    loaded = SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint=None, versions=VERSIONS)
    assert loaded.fingerprint == "db:1"
    for q in QUERIES:
        assert loaded.search(q, 50) == previous.search(q, 50)
    newer.save(tmp_path / "idx")  # the next save completes and removes what the crash left
    loaded = SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint="db:2", versions=VERSIONS)
    assert_same_results(loaded, library.scratch("scratch"))
    names = {path.name for path in (tmp_path / "idx").rglob("*")}
    assert not any(".tmp-" in name for name in names)


def test_fields_saved_with_different_fingerprints_are_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, index = grown_library()
    index.save(tmp_path / "idx")
    manifest_path = tmp_path / "idx" / "manifest.json"
    manifest = index_module.json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["fields"]["grams"]["fingerprint"] = "db:1"
    manifest_path.write_text(index_module.json.dumps(manifest), encoding="utf-8")
    with pytest.raises(StaleIndex, match="different times"):
        SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint=None, versions=VERSIONS)


@pytest.mark.parametrize("damage", ["no manifest", "bad manifest", "missing document ids"])
def test_a_damaged_saved_index_is_stale(damage: str, tmp_path: Path) -> None:
    _, index = grown_library()
    index.save(tmp_path / "idx")
    if damage == "no manifest":
        (tmp_path / "idx" / "manifest.json").unlink()
    elif damage == "bad manifest":
        (tmp_path / "idx" / "manifest.json").write_text("{", encoding="utf-8")
    else:
        next((tmp_path / "idx" / "documents").iterdir()).unlink()
    with pytest.raises(StaleIndex):
        SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint=None, versions=VERSIONS)


def test_an_index_of_the_previous_layout_is_stale_and_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "idx"
    (directory / "words" / "bm25s").mkdir(parents=True)
    (directory / "words" / "params.json").write_text('{"format": "1"}', encoding="utf-8")
    (directory / "documents.npy").write_bytes(b"old")
    with pytest.raises(StaleIndex, match="manifest.json is missing"):
        SearchIndex.load(directory, IndexParams(), fingerprint=None, versions=VERSIONS)
    library, index = grown_library()
    index.save(directory)
    assert not (directory / "documents.npy").exists() and not (directory / "words" / "bm25s").exists()
    assert_same_results(SearchIndex.load(directory, IndexParams(), fingerprint="db:2", versions=VERSIONS),
                        library.scratch("scratch"))


def test_the_top_k_is_the_head_of_the_whole_ranking_with_ties_by_passage_id() -> None:
    """Asking for every passage prunes nothing; asking for k lets the search skip the context of passages that
    cannot reach the k best: the answers must agree, scores, shares and ties included."""
    _, index = grown_library()
    rng = np.random.default_rng(8)
    library = Library()
    for _ in range(150):  # many passages alike, contexts that differ: close calls decided by the context
        context = [str(w) for w in rng.choice(WORDS, int(rng.integers(0, 4)))]
        library.add((context, [[str(w) for w in rng.choice(WORDS[:4], int(rng.integers(1, 4)))] for _ in range(2)]))
    alike = library.scratch("db:1")
    for q in QUERIES:
        whole = alike.search(q, len(alike))
        for k in (1, 2, 3, 5, 10, 25):
            assert alike.search(q, k) == whole[:k], (q, k)
    for q in QUERIES:
        whole = index.search(q, len(index))
        assert [(-c.score, c.passage_id) for c in whole] == sorted((-c.score, c.passage_id) for c in whole)
        for k in (1, 3, 10):
            assert [c.passage_id for c in index.search(q, k)] == [c.passage_id for c in whole[:k]], (q, k)


def test_an_index_on_the_reference_engine_answers_as_the_fast_one() -> None:
    """engine = "rank-bm25" in the config: a search fuses words, bigrams and context as on bm25s."""
    library, _ = grown_library()
    passages = sorted((pid, doc_id, tokens(words)) for doc_id, (_, ps) in library.documents.items() for pid, words in ps)
    contexts = sorted((doc_id, context) for doc_id, (context, _) in library.documents.items())
    fast = library.scratch("db:1")
    reference = SearchIndex.build(passages, contexts, IndexParams(engine="rank-bm25"), fingerprint="db:1",
                                  versions=VERSIONS)
    for q in QUERIES:
        ours, theirs = reference.search(q, len(reference)), fast.search(q, len(fast))
        assert {c.passage_id for c in ours} == {c.passage_id for c in theirs}, q
        by_id = {c.passage_id: c.score for c in theirs}
        assert np.allclose([c.score for c in ours], [by_id[c.passage_id] for c in ours], rtol=1e-6), q


# Merging ---------------------------------------------------------------------------------------------------------


def test_a_merge_staged_then_saved_moves_its_segments_in_and_loads_as_merged(tmp_path: Path) -> None:
    library, index = grown_library()
    directory = tmp_path / "idx"
    index.save(directory)
    job = index.merge_job([[0, 1]], [[0, 1]])
    staging = SearchIndex.staging_folder(directory)
    done = job.run(staging)
    staged = {path.name for path in staging.glob("*/seg-*")}
    assert len(staged) == 3  # one merged segment per field, written before the commit
    merged = index.with_merged(done)
    assert [len(merged.words.segments()), len(merged.grams.segments()), len(merged.context.segments())] == [1, 1, 1]
    merged.save(directory, staging)
    assert not list(staging.glob("*/seg-*"))  # moved, not written again
    loaded = SearchIndex.load(directory, IndexParams(), fingerprint="db:2", versions=VERSIONS)
    assert {name for field in ("words", "grams", "context") for name, _ in getattr(loaded, field).segments()} == staged
    assert_same_results(loaded, library.scratch("scratch"))


@pytest.mark.parametrize("crash", ["while staging", "moving words in", "moving grams in", "manifest"])
def test_a_crash_during_a_merge_leaves_the_previous_index_and_its_leftovers_are_removed(
    crash: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library, index = grown_library()
    directory = tmp_path / "idx"
    index.save(directory)
    job = index.merge_job([[0, 1]], [[0, 1]])
    # A process that was killed: its staging folder is named after a process id nobody has.
    staging = directory / "merging" / "999999999-deadbeef"
    if crash == "while staging":
        monkeypatch.setattr(np, "save", crash_on_call(np.save, 7))  # the second merged segment's second array
        with pytest.raises(OSError, match="No space"):
            job.run(staging)
    else:
        merged = index.with_merged(job.run(staging))
        if crash == "manifest":
            monkeypatch.setattr(os, "replace", crash_on_call(os.replace, 2))  # after the documents file, the manifest
        else:
            monkeypatch.setattr(os, "rename", crash_on_call(os.rename, 1 if crash == "moving words in" else 2))
        with pytest.raises(OSError, match="No space"):
            merged.save(directory, staging)
    monkeypatch.undo()
    loaded = SearchIndex.load(directory, IndexParams(), fingerprint="db:2", versions=VERSIONS)
    assert_same_results(loaded, library.scratch("scratch"))
    assert [len(loaded.words.segments()), len(loaded.context.segments())] == [2, 2]  # the index before the merge
    running = SearchIndex.staging_folder(directory)  # this process's: a merge still under way
    (running / "words").mkdir(parents=True)
    loaded.save(directory)
    assert not staging.exists() and running.is_dir()
    names = {path.name for path in directory.rglob("*")}
    assert not any(".tmp-" in name for name in names)
    for field in ("words", "grams", "context"):
        assert {path.name for path in (directory / field).iterdir() if path.is_dir()} == {
            name for name, _ in getattr(loaded, field).segments()}


def test_an_index_whose_word_and_bigram_segments_differ_is_stale() -> None:
    """As saved before both fields were cut at the same passages: rebuilt, as a merge could not keep them aligned."""
    library, _ = grown_library()
    passages = sorted((pid, doc_id, tokens(words)) for doc_id, (_, ps) in library.documents.items() for pid, words in ps)
    ids = np.array([pid for pid, _, _ in passages])
    of = lambda segments: PassageIndex.of_segments(segments, IndexParams(), fingerprint="db:2", versions=VERSIONS)  # noqa: E731
    words = of([Segment.build(ids[:50], [t.words for _, _, t in passages[:50]]),
                Segment.build(ids[50:], [t.words for _, _, t in passages[50:]])])
    grams = of([Segment.build(ids, [t.grams for _, _, t in passages])])
    context = library.scratch("db:2").context
    documents = np.array([doc_id for _, doc_id, _ in passages])
    with pytest.raises(StaleIndex, match="different segments"):
        SearchIndex(words, grams, context, {name: documents[:50] if n == 0 else documents[50:]
                                            for n, (name, _) in enumerate(words.segments())})


def test_a_loaded_index_keeps_answering_after_a_later_save_removes_its_files(tmp_path: Path) -> None:
    """Segments are memory-mapped when loaded; another process's save may remove their files meanwhile."""
    library, index = grown_library()
    index.save(tmp_path / "idx")
    loaded = SearchIndex.load(tmp_path / "idx", IndexParams(), fingerprint="db:2", versions=VERSIONS)
    before = [loaded.search(q, 50) for q in QUERIES]
    old_files = {path for path in (tmp_path / "idx").rglob("seg-*") if path.is_dir()}
    index.merged().save(tmp_path / "idx")  # as another process would: new segments, the old ones removed
    assert not any(path.exists() for path in old_files)
    assert [loaded.search(q, 50) for q in QUERIES] == before
    assert_same_results(loaded, library.scratch("scratch"))
