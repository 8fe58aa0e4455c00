"""Questions indexed with the passages answering them: found through them, never shown, rebuilt when they change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rectbot.retrieval.backend import FieldWeights
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.known_questions import (
    NO_KNOWN_QUESTIONS,
    KnownQuestion,
    KnownQuestions,
    bundled_known_questions,
)
from rectbot.retrieval.search import SearchParams, Searcher
from rectbot.retrieval.text import normalize
from rectbot.retrieval.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# A seed passage (004's 设岗定责 paragraph) and a word no seed holds.
FILE = "004_83678aa3680bf49c.txt"
QUOTE = "无职党员设岗定责"
NEW_WORD = "闲着的党员"


async def _passages(corpus: Corpus) -> list[tuple[str, str]]:
    """(file name, text) of every searchable passage."""
    rows = await corpus.store.searchable_passages()
    names = await corpus.store.file_names({doc_id for _, doc_id, _ in rows})
    return [(names[doc_id], text) for _, doc_id, text in rows]


def test_a_passage_gets_the_questions_whose_quote_it_holds_in_any_script() -> None:
    known = KnownQuestions([KnownQuestion("a.txt", "無職黨員設崗定責", "没职务的党员干点啥")])
    assert known.for_passage("a.txt", "推行无职党员设岗定责，每人一岗。") == ["没职务的党员干点啥"]
    assert known.for_passage("b.txt", "推行无职党员设岗定责，每人一岗。") == []  # another file's passage
    assert known.for_passage("a.txt", "推行党员积分管理。") == []
    assert known.indexed_text("a.txt", "推行无职党员设岗定责。") == "推行无职党员设岗定责。\n没职务的党员干点啥"


def test_a_short_quote_or_a_malformed_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8 characters"):
        KnownQuestions([KnownQuestion("a.txt", "党员", "党员干啥")])
    bad = tmp_path / "questions.json"
    bad.write_text(json.dumps({"format": 1, "files": {"a.txt": [{"quote": "无职党员设岗定责"}]}}), encoding="utf-8")
    with pytest.raises(ValueError, match="quote and a list of questions"):
        KnownQuestions.read(bad)
    bad.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="format 1"):
        KnownQuestions.read(bad)


async def test_every_bundled_question_belongs_to_exactly_one_seed_passage(corpus: Corpus) -> None:
    # A quote no passage holds would index its questions nowhere; one that two passages hold, with the wrong one too.
    passages = await _passages(corpus)
    bundled = bundled_known_questions()
    assert len(bundled) >= 400
    for known in bundled.questions:
        holders = [text for name, text in passages if name == known.file_name and normalize(known.quote) in normalize(text)]
        assert len(holders) == 1, (known.file_name, known.quote)


async def test_a_question_s_words_are_searched_through_the_passage_it_is_tied_to(
    tmp_path: Path, tokenizer: Tokenizer
) -> None:
    known = KnownQuestions([KnownQuestion(FILE, QUOTE, f"{NEW_WORD}能干点啥")])
    corpus = await Corpus.open(tmp_path / "with" / "r.sqlite3", seeds=SEEDS, tokenizer=tokenizer, known_questions=known)
    plain = await Corpus.open(tmp_path / "without" / "r.sqlite3", seeds=SEEDS, tokenizer=tokenizer,
                              known_questions=NO_KNOWN_QUESTIONS)
    try:
        assert plain.index is not None and corpus.index is not None
        assert plain.index.document_frequency("闲着") == 0
        assert corpus.index.document_frequency("闲着") == 1  # the one passage holding the quote
        result = await Searcher.over(corpus).search(f"村里{NEW_WORD}设岗能干点啥")
        assert result.shown, "the passage tied to the question is found"
        first = result.shown[0]
        assert QUOTE in first.text and NEW_WORD not in first.text  # the excerpt is the report's text, not the question
        assert "闲着" not in first.matched_terms
    finally:
        await corpus.close()
        await plain.close()


async def test_other_known_questions_rebuild_the_index(tmp_path: Path, tokenizer: Tokenizer) -> None:
    database = tmp_path / "data" / "r.sqlite3"
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer, known_questions=NO_KNOWN_QUESTIONS)
    await corpus.close()
    known = KnownQuestions([KnownQuestion(FILE, QUOTE, f"{NEW_WORD}能干点啥")])
    corpus = await Corpus.open(database, seeds=SEEDS, tokenizer=tokenizer, known_questions=known)
    try:
        assert corpus.index is not None and corpus.index.document_frequency("闲着") == 1
    finally:
        await corpus.close()


async def test_the_seeds_questions_bring_an_everyday_question_to_the_report_s_answer(
    corpus: Corpus, tmp_path: Path, tokenizer: Tokenizer
) -> None:
    # Written for this test: 004 says 无职党员设岗定责 where staff say 没职务的党员.
    question = "没职务的党员能干点啥"
    plain = await Corpus.open(tmp_path / "plain" / "r.sqlite3", seeds=SEEDS, tokenizer=tokenizer,
                              known_questions=NO_KNOWN_QUESTIONS)
    try:
        without = await Searcher.over(plain).search(question)
        assert not any("设岗定责" in hit.text for hit in without.shown)
    finally:
        await plain.close()
    with_questions = await Searcher.over(corpus).search(question)
    assert any("设岗定责" in hit.text for hit in with_questions.shown)


def test_no_bundled_question_holds_a_typo(tokenizer: Tokenizer) -> None:
    # A typo in a known question would become a word the corpus holds, and 第一书计 would no longer be repaired:
    # the questions were written with pinyin typos on purpose, and those were corrected (a thesaurus key that sounds
    # like the word it stands for, 书计 for 书记, is a typo's spelling).
    from rectbot.retrieval.typos import sound

    thesaurus = tokenizer.thesaurus
    typos = {key for key, targets in thesaurus.expansions.items() if any(sound(key) == sound(t) for t in targets)}
    assert {"书计", "发展党圆", "换界"} <= typos
    for known in bundled_known_questions().questions:
        question = normalize(known.question)
        assert not [typo for typo in typos if typo in question], known.question


async def test_no_bundled_question_holds_a_typo_the_parser_would_repair(tmp_path: Path, tokenizer: Tokenizer) -> None:
    # Read as a question against the seeds alone, none is repaired, save two phrases the parser misreads as typos
    # (干不动 read as 干部, 没个 as 每个), kept as staff wrote them.
    plain = await Corpus.open(tmp_path / "plain" / "r.sqlite3", seeds=SEEDS, tokenizer=tokenizer,
                              known_questions=NO_KNOWN_QUESTIONS)
    try:
        searcher = Searcher.over(plain)
        # English read as Chinese (budget -> 预算) is said the same way, but is not a typo.
        repaired = {typed for known in bundled_known_questions().questions
                    for typed, _ in searcher.parse(known.question).repairs if not typed.isascii()}
    finally:
        await plain.close()
    assert repaired <= {"干不", "没个"}


async def test_the_verdict_weighs_known_questions_and_shows_the_passage_they_tie(
    tmp_path: Path, tokenizer: Tokenizer
) -> None:
    known = KnownQuestions([KnownQuestion(FILE, QUOTE, f"{NEW_WORD}能干点啥")])
    corpus = await Corpus.open(tmp_path / "r.sqlite3", seeds=SEEDS, tokenizer=tokenizer, known_questions=known)
    try:
        question = "闲着的能干点啥"  # none of its words is the passage's own: only its known question ties them
        with_them = await Searcher.over(corpus).search(question)
        # The same index and ranking, the verdict blind to the questions.
        blind = Searcher(corpus.tokenizer, lambda: corpus.index, corpus.store)
        without = await blind.search(question)
        assert with_them.evidence is not None and without.evidence is not None
        assert with_them.evidence.coverage > without.evidence.coverage
        # The passage its question ties to the asker's words is shown, not hidden for holding none of them itself
        # (hidden, it let the verdict call three other passages an answer).
        assert with_them.shown and QUOTE in with_them.shown[0].text
        # ... ranked on what it says, though: holding none of the asker's words, its re-ranked score is the index's
        # alone (each field's share at most 1, the context's weight 0.15), with no coverage added (its characters,
        # counted with its known questions as the index counts them, left out here).
        weights = FieldWeights()
        by_words = await Searcher.over(corpus, SearchParams(characters_weight=0)).search(question)
        assert QUOTE in by_words.shown[0].text
        assert by_words.shown[0].score <= weights.words + weights.grams + weights.context
        # Pasted text is judged on what the passages say: a few short questions would cover its key words by chance.
        pasted = (f"我们村{NEW_WORD}不少，年纪大的老党员在家闲着，年轻党员在外打工，支部开会凑不齐人，"
                  "村里的事没人牵头，镇上让我们拿个办法出来，想问问别的地方是怎么给党员派活的，有没有现成的制度可以参考")
        pasted_with, pasted_blind = await Searcher.over(corpus).search(pasted), await blind.search(pasted)
        assert pasted_with.query.pasted and pasted_with.evidence == pasted_blind.evidence
    finally:
        await corpus.close()


async def test_a_file_added_later_is_indexed_with_its_known_questions(tmp_path: Path, tokenizer: Tokenizer) -> None:
    known = KnownQuestions([KnownQuestion("新报告.txt", "村村建起了党员积分超市", "闲着的党员能换点啥")])
    corpus = await Corpus.open(tmp_path / "r.sqlite3", seeds=SEEDS, tokenizer=tokenizer, known_questions=known)
    try:
        assert corpus.index is not None and corpus.index.document_frequency("闲着") == 0
        folder = tmp_path / "new"
        folder.mkdir()
        (folder / "新报告.txt").write_text("某县党建工作总结\n\n今年以来，村村建起了党员积分超市，党员参加志愿服务可以积分兑换生活用品。",
                                        encoding="utf-8")
        await corpus.ingest([folder])
        assert corpus.index.document_frequency("闲着") == 1
    finally:
        await corpus.close()


def test_entries_that_are_not_objects_are_refused_with_the_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "questions.json"
    bad.write_text(json.dumps({"format": 1, "files": {"a.txt": ["无职党员设岗定责"]}}), encoding="utf-8")
    with pytest.raises(ValueError, match="a.txt: expected a list of entries"):
        KnownQuestions.read(bad)
