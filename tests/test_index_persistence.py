"""The index saved and loaded: identical results, params and versions recorded, every stale case refused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import rectbot.retrieval.index as index_module
from rectbot.retrieval.index import ENGINES, IndexParams, PassageIndex, StaleIndex
from tests.index_helpers import DOCS, VERSIONS, FINGERPRINT, build, load, segment_folder


@pytest.mark.parametrize("engine", ENGINES)
def test_save_then_load_gives_identical_results(
    engine: str, tmp_path: Path, built_indexes: dict[tuple[str, str], PassageIndex], synthetic_queries: list[list[str]]
) -> None:
    index = built_indexes[engine, "robertson"]
    index.save(tmp_path / "idx")
    loaded = load(tmp_path / "idx", index.params)
    assert len(loaded) == len(index)
    assert loaded.versions == index.versions and loaded.fingerprint == FINGERPRINT
    for query in synthetic_queries[:20]:
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


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (IndexParams(k1=1.5), "params differ: k1: 1.2 -> 1.5"),
        (IndexParams(b=0.5), "params differ: b: 0.75 -> 0.5"),
        (IndexParams(idf="robertson"), "params differ: idf: 'lucene' -> 'robertson'"),
        (IndexParams(engine="rank-bm25"), "params differ: engine: 'bm25s' -> 'rank-bm25'"),
    ],
)
def test_load_with_other_params_is_stale(saved_index: tuple[Path, PassageIndex], params: IndexParams, reason: str) -> None:
    with pytest.raises(StaleIndex, match=re.escape(reason)):
        load(saved_index[0], params)


def test_load_with_other_versions_is_stale(saved_index: tuple[Path, PassageIndex]) -> None:
    with pytest.raises(StaleIndex, match=re.escape("versions differ: tokenizer: 'jieba 0.42.1' -> 'jieba 0.43.0'")):
        load(saved_index[0], IndexParams(), versions={**VERSIONS, "tokenizer": "jieba 0.43.0"})
    with pytest.raises(StaleIndex, match="versions differ: synonyms: '<absent>' -> 'abc'"):
        load(saved_index[0], IndexParams(), versions={**VERSIONS, "synonyms": "abc"})


def test_load_after_an_engine_upgrade_is_stale(
    saved_index: tuple[Path, PassageIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_engine_version", lambda engine: f"{engine} 9.9.9")
    with pytest.raises(StaleIndex, match=r"versions differ: engine: 'bm25s tf-columns \d+' -> 'bm25s 9.9.9'"):
        load(saved_index[0], IndexParams())


def test_load_of_another_format_is_stale(saved_index: tuple[Path, PassageIndex], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "FORMAT_VERSION", "3")
    with pytest.raises(StaleIndex, match="index format differs: saved '2', now '3'"):
        load(saved_index[0], IndexParams())


def test_load_with_another_fingerprint_is_stale(saved_index: tuple[Path, PassageIndex]) -> None:
    with pytest.raises(StaleIndex, match="fingerprint differs: saved 'corpus-v1', now 'corpus-v2'"):
        load(saved_index[0], IndexParams(), fingerprint="corpus-v2")


def test_load_without_a_fingerprint_accepts_any_and_reports_it(saved_index: tuple[Path, PassageIndex]) -> None:
    assert load(saved_index[0], IndexParams(), fingerprint=None).fingerprint == FINGERPRINT


def test_load_of_a_missing_directory_is_stale(tmp_path: Path) -> None:
    with pytest.raises(StaleIndex, match=r"no index at .*params\.json is missing"):
        load(tmp_path / "nothing-here", IndexParams())


@pytest.mark.parametrize("content", ["{not json", '{"format": "2"}', "[]", ""])
def test_load_with_a_corrupt_params_json_is_stale(saved_index: tuple[Path, PassageIndex], content: str) -> None:
    (saved_index[0] / "params.json").write_text(content, encoding="utf-8")
    with pytest.raises(StaleIndex, match=r"unreadable"):
        load(saved_index[0], IndexParams())


@pytest.mark.parametrize("damage", ["truncate", "delete"])
@pytest.mark.parametrize("name", ["ids.npy", "rows.npy", "tf.npy", "indptr.npy", "blocks.npy", "vocabulary.json"])
def test_load_with_damaged_index_files_is_stale(saved_index: tuple[Path, PassageIndex], name: str, damage: str) -> None:
    path = segment_folder(saved_index[0]) / name
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(StaleIndex, match=r"unreadable index files|disagree"):
        load(saved_index[0], IndexParams())


@pytest.mark.parametrize("vocabulary", ['{"a": 1}', '["村", 7, "党员"]', '["村", null]'])
def test_load_with_a_vocabulary_not_of_tokens_is_stale(saved_index: tuple[Path, PassageIndex], vocabulary: str) -> None:
    (segment_folder(saved_index[0]) / "vocabulary.json").write_text(vocabulary, encoding="utf-8")
    with pytest.raises(StaleIndex, match=r"unreadable index files|disagree"):
        load(saved_index[0], IndexParams())


def test_load_with_a_missing_segment_or_removed_rows_file_is_stale(saved_index: tuple[Path, PassageIndex]) -> None:
    directory, index = saved_index
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


def test_saving_over_an_index_replaces_it(saved_index: tuple[Path, PassageIndex]) -> None:
    directory, _ = saved_index
    newer = PassageIndex.build(
        [10, 11], [["村", "集体"], ["党支部"]], IndexParams(), fingerprint="corpus-v2", versions=VERSIONS
    )
    newer.save(directory)
    loaded = load(directory, IndexParams(), fingerprint="corpus-v2")
    assert len(loaded) == 2
    assert [hit.passage_id for hit in loaded.search(["村"], 10)] == [10]
    assert sorted(p.name for p in directory.parent.iterdir()) == ["idx"]
    assert len([path for path in directory.iterdir() if path.is_dir()]) == 1  # the old segment is gone



def test_saving_after_a_change_writes_only_the_new_segment(saved_index: tuple[Path, PassageIndex]) -> None:
    directory, index = saved_index
    [(base, _)] = index.segments()
    before = {path: path.stat().st_mtime_ns for path in (directory / base).iterdir()}
    grown = index.updated([100], [["新", "文章"]], [], fingerprint="corpus-v2")
    grown.save(directory)
    assert {path: path.stat().st_mtime_ns for path in (directory / base).iterdir()} == before
    assert [name for name, _ in grown.segments()][0] == base and len(grown.segments()) == 2
