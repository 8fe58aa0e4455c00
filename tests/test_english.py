"""English mixed into a question about the work is read as the Chinese word the reports write, and said so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.english import EnglishGlossary, bundled_english_glossary
from rectbot.retrieval.search import Confidence, Searcher
from rectbot.retrieval.text import HAN, normalize
from tests.test_search import searcher_over

GLOSSARY = EnglishGlossary(
    {"election": "选举", "party branch": "党支部", "weak and lax": "软弱涣散", "weak": "软弱", "to-do list": "任务清单"}
)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("村两委election咋搞", [("election", "选举")]),
        # the longest phrase wins, and a plural or past form is read as its base form
        ("weak and lax party branches", [("weak and lax", "软弱涣散"), ("party branches", "党支部")]),
        ("weak 和 party's branch", [("weak", "软弱")]),  # a possessive is no phrase with what follows it
        ("party's 和 elections", [("elections", "选举")]),
        # hyphens join words as spaces do, both ways
        ("party-branch 的 to do list", [("party-branch", "党支部"), ("to do list", "任务清单")]),
        # the same word twice, or in two forms, is said once
        ("election 和 elections", [("election", "选举")]),
        # punctuation or Chinese between words breaks a phrase; words glued to digits are no words
        ("party, branch 和 party2023年", []),
        ("wifi密码", []),
    ],
)
def test_english_terms_are_read_as_the_reports_words(typed: str, read: list[tuple[str, str]]) -> None:
    text, pairs = GLOSSARY.render(typed)
    assert pairs == read
    assert all(chinese in text and english not in text for english, chinese in read)


def test_a_glossary_line_without_both_sides_or_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "english.txt"
    path.write_text("election = 选举\nElection = 换届\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        EnglishGlossary.read(path)
    path.write_text("election 选举\n", encoding="utf-8")
    with pytest.raises(ValueError, match="english term"):
        EnglishGlossary.read(path)


def test_the_bundled_glossary_reads_each_term_as_one_simplified_chinese_term() -> None:
    glossary = bundled_english_glossary()
    assert len(glossary.terms) >= 300
    for english, chinese in glossary.terms.items():
        assert re.fullmatch(f"[{HAN}]+", chinese) and normalize(chinese) == chinese, (english, chinese)


async def test_a_question_with_an_english_word_finds_the_report_that_writes_it_in_chinese(
    empty_corpus: Corpus, tmp_path: Path
) -> None:
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "村两委换届\n\n村两委换届选举前，乡镇党委逐村摸底，严格审查候选人资格，依法依规组织投票。",
        "b.txt": "村两委联席会议\n\n村两委每月召开联席会议，研究村里重大事项，会议记录存档备查，接受群众监督。",
    })
    result = await searcher.search("村两委 election 咋搞", k=3)
    assert result.query.repairs == (("election", "选举"),)
    assert "换届选举" in result.shown[0].text


@pytest.mark.parametrize(
    ("question", "typed"),
    [
        ("村两委 Election 咋搞", "Election"),
        ("村两委ＥＬＥＣＴＩＯＮ咋搞", "ELECTION"),  # full-width letters, as some phone keyboards type them
        ("咋整顿 Weak And  Lax 党支部", "Weak And  Lax"),
    ],
)
async def test_a_reading_says_the_english_as_the_user_wrote_it(searcher: Searcher, question: str, typed: str) -> None:
    result = await searcher.search(question, k=3)
    assert [as_written for as_written, _ in result.query.repairs] == [typed]
    assert result.query.repairs[0][1] in result.query.searched


async def test_english_in_a_question_about_the_work_is_searched_as_the_reports_chinese(searcher: Searcher) -> None:
    result = await searcher.search("how to 整顿 weak and lax 党支部", k=3)
    assert result.confidence is Confidence.CONFIDENT, result.evidence
    assert result.query.repairs == (("weak and lax", "软弱涣散"),)
    assert "软弱涣散" in result.query.searched and "weak" not in result.query.searched
    assert all("软弱涣散" in normalize(hit.text) for hit in result.hits)


@pytest.mark.parametrize(
    "question",
    [
        "weak password 怎么改",  # weak would be 软弱: the Chinese 怎么改 is about nothing
        "my branch manager is rude",
        "bank account 开户 问题",  # 问题 is part of party-building words, but the question is not about the work
        "python list 排序 问题",
        "how to rectify weak and lax party branches",  # no Chinese at all: read as before
    ],
)
async def test_english_in_a_question_about_something_else_is_not_read_as_party_building(
    searcher: Searcher, question: str
) -> None:
    result = await searcher.search(question, k=3)
    assert result.query.repairs == ()
    assert not result.hits
