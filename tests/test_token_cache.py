"""The token cache: a reindex segments only new text; a tokenizer change, a damaged or busy cache never fail it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

import rectbot.retrieval.token_cache as token_cache
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.text import normalize
from rectbot.retrieval.token_cache import TokenCache
from rectbot.retrieval.tokenizer import DOMAIN_WORDS, PassageTokens, Tokenizer
from tests.conftest import SEEDS

NEW_REPORT = (
    "某某县推行“红色夜校”整顿软弱涣散村党组织\n\n"
    "时间：2020-05-06 来源：测试日报\n\n"
    "某某县在软弱涣散村开办红色夜校，每周三晚上组织党员学习政策、讨论村务，半年来共办夜校四十二期。\n\n"
    "夜校由第一书记主讲，村两委成员轮流讲党课，群众也可以旁听。\n"
)


class CountingTokenizer:
    """A tokenizer that records every text it is asked to segment for the index (passages as normalised)."""

    def __init__(self, inner: Tokenizer) -> None:
        self._inner = inner
        self.passages: list[str] = []
        self.contexts: list[str] = []

    def passage_tokens(self, text: str) -> PassageTokens:
        self.passages.append(normalize(text))
        return self._inner.passage_tokens(text)

    def search_cut(self, normalized: str) -> list[str]:  # what cutting passages a batch at a time calls
        self.passages.append(normalized)
        return self._inner.search_cut(normalized)

    def tokens(self, text: str) -> list[str]:
        self.contexts.append(text)
        return self._inner.tokens(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


class FakeSegment:
    """Cuts text into characters and remembers what it cut."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts: Sequence[str]) -> list[tuple[list[str], list[str]]]:
        self.texts.extend(texts)
        return [(list(text), [text]) for text in texts]


async def search_texts(corpus: Corpus, question: str) -> list[str]:
    return [hit.text for hit in (await Searcher.over(corpus).search(question, k=5)).hits]


def cached_ids(path: Path, kind: str) -> set[int]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT id FROM tokens WHERE kind = ?", (kind,))}


def test_cached_lists_come_back_as_they_were_cut(tmp_path: Path, tokenizer: Tokenizer) -> None:
    paragraphs = [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text("utf-8").splitlines()]
    items = list(enumerate(paragraphs))
    fresh = [tokenizer.passage_tokens(text) for text in paragraphs]
    cut = lambda texts: [tokenizer.passage_tokens(text) for text in texts]  # noqa: E731
    assert TokenCache(tmp_path / "t.sqlite3", "v1").tokens("passage", items, cut) == fresh
    again = TokenCache(tmp_path / "t.sqlite3", "v1")
    assert again.tokens("passage", items, cut) == [tuple(tokens) for tokens in fresh]
    assert again.segmented == 0


def test_only_new_or_changed_texts_are_cut_and_removed_ids_are_dropped(tmp_path: Path) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁"), (3, "戊己")], segment)
    segment.texts.clear()
    got = TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (3, "戊己改"), (4, "庚辛")], segment)
    assert segment.texts == ["戊己改", "庚辛"]
    assert got == [(["甲", "乙"], ["甲乙"]), (["戊", "己", "改"], ["戊己改"]), (["庚", "辛"], ["庚辛"])]
    assert cached_ids(path, "passage") == {1, 3, 4}


def test_a_session_reads_batch_by_batch_as_tokens_reads_all_at_once(tmp_path: Path) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁"), (3, "戊己")], segment)
    segment.texts.clear()
    session = TokenCache(path, "v1").session("passage", segment)
    got = session.tokens([(1, "甲乙"), (3, "戊己改")]) + session.tokens([(4, "庚辛"), (5, "庚辛")])
    session.close()
    assert segment.texts == ["戊己改", "庚辛", "庚辛"]
    assert got == [(["甲", "乙"], ["甲乙"]), (["戊", "己", "改"], ["戊己改"]), (["庚", "辛"], ["庚辛"]),
                   (["庚", "辛"], ["庚辛"])]
    assert cached_ids(path, "passage") == {1, 3, 4, 5}
    segment.texts.clear()
    again = TokenCache(path, "v1").session("passage", segment)
    assert again.tokens([(5, "庚辛")]) + again.tokens([(4, "庚辛")]) == [(["庚", "辛"], ["庚辛"])] * 2
    assert segment.texts == []


def test_kinds_are_kept_apart(tmp_path: Path) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], segment)
    TokenCache(path, "v1").tokens("context", [(1, "丙丁")], segment)
    assert TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], segment) == [(["甲", "乙"], ["甲乙"])]
    assert segment.texts == ["甲乙", "丙丁"]


def test_another_tokenizer_version_cuts_everything_again(tmp_path: Path) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)
    segment.texts.clear()
    TokenCache(path, "v2").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)
    assert segment.texts == ["甲乙", "丙丁"]
    segment.texts.clear()
    TokenCache(path, "v2").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)
    assert segment.texts == []


def test_pipelined_batches_on_a_new_cache_stay_in_step_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch started before the last one finished: every write is in step with the file, never renumbered,
    and neither the whole vocabulary nor every row is read again for each batch (that made a reindex without a
    cache take twice as long at a million passages)."""
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    writes: list[bool] = []
    statements: list[str] = []
    write, connect = TokenCache._write, TokenCache._connect

    def recorded_write(self: TokenCache, *args: object, **kwargs: object) -> bool:
        writes.append(write(self, *args, **kwargs))
        return writes[-1]

    def traced_connect(self: TokenCache) -> sqlite3.Connection:
        db = connect(self)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(TokenCache, "_write", recorded_write)
    monkeypatch.setattr(TokenCache, "_connect", traced_connect)
    session = TokenCache(path, "v1").session("passage", segment)
    batches = [[(10 * b + i, f"{chr(0x4E00 + 10 * b + i)}{chr(0x4E80 + b)}") for i in range(3)] for b in range(6)]
    started = session.start(batches[0])
    got = []
    for batch in batches[1:]:
        following = session.start(batch)
        got += session.finish(started).lists()
        started = following
    got += session.finish(started).lists()
    session.close()
    assert got == [(list(text), [text]) for batch in batches for _, text in batch]
    assert writes == [True] * len(batches)
    whole_vocabulary = [s for s in statements if "FROM vocabulary ORDER BY id" in s]
    every_row = [s for s in statements if "lists FROM tokens WHERE kind" in s and "json_each" not in s]
    assert len(whole_vocabulary) <= 1 and every_row == []
    segment.texts.clear()
    again = TokenCache(path, "v1").session("passage", segment)
    assert [again.tokens(batch) for batch in batches] == [[(list(t), [t]) for _, t in batch] for batch in batches]
    assert segment.texts == []


def test_a_cache_of_the_first_layout_is_made_anew_and_keeps_working(tmp_path: Path) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    with sqlite3.connect(path) as db:  # as the first release wrote it: a WITHOUT ROWID table, format 1
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE vocabulary (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE);"
            "CREATE TABLE tokens (kind TEXT NOT NULL, id INTEGER NOT NULL, digest BLOB NOT NULL, lists BLOB NOT NULL,"
            " PRIMARY KEY (kind, id)) WITHOUT ROWID;"
            "INSERT INTO meta VALUES ('format', '1'), ('version', 'v1'), ('generation', 'old');"
        )
        db.executemany("INSERT INTO tokens VALUES ('passage', ?, x'00', ?)", ((i, bytes(1000)) for i in range(3000)))
    old_size = path.stat().st_size
    assert TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment) == [
        (["甲", "乙"], ["甲乙"]), (["丙", "丁"], ["丙丁"])]
    with sqlite3.connect(path) as db:
        (layout,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'tokens'").fetchone()
        (free_pages,) = db.execute("PRAGMA freelist_count").fetchone()
    assert "WITHOUT ROWID" not in layout.upper()
    # A new file, not the old one emptied: the old rows' 3 MB are given back, not kept as free pages.
    assert free_pages == 0 and path.stat().st_size < old_size / 10
    segment.texts.clear()
    assert TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)[1] == (["丙", "丁"], ["丙丁"])
    assert segment.texts == []  # read back from the new table, not cut again


@pytest.mark.parametrize("damage", [b"", b"garbage" * 100, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], segment)
    for leftover in tmp_path.glob("t.sqlite3-*"):
        leftover.unlink()
    path.write_bytes(damage)
    segment.texts.clear()
    assert TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], segment) == [(["甲", "乙"], ["甲乙"])]
    assert segment.texts == ["甲乙"]
    segment.texts.clear()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], segment)
    assert segment.texts == []  # rebuilt, so used again


def test_a_damaged_row_is_cut_again(tmp_path: Path) -> None:
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tokens SET lists = x'0200000009000000' WHERE id = 2")
    segment.texts.clear()
    got = TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)
    assert segment.texts == ["丙丁"] and got[1] == (["丙", "丁"], ["丙丁"])


def test_a_cache_held_by_another_writer_is_not_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_cache, "_BUSY_SECONDS", 0.1)
    path, segment = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], segment)
    with sqlite3.connect(path, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")
        got = TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "丙丁")], segment)
        other.execute("ROLLBACK")
    assert got == [(["甲", "乙"], ["甲乙"]), (["丙", "丁"], ["丙丁"])]
    assert cached_ids(path, "passage") == {1}  # not written, and not removed either


async def test_a_reindex_after_adding_a_document_segments_only_its_passages(corpus: Corpus, tmp_path: Path) -> None:
    counting = CountingTokenizer(corpus.tokenizer)
    corpus.tokenizer = counting  # type: ignore[assignment]
    before = {passage_id for passage_id, _, _ in await corpus.store.searchable_passages()}
    (tmp_path / "night-school.txt").write_text(NEW_REPORT, encoding="utf-8")
    await corpus.ingest([tmp_path / "night-school.txt"])
    new = sorted(text for passage_id, _, text in await corpus.store.searchable_passages() if passage_id not in before)
    assert new and sorted(counting.passages) == sorted(map(normalize, new))
    assert len(counting.contexts) == 1 and "红色夜校" in counting.contexts[0]
    assert await search_texts(corpus, "红色夜校")
    counting.passages.clear()
    await corpus.reindex()
    assert counting.passages == []


async def test_tokens_of_removed_passages_are_dropped(corpus: Corpus) -> None:
    documents = await corpus.store.documents()
    path = (await corpus.store.paths_of_documents([documents[0].id]))[documents[0].id]
    await corpus.remove([path], removed_by="test")
    remaining = {passage_id for passage_id, _, _ in await corpus.store.searchable_passages()}
    assert cached_ids(corpus.token_cache, "passage") == remaining
    assert cached_ids(corpus.token_cache, "context") == {doc_id for doc_id, _ in await corpus.store.document_contexts()}


async def test_a_tokenizer_change_segments_everything_again(seeded_dir: Path, tmp_path: Path) -> None:
    words = tmp_path / "domain_words.txt"
    words.write_text(DOMAIN_WORDS.read_text(encoding="utf-8") + "红色夜校 3000 n\n", encoding="utf-8")
    counting = CountingTokenizer(Tokenizer(domain_words=words))
    corpus = await Corpus.open(seeded_dir / "rectbot.sqlite3", seeds=SEEDS, tokenizer=counting)  # type: ignore[arg-type]
    try:
        passages = await corpus.store.searchable_passages()
        names = await corpus.store.file_names({doc_id for _, doc_id, _ in passages})
        indexed = [corpus.known_questions.indexed_text(names[doc_id], text) for _, doc_id, text in passages]
        assert sorted(counting.passages) == sorted(normalize(text) for text in indexed)
        assert await search_texts(corpus, "村官回归工程")
    finally:
        await corpus.close()


@pytest.mark.parametrize("damage", ["garbage", "missing"])
async def test_a_damaged_or_missing_cache_never_fails_a_reindex(corpus: Corpus, damage: str) -> None:
    before = await search_texts(corpus, "村官回归工程")
    for path in corpus.token_cache.parent.glob(corpus.token_cache.name + "*"):
        path.unlink()
    if damage == "garbage":
        corpus.token_cache.write_bytes(b"garbage" * 1000)
    counting = CountingTokenizer(corpus.tokenizer)
    corpus.tokenizer = counting  # type: ignore[assignment]
    await corpus.reindex()
    assert len(counting.passages) == len(corpus.index)
    assert await search_texts(corpus, "村官回归工程") == before
    counting.passages.clear()
    await corpus.reindex()
    assert counting.passages == []  # the cache was rebuilt


def test_lists_of_no_token_or_one_come_back_as_they_were_cut(tmp_path: Path) -> None:
    texts = {1: "", 2: "村", 3: "村 书记", 4: "书记"}
    cut = lambda batch: [(text.split(), text.split()[:1]) for text in batch]  # noqa: E731
    first = TokenCache(tmp_path / "t.sqlite3", "v1").tokens("passage", list(texts.items()), cut)
    again = TokenCache(tmp_path / "t.sqlite3", "v1")
    assert again.tokens("passage", list(texts.items()), cut) == first == [
        ([], []), (["村"], ["村"]), (["村", "书记"], ["村"]), (["书记"], ["书记"])
    ]
    assert again.segmented == 0


def test_rows_written_while_another_process_adds_tokens_stay_readable(tmp_path: Path) -> None:
    path, cut = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙")], cut)

    def cut_while_another_process_writes(texts: Sequence[str]) -> list[tuple[list[str], list[str]]]:
        # Between this session's read and its write, another process adds tokens at the ids it would take.
        TokenCache(path, "v1").store("passage", [(9, "丙戊")], [(["丙", "戊"], ["丙戊"])], [])
        return cut(texts)

    session = TokenCache(path, "v1").session("passage", cut_while_another_process_writes)
    assert session.tokens([(1, "甲乙"), (2, "丙丁")]) == [(["甲", "乙"], ["甲乙"]), (["丙", "丁"], ["丙丁"])]
    assert session.tokens([(3, "丁庚")]) == [(["丁", "庚"], ["丁庚"])]  # the session reads the moved vocabulary
    cut.texts.clear()
    every = [(1, "甲乙"), (2, "丙丁"), (3, "丁庚"), (9, "丙戊")]
    assert TokenCache(path, "v1").tokens("passage", every, cut) == [
        (["甲", "乙"], ["甲乙"]), (["丙", "丁"], ["丙丁"]), (["丁", "庚"], ["丁庚"]), (["丙", "戊"], ["丙戊"])
    ]
    assert cut.texts == []  # every row was found, none cut again


def test_a_session_gives_its_batch_in_one_piece_as_the_lists_were_cut(tmp_path: Path) -> None:
    path, cut = tmp_path / "t.sqlite3", FakeSegment()
    TokenCache(path, "v1").tokens("passage", [(1, "甲乙"), (2, "")], cut)
    session = TokenCache(path, "v1").session("passage", cut)
    batch = session.batch([(2, ""), (3, "乙丙"), (1, "甲乙")])
    assert (len(batch), batch.fields) == (3, 2)
    assert batch.lists() == [([], [""]), (["乙", "丙"], ["乙丙"]), (["甲", "乙"], ["甲乙"])]
    assert cut.texts[2:] == ["乙丙"]  # only the new text was cut


@pytest.mark.parametrize("kind", ["passage", "context"])
@pytest.mark.parametrize("row", [b"", b"\x00\x00\x00\x00", b"\x01\x00\x00\x00\x00\x00\x00\x00"], ids=["empty", "no lists", "one empty list"])
async def test_a_row_of_the_wrong_number_of_lists_never_fails_a_reindex(corpus: Corpus, kind: str, row: bytes) -> None:
    before = await search_texts(corpus, "村官回归工程")
    with sqlite3.connect(corpus.token_cache) as db:  # the first row read: it sets what a row should hold
        db.execute("UPDATE tokens SET lists = ? WHERE kind = ? AND id = (SELECT min(id) FROM tokens WHERE kind = ?)",
                   (row, kind, kind))
    await corpus.reindex()
    assert await search_texts(corpus, "村官回归工程") == before
