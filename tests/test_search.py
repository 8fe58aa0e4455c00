"""Search: cited hits, three verdicts (confident, possibly related, off-topic), junk never found, paging."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

import pytest

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.places import bundled_gazetteer
from rectbot.retrieval.search import Confidence, EmptyQuestion, SearchParams, Searcher, highlight_spans
from rectbot.retrieval.query import Query
from rectbot.retrieval.text import normalize
from rectbot.retrieval.tokenizer import Tokenizer
from tests.conftest import SEEDS


async def searcher_over(corpus: Corpus, folder: Path, reports: dict[str, str]) -> Searcher:
    """A searcher over an empty corpus once these reports (file name -> text) are ingested from a folder."""
    folder.mkdir()
    for name, text in reports.items():
        (folder / name).write_text(text, encoding="utf-8")
    await corpus.ingest([folder])
    return Searcher.over(corpus)


async def test_a_hit_carries_its_citation_and_matched_terms(searcher: Searcher) -> None:
    [hit, *_] = (await searcher.search("村官回归工程", k=3)).hits
    assert "村官回归工程" in normalize(hit.text)
    assert hit.title and hit.source and hit.date
    assert hit.doc_id > 0 and hit.score > 0
    assert "村官" in "".join(hit.matched_terms)
    assert hit.highlights
    for start, end in hit.highlights:
        assert normalize(hit.text[start:end]) in hit.matched_terms


async def test_hits_keep_the_original_script_without_pinyin_notes(searcher: Searcher) -> None:
    hits = (await searcher.search("宁夏拉网式排查", k=3)).hits
    hit = next(h for h in hits if "拉網式" in h.text)
    assert "(wǎng)" not in hit.text and "(qū)" not in hit.text
    assert hit.date == "2017-09-12"


async def test_a_traditional_question_finds_simplified_text(searcher: Searcher) -> None:
    hits = (await searcher.search("第一書記作用", k=3)).hits
    assert any("第一书记" in normalize(h.text) for h in hits)


async def test_sections_are_reported(searcher: Searcher) -> None:
    hits = (await searcher.search("拜格托别社区办公场所", k=3)).hits
    assert hits[0].section == "篇一"


@pytest.mark.parametrize(
    "question",
    ["今天天气怎么样", "怎么炒股", "hello", "？？？", "😀😀😀", "明天会下雨吗", "足球比赛结果", "北京到上海的高铁票多少钱",
     "怎么做红烧鱼"],
)
async def test_off_topic_questions_get_nothing_at_all(searcher: Searcher, question: str) -> None:
    result = await searcher.search(question)
    assert result.confidence is Confidence.OFF_TOPIC and result.shown == ()


@pytest.mark.parametrize("question", ["微信扫一扫", "bet365", "写作资料库手机站", "进入手机版", "中文字幕", "收听本文", "责任编辑"])
async def test_page_junk_is_not_searchable(corpus: Corpus, searcher: Searcher, question: str) -> None:
    junk = normalize(question)
    assert any(junk in normalize(seed.read_text(encoding="utf-8")) for seed in SEEDS.iterdir())  # the pages hold it
    assert not any(junk in normalize(text) for _, _, text in await corpus.store.searchable_passages())
    beside_real_words = (await searcher.search(f"{question} 软弱涣散村党组织怎么整顿 第一书记", k=10)).shown
    assert beside_real_words and not any(junk in normalize(hit.text) for hit in beside_real_words)


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
async def test_an_empty_question_is_an_error_with_a_message(searcher: Searcher, question: str) -> None:
    with pytest.raises(EmptyQuestion, match="empty"):
        await searcher.search(question)


async def test_a_huge_question_is_answered_without_error(searcher: Searcher) -> None:
    result = await searcher.search("软弱涣散村党组织怎么整顿" * 500, k=3)
    assert len(result.hits) == 3


async def test_a_long_run_of_letters_gets_an_answer_not_a_hang(searcher: Searcher) -> None:
    # Regression: splitting a 10,000-letter word into known parts sliced every span (about a minute); the bound
    # is a hang guard a hundred times over what it takes, not a speed claim.
    result = await asyncio.wait_for(searcher.search("a" * 10_000 + " 第一书记"), timeout=30)
    assert result.shown


async def test_paging_continues_without_repeats(searcher: Searcher) -> None:
    first = (await searcher.search("整顿软弱涣散基层党组织", k=3)).hits
    second = (await searcher.search("整顿软弱涣散基层党组织", k=3, offset=3)).hits
    assert len(first) == 3 and len(second) == 3
    assert not {h.passage_id for h in first} & {h.passage_id for h in second}
    assert first[-1].score >= second[0].score


@pytest.mark.parametrize("question", ["整顿软弱涣散基层党组织", "村里党员岁数都大了咋办"])
async def test_deep_pages_go_on_in_the_order_of_one_long_page(searcher: Searcher, question: str) -> None:
    # Regression: a later page re-ranked more of the index's candidates, and one of them could belong on an earlier
    # page: 更多 repeated one excerpt and skipped another.
    fifteen = [hit.passage_id for hit in (await searcher.search(question, k=15)).shown]
    pages = [(await searcher.search(question, k=3, offset=offset)).shown for offset in range(0, 15, 3)]
    assert [hit.passage_id for page in pages for hit in page] == fifteen and len(fifteen) == 15


async def test_results_are_best_first(searcher: Searcher) -> None:
    hits = (await searcher.search("第一书记", k=5)).hits
    assert len(hits) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_highlight_spans_map_to_the_original_text() -> None:
    text = "選派第一書記，ＡＢＣ村"
    spans = highlight_spans(text, ("第一书记", "abc"))
    assert [text[s:e] for s, e in spans] == ["第一書記", "ＡＢＣ"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("支书", "书记"),  # a short form staff use; the reports write 党支部书记
        ("村支书年纪大了咋办啊", "年纪长"),  # spoken, with fillers: 002 调整 secretaries 年纪长、能力弱
        ("哪些情况算软弱涣散", "软弱涣散"),
        ("how to 整顿 weak 党支部", "党支部"),  # English words are ignored, not held against the question
    ],
)
async def test_spoken_questions_get_confident_answers(searcher: Searcher, question: str, expected: str) -> None:
    result = await searcher.search(question, k=3)
    assert result.confidence is Confidence.CONFIDENT, result.evidence
    assert any(expected in normalize(hit.text) for hit in result.hits)


async def test_a_spoken_question_with_a_degree_word_is_shown_the_answer(searcher: Searcher) -> None:
    # Issue 8's own example. Confident until session 18; since the retrained confidence model weighs its unknown
    # 太大 more, possibly related: the same excerpts, marked as such (see README, Quality, session 18).
    result = await searcher.search("村支书年纪太大了咋办啊", k=3)
    assert result.confidence is not Confidence.OFF_TOPIC
    assert any("年纪长" in normalize(hit.text) for hit in result.shown)


@pytest.mark.parametrize("term", ["三会一课", "四议两公开", "设岗定责", "两学一做"])
@pytest.mark.parametrize("frame", ["{}是啥意思", "{}什么意思", "{}的含义是什么"])
async def test_asking_what_a_term_means_is_answered_like_asking_what_it_is(
    searcher: Searcher, term: str, frame: str
) -> None:
    # 意思 and 含义 are in no report: read as unknown words, they halved what the corpus knew of the question.
    plain = await searcher.search(f"{term}是什么", k=3)
    result = await searcher.search(frame.format(term), k=3)
    assert result.confidence is plain.confidence is Confidence.CONFIDENT, result.evidence
    assert [hit.passage_id for hit in result.hits] == [hit.passage_id for hit in plain.hits]


async def test_a_lone_question_word_cut_off_its_phrase_is_not_a_topic_word(empty_corpus: Corpus, tmp_path: Path) -> None:
    # jieba cuts 是哪四议 into 是 + 哪 + 四议; once a report held 哪 on its own (走到哪), 哪 was a topic word of the
    # question that no answer holds, and a direct answer was only "possibly related".
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "四议两公开工作法\n\n村级重大事项实行四议两公开。四议即村党支部提议、村两委会议商议、党员大会审议、"
                 "村民代表会议决议；两公开即决议公开、实施结果公开。",
        "b.txt": "老支书的故事\n\n不管走到哪，老支书都把群众的事放在心上，带领党员修路架桥，村里的面貌焕然一新。",
    })
    result = await searcher.search("四议两公开是哪四议", k=3)
    assert "哪" in result.query.ignored and "哪" not in result.query.topic
    assert result.confidence is Confidence.CONFIDENT and "提议" in result.hits[0].text, result.evidence


@pytest.mark.parametrize("question", ["村级活动场所咋建", "软弱涣散村咋定", "后备干部咋选"])
async def test_a_glued_question_word_is_not_an_unknown_word(searcher: Searcher, question: str) -> None:
    # jieba glues 咋 onto the next character (咋建); read as an unknown word, it made the question half unknown.
    result = await searcher.search(question, k=3)
    assert "咋" in result.query.ignored and not any("咋" in word for word in result.query.topic)
    assert result.query.unknown == () and result.confidence is Confidence.CONFIDENT


async def test_a_paper_is_found_by_its_author(empty_corpus: Corpus, tmp_path: Path) -> None:
    # Staff ask for a paper by who wrote it (霍修勇写的标准化那篇文章讲了啥); the author is named only in the byline.
    body = "基层党组织标准化建设要坚持问题导向，把组织设置、班子建设、组织生活、阵地建设和基本保障纳入标准体系，逐项对标。"
    searcher = await searcher_over(empty_corpus, tmp_path / "papers", {
        "a.txt": f"基层党组织标准化建设的认知限度\n霍修勇\n(湖南省委党校，湖南 长沙410006)\n{body}\n",
        "b.txt": f"论基层党组织标准化建设\n李明华\n(四川省委党校，四川 成都610072)\n{body}各地要结合实际。\n",
    })
    for question in ("霍修勇写的标准化那篇文章讲了啥", "李明华那篇标准化建设的文章提到了什么"):
        result = await searcher.search(question, k=1)
        assert {"那篇", "文章"} & set(result.query.ignored), result.query
        author = question[:3]
        [hit] = result.hits
        assert hit.author == author, (question, hit)


async def test_an_authors_name_holds_no_single_character_word(empty_corpus: Corpus, tmp_path: Path) -> None:
    # 部门换了新领导，我该咋表现 was answered confidently: 换 was "held" by the byline 魏小換.
    body = "当前部分农村党员的党员意识逐步淡化，主要表现在信仰、组织、政治、宗旨、作风等意识的淡化，部门之间协调不够。"
    searcher = await searcher_over(empty_corpus, tmp_path / "papers", {
        "a.txt": f"农村党员意识淡化的表现及原因分析\n魏小換\n(某某大学 马克思主义学院)\n{body}\n",
        "b.txt": "某村换班子\n\n去年村里换了一批年轻干部，村党支部带领群众修路建桥，群众满意度明显提高。\n",
    })
    result = await searcher.search("部门换了新任务我该咋表现", k=3)
    assert "换" in result.query.topic and "换" not in result.query.unknown
    assert result.evidence is not None and result.evidence.coverage < 1.0


async def test_an_answer_held_only_through_the_thesaurus_is_possibly_related(empty_corpus: Corpus, tmp_path: Path) -> None:
    # 留党察看多久 was answered confidently by a passage on 党内处分 in general: the thesaurus maps 留党察看 to the
    # broader 党内处分, and no report says how long 留党察看 lasts.
    discipline = "党员违反纪律，党组织应当按照党章和有关规定给予党内处分，处分决定要经支部大会讨论，报上级党组织批准。"
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": f"严明党的纪律\n\n{discipline}",
        "b.txt": "村务公开\n\n村级财务每季度公开一次，接受群众监督，重大事项随时公开。",
    })
    broader = await searcher.search("留党察看多久", k=3)
    assert broader.shown and "党内处分" in broader.shown[0].text  # still shown: it is what the reports say
    assert broader.confidence is Confidence.WEAK and broader.hits == (), broader.evidence
    assert broader.evidence is not None and broader.evidence.literal == 0.0
    # The report's own word is a confident answer.
    own_word = await searcher.search("党内处分要经支部大会讨论吗", k=3)
    assert own_word.confidence is Confidence.CONFIDENT and "党内处分" in own_word.hits[0].text, own_word.evidence


async def test_an_equivalent_word_counts_as_typed(empty_corpus: Corpus, tmp_path: Path) -> None:
    # The thesaurus's = groups are the same thing said two ways (后继乏人 = 后继无人), not a broader word: a report
    # writing one answers a question typing the other.
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "后备干部队伍建设\n\n不少村干部后继乏人，乡镇要建立村级后备干部库，每村储备两到三名年轻人。",
        "b.txt": "村务公开\n\n村级财务每季度公开一次，接受群众监督。",
    })
    result = await searcher.search("村干部后继无人咋办", k=3)
    assert result.evidence is not None and result.evidence.literal == 1.0, result.evidence
    assert result.confidence is Confidence.CONFIDENT and "后备干部库" in result.hits[0].text


async def test_how_staff_ask_after_tasks_reaches_the_reports_word_for_them(searcher: Searcher) -> None:
    # 有事干 is how staff say it; 康定's report writes 设岗定责 (无职党员设岗定责办法).
    # Shown, not confident: held only through the thesaurus, the confidence model (session 16) calls it possibly
    # related, where the thresholds had called it an answer.
    result = await searcher.search("没职务的党员咋让他们有事干", k=3)
    assert result.shown and any("设岗定责" in normalize(hit.text) for hit in result.shown)


async def test_a_homophone_typo_is_repaired_and_said(searcher: Searcher) -> None:
    result = await searcher.search("第一书计怎么开展工作", k=3)
    assert result.query.repairs == (("第一书计", "第一书记"),)
    assert result.hits and all("第一书记" in normalize(hit.text) for hit in result.hits)


@pytest.mark.parametrize(("typed", "meant"), [("第一书计怎么开展工作", "第一书记怎么开展工作"), ("三会一课这个制读为啥要坚持", "三会一课这个制度为啥要坚持")])
async def test_a_repaired_typo_does_not_change_whether_the_question_reads_as_about_the_work(
    searcher: Searcher, typed: str, meant: str
) -> None:
    # The topic model read the question as typed: 读 of the typo 制读 made it read as about reading, not the work.
    result, plain = await searcher.search(typed, k=3), await searcher.search(meant, k=3)
    assert result.query.repairs and result.evidence.topical == plain.evidence.topical
    assert result.confidence is plain.confidence


async def test_a_function_word_jieba_glues_on_is_not_read_as_a_typo(empty_corpus: Corpus, tmp_path: Path) -> None:
    # jieba cuts 组织力是 into 组织 + 力是; 力是 sounds like 理事, so the bot said 按“理事”查找 and showed a 理事会 passage.
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "组织力\n\n党的十九大提出提升基层组织力的新要求，突出政治功能，把基层党组织建设成为坚强战斗堡垒。",
        "b.txt": "理事会\n\n村集体经济组织设理事会，理事会成员由成员大会选举产生，理事长负责日常经营管理工作。",
    })
    result = await searcher.search("提升基层组织力是哪次大会提出来的", k=3)
    assert result.query.repairs == () and "理事" not in result.query.topic
    assert "十九大" in result.shown[0].text


@pytest.mark.parametrize(
    "question",
    ["整顿软弱涣散老是治标不治本", "村务监督委员会要往哪几个方向发展", "房贷利率是多少", "提升基层组织力是哪次大会提出来的"],
)
async def test_real_words_are_never_repaired(searcher: Searcher, question: str) -> None:
    result = await searcher.search(question, k=3)
    assert result.query.repairs == ()


async def test_an_unanswered_domain_question_gets_no_confident_answer(searcher: Searcher) -> None:
    result = await searcher.search("新农合医疗费用怎么报销", k=3)
    assert result.confidence is not Confidence.CONFIDENT and result.hits == ()


@pytest.mark.parametrize("place", ["红星镇", "新华社区"])
async def test_a_question_about_a_place_no_report_holds_is_answered_as_possibly_related(
    searcher: Searcher, place: str
) -> None:
    # The seeds say how 鹿寨县 and others rectified weak organisations; none says how this place did.
    query = searcher.parse(f"{place}软弱涣散村党组织怎么整顿")
    assert query.unknown_places == (place,)
    result = await searcher.search(query, k=3)
    assert result.confidence is Confidence.WEAK and result.related and result.hits == ()
    # Were the place not taken for one, the same words would make a confident answer.
    ignoring_it = await searcher.search(dataclasses.replace(query, unknown_places=()), k=3)
    assert ignoring_it.confidence is Confidence.CONFIDENT


async def test_a_question_about_a_place_no_top_report_is_about_is_answered_as_possibly_related(
    empty_corpus: Corpus, tmp_path: Path
) -> None:
    # 贵州今年村级组织运转经费每村标准是多少 was answered confidently from other provinces' figures: the reports name
    # 贵州 elsewhere, so it is no unknown place, but none of the passages answering holds it.
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "浙江省保障村级组织运转经费\n\n浙江省村级组织运转经费每村每年不低于10万元，由县级财政统筹保障。",
        "b.txt": "党风廉政示范村\n\n5月上旬，镇安对50个示范村进行命名授牌，贵州的经验也被借鉴。",
        "c.txt": "村级事务代办\n\n各乡镇安排专人担任村级事务代办员，每周到村坐班两天，群众办事不出村。",
        "d.txt": "长阳推行村级事务公开\n\n长阳把村务公开栏建到每个村民小组，每季度公开一次财务收支。",
    })
    [guizhou] = bundled_gazetteer().find("贵州省")
    elsewhere = await searcher.search("贵州村级组织运转经费每村标准是多少", k=3)
    assert elsewhere.query.places == (guizhou,) and elsewhere.query.unknown_places == ()
    assert elsewhere.confidence is Confidence.WEAK and "10万元" in elsewhere.related[0].text, elsewhere.evidence
    held = await searcher.search("浙江村级组织运转经费每村标准是多少", k=3)
    assert held.confidence is Confidence.CONFIDENT and "10万元" in held.hits[0].text, held.evidence
    # A county's report names it without its level (镇安 for 镇安县, 长阳 for 长阳土家族自治县), as a word of its own.
    county = await searcher.search("镇安县示范村授牌了多少个", k=3)
    assert county.confidence is Confidence.CONFIDENT and "授牌" in county.hits[0].text, county.evidence
    autonomous = await searcher.search("长阳土家族自治县村务公开栏多久公开一次财务", k=3)
    assert autonomous.confidence is Confidence.CONFIDENT and "长阳" in autonomous.hits[0].text, autonomous.evidence
    # 镇安 inside 各乡镇安排 is not the county.
    inside = await searcher.search("镇安县村级事务代办员每周到村坐班几天", k=3)
    assert inside.confidence is Confidence.WEAK and "代办员" in inside.related[0].text, inside.evidence
    # Places are words of the question: 集中卫生整治 names no 中卫.
    assert searcher.parse("村里集中卫生整治怎么搞").places == ()


async def test_a_question_about_a_year_no_top_report_holds_is_answered_as_possibly_related(searcher: Searcher) -> None:
    # 2026年村两委换届具体哪个月开始 was answered confidently from a 2010 plan's schedule. The question must be one
    # the confidence model answers without the year rule, so that the rule is what is tested: since session 28's
    # model, 2026年村两委换届怎么搞 (two words and an unknown one) sits just under its threshold either way.
    query = searcher.parse("2026年村两委换届工作怎么开展")
    assert query.years == ("2026",)
    result = await searcher.search(query, k=3)
    assert result.confidence is Confidence.WEAK and result.related and result.hits == ()
    assert result.evidence is not None and not result.evidence.years_held
    ignoring_it = await searcher.search(dataclasses.replace(query, years=()), k=3)
    assert ignoring_it.confidence is Confidence.CONFIDENT


@pytest.mark.parametrize(
    ("question", "places"),
    [("湘潭县今年村两委换届哪天投票", ("湘潭县",)), ("张家村怎么整顿的", ("张家村",)),
     ("新合并村的软弱涣散村党组织怎么整顿", ()), ("空壳村咋办", ()), ("特色小镇的党建怎么搞", ()),
     # An autonomous prefecture by the name people write: its short name and 州 (临夏回族自治州 -> 临夏州).
     ("甘肃临夏州今年整顿了多少个软弱涣散村", ("临夏州",)), ("恩施州的村支书怎么选", ("恩施州",))],
)
def test_a_place_is_a_name_no_report_holds_not_a_kind_of_village(
    searcher: Searcher, question: str, places: tuple[str, ...]
) -> None:
    assert searcher.parse(question).unknown_places == places


async def test_a_question_about_a_place_a_report_holds_stays_confident(searcher: Searcher) -> None:
    result = await searcher.search("鹿寨县怎么整顿软弱涣散村", k=3)
    assert result.query.unknown_places == () and result.confidence is Confidence.CONFIDENT


@pytest.mark.parametrize("when", ["今年", "去年", "近年来", "这几年"])
async def test_this_year_in_a_question_is_not_a_topic_word(searcher: Searcher, when: str) -> None:
    # A report's 今年 is its own year: matching it led a question about this year's election to a 2017 report.
    plain = await searcher.search("村两委换届选举怎么搞", k=3)
    result = await searcher.search(f"{when}村两委换届选举怎么搞", k=3)
    assert when in result.query.ignored and when not in result.query.topic
    assert [hit.passage_id for hit in result.hits] == [hit.passage_id for hit in plain.hits]


@pytest.mark.parametrize(
    "question", ["党费计算基数包不包括绩效奖金和年终奖", "村委會公章丟了咋補辦", "山西泽州县出去打工的党员有多少"]
)
async def test_no_excerpt_is_shown_for_one_everyday_word_of_a_question(searcher: Searcher, question: str) -> None:
    # A passage holding only 包括 of the first was shown as possibly related: a coincidence.
    result = await searcher.search(question, k=3)
    query, tokenizer = result.query, searcher.tokenizer
    known = [word for word in query.topic if word not in query.unknown]
    for hit in result.shown:
        text = normalize(f"{hit.title or ''}{hit.region or ''}{hit.source or ''}{hit.author or ''}{hit.text}")
        held = [
            word for word in known
            if any(saying in text for saying in (word, *query.stand_ins(word)))
            or all(part in text for part in tokenizer.parts(word))
        ]
        assert len(held) >= min(2, len(query.topic)) or any(tokenizer.is_domain_word(w) for w in held), (held, hit.text)


async def test_a_passage_holding_a_piece_of_a_question_word_and_another_word_is_shown(
    empty_corpus: Corpus, tmp_path: Path
) -> None:
    # 挂牌子 is held by a passage that speaks of 牌子; counted as not held, the answer was left out as a coincidence.
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "为基层减负\n\n各地清理村级组织门口牌子过多、评比达标过多的问题，切实为基层减负，让村干部把精力用在服务群众上。\n",
        "b.txt": "某村卫生整治\n\n村里组织党员检查各户环境卫生，评出十户清洁家庭，群众满意度明显提高。\n",
        "c.txt": "阵地建设\n\n村党支部为党员活动室统一挂牌，规范阵地建设，党员活动有了固定场所。\n",
    })
    result = await searcher.search("村里挂牌子评比太多了咋办", k=3)
    assert any("牌子过多" in hit.text for hit in result.shown), result


@pytest.mark.parametrize("question", ["山西泽州县出去打工的党员有多少", "党费计算基数包不包括绩效奖金和年终奖"])
async def test_the_next_page_goes_on_from_the_first_when_excerpts_are_left_out(searcher: Searcher, question: str) -> None:
    # Passages left out for holding one everyday word were dropped after the page was cut: a first page of one
    # excerpt, and 更多 skipping the ones that should have filled it.
    six = [hit.passage_id for hit in (await searcher.search(question, k=6)).shown]
    first = [hit.passage_id for hit in (await searcher.search(question, k=3)).shown]
    second = [hit.passage_id for hit in (await searcher.search(question, k=3, offset=3)).shown]
    assert first + second == six and len(first) == min(3, len(six))


async def test_weak_answers_are_marked_related_not_hits(searcher: Searcher) -> None:
    result = await searcher.search("合作社分红", k=3)  # the seeds hold 合作社, but say nothing of dividends
    assert result.confidence is Confidence.WEAK
    assert len(result.related) == 3 and result.hits == ()


@pytest.mark.parametrize("question", ["合作社考核", "社区财务"])
async def test_words_found_only_apart_are_possibly_related_not_an_answer(corpus: Corpus, question: str) -> None:
    # The seeds speak of 合作社 and of 考核, never of assessing a cooperative: no top passage holds the phrase (nor do
    # the questions it is known to answer count as holding it: what is held as typed is the report's wording).
    result = await Searcher.over(corpus).search(question, k=3)
    assert result.confidence is Confidence.WEAK and result.related and result.hits == ()
    assert result.evidence is not None and result.evidence.phrases < SearchParams().confident_phrases
    # The thresholds' own rule (search.calibrated off) holds it back too, and only it: turned off, these words make a
    # confident answer.
    rules = await Searcher.over(corpus, params=SearchParams(calibrated=False)).search(question, k=3)
    assert rules.confidence is Confidence.WEAK
    ignoring_phrases = SearchParams(confident_phrases=0, calibrated=False)
    assert (await Searcher.over(corpus, params=ignoring_phrases).search(question, k=3)).confidence is Confidence.CONFIDENT


async def test_pasted_text_is_read_for_its_key_words(searcher: Searcher) -> None:
    pasted = (
        "我们县今年按照上级部署开展集中整顿，县委组织部发了通知，要求各乡镇对软弱涣散村党组织逐村排查，"
        "有的村班子不团结，有的村书记年龄偏大、能力不强，还有的村集体经济是空壳。"
        "请问别的地方是怎么选派第一书记、怎么给软弱涣散村配强带头人的？具体有什么做法？"
    )
    result = await searcher.search(pasted, k=3)
    assert result.query.pasted and len(result.query.topic) <= 12 and result.query.repairs == ()
    assert all(word in normalize(pasted) for word in result.query.topic)  # key words of the text, nothing else
    assert len(result.shown) == 3
    assert all(set(hit.matched_terms) & set(result.query.topic) for hit in result.shown)
    assert any("带头人" in normalize(hit.text) for hit in result.shown)


async def test_a_query_built_directly_is_ranked(searcher: Searcher) -> None:
    query = Query(text="村官回归工程", topic=("村官", "回归", "工程"), words=("村官", "回归", "工程"))
    result = await searcher.search(query, k=3)
    assert result.hits and "村官回归工程" in normalize(result.hits[0].text)


_ROUTINE = (
    "村里组织党员开展学习教育，按时召开党员大会，落实三会一课制度，党员参与积极。",
    "镇党委加强对村党组织的指导，定期研究村级事务，帮助解决群众反映的困难和问题。",
    "村务公开做到及时准确，群众对村里的各项工作比较满意，党组织威信有所提高。",
)


@pytest.mark.parametrize("question", ["第一书记群众满意吗", "第一书记干部群众满意"])
async def test_the_passage_holding_more_of_the_question_comes_first(
    empty_corpus: Corpus, tmp_path: Path, question: str
) -> None:
    # One passage says 第一书记 five times and nothing else asked; the other says it twice with 群众 and 满意.
    # BM25 alone puts the first on top (checked without re-ranking); staff want the second.
    folder = tmp_path / "briefs"
    folder.mkdir()
    for i in range(8):
        (folder / f"routine{i}.txt").write_text(f"第{i}号工作简报\n\n{_ROUTINE[i % 3]}\n\n{_ROUTINE[(i + 1) % 3]}",
                                                 encoding="utf-8")
    (folder / "a.txt").write_text("甲镇简报\n\n驻村第一书记进村入户，第一书记带着第一书记工作队走访，第一书记住在村里，"
                                  "第一书记和群众同吃同住。", encoding="utf-8")
    (folder / "b.txt").write_text("乙镇简报\n\n县里对第一书记实行年度考核，考核不合格的第一书记及时召回，另行选派合适的干部"
                                  "接替，群众对这项工作比较满意。", encoding="utf-8")
    await empty_corpus.ingest([folder])
    bm25_only = await Searcher.over(empty_corpus, SearchParams(coverage_weight=0, characters_weight=0)).search(
        question, k=2
    )
    reranked = await Searcher.over(empty_corpus).search(question, k=2)
    assert bm25_only.shown[0].text.startswith("驻村第一书记")
    assert reranked.hits[0].text.startswith("县里对第一书记")
    assert reranked.shown[0].score >= reranked.shown[1].score


async def test_a_passage_holding_the_question_s_characters_comes_first(empty_corpus: Corpus, tmp_path: Path) -> None:
    # 支部分成几类来整顿 is answered by a report saying 分类; no word and no character pair of 分成 is in it, and a
    # passage repeating 支部整顿 holds as many of the question's words. Its characters tell them apart.
    folder = tmp_path / "briefs"
    folder.mkdir()
    for i in range(8):
        (folder / f"routine{i}.txt").write_text(f"第{i}号工作简报\n\n{_ROUTINE[i % 3]}\n\n{_ROUTINE[(i + 1) % 3]}",
                                                 encoding="utf-8")
    (folder / "a.txt").write_text("甲镇简报\n\n县里把支部分类定级，按好中差三类逐个整顿。", encoding="utf-8")
    (folder / "b.txt").write_text("乙镇简报\n\n支部整顿要抓好，支部整顿要见效，支部整顿要让党员满意。", encoding="utf-8")
    await empty_corpus.ingest([folder])
    question = "支部分成几类来整顿"
    by_words = await Searcher.over(empty_corpus, SearchParams(characters_weight=0)).search(question, k=2)
    by_characters_too = await Searcher.over(empty_corpus).search(question, k=2)
    assert by_words.shown[0].text.startswith("支部整顿要抓好")
    assert by_characters_too.shown[0].text.startswith("县里把支部分类定级")


_REPUBLISHED = (
    "截至11月底，全国累计打掉农村地区的涉黑组织1198个，占打掉涉黑组织总数的33.4%，打掉农村地区的涉恶犯罪集团"
    "及团伙1327个，依法严惩了一批横行乡里、欺压百姓的村霸。"
)
_CLOSINGS = ("", "各地将持续巩固成效。", "下一步还要深挖彻查。", "群众拍手称快。", "基层政权更加稳固。")
_OTHER_REPORTS = (
    "某县开展宣传月活动，发动农村群众举报违法线索，共收到线索二十余条。",
    "某镇把整顿软弱涣散村党组织同农村治理结合起来，排查村干部中的突出问题。",
    "某村党支部召开会议，要求党员带头维护农村稳定，抵制各种歪风邪气。",
)


async def test_a_paragraph_sites_republished_takes_one_excerpt_not_five(empty_corpus: Corpus, tmp_path: Path) -> None:
    # The same report on several sites, each ending a little differently, is not one stored text; shown as it ranks,
    # its copies took every excerpt. They fill the best scores before anything else is looked at, so the search
    # must also go on past them to fill the page.
    folder = tmp_path / "news"
    folder.mkdir()
    for site, closing in enumerate(_CLOSINGS):
        (folder / f"site_{site}.txt").write_text(f"打击村霸通报{site}\n\n{_REPUBLISHED}{closing}", encoding="utf-8")
    for number, report in enumerate(_OTHER_REPORTS):
        (folder / f"other{number}.txt").write_text(f"工作简报{number}\n\n{report}", encoding="utf-8")
    await empty_corpus.ingest([folder])
    searcher = Searcher.over(empty_corpus)
    question = "打掉多少农村涉黑组织"
    first, second = await searcher.search(question, k=3), await searcher.search(question, k=3, offset=3)
    shown = [*first.shown, *second.shown]
    assert len(first.shown) == 3 and sum("1198" in hit.text for hit in shown) == 1
    assert "1198" in first.shown[0].text  # the copy that ranks best is the one shown
    assert len({hit.passage_id for hit in shown}) == len(shown)


async def test_one_article_in_two_scripts_cut_differently_takes_one_excerpt(empty_corpus: Corpus, tmp_path: Path) -> None:
    # A trial found one article, in simplified script on one site and traditional on another, taking two of three
    # excerpts: one site cut it into one passage, the other into two, so neither passage held 80% of the other.
    simplified = ("三年来，一大批像石凤刚这样横行乡里、欺压百姓的村霸被依法惩处，农村治安明显好转，群众拍手称快。"
                  "截至目前，全国共排查出软弱涣散村党组织一批，逐一制定整顿方案，选派第一书记驻村帮扶。")
    traditional = ("三年來，一大批像石鳳剛這樣橫行鄉里、欺壓百姓的村霸被依法懲處，農村治安明顯好轉，群眾拍手稱快。"
                   "\n\n二、補強基層組織\n\n截至目前，全國共排查出軟弱渙散村黨組織一批，逐一制定整頓方案，選派第一書記駐村幫扶。")
    searcher = await searcher_over(empty_corpus, tmp_path / "sites", {
        "a.txt": f"清除村霸成效\n\n{simplified}",
        "b.txt": f"清除村霸成效\n\n{traditional}",
        "c.txt": "扫黑除恶简报\n\n某县依法打掉一个村霸团伙，追缴违法所得，群众安全感明显提升。",
    })
    result = await searcher.search("村霸石凤刚被惩处了吗", k=3)
    assert sum("石凤刚" in normalize(hit.text) for hit in result.shown) == 1, [h.text[:12] for h in result.shown]


async def test_reports_from_one_template_stating_other_numbers_are_not_copies(
    empty_corpus: Corpus, tmp_path: Path
) -> None:
    folder = tmp_path / "towns"
    folder.mkdir()
    for town, (removed, sent) in enumerate([(23, 86), (5, 12), (9, 31)]):
        (folder / f"town{town}.txt").write_text(
            f"整顿工作通报{town}\n\n整顿软弱涣散村党组织以来，共撤换不称职的村党组织书记{removed}名，"
            f"选派第一书记{sent}名，村级班子战斗力明显增强。", encoding="utf-8")
    await empty_corpus.ingest([folder])
    result = await Searcher.over(empty_corpus).search("整顿软弱涣散村撤换了多少书记", k=3)
    assert len(result.shown) == 3


async def test_the_backend_filters_documents_before_ranking(searcher: Searcher, corpus) -> None:
    query = searcher.parse("第一书记怎么发挥作用")
    everywhere = corpus.index.search(query, k=5)
    other_documents = {c.document_id for c in everywhere[1:]} - {everywhere[0].document_id}
    rare = min(other_documents)  # a document that does not hold the best passage
    only_there = corpus.index.search(query, k=5, allowed={rare})
    assert only_there and {c.document_id for c in only_there} == {rare}
    assert [c.score for c in only_there] == sorted((c.score for c in only_there), reverse=True)


async def test_a_question_is_answered_while_another_search_is_stuck(corpus: Corpus, monkeypatch) -> None:
    """Searching runs off the event loop: a bot's other chats, and its ticker, go on during a slow search."""
    searcher = Searcher.over(corpus)
    index = corpus.index
    assert index is not None
    release = threading.Event()
    rank = index.search

    def slow_for_one_question(query: Query, k: int, allowed=None):  # noqa: ANN001, ANN202 - the patched signature
        if "第一书记" in query.text:
            release.wait(timeout=30)  # stuck until this test lets it go, as a search over a huge corpus would be
        return rank(query, k, allowed)

    monkeypatch.setattr(index, "search", slow_for_one_question)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    stuck = asyncio.create_task(searcher.search("第一书记怎么开展工作"))
    try:
        other = await asyncio.wait_for(searcher.search("村官回归工程"), timeout=20)
        ticks_then = ticks
        await asyncio.sleep(0.05)
        assert other.hits and not stuck.done()
        assert ticks > ticks_then  # the loop still runs other tasks while the search is stuck
    finally:
        release.set()
        ticking.cancel()
    assert (await stuck).hits


async def test_warm_up_loads_what_a_question_with_a_typo_needs(corpus: Corpus, tmp_path: Path, monkeypatch) -> None:
    fresh = Tokenizer(cache_dir=tmp_path / "cache")
    searcher = Searcher(fresh, lambda: corpus.index, corpus.store)
    bundled_gazetteer.cache_clear()
    searcher.warm_up()

    def loaded_during_a_question(*args: object, **kwargs: object) -> None:
        raise AssertionError("loaded while answering, not at warm-up")

    # Everything a question reads from disk or builds once: data files, the pinyin table, the parser.
    for target in ("rectbot.retrieval.tokenizer.data_lines", "rectbot.retrieval.thesaurus.data_lines", "rectbot.retrieval.tokenizer.remembered",
                   "rectbot.retrieval.typos.repairable", "rectbot.retrieval.places.Gazetteer.read", "rectbot.retrieval.search.QueryParser"):
        monkeypatch.setattr(target, loaded_during_a_question)
    result = await searcher.search("中卫第一书计怎么开展工作", k=3)  # a typo, a place above the seeds' 沙坡头区
    assert result.query.repairs == (("第一书计", "第一书记"),) and result.shown


async def test_a_question_asking_how_long_is_answered_only_by_a_passage_stating_a_length_of_time(
    empty_corpus: Corpus, tmp_path: Path
) -> None:
    # 第一书记驻村多久 was answered confidently by paragraphs on what first secretaries do, which state no time.
    duties = {
        "a.txt": "驻村第一书记的职责\n\n驻村第一书记要抓党建、促脱贫、强基础，帮助村党组织建强班子，带领群众发展产业。",
        "b.txt": "第一书记工作经验\n\n第一书记驻村以来，走访农户，理清发展思路，办成了一批实事。",
    }
    searcher = await searcher_over(empty_corpus, tmp_path / "duties", duties)
    unstated = await searcher.search("第一书记驻村多久", k=3)
    assert unstated.query.asks == "duration"
    assert unstated.confidence is Confidence.WEAK and unstated.related and not unstated.hits, unstated.evidence
    assert unstated.evidence is not None and not unstated.evidence.answer_stated
    # The same question without asking for a time is an answer from them.
    what = await searcher.search("驻村第一书记有哪些职责", k=3)
    assert what.confidence is Confidence.CONFIDENT, what.evidence
    # A report stating the term answers it.
    term = tmp_path / "term"
    term.mkdir()
    (term / "c.txt").write_text("第一书记选派办法\n\n第一书记驻村任期一般为两年，期满考核合格的方可召回。", encoding="utf-8")
    await empty_corpus.ingest([term])
    stated = await Searcher.over(empty_corpus).search("第一书记驻村多久", k=3)
    assert stated.confidence is Confidence.CONFIDENT and "两年" in stated.hits[0].text, stated.evidence


async def test_an_answer_s_excerpts_holding_little_of_the_question_are_marked_possibly_related(
    empty_corpus: Corpus, tmp_path: Path
) -> None:
    # A trial found confident answers padded with excerpts on other matters: 四上四下 beside a 述职 meeting.
    searcher = await searcher_over(empty_corpus, tmp_path / "reports", {
        "a.txt": "选人用人\n\n推行四上四下选人办法，村党组织书记人选经过四上四下程序产生，党员群众认可度高。",
        "b.txt": "述职评议\n\n年底召开村党组织书记述职评议会，党员群众代表现场打分。",
        "c.txt": "乡村治理\n\n粤东一些村推行积分制管理，党员带头参与乡村治理。",
    })
    result = await searcher.search("四上四下怎么选村党组织书记", k=3)
    assert result.confidence is Confidence.CONFIDENT, result.evidence
    assert len(result.hits) >= 2 and not result.hits[0].possibly_related
    assert all(h.possibly_related for h in result.hits[1:]), [h.text[:4] for h in result.hits]
    assert "四上四下" in result.hits[0].text and all("四上四下" not in h.text for h in result.hits[1:])
    # The order is the ranking's, and the mark is each excerpt's own, whatever the page.
    everything = await Searcher.over(empty_corpus, SearchParams(answer_share=0)).search("四上四下怎么选村党组织书记", k=3)
    assert [h.passage_id for h in everything.hits] == [h.passage_id for h in result.hits]
    assert not any(h.possibly_related for h in everything.hits)
    second = await searcher.search("四上四下怎么选村党组织书记", k=1, offset=1)
    assert second.hits[0].passage_id == result.hits[1].passage_id and second.hits[0].possibly_related


async def test_a_spoken_question_asking_how_long_no_seed_states_is_shown_the_nearest_excerpts(searcher: Searcher) -> None:
    # 整顿软弱涣散要搞多长时间 got nothing at first (issue 8), then confident excerpts stating no length of time: the seeds
    # say 整顿期限 and 自2014年起, never how long. It is shown them as possibly related.
    result = await searcher.search("整顿软弱涣散要搞多长时间", k=3)
    assert result.confidence is Confidence.WEAK and any("整顿期限" in normalize(h.text) for h in result.related)
