"""Shared fixtures: one tokenizer and a warm jieba cache per session, a seeded database built once and copied per
test."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
from types import ModuleType
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectbot.bot.chatlog import ChatLog
from rectbot.retrieval.index import ENGINES, IDF_METHODS, IndexParams, PassageIndex
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.tokenizer import Tokenizer
from tests.index_helpers import CORPUS_SIZE, DOCS, FINGERPRINT, VERSIONS, build, make_queries, pseudo_chinese_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev_questions.json"
DEV_QUESTIONS = SHARED_EVAL if SHARED_EVAL.exists() else ROOT / "tests" / "data" / "dev_questions.json"


def benchmark_script(name: str) -> ModuleType:
    """benchmarks/<name>.py loaded as a module, importing its neighbours as `python benchmarks/<name>.py` does."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """jieba with the domain dictionary, initialised once for the whole run; its cache_dir is left warm."""
    tokenizer = Tokenizer(cache_dir=tmp_path_factory.mktemp("jieba"))
    tokenizer.warm_up()  # keeps the pinyin of the repair vocabulary beside the dictionary frequencies
    return tokenizer


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, tokenizer: Tokenizer) -> Path:
    """A folder holding a database (and its index) with the five seeds ingested, and the warm jieba cache where
    `rectbot` looks for it, so a CLI run or a `rectbot serve` process on a copy starts as on a second start."""
    folder = tmp_path_factory.mktemp("seeded")
    assert tokenizer.cache_dir is not None
    shutil.copytree(tokenizer.cache_dir, folder / "rectbot.jieba-cache")  # Corpus.open's place for it

    async def build() -> None:
        corpus = await Corpus.open(folder / "rectbot.sqlite3", seeds=SEEDS, tokenizer=tokenizer)
        await corpus.close()

    asyncio.run(build())
    return folder


@pytest.fixture
def seeded_dir(seeded_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded database folder."""
    target = tmp_path / "data"
    shutil.copytree(seeded_template, target)
    return target


@pytest.fixture
async def corpus(seeded_dir: Path, tokenizer: Tokenizer) -> AsyncIterator[Corpus]:
    """The seed corpus, opened from a private copy of the database."""
    corpus = await Corpus.open(seeded_dir / "rectbot.sqlite3", seeds=SEEDS, tokenizer=tokenizer)
    yield corpus
    await corpus.close()


@pytest.fixture
async def empty_corpus(tmp_path: Path, tokenizer: Tokenizer) -> AsyncIterator[Corpus]:
    """A corpus with no documents (no seeds)."""
    corpus = await Corpus.open(tmp_path / "empty" / "rectbot.sqlite3", tokenizer=tokenizer)
    yield corpus
    await corpus.close()


@pytest.fixture
async def chatlog(corpus: Corpus) -> ChatLog:
    """The chat log kept in the seed corpus's database."""
    return await ChatLog.open(corpus.store.database)


@pytest.fixture
def searcher(corpus: Corpus) -> Searcher:
    """A searcher over the seed corpus with default parameters."""
    return Searcher.over(corpus)


# The index tests' synthetic corpus (tests/index_helpers.py), built_indexes once per module that asks for it.


@pytest.fixture(scope="module")
def synthetic() -> tuple[list[int], list[list[str]], list[str]]:
    """Shuffled ids, passages of Zipf-distributed pseudo-Chinese words, and the vocabulary (seeded)."""
    return pseudo_chinese_corpus(CORPUS_SIZE, vocabulary=2500, seed=7)


@pytest.fixture(scope="module")
def synthetic_queries(synthetic: tuple[list[int], list[list[str]], list[str]]) -> list[list[str]]:
    """Queries over the synthetic vocabulary: common, rare, unknown and repeated words."""
    return make_queries(synthetic[2], 80, seed=11)


@pytest.fixture(scope="module")
def built_indexes(synthetic: tuple[list[int], list[list[str]], list[str]]) -> dict[tuple[str, str], PassageIndex]:
    """The synthetic corpus indexed by every engine with every idf variant."""
    ids, docs, _ = synthetic
    return {
        (engine, idf): PassageIndex.build(
            ids, docs, IndexParams(engine=engine, idf=idf), fingerprint=FINGERPRINT, versions=VERSIONS
        )
        for engine in ENGINES
        for idf in IDF_METHODS
    }


@pytest.fixture
def saved_index(tmp_path: Path) -> tuple[Path, PassageIndex]:
    """The small DOCS index saved in a temporary folder, and the index itself."""
    index = build(DOCS)
    index.save(tmp_path / "idx")
    return tmp_path / "idx", index
