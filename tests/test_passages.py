"""Passages: what a phone shows; spans of the article that never overlap and lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.documents import Article, Section, read_document
from retrieval.passages import PassageParams, build_passages

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").iterdir())


def article(text: str, sections: tuple[Section, ...] = ()) -> Article:
    return Article(title=None, date=None, source=None, author=None, region=None, text=text, sections=sections)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
def test_seed_passages_cover_every_paragraph_once_in_order(seed: Path) -> None:
    params = PassageParams()
    for art in read_document(seed).articles:
        passages = build_passages(art, params)
        assert passages
        for before, after in zip(passages, passages[1:]):
            assert before.end <= after.start, "passages overlap"
        covered = set()
        for p in passages:
            assert p.text == art.text[p.start : p.end]
            covered.update(range(p.start, p.end))
        for start, end in art.paragraphs():
            assert set(range(start, end)) <= covered, f"paragraph at {start} lost"


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
def test_long_paragraphs_are_cut_at_sentence_ends(seed: Path) -> None:
    params = PassageParams(target_chars=200, max_chars=320)
    for art in read_document(seed).articles:
        for p in build_passages(art, params):
            if len(p.text) > params.max_chars + params.target_chars:
                # Only a single sentence longer than the limit may exceed it.
                assert p.text.count("。") <= 1, p.text[:60]
            if p.end < len(art.text) and len(p.text) >= params.target_chars:
                assert p.text.rstrip()[-1] in "。！？；!?;”’\"'" or art.text[p.end] == "\n"


def test_a_heading_is_joined_to_the_paragraph_it_introduces() -> None:
    text = "落实整顿责任\n一是构建责任体系。把整顿软弱涣散基层党组织作为党建工作的一项重要内容。\n选好配强班子\n一是选好领头雁。"
    passages = build_passages(article(text))
    assert [p.text for p in passages] == [
        "落实整顿责任\n一是构建责任体系。把整顿软弱涣散基层党组织作为党建工作的一项重要内容。",
        "选好配强班子\n一是选好领头雁。",
    ]


def test_short_paragraphs_are_merged_up_to_the_target() -> None:
    text = "\n".join(f"第{i}条，情况说明。" for i in range(30))
    passages = build_passages(article(text), PassageParams(target_chars=50, max_chars=80))
    assert len(passages) > 3
    assert all(len(p.text) <= 80 for p in passages)


def test_passages_do_not_cross_sections() -> None:
    text = "第一部分内容。\n第二部分内容。"
    sections = (Section("篇一", 0), Section("篇二", text.index("第二")))
    passages = build_passages(article(text, sections))
    assert [(p.section, p.text) for p in passages] == [("篇一", "第一部分内容。"), ("篇二", "第二部分内容。")]


def test_a_long_paragraph_is_split_without_losing_a_character() -> None:
    sentence = "各地大力开展干部下基层活动，推动力量下沉。"
    text = sentence * 40
    passages = build_passages(article(text), PassageParams(target_chars=100, max_chars=150))
    assert "".join(p.text for p in passages) == text
    assert all(p.text.endswith("。") for p in passages)
    assert all(len(p.text) <= 150 for p in passages)
