"""Tests for retrieval.index: equivalence of the two engines, search behaviour, persistence, growth."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rank_bm25
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rectbot.retrieval.index as index_module
from rectbot.retrieval.index import ENGINES, IDF_METHODS, IndexParams, PassageIndex, ScoredPassage, StaleIndex

VERSIONS = {"tokenizer": "jieba 0.42.1", "dictionary": "sha256:0123"}
FINGERPRINT = "corpus-v1"
CORPUS_SIZE = 3000


def pseudo_chinese_corpus(passages: int, vocabulary: int, seed: int) -> tuple[list[int], list[list[str]], list[str]]:
    """Return shuffled passage ids, passages of Zipf-distributed pseudo-Chinese words, and the vocabulary."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < vocabulary:
        length = int(rng.integers(1, 4))
        words.setdefault("".join(chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=length)), None)
    vocab = list(words)
    weights = 1.0 / (np.arange(1, vocabulary + 1) + 2.7)
    lengths = rng.integers(15, 90, size=passages)
    drawn = rng.choice(vocabulary, size=int(lengths.sum()), p=weights / weights.sum()).tolist()
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    docs = [[vocab[w] for w in drawn[bounds[i] : bounds[i + 1]]] for i in range(passages)]
    # Exact duplicates under other ids make real ties, which must be cut the same way by both engines.
    for i in range(0, passages, 97):
        docs[(i * 31 + 5) % passages] = list(docs[i])
    ids = (rng.permutation(passages) * 3 + 1000).tolist()
    return ids, docs, vocab


def make_queries(vocab: list[str], count: int, seed: int) -> list[list[str]]:
    """Return queries mixing common, mid-frequency and rare words, some with unknown and repeated words."""
    rng = np.random.default_rng(seed)
    queries = []
    for n in range(count):
        query = [vocab[i] for i in rng.integers(0, 8, size=rng.integers(0, 3))]
        ranks = np.exp(rng.uniform(np.log(8), np.log(len(vocab)), size=rng.integers(1, 6))).astype(int)
        query += [vocab[i] for i in ranks]
        if n % 5 == 0:
            query.append("不在词表")
        if n % 7 == 0:
            query.append(query[0])
        queries.append(query)
    return queries


@pytest.fixture(scope="module")
def corpus() -> tuple[list[int], list[list[str]], list[str]]:
    return pseudo_chinese_corpus(CORPUS_SIZE, vocabulary=2500, seed=7)


@pytest.fixture(scope="module")
def queries(corpus: tuple[list[int], list[list[str]], list[str]]) -> list[list[str]]:
    return make_queries(corpus[2], 80, seed=11)


@pytest.fixture(scope="module")
def built(corpus: tuple[list[int], list[list[str]], list[str]]) -> dict[tuple[str, str], PassageIndex]:
    ids, docs, _ = corpus
    return {
        (engine, idf): PassageIndex.build(
            ids, docs, IndexParams(engine=engine, idf=idf), fingerprint=FINGERPRINT, versions=VERSIONS
        )
        for engine in ENGINES
        for idf in IDF_METHODS
    }


def all_scores(index: PassageIndex, query: list[str]) -> dict[int, float]:
    """Every passage with a positive score, as id -> score."""
    return {hit.passage_id: hit.score for hit in index.search(query, k=len(index))}


def dense_scores(index: PassageIndex, query: list[str], ids: list[int]) -> np.ndarray:
    """One score per passage, in the order of ids, zero where search returned nothing."""
    scores = all_scores(index, query)
    return np.array([scores.get(pid, 0.0) for pid in ids])


def build(
    docs: list[list[str]], engine: str = "bm25s", idf: str = "lucene", ids: list[int] | None = None
) -> PassageIndex:
    """Build a small index with the test versions and fingerprint."""
    ids = list(range(len(docs))) if ids is None else ids
    params = IndexParams(engine=engine, idf=idf)
    return PassageIndex.build(ids, docs, params, fingerprint=FINGERPRINT, versions=VERSIONS)


# Equivalence ---------------------------------------------------------------------------------------------------


def test_corpus_has_words_in_over_half_the_passages(
    built: dict[tuple[str, str], PassageIndex], corpus: tuple[list[int], list[list[str]], list[str]]
) -> None:
    index = built["bm25s", "lucene"]
    common = [word for word in corpus[2][:20] if index.document_frequency(word) > len(index) / 2]
    assert len(common) >= 3


@pytest.mark.parametrize("idf", IDF_METHODS)
def test_bm25s_and_rank_bm25_give_the_same_scores_and_top_10(
    idf: str, built: dict[tuple[str, str], PassageIndex], queries: list[list[str]]
) -> None:
    fast, reference = built["bm25s", idf], built["rank-bm25", idf]
    for query in queries:
        fast_scores, reference_scores = all_scores(fast, query), all_scores(reference, query)
        assert fast_scores.keys() == reference_scores.keys(), query
        ids = sorted(fast_scores)
        assert np.allclose([fast_scores[i] for i in ids], [reference_scores[i] for i in ids], rtol=1e-4, atol=0)
        top_fast = [hit.passage_id for hit in fast.search(query, 10)]
        top_reference = [hit.passage_id for hit in reference.search(query, 10)]
        assert top_fast == top_reference, (query, fast.search(query, 10), reference.search(query, 10))


@pytest.mark.parametrize("engine", ENGINES)
def test_robertson_matches_rank_bm25_okapi_with_epsilon_0(
    engine: str,
    built: dict[tuple[str, str], PassageIndex],
    corpus: tuple[list[int], list[list[str]], list[str]],
    queries: list[list[str]],
) -> None:
    ids, docs, _ = corpus
    okapi = rank_bm25.BM25Okapi(docs, k1=IndexParams().k1, b=0.75, epsilon=0)
    index = built[engine, "robertson"]
    for query in queries:
        expected = okapi.get_scores(query)
        assert np.allclose(dense_scores(index, query, ids), expected, rtol=1e-4, atol=1e-6), query
        expected_top = sorted((i for i in range(len(ids)) if expected[i] > 0), key=lambda i: (-expected[i], ids[i]))
        assert [hit.passage_id for hit in index.search(query, 10)] == [ids[i] for i in expected_top[:10]]


def test_rank_bm25_default_epsilon_does_not_match(
    built: dict[tuple[str, str], PassageIndex],
    corpus: tuple[list[int], list[list[str]], list[str]],
    queries: list[list[str]],
) -> None:
    """BM25Okapi's default epsilon=0.25 gives words in over half the passages 0.25 x the mean idf, not ~0."""
    ids, docs, vocab = corpus
    default = rank_bm25.BM25Okapi(docs)
    index = built["bm25s", "robertson"]
    common = vocab[0]
    assert index.document_frequency(common) > len(index) / 2
    assert index.idf(common) == 0.0
    assert built["bm25s", "lucene"].idf(common) < np.log(2)
    assert default.idf[common] == pytest.approx(0.25 * default.average_idf)
    assert default.idf[common] > 1.0

    with_common = [query for query in queries if common in query]
    assert with_common
    reranked = 0
    for query in with_common:
        expected = default.get_scores(query)
        assert not np.allclose(dense_scores(index, query, ids), expected, rtol=1e-4, atol=1e-6)
        expected_top = sorted(range(len(ids)), key=lambda i: (-expected[i], ids[i]))[:10]
        reranked += [hit.passage_id for hit in index.search(query, 10)] != [ids[i] for i in expected_top]
    assert reranked > 0, "the epsilon floor should change some top-10 rankings"


@pytest.mark.parametrize("engine", ENGINES)
def test_document_frequency_and_idf_follow_the_formulas(
    engine: str, built: dict[tuple[str, str], PassageIndex], corpus: tuple[list[int], list[list[str]], list[str]]
) -> None:
    _, docs, vocab = corpus
    n = len(docs)
    for word in vocab[:5] + vocab[100:105] + vocab[-5:]:
        df = sum(word in doc for doc in docs)
        assert built[engine, "lucene"].document_frequency(word) == df
        if df == 0:
            continue
        assert built[engine, "lucene"].idf(word) == pytest.approx(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        assert built[engine, "robertson"].idf(word) == pytest.approx(max(0.0, np.log((n - df + 0.5) / (df + 0.5))))
        assert built[engine, "atire"].idf(word) == pytest.approx(np.log(n / df))
    assert built[engine, "lucene"].document_frequency("不在词表") == 0
    assert built[engine, "lucene"].idf("不在词表") == 0.0


# Search behaviour ----------------------------------------------------------------------------------------------

DOCS = [
    ["党支部", "整顿", "软弱", "涣散"],
    ["党支部", "书记", "选配"],
    ["村", "党支部", "整顿", "整顿"],
    ["党支部", "组织", "生活"],
    ["村", "集体", "经济"],
]


@pytest.mark.parametrize("engine", ENGINES)
def test_unknown_tokens_are_ignored(engine: str) -> None:
    index = build(DOCS, engine)
    assert index.search(["整顿", "不存在", "也没有"], 10) == index.search(["整顿"], 10)
    assert [hit.passage_id for hit in index.search(["整顿"], 10)] == [2, 0]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("query", [[], ["不存在"], ["", "不存在"]])
def test_empty_or_unknown_query_returns_nothing(engine: str, query: list[str]) -> None:
    assert build(DOCS, engine).search(query, 10) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_only_positive_scores_are_returned(engine: str) -> None:
    index = build(DOCS, engine, idf="robertson")
    # In four of five passages, so its robertson idf is floored at 0: it matches but scores nothing.
    assert index.idf("党支部") == 0.0
    assert index.search(["党支部"], 10) == []
    hits = index.search(["党支部", "村"], 10)
    assert [hit.passage_id for hit in hits] == [4, 2]
    assert all(hit.score > 0 for hit in hits)


@pytest.mark.parametrize("engine", ENGINES)
def test_ties_are_broken_by_ascending_passage_id(engine: str) -> None:
    docs = [["整顿", "党支部"]] * 6 + [["整顿", "整顿", "党支部"], ["村"]]
    ids = [50, 7, 33, 8, 21, 2, 99, 1]
    index = build(docs, engine, ids=ids)
    hits = index.search(["整顿"], 10)
    assert [hit.passage_id for hit in hits] == [99, 2, 7, 8, 21, 33, 50]
    assert len({hit.score for hit in hits[1:]}) == 1
    # k cutting through the tied group keeps the lowest ids, whatever the build order.
    assert [hit.passage_id for hit in index.search(["整顿"], 3)] == [99, 2, 7]
    assert index.search(["整顿"], 3) == index.search(["整顿"], 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_k_larger_than_the_corpus_returns_every_match(engine: str) -> None:
    index = build(DOCS, engine)
    hits = index.search(["党支部", "村"], 1000)
    assert sorted(hit.passage_id for hit in hits) == [0, 1, 2, 3, 4]
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert index.search(["党支部"], 0) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_a_repeated_query_token_counts_each_time(engine: str) -> None:
    index = build(DOCS, engine)
    once, twice = index.search(["书记"], 10), index.search(["书记", "书记"], 10)
    assert [hit.passage_id for hit in once] == [hit.passage_id for hit in twice] == [1]
    assert twice[0].score == pytest.approx(2 * once[0].score)


def test_hits_unpack_as_id_and_score() -> None:
    [hit] = build(DOCS).search(["书记"], 10)
    passage_id, score = hit
    assert isinstance(hit, ScoredPassage)
    assert (passage_id, score) == (hit.passage_id, hit.score)
    assert passage_id == 1 and score > 0
    assert type(passage_id) is int and type(score) is float


def test_bad_arguments_are_refused() -> None:
    index = build(DOCS)
    with pytest.raises(ValueError, match="k must be"):
        index.search(["村"], -1)
    with pytest.raises(TypeError, match="list of str"):
        index.search("村", 10)
    with pytest.raises(ValueError, match="2 passage ids for 3"):
        PassageIndex.build([1, 2], [["a"]] * 3, IndexParams(), fingerprint="f", versions={})
    with pytest.raises(ValueError, match="unique"):
        PassageIndex.build([1, 1], [["a"], ["b"]], IndexParams(), fingerprint="f", versions={})
    with pytest.raises(ValueError, match="empty string"):
        PassageIndex.build([1], [["a", ""]], IndexParams(), fingerprint="f", versions={})
    with pytest.raises(TypeError, match="not a str"):
        PassageIndex.build([1], ["党支部整顿"], IndexParams(), fingerprint="f", versions={})
    with pytest.raises(ValueError, match="keys the index sets"):
        PassageIndex.build([1], [["a"]], IndexParams(), fingerprint="f", versions={"engine": "mine"})
    with pytest.raises(ValueError, match="engine must be"):
        IndexParams(engine="whoosh")
    with pytest.raises(ValueError, match="idf must be"):
        IndexParams(idf="bm25l")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("docs", [[], [[], []]], ids=["no passages", "no tokens"])
def test_an_index_without_tokens_finds_nothing_and_persists(engine: str, docs: list[list[str]], tmp_path: Path) -> None:
    index = build(docs, engine)
    assert len(index) == len(docs)
    assert index.search(["村"], 10) == []
    assert index.document_frequency("村") == 0 and index.idf("村") == 0.0
    index.save(tmp_path / "idx")
    loaded = PassageIndex.load(tmp_path / "idx", index.params, fingerprint=FINGERPRINT, versions=VERSIONS)
    assert len(loaded) == len(docs)
    assert loaded.search(["村"], 10) == []


# Persistence ---------------------------------------------------------------------------------------------------


def load(directory: Path, params: IndexParams, **changes: object) -> PassageIndex:
    """Load with the test fingerprint and versions unless changed."""
    arguments: dict[str, object] = {"fingerprint": FINGERPRINT, "versions": VERSIONS, **changes}
    return PassageIndex.load(directory, params, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
def test_save_then_load_gives_identical_results(
    engine: str, tmp_path: Path, built: dict[tuple[str, str], PassageIndex], queries: list[list[str]]
) -> None:
    index = built[engine, "robertson"]
    index.save(tmp_path / "idx")
    loaded = load(tmp_path / "idx", index.params)
    assert len(loaded) == len(index)
    assert loaded.versions == index.versions and loaded.fingerprint == FINGERPRINT
    for query in queries[:20]:
        assert loaded.search(query, len(index)) == index.search(query, len(index))
        assert all(loaded.idf(word) == index.idf(word) for word in query)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_saved_params_json_records_params_versions_and_fingerprint(tmp_path: Path) -> None:
    build(DOCS).save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / "params.json").read_text(encoding="utf-8"))
    assert manifest["params"] == {"engine": "bm25s", "k1": 1.2, "b": 0.75, "idf": "lucene"}
    assert manifest["versions"]["tokenizer"] == "jieba 0.42.1"
    assert manifest["versions"]["engine"].startswith("bm25s ")
    assert manifest["versions"]["index_format"] == index_module.FORMAT_VERSION
    assert manifest["fingerprint"] == FINGERPRINT and manifest["passages"] == len(DOCS)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, PassageIndex]:
    index = build(DOCS)
    index.save(tmp_path / "idx")
    return tmp_path / "idx", index


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (IndexParams(k1=1.5), "params differ: k1: 1.2 -> 1.5"),
        (IndexParams(b=0.5), "params differ: b: 0.75 -> 0.5"),
        (IndexParams(idf="robertson"), "params differ: idf: 'lucene' -> 'robertson'"),
        (IndexParams(engine="rank-bm25"), "params differ: engine: 'bm25s' -> 'rank-bm25'"),
    ],
)
def test_load_with_other_params_is_stale(saved: tuple[Path, PassageIndex], params: IndexParams, reason: str) -> None:
    with pytest.raises(StaleIndex, match=re.escape(reason)):
        load(saved[0], params)


def test_load_with_other_versions_is_stale(saved: tuple[Path, PassageIndex]) -> None:
    with pytest.raises(StaleIndex, match=re.escape("versions differ: tokenizer: 'jieba 0.42.1' -> 'jieba 0.43.0'")):
        load(saved[0], IndexParams(), versions={**VERSIONS, "tokenizer": "jieba 0.43.0"})
    with pytest.raises(StaleIndex, match="versions differ: synonyms: '<absent>' -> 'abc'"):
        load(saved[0], IndexParams(), versions={**VERSIONS, "synonyms": "abc"})


def test_load_after_an_engine_upgrade_is_stale(
    saved: tuple[Path, PassageIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_engine_version", lambda engine: f"{engine} 9.9.9")
    with pytest.raises(StaleIndex, match=r"versions differ: engine: 'bm25s tf-columns \d+' -> 'bm25s 9.9.9'"):
        load(saved[0], IndexParams())


def test_load_of_another_format_is_stale(saved: tuple[Path, PassageIndex], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "FORMAT_VERSION", "3")
    with pytest.raises(StaleIndex, match="index format differs: saved '2', now '3'"):
        load(saved[0], IndexParams())


def test_load_with_another_fingerprint_is_stale(saved: tuple[Path, PassageIndex]) -> None:
    with pytest.raises(StaleIndex, match="fingerprint differs: saved 'corpus-v1', now 'corpus-v2'"):
        load(saved[0], IndexParams(), fingerprint="corpus-v2")


def test_load_without_a_fingerprint_accepts_any_and_reports_it(saved: tuple[Path, PassageIndex]) -> None:
    assert load(saved[0], IndexParams(), fingerprint=None).fingerprint == FINGERPRINT


def test_load_of_a_missing_directory_is_stale(tmp_path: Path) -> None:
    with pytest.raises(StaleIndex, match=r"no index at .*params\.json is missing"):
        load(tmp_path / "nothing-here", IndexParams())


@pytest.mark.parametrize("content", ["{not json", '{"format": "2"}', "[]", ""])
def test_load_with_a_corrupt_params_json_is_stale(saved: tuple[Path, PassageIndex], content: str) -> None:
    (saved[0] / "params.json").write_text(content, encoding="utf-8")
    with pytest.raises(StaleIndex, match=r"unreadable"):
        load(saved[0], IndexParams())


def segment_folder(directory: Path) -> Path:
    [folder] = [path for path in directory.iterdir() if path.is_dir()]
    return folder


@pytest.mark.parametrize("damage", ["truncate", "delete"])
@pytest.mark.parametrize("name", ["ids.npy", "rows.npy", "tf.npy", "indptr.npy", "vocabulary.json"])
def test_load_with_damaged_index_files_is_stale(saved: tuple[Path, PassageIndex], name: str, damage: str) -> None:
    path = segment_folder(saved[0]) / name
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(StaleIndex, match=r"unreadable index files|disagree"):
        load(saved[0], IndexParams())


def test_load_with_a_missing_segment_or_removed_rows_file_is_stale(saved: tuple[Path, PassageIndex]) -> None:
    directory, index = saved
    shrunk = index.updated([], [], [2], fingerprint="corpus-v2")
    shrunk.save(directory)
    [dead_file] = directory.glob("*.dead-1.npy")
    dead_file.unlink()
    with pytest.raises(StaleIndex, match="unreadable index files"):
        load(directory, IndexParams(), fingerprint="corpus-v2")
    shutil.rmtree(segment_folder(directory))
    with pytest.raises(StaleIndex, match="unreadable index files"):
        load(directory, IndexParams(), fingerprint="corpus-v2")


def test_rank_bm25_saves_and_loads_the_same_segments(tmp_path: Path) -> None:
    index = build(DOCS, "rank-bm25")
    index.save(tmp_path / "idx")
    loaded = load(tmp_path / "idx", IndexParams(engine="rank-bm25"))
    assert loaded.search(["整顿", "村"], 10) == index.search(["整顿", "村"], 10)


def test_saving_over_an_index_replaces_it(saved: tuple[Path, PassageIndex]) -> None:
    directory, _ = saved
    newer = PassageIndex.build(
        [10, 11], [["村", "集体"], ["党支部"]], IndexParams(), fingerprint="corpus-v2", versions=VERSIONS
    )
    newer.save(directory)
    loaded = load(directory, IndexParams(), fingerprint="corpus-v2")
    assert len(loaded) == 2
    assert [hit.passage_id for hit in loaded.search(["村"], 10)] == [10]
    assert sorted(p.name for p in directory.parent.iterdir()) == ["idx"]
    assert len([path for path in directory.iterdir() if path.is_dir()]) == 1  # the old segment is gone


def assert_previous_index_intact(directory: Path, previous: PassageIndex) -> None:
    """The index at directory is the one saved before; the next save removes what the crash left."""
    loaded = load(directory, previous.params, fingerprint=previous.fingerprint)
    assert len(loaded) == len(previous)
    for query in (["整顿"], ["党支部", "村"], ["书记", "选配"], ["新", "文章"]):
        assert loaded.search(query, 10) == previous.search(query, 10)
    previous.save(directory)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["params.json", *(name for name, _ in previous.segments()), *(p.name for p in directory.glob("*.dead-*"))]
    )


def crash_on_call(original: Callable[..., object], call: int) -> Callable[..., object]:
    """Wrap original so that its `call`-th call raises, as a full disk or a kill would stop it."""
    calls = 0

    def wrapper(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == call:
            raise OSError(28, "No space left on device")
        return original(*args, **kwargs)

    return wrapper


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


def test_saving_after_a_change_writes_only_the_new_segment(saved: tuple[Path, PassageIndex]) -> None:
    directory, index = saved
    [(base, _)] = index.segments()
    before = {path: path.stat().st_mtime_ns for path in (directory / base).iterdir()}
    grown = index.updated([100], [["新", "文章"]], [], fingerprint="corpus-v2")
    grown.save(directory)
    assert {path: path.stat().st_mtime_ns for path in (directory / base).iterdir()} == before
    assert [name for name, _ in grown.segments()][0] == base and len(grown.segments()) == 2


def test_leftovers_of_a_killed_save_are_ignored_then_removed(saved: tuple[Path, PassageIndex]) -> None:
    directory, previous = saved
    leftover = directory / ".seg-killed.tmp-1234"
    leftover.mkdir()
    (leftover / "ids.npy").write_bytes(b"half")
    orphan = directory / "seg-never-committed"
    orphan.mkdir()
    assert load(directory, IndexParams()).search(["整顿"], 10) == previous.search(["整顿"], 10)
    previous.save(directory)
    assert not leftover.exists() and not orphan.exists()
    assert sorted(p.name for p in directory.parent.iterdir()) == ["idx"]


# Growing and shrinking --------------------------------------------------------------------------------------


def assert_same_ranking(grown: PassageIndex, live: dict[int, list[str]], queries: list[list[str]]) -> None:
    """grown scores every passage as rank-bm25 built from scratch over the live passages does."""
    ids = sorted(live)
    params = IndexParams(engine="rank-bm25", idf=grown.params.idf)
    reference = PassageIndex.build(ids, [live[i] for i in ids], params, fingerprint="scratch", versions=VERSIONS)
    assert len(grown) == len(live)
    for query in queries:
        ours, theirs = all_scores(grown, query), all_scores(reference, query)
        assert ours.keys() == theirs.keys(), query
        ids = sorted(ours)
        assert np.allclose([ours[i] for i in ids], [theirs[i] for i in ids], rtol=1e-6, atol=0), query
        # The same top 10 up to the order among scores equal but for rounding (atire gives many exact ties).
        ours_top = [theirs[hit.passage_id] for hit in grown.search(query, 10)]
        theirs_top = [theirs[hit.passage_id] for hit in reference.search(query, 10)]
        assert np.allclose(ours_top, theirs_top, rtol=1e-6, atol=1e-12), query
    for word in {word for query in queries for word in query}:
        assert grown.document_frequency(word) == sum(word in doc for doc in live.values())
    assert set(grown.vocabulary()) == {word for doc in live.values() for word in doc}


WORDS = ["党支部", "整顿", "软弱", "涣散", "书记", "村", "集体", "经济", "组织", "生活", "选配", "夜校"]
docs_strategy = st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12), min_size=0, max_size=6)
step_strategy = st.tuples(docs_strategy, st.lists(st.integers(0, 10**6), max_size=4))


@pytest.mark.parametrize("idf", IDF_METHODS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=docs_strategy, steps=st.lists(step_strategy, min_size=1, max_size=8))
def test_any_sequence_of_adds_and_removes_ranks_as_a_build_from_scratch(
    idf: str, initial: list[list[str]], steps: list[tuple[list[list[str]], list[int]]]
) -> None:
    queries = [[w] for w in WORDS] + [["党支部", "整顿"], ["村", "村", "夜校"], ["经济", "不在词表"]]
    index = build(initial, idf=idf)
    live = dict(enumerate(initial))
    next_id = len(initial)
    for added, picks in steps:
        ids = list(range(next_id, next_id + len(added)))
        next_id += len(added)
        removable = sorted(live)
        removed = sorted({removable[p % len(removable)] for p in picks}) if removable else []
        index = index.updated(ids, added, removed, fingerprint=f"v{next_id}")
        for passage_id in removed:
            del live[passage_id]
        live.update(zip(ids, added, strict=True))
        assert_same_ranking(index, live, queries)


def test_a_larger_corpus_grown_in_batches_ranks_as_built_from_scratch(
    corpus: tuple[list[int], list[list[str]], list[str]], queries: list[list[str]]
) -> None:
    ids, docs, _ = corpus
    rng = np.random.default_rng(3)
    index = build(docs[:1000], ids=ids[:1000])
    live = dict(zip(ids[:1000], docs[:1000], strict=True))
    position = 1000
    while position < len(ids):
        size = int(rng.integers(1, 200))
        batch = list(zip(ids[position : position + size], docs[position : position + size], strict=True))
        position += size
        removed = rng.choice(sorted(live), size=int(rng.integers(0, 60)), replace=False).tolist()
        index = index.updated([i for i, _ in batch], [d for _, d in batch], removed, fingerprint="f")
        for passage_id in removed:
            del live[passage_id]
        live.update(batch)
    assert len(index.segments()) <= 2 + int(np.log2(len(live)))  # merges keep few segments
    assert_same_ranking(index, live, queries[:30])
    assert_same_ranking(index.merged(), live, queries[:30])


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
    built: list[int] = []
    original = index_module.Segment.build.__func__

    def counting(cls: type, segment_ids: np.ndarray, segment_docs: list[list[str]]) -> object:
        built.append(len(segment_docs))
        return original(cls, segment_ids, segment_docs)

    monkeypatch.setattr(index_module.Segment, "build", classmethod(counting))
    merges: list[int] = []
    original_merge = index_module.Segment.merge.__func__
    monkeypatch.setattr(index_module.Segment, "merge", classmethod(
        lambda cls, parts: merges.append(sum(len(s) for s, _ in parts)) or original_merge(cls, parts)))
    grown = index.updated([10**6], [["夜校", "整顿"]], ids[:3], fingerprint="f")
    assert built == [1] and merges == []
    assert [hit.passage_id for hit in grown.search(["夜校"], 10)] == [10**6]
