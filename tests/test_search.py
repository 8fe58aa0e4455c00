"""Search: cited hits, abstaining on off-topic questions, junk never found, copies never shown twice."""

from __future__ import annotations

import pytest

from retrieval.search import EmptyQuestion, Searcher, highlight_spans
from retrieval.text import normalize


async def test_a_hit_carries_its_citation_and_matched_terms(searcher: Searcher) -> None:
    [hit, *_] = await searcher.search("村官回归工程", k=3)
    assert "村官回归工程" in normalize(hit.text)
    assert hit.title and hit.source and hit.date
    assert hit.doc_id > 0 and hit.score > 0
    assert "村官" in "".join(hit.matched_terms)
    for start, end in hit.highlights:
        assert normalize(hit.text[start:end]) in hit.matched_terms


async def test_hits_keep_the_original_script_without_pinyin_notes(searcher: Searcher) -> None:
    hits = await searcher.search("宁夏拉网式排查", k=3)
    hit = next(h for h in hits if "拉網式" in h.text)
    assert "(wǎng)" not in hit.text and "(qū)" not in hit.text
    assert hit.date == "2017-09-12"


async def test_a_traditional_question_finds_simplified_text(searcher: Searcher) -> None:
    hits = await searcher.search("第一書記作用", k=3)
    assert any("第一书记" in normalize(h.text) for h in hits)


async def test_sections_are_reported(searcher: Searcher) -> None:
    hits = await searcher.search("拜格托别社区办公场所", k=3)
    assert hits[0].section == "篇一"


@pytest.mark.parametrize("question", ["今天天气怎么样", "怎么炒股", "hello", "？？？", "😀😀😀", "明天会下雨吗", "足球比赛结果"])
async def test_off_topic_questions_get_no_hits(searcher: Searcher, question: str) -> None:
    assert await searcher.search(question) == []


@pytest.mark.parametrize("question", ["微信扫一扫", "bet365", "写作资料库手机站", "进入手机版", "中文字幕", "收听本文", "责任编辑"])
async def test_page_junk_is_not_searchable(searcher: Searcher, question: str) -> None:
    for hit in await searcher.search(question, k=10):
        assert normalize(question) not in normalize(hit.text)


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
async def test_an_empty_question_is_an_error_with_a_message(searcher: Searcher, question: str) -> None:
    with pytest.raises(EmptyQuestion, match="empty"):
        await searcher.search(question)


async def test_a_huge_question_is_answered_without_error(searcher: Searcher) -> None:
    hits = await searcher.search("软弱涣散村党组织怎么整顿" * 500, k=3)
    assert len(hits) == 3


async def test_paging_continues_without_repeats(searcher: Searcher) -> None:
    first = await searcher.search("整顿软弱涣散基层党组织", k=3)
    second = await searcher.search("整顿软弱涣散基层党组织", k=3, offset=3)
    assert len(first) == 3 and len(second) == 3
    assert not {h.passage_id for h in first} & {h.passage_id for h in second}
    assert first[-1].score >= second[0].score


async def test_results_are_best_first(searcher: Searcher) -> None:
    hits = await searcher.search("第一书记", k=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_highlight_spans_map_to_the_original_text() -> None:
    text = "選派第一書記，ＡＢＣ村"
    spans = highlight_spans(text, ("第一书记", "abc"))
    assert [text[s:e] for s, e in spans] == ["第一書記", "ＡＢＣ"]
