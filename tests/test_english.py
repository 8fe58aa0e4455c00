"""English mixed into a question is read as the Chinese word the reports write, and the reply says so."""

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
    {"election": "选举", "party branch": "党支部", "weak and lax": "软弱涣散", "weak": "软弱", "meeting": "会议"},
    everyday=frozenset({"meeting"}),
)


@pytest.mark.parametrize(
    ("typed", "searched", "pairs"),
    [
        ("村两委election咋搞", "村两委 选举 咋搞", [("election", "选举")]),
        # the longest phrase wins, and a plural or past form is read as its base form
        (
            "weak and lax party branches",
            " 软弱涣散   党支部 ",
            [("weak and lax", "软弱涣散"), ("party branches", "党支部")],
        ),
        ("elections 和 weak 支部", " 选举  和  软弱  支部", [("elections", "选举"), ("weak", "软弱")]),
        # only spaces join words into a phrase; unknown words stay as typed
        ("party, branch office", "party, branch office", []),
        ("wifi密码", "wifi密码", []),
    ],
)
def test_english_terms_are_replaced_by_the_reports_words(typed: str, searched: str, pairs: list) -> None:
    assert GLOSSARY.render(typed) == (searched, pairs)


def test_an_everyday_term_is_read_only_when_asked_to() -> None:
    assert GLOSSARY.render("支部 meeting") == ("支部  会议 ", [("meeting", "会议")])
    assert GLOSSARY.render("支部 meeting", everyday=False) == ("支部 meeting", [])


def test_a_glossary_line_without_both_sides_or_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "english.txt"
    path.write_text("election = 选举\n~ election = 换届\n", encoding="utf-8")
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


async def test_a_question_typed_in_english_is_answered_from_the_chinese_reports(searcher: Searcher) -> None:
    # Before the glossary, no word of it was Chinese, so it read as a question about something else.
    result = await searcher.search("how to rectify weak and lax party branches", k=3)
    assert result.confidence is Confidence.CONFIDENT, result.evidence
    assert ("weak and lax", "软弱涣散") in result.query.repairs
    assert all("软弱涣散" in normalize(hit.text) for hit in result.hits)


async def test_everyday_english_is_read_as_chinese_only_in_a_question_about_the_work(searcher: Searcher) -> None:
    # meeting, open and account are everyday words: 支部 makes the first question one about the work; read as
    # 公开 账目, the second would have become one too.
    assert searcher.parse("支部 meeting 多久开一次").repairs == (("meeting", "会议"),)
    result = await searcher.search("how to open a bank account", k=3)
    assert result.query.repairs == ()
    assert result.confidence is Confidence.OFF_TOPIC and not result.shown
