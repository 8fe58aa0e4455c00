"""Passages: what a phone shows; spans of the article that never overlap, never exceed max_chars, lose nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rectbot.retrieval.documents import Article, Section, parse_bytes, read_document
from rectbot.retrieval.passages import Passage, PassageParams, build_passages
from tests.conftest import ROOT, SEEDS

PAGES = ROOT.parent / "shared" / "corpus" / "pages"
_SENTENCE_END = re.compile(r"[。！？；!?;][”’」』\"']?")


def article(text: str, sections: tuple[Section, ...] = ()) -> Article:
    return Article(title=None, date=None, source=None, author=None, region=None, text=text, sections=sections)


def assert_spans_of(art: Article, passages: list[Passage]) -> None:
    """Each passage is its span of the article, in order, without overlap."""
    for p in passages:
        assert p.text == art.text[p.start : p.end]
    for before, after in zip(passages, passages[1:]):
        assert before.end <= after.start, "passages overlap or are out of order"


@pytest.mark.parametrize("seed", sorted(SEEDS.iterdir()), ids=lambda p: p.name[:3])
def test_seed_passages_cover_every_paragraph_once_in_order(seed: Path) -> None:
    params = PassageParams()
    for art in read_document(seed).articles:
        passages = build_passages(art, params)
        assert passages
        assert_spans_of(art, passages)
        covered = set()
        for p in passages:
            covered.update(range(p.start, p.end))
        for start, end in art.paragraphs():
            assert set(range(start, end)) <= covered, f"paragraph at {start} lost"


@pytest.mark.parametrize("seed", sorted(SEEDS.iterdir()), ids=lambda p: p.name[:3])
def test_long_paragraphs_are_cut_at_sentence_ends(seed: Path) -> None:
    params = PassageParams(target_chars=200, max_chars=320)
    for art in read_document(seed).articles:
        for p in build_passages(art, params):
            assert len(p.text) <= params.max_chars
            if p.end == len(art.text) or art.text[p.end] == "\n" or _SENTENCE_END.search(p.text[-2:]):
                continue
            # A cut inside a sentence is only allowed when that sentence alone is longer than the limit.
            before = [m.end() for m in _SENTENCE_END.finditer(art.text, 0, p.end)]
            after = _SENTENCE_END.search(art.text, p.end)
            sentence_start = max([art.text.rfind("\n", 0, p.end) + 1, *before])
            sentence_end = after.end() if after else len(art.text)
            assert sentence_end - sentence_start > params.max_chars, p.text[-30:]


def test_a_heading_is_joined_to_the_paragraph_it_introduces() -> None:
    first = "一是构建责任体系。把整顿软弱涣散基层党组织作为党建工作的一项重要内容，纳入年度目标考核。"
    second = "一是选好领头雁。从致富能手、退役军人、返乡大学生中选拔村党组织书记，先后调整了十二名书记。"
    text = f"落实整顿责任\n{first}\n选好配强班子\n{second}"
    passages = build_passages(article(text), PassageParams(target_chars=60, max_chars=120))
    assert [p.text for p in passages] == [f"落实整顿责任\n{first}", f"选好配强班子\n{second}"]


def test_a_lead_in_ending_in_a_colon_stays_with_what_it_introduces() -> None:
    # Cut after "以下条件：", a passage promised conditions it did not show, and the conditions lost their subject.
    before = "入党积极分子是指申请入党人经党组织讨论研究，被列为培养教育和考察的对象，由党小组负责日常联系和培养。"
    lead_in = "入党积极分子除党章规定的条件外，一般还应具备以下条件："
    items = ["（1）向党组织递交了书面入党申请，入党信念坚定；", "（2）参加过党组织的培训，基本了解党的知识；"]
    text = "\n".join([before, lead_in, *items])
    passages = build_passages(article(text), PassageParams(target_chars=80, max_chars=120, min_chars=30))
    assert_spans_of(article(text), passages)
    holding = next(p.text for p in passages if lead_in in p.text)
    assert f"{lead_in}\n{items[0]}" in holding
    assert all(len(p.text) <= 120 for p in passages)


def test_a_lead_in_is_cut_from_the_sentence_before_it_rather_than_from_its_list() -> None:
    # Too long for one passage: the cut falls before the lead-in, although after it the two halves would be closer
    # to the target length.
    before = "镇党委对全镇各村党组织逐一进行了分析研判，认真听取党员群众意见。"  # 33 characters
    lead_in = "经综合研判，认定软弱涣散村党组织的主要情形如下："  # 24
    item = "（1）村党组织书记长期空缺或者不胜任现职，工作处于停滞状态，群众意见很大，班子成员之间互不配合。"  # 50
    text = f"{before}{lead_in}\n{item}"
    passages = build_passages(article(text), PassageParams(target_chars=55, max_chars=90, min_chars=20))
    assert [p.text for p in passages] == [before, f"{lead_in}\n{item}"]


def test_short_items_under_a_lead_in_are_its_list_not_headings_of_what_follows() -> None:
    lead_in = "通过调查分析，党支部认为问题形成的原因主要表现在："
    items = ["班子不团结", "书记能力不强", "集体经济薄弱"]
    after = "下一步，镇党委将选派第一书记驻村，帮助村党支部理清思路、建强班子，推动集体经济发展。"
    text = "\n".join([lead_in, *items, after])
    passages = build_passages(article(text), PassageParams(target_chars=60, max_chars=120, min_chars=20))
    assert [p.text for p in passages] == ["\n".join([lead_in, *items]), after]


def test_a_heading_with_nothing_after_it_is_not_part_of_a_passage() -> None:
    # A page cut off after its next part's number: "(三)" ended the excerpt before it.
    paragraph = "多数村集体缺乏可持续收入来源，沦为空壳村，资源资产未有效盘活，项目运营不善，集体资产流失严重。"
    passages = build_passages(article(f"{paragraph}\n(三)"))
    assert [p.text for p in passages] == [paragraph]
    assert [p.text for p in build_passages(article("(三)"))] == ["(三)"]  # a text of headings alone keeps them


def test_a_heading_stays_with_the_start_of_a_long_paragraph() -> None:
    text = "选好配强班子\n" + "各地大力开展干部下基层活动，推动力量下沉。" * 40
    passages = build_passages(article(text))
    assert passages[0].text.startswith("选好配强班子\n各地")
    assert len(passages[0].text) >= PassageParams().min_chars


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


def test_a_paragraph_with_only_commas_is_cut_at_commas_within_the_limit() -> None:
    text = "，".join(f"第{i}个村整顿软弱涣散党组织、落实“三会一课”" for i in range(150)) + "。"
    assert len(text) > 3000 and not re.search(r"[。！？；]", text[:-1])
    params = PassageParams()
    passages = build_passages(article(text), params)
    assert_spans_of(article(text), passages)
    assert "".join(p.text for p in passages) == text
    assert all(len(p.text) <= params.max_chars for p in passages)
    assert all(p.text[-1] in "，、" for p in passages[:-1])


def test_a_paragraph_without_punctuation_is_cut_hard_within_the_limit() -> None:
    text = "基层党组织建设工作" * 340
    params = PassageParams()
    passages = build_passages(article(text), params)
    assert_spans_of(article(text), passages)
    assert "".join(p.text for p in passages) == text
    assert all(params.min_chars <= len(p.text) <= params.max_chars for p in passages)


FRAGMENT = "老冯,你别担心,工资一定帮你要。"


def test_a_short_fragment_joins_the_passage_before_it() -> None:
    before = "村党支部书记走访了十二户拖欠工资的农民工家庭，逐户登记欠薪数额，" * 5  # too long to grow past the target
    after = "随后镇劳动保障所约谈了施工单位负责人，限期十日内结清全部工资，并把处理结果在村务公开栏张贴。" * 4
    text = f"{before}\n{FRAGMENT}\n{after}"
    passages = build_passages(article(text))
    assert FRAGMENT not in [p.text for p in passages]
    assert [p.text for p in passages if FRAGMENT in p.text] == [f"{before}\n{FRAGMENT}"]


def test_a_short_fragment_joins_the_passage_after_it_when_the_one_before_is_full() -> None:
    before = "村党支部书记走访了十二户拖欠工资的农民工家庭，逐户登记欠薪数额，" * 7  # no room left under max_chars
    after = "随后镇劳动保障所约谈了施工单位负责人，限期十日内结清全部工资，并把处理结果在村务公开栏张贴。" * 4
    text = f"{before}\n{FRAGMENT}\n{after}"
    passages = build_passages(article(text))
    assert [p.text for p in passages if FRAGMENT in p.text] == [f"{FRAGMENT}\n{after}"]


def test_a_short_fragment_after_a_full_passage_takes_part_of_it_rather_than_stand_alone() -> None:
    before = "基层党组织建设工作" * 25 + "。"
    text = f"{before}\n{FRAGMENT}"
    params = PassageParams()
    passages = build_passages(article(text), params)
    assert_spans_of(article(text), passages)
    assert "".join(p.text for p in passages) == text
    assert all(params.min_chars <= len(p.text) <= params.max_chars for p in passages)
    assert passages[-1].text.endswith(f"。\n{FRAGMENT}")


BODY = (
    "一年来，村党支部坚持“三会一课”制度，每月开展主题党日活动，全体党员参加集中学习十二次。\n"
    "下一步，我们将继续抓好软弱涣散党组织整顿，推动集体经济稳步增长，切实为群众办实事。"
)


@pytest.mark.parametrize(
    "closing",
    [
        "中共某某村支部委员会\n2022年12月30日",
        "某某镇人民政府\n2023-05-16",
        "某某县委组织部\n二〇二二年十二月三十日",
        "2023年5月16日",
        "中共某某县委组织部 某某县人力资源和社会保障局",
    ],
)
def test_a_sign_off_and_a_date_line_are_not_passages(closing: str) -> None:
    art = article(f"{BODY}\n{closing}")
    passages = build_passages(art)
    assert [p.text for p in passages] == [BODY]
    assert all(line not in p.text for line in closing.split("\n") for p in passages)


def test_a_document_that_is_only_a_sign_off_keeps_it() -> None:
    passages = build_passages(article("中共某某村支部委员会"))
    assert [p.text for p in passages] == ["中共某某村支部委员会"]


def test_an_organisation_heading_inside_the_text_is_kept() -> None:
    text = f"中共某某村支部委员会\n{BODY}"
    assert build_passages(article(text))[0].text.startswith("中共某某村支部委员会\n一年来")


@pytest.mark.skipif(not PAGES.is_dir(), reason="shared corpus pages absent")
def test_no_page_passage_is_too_long_or_too_short() -> None:
    params = PassageParams()
    pages = sorted(PAGES.glob("*.txt"))
    assert pages
    for page in pages:
        for art in parse_bytes(page.read_bytes(), page.name).articles:
            passages = build_passages(art, params)
            assert_spans_of(art, passages)
            for p in passages:
                assert len(p.text) <= params.max_chars, (page.name, p.text[:40])
                if len(passages) > 1:
                    assert len(p.text) >= params.min_chars, (page.name, p.text)
