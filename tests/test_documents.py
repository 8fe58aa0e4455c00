"""Reading files into cleaned articles: the seed pages, every format, encodings and rejected files."""

from __future__ import annotations

import hashlib
import io
import random
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document

from rectbot.retrieval.documents import (
    SUPPORTED_SUFFIXES,
    Article,
    DocumentError,
    ParsedFile,
    Section,
    parse_bytes,
    read_document,
)
from rectbot.retrieval.text import normalize_for_phrase_match, strip_pinyin_notes
from testkit.docfactory import make_docx, make_image_only_pdf, make_pdf, wrap
from tests.conftest import SEEDS



def seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


def parse_seed(prefix: str) -> ParsedFile:
    return read_document(seed(prefix))


def norm(text: str) -> str:
    return normalize_for_phrase_match(text)


def all_text(parsed: ParsedFile) -> str:
    return "\n".join(article.text for article in parsed.articles)


def parse_text(text: str, name: str = "page.txt") -> ParsedFile:
    return parse_bytes(text.encode("utf-8"), name)


# ---------------------------------------------------------------- seeds: metadata

GOLDEN = {
    "000": dict(
        title="從嚴治黨向下延伸⑥:軟弱渙散黨組織如何“跟上趟”",
        date="2017-09-12",
        source="人民日報",
        author=None,
        region=None,
    ),
    "001": dict(
        title="开拓创新夯基础 凝心聚力抓服务——深入学习领会习近平总书记关于加强党的基层组织建设的重要论述",
        date="2014-08-29",
        source="全国党建网站联盟",
        author="中共中卫市沙坡头区党群工作部",
        region="中卫市沙坡头区",
    ),
    "002": dict(title=None, date=None, source=None, author="县基层办 秦敬洪", region="鹿寨县"),
    "003": dict(title="整顿软弱涣散村党组织调研报告三篇", date="2021-04-20", source="写作资料库", author=None, region=None),
    "004": dict(
        title="四川康定:“四字箴言”夯实乡村振兴组织保障",
        date="2019-07-18",
        source="共产党员网",
        author="四川省康定市委组织部 郑应红",
        region="四川省康定市",
    ),
}


@pytest.mark.parametrize("prefix", sorted(GOLDEN))
def test_seed_metadata(prefix: str) -> None:
    parsed = parse_seed(prefix)
    assert len(parsed.articles) == 1
    article = parsed.articles[0]
    got = dict(
        title=article.title, date=article.date, source=article.source, author=article.author, region=article.region
    )
    assert got == GOLDEN[prefix]


def test_seed_parsed_file_identity() -> None:
    path = seed("004")
    parsed = read_document(path)
    assert parsed.file_name == path.name
    assert parsed.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert parsed.encoding == "utf-8"


def test_seed_003_has_three_numbered_parts() -> None:
    article = parse_seed("003").articles[0]
    assert [s.title for s in article.sections] == ["篇一", "篇二", "篇三"]
    starts = {s.title: article.text[s.start :] for s in article.sections}
    assert starts["篇一"].startswith("**年,按照市委组织部《整顿软弱涣散基层党组织相关工作通知》要求")
    assert starts["篇二"].startswith("**县现有371个村(社区)党组织")
    assert starts["篇三"].startswith("按照中央和省、市委的工作部署")
    assert "篇一" not in article.text and "(篇二)" not in article.text
    middle_of_part_two = article.text.index("凝聚转化合力")
    assert article.section_at(middle_of_part_two) == "篇二"
    assert article.section_at(len(article.text) - 1) == "篇三"


def test_articles_without_numbered_parts_have_no_sections() -> None:
    article = parse_seed("001").articles[0]
    assert article.sections == ()
    assert article.section_at(10) is None


# ---------------------------------------------------------------- seeds: content kept, junk dropped

KEPT = {
    "000": [
        "“開著私家車,住著小別墅,干起新產業,過上好生活,個個樂呵呵。”細數村莊發生的新變化",
        "安徽通過走訪座談、問卷調查等方式摸底數、查實情",
        "明確標準 摸清底數",
        "寧夏對所有村(社區)進行“拉網式”排查",
        "查處村(社區)干部違法違紀行為4595例",
        "四川建立整頓臺賬,實行掛單整改、全程公示,接受廣大干部群眾監督和評議。",
    ],
    "001": [
        "习近平总书记在全国组织工作会议上强调",
        "对沙坡头区614个基层党组织进行了调查摸底、分类定级",
        "2013年投入2320.49万元,新建村级组织活动场所7个",
        "认真做好发展党员工作,不断优化党员队伍结构,壮大党的力量。",
    ],
    "002": [
        "自2014年起,鹿寨县通过认真细致排查,确定了三批共36个村级党组织为软弱涣散基层党组织",
        "落实整顿责任",
        "如寨沙镇河岭村党组织根据本村实际,带领群众种植沙糖橘250亩",
        "圆满高效完成了软弱涣散基层党组织整改转化工作。",
    ],
    "003": [
        "按照市委组织部《整顿软弱涣散基层党组织相关工作通知》要求",
        "一、当前存在的问题和产生问题的原因。",
        "阵地作用发挥不够;三是干部作风不实。",
        "**县现有371个村(社区)党组织,农村党员20842名。",
        "解决了3122农户吃水难或饮水不安全问题",
        "打造成为集宣传引导、信息服务、健身娱乐为一体的综合性阵地。",
    ],
    "004": [
        "谱写好新时代乡村全面振兴新篇章,必须要牢固树立“抓基层、强基础”的鲜明导向",
        "制定《康定市基层党组织标准化建设工作法》",
        "每年为村干部购买100元的人身意外伤害保险",
        "实现“设岗定责”与联系服务群众、壮大基层力量、深化“两学一做”等工作同推动、同落实。",
    ],
}

JUNK = [
    "微信扫一扫",
    "微信掃一掃",
    "bet365",
    "写作资料库手机站",
    "本文已影响",
    "中文字幕",
    "当前位置",
    "打印",
    "纠错",
    "糾錯",
    "收听本文",
    "收聽本文",
    "进入手机版",
    "继续访问电脑版",
    "投稿须知",
    "阅读人次",
    "点击:",
    "责任编辑",
    "编辑:",
    "發布時間",
    "发布人",
    "来源:",
    "來源:",
    "分隔线",
    "延伸閱讀",
    "從嚴治黨向下延伸①",
    "第一書記 不是一個人在戰鬥",
    "啃下“硬骨頭” 摘掉“窮帽子”",
    "工作总结",
    "述职报告",
    "思想汇报",
    "先锋文汇",
    "(wǎng)",
    "1 1 1",
    "收藏",
    "回复",
]


@pytest.mark.parametrize("prefix", sorted(KEPT))
def test_seed_content_survives(prefix: str) -> None:
    text = norm(all_text(parse_seed(prefix)))
    for sentence in KEPT[prefix]:
        assert norm(sentence) in text, sentence


@pytest.mark.parametrize("prefix", sorted(KEPT))
def test_seed_junk_is_dropped(prefix: str) -> None:
    text = all_text(parse_seed(prefix))
    found = [junk for junk in JUNK if junk in text or (len(junk) > 3 and norm(junk) in norm(text))]
    assert found == []


@pytest.mark.parametrize("prefix", sorted(KEPT))
def test_no_long_seed_line_is_lost(prefix: str) -> None:
    raw = seed(prefix).read_text(encoding="utf-8")
    text = norm(all_text(parse_seed(prefix)))
    lines = [strip_pinyin_notes(line).strip() for line in raw.splitlines()]
    # Metadata glued to the last paragraph: seed 003's date line, seed 002's signature.
    lines = [re.sub(r"\s{2,}时间:.*$|\(县基层办 秦敬洪\)$", "", line) for line in lines]
    long_lines = [line for line in lines if len(line) > 60]
    assert long_lines
    assert [line[:30] for line in long_lines if norm(line) not in text] == []


def test_seed_text_shape() -> None:
    for prefix in KEPT:
        for article in parse_seed(prefix).articles:
            lines = article.text.split("\n")
            assert all(line and line == line.strip() for line in lines)
            assert [article.text[a:b] for a, b in article.paragraphs()] == lines


def test_lines_broken_after_semicolons_are_one_paragraph() -> None:
    lines = parse_seed("003").articles[0].text.split("\n")
    paragraph = next(line for line in lines if line.startswith("从调查情况来看"))
    assert paragraph.endswith(";阵地作用发挥不够;三是干部作风不实。不履行联系服务、宣传教育群众职责。")
    # Without blank lines between paragraphs, every line is a paragraph of its own.
    text = parse_text("几点做法\n一是加强学习，提高认识；\n二是改进作风，狠抓落实。\n").articles[0].text
    assert text == "一是加强学习，提高认识；\n二是改进作风，狠抓落实。"


def test_headline_and_its_repeat_are_not_in_the_text() -> None:
    article = parse_seed("001").articles[0]
    assert "凝心聚力抓服务" not in article.text
    assert "深入学习领会习近平总书记关于加强党的基层组织建设的重要论述" not in article.text
    assert "中共中卫市沙坡头区党群工作部" not in article.text
    assert article.text.startswith("习近平总书记在全国组织工作会议上强调")


def test_trailing_signature_becomes_the_author() -> None:
    article = parse_seed("002").articles[0]
    assert article.text.endswith("圆满高效完成了软弱涣散基层党组织整改转化工作。")
    assert "秦敬洪" not in article.text


def test_glued_date_line_is_cut_from_the_last_paragraph() -> None:
    article = parse_seed("003").articles[0]
    assert article.text.endswith("打造成为集宣传引导、信息服务、健身娱乐为一体的综合性阵地。")


def test_traditional_text_keeps_its_script_and_loses_pinyin_notes() -> None:
    text = parse_seed("000").articles[0].text
    assert "全國7.7萬個軟弱渙散村(社區)黨組織中" in text
    assert "(qū)" not in text and "(jù)" not in text
    assert "社区" not in text  # not converted to simplified


# ---------------------------------------------------------------- cleaning rules on made-up pages


def test_prose_mentioning_junk_words_survives() -> None:
    paragraph = (
        "各村要把微信扫一扫缴费、打印证明、纠错申请和收藏政策文件等便民服务延伸到群众家门口，"
        "当前位置偏远的村也要覆盖，来源于群众的意见要及时回复，责任编辑制度也要落实到每个村务公开栏。"
    )
    parsed = parse_text(f"关于便民服务的几点做法\n\n{paragraph}\n\n回复 群众关切\n\n第二段正文也要留下来。\n")
    assert parsed.articles[0].text == f"{paragraph}\n回复 群众关切\n第二段正文也要留下来。"


def test_an_academic_articles_front_matter_and_database_marks_are_dropped() -> None:
    # Keyword lines hold nothing but party-building terms, so they matched many questions and were shown as answers.
    page = "\n".join(
        [
            "驻村第一书记制度研究",
            "摘 要:<正>选派驻村第一书记是加强农村基层党组织建设的重要举措。",
            "〔关键词〕驻村第一书记;乡村振兴;村党组织",
            "〔中图分类号〕D267 〔文献标识码〕A 〔文章编号〕1003-7608(2024)01-0034-07",
            "一、问题的提出",
            "第一书记要把主要精力放在抓党建促振兴上，关键词是“实”。(剩余10911字",
            "关键词",
            "党建引领;集体经济;战旗村",
            "DOI:10.13411/j.cnki.sxsx.2020.01.002",
            "各地通过派强第一书记，村党组织的凝聚力明显增强。endprint",
        ]
    )
    assert parse_text(page).articles[0].text.split("\n") == [
        "摘 要:选派驻村第一书记是加强农村基层党组织建设的重要举措。",
        "一、问题的提出",
        "第一书记要把主要精力放在抓党建促振兴上，关键词是“实”。",
        "各地通过派强第一书记，村党组织的凝聚力明显增强。",
    ]


def test_page_footers_and_spam_spliced_into_sentences_are_cut_out() -> None:
    page = (
        "某学院党支部书记述职会\n\n"
        "学院召开党支部书记抓基层党建述职bat365中国官方网站大会，各支部书记逐一述职。"
        "班子领导核心作用发挥不好;第1页共6页党的组织生活不经常，第 2 页 / 共 6 页党员教育管理松散。\n"
    )
    assert parse_text(page).articles[0].text == (
        "学院召开党支部书记抓基层党建述职大会，各支部书记逐一述职。"
        "班子领导核心作用发挥不好;党的组织生活不经常，党员教育管理松散。"
    )


def test_front_matter_and_spam_rules_leave_report_prose_alone() -> None:
    # Lines that start like front matter or hold letters and digits before 平台, but are a report's own sentences.
    kept = [
        "关键词：强基固本。全县整顿软弱涣散村党组织23个，选派第一书记86名。",
        "基金项目 申报工作有序推进，全年争取资金200万元。",
        "依托Office365平台和OA2023平台开展党员线上学习，请翻到第3页，共5页的材料。",
    ]
    page = "\n".join(["某县年度工作回顾", *kept, "关键词", "一、问题的提出", "各村要把整顿工作抓实抓细。"])
    assert parse_text(page).articles[0].text.split("\n") == [*kept, "一、问题的提出", "各村要把整顿工作抓实抓细。"]


def test_short_lines_are_judged_by_their_shape_not_their_words() -> None:
    page = "\n".join(
        [
            "三会一课学习计划",
            "群众有困难，随时联系我们。",
            "阅读：《中国共产党章程》第一章",
            "申请→审核→公示",
            "上篇：理论探讨",
            "各支部要按计划组织党员学习，做好学习记录。",
            "阅读：1623",
        ]
    )
    assert parse_text(page).articles[0].text.split("\n") == [
        "群众有困难，随时联系我们。",
        "阅读：《中国共产党章程》第一章",
        "申请→审核→公示",
        "上篇：理论探讨",
        "各支部要按计划组织党员学习，做好学习记录。",
    ]


def test_bracketed_source_after_the_last_sentence_is_metadata() -> None:
    page = "某村党支部的做法\n该村党支部认真落实三会一课制度，效果明显。（来源：柳州日报）\n"
    article = parse_text(page).articles[0]
    assert article.text == "该村党支部认真落实三会一课制度，效果明显。"
    assert article.source == "柳州日报"


def test_date_line_without_a_label_before_the_source() -> None:
    page = "某村党支部的做法\n2019年07月18日 来源：人民网\n该村党支部认真落实三会一课制度，效果明显。\n"
    article = parse_text(page).articles[0]
    assert (article.date, article.source, article.text) == ("2019-07-18", "人民网", "该村党支部认真落实三会一课制度，效果明显。")


def test_menus_and_spam_are_dropped_on_a_page_without_headline() -> None:
    page = "\n".join(
        [
            "中文字幕Av在线综合网,亚洲人成在线俺来了",
            "• 工作总结",
            "• 工作计划",
            "• 心得体会",
            "该村党支部认真落实三会一课制度，效果明显。",
            "• 述职报告",
            "• 思想汇报",
            "• 读后感",
            "bet365亚洲版",
        ]
    )
    article = parse_text(page).articles[0]
    assert (article.title, article.text) == (None, "该村党支部认真落实三会一课制度，效果明显。")


def test_two_articles_on_one_page_each_get_their_metadata() -> None:
    page = "\n".join(
        [
            "当前位置: 先锋网 > 经验交流",
            "甲县整顿软弱涣散党组织的做法",
            "时间:2020-05-06 来源:甲县日报",
            "甲县把整顿软弱涣散党组织作为重点工作，取得了明显成效。",
            "------分隔线----------------------------",
            "乙市推进基层党建的经验",
            "发布时间:2019/7/18 作者:乙市委组织部 王小明",
            "乙市坚持抓基层强基础，推动各项工作落到实处。",
            "------分隔线----------------------------",
            "",
        ]
    )
    first, second = parse_text(page).articles
    assert (first.title, first.date, first.source) == ("甲县整顿软弱涣散党组织的做法", "2020-05-06", "甲县日报")
    assert first.text == "甲县把整顿软弱涣散党组织作为重点工作，取得了明显成效。"
    assert (second.title, second.date, second.source) == ("乙市推进基层党建的经验", "2019-07-18", "先锋网")
    assert second.author == "乙市委组织部 王小明"
    assert second.text == "乙市坚持抓基层强基础，推动各项工作落到实处。"


@pytest.mark.parametrize(
    ("stated", "iso"),
    [
        ("2017年09月12日 06:11", "2017-09-12"),
        ("2014-08-29 15:42", "2014-08-29"),
        ("2019-7-18 08:54", "2019-07-18"),
        ("2021-04-20 11:24:25", "2021-04-20"),
        ("2019/7/18", "2019-07-18"),
        ("2019.07.18", "2019-07-18"),
        ("2019-02-30", None),
        ("不详", None),
    ],
)
def test_dates_are_read_in_each_form_and_validated(stated: str, iso: str | None) -> None:
    page = f"某村党支部的做法\n日期:{stated}\n该村党支部认真落实三会一课制度，效果明显。\n"
    assert parse_text(page).articles[0].date == iso


def test_date_is_never_guessed_from_the_text() -> None:
    article = parse_text("某村党支部的做法\n2019年3月以来，该村党支部认真落实三会一课制度。\n").articles[0]
    assert article.date is None


def test_site_admin_is_not_an_author_and_unknown_source_is_not_a_source() -> None:
    page = "某村的做法\n时间:2014-08-29 来源:未知 作者:管理员 点击:\n该村党支部认真落实三会一课制度，效果明显。\n"
    article = parse_text(page).articles[0]
    assert (article.source, article.author) == (None, None)


def test_no_region_from_anonymised_or_passing_place_names() -> None:
    page = "**县整顿工作报告\n**县现有371个村党组织。今年以来，我县学习借鉴四川广元市的做法，成效明显。\n"
    assert parse_text(page).articles[0].region is None


# ---------------------------------------------------------------- encodings

TRADITIONAL = (
    "從嚴治黨向下延伸：軟弱渙散黨組織如何「跟上趟」\n\n"
    "　　據統計，黨的十八大以來，全國7.7萬個軟弱渙散村（社區）黨組織中，已有97.1%的村得到轉化提升。\n\n"
    "　　整頓軟弱渙散村黨組織，首要任務就是找準問題、找到「病灶」。\n"
)


@pytest.mark.parametrize(
    ("codec", "reported"),
    [("utf-8", "utf-8"), ("gb18030", "gb18030"), ("big5", "big5"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16")],
)
def test_encodings_decode_to_the_same_text(codec: str, reported: str) -> None:
    parsed = parse_bytes(TRADITIONAL.encode(codec), "report.txt")
    assert parsed.encoding == reported
    article = parsed.articles[0]
    assert article.title == "從嚴治黨向下延伸：軟弱渙散黨組織如何「跟上趟」"
    assert article.text == (
        "據統計，黨的十八大以來，全國7.7萬個軟弱渙散村（社區）黨組織中，已有97.1%的村得到轉化提升。\n"
        "整頓軟弱渙散村黨組織，首要任務就是找準問題、找到「病灶」。"
    )


def test_short_simplified_gb18030_is_not_mistaken_for_another_encoding() -> None:
    text = "整顿软弱涣散村党组织，要找准问题。"
    parsed = parse_bytes(text.encode("gb18030"), "short.txt")
    assert parsed.encoding == "gb18030"
    assert parsed.articles[0].text == text


# ---------------------------------------------------------------- formats


def test_docx_title_paragraphs_and_table_cells() -> None:
    data = make_docx(
        "鹿寨县整顿软弱涣散党组织工作总结",
        ["自2014年起，鹿寨县确定了三批共36个软弱涣散村级党组织。", "一、落实整顿责任", "县委书记履行第一责任。"],
        table=[["村名", "整顿措施"], ["新安村", "调整党组织负责人"]],
    )
    parsed = parse_bytes(data, "总结.docx")
    assert parsed.encoding is None
    article = parsed.articles[0]
    assert article.title == "鹿寨县整顿软弱涣散党组织工作总结"
    assert article.text.split("\n") == [
        "自2014年起，鹿寨县确定了三批共36个软弱涣散村级党组织。",
        "一、落实整顿责任",
        "县委书记履行第一责任。",
        "村名",
        "整顿措施",
        "新安村",
        "调整党组织负责人",
    ]


def test_docx_merged_cells_are_read_once() -> None:
    data = make_docx("整顿台账", ["全县共排查出38个软弱涣散村党组织。"], table=[["整顿措施", ""], ["新安村", "调整书记"]])
    document = Document(io.BytesIO(data))
    grid = document.tables[0]
    grid.cell(0, 0).merge(grid.cell(0, 1))
    buffer = io.BytesIO()
    document.save(buffer)
    text = parse_bytes(buffer.getvalue(), "台账.docx").articles[0].text
    assert text.split("\n") == ["全县共排查出38个软弱涣散村党组织。", "整顿措施", "新安村", "调整书记"]


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>鹿寨县五招整顿软弱涣散党组织 - 先锋网</title>
<script>var tracker = "打印 纠错";</script><style>p { color: red }</style></head>
<body>
<header><a href="/">先锋网首页</a></header>
<nav><ul><li>工作总结</li><li>心得体会</li></ul></nav>
<div class="crumbs">当前位置：<a>首页</a> &gt; <a>经验交流</a></div>
<h1>鹿寨县五招整顿软弱涣散党组织</h1>
<div class="info">发布时间：2019-07-18 09:30 来源：广西日报</div>
<div class="content">
<p>鹿寨县通过认真细致排查，<b>确定了</b>三批共36个
村级党组织为软弱涣散基层党组织。</p>
<p>一是构建责任体系。<br>二是健全工作机制。</p>
</div>
<div class="tools">打印 | 纠错 | 收藏</div>
<footer>版权所有 先锋网 京ICP备12345678号</footer>
</body></html>"""


def test_html_drops_chrome_and_keeps_blocks_as_lines() -> None:
    parsed = parse_bytes(HTML_PAGE.encode("utf-8"), "page.html")
    article = parsed.articles[0]
    assert article.title == "鹿寨县五招整顿软弱涣散党组织"
    assert (article.date, article.source) == ("2019-07-18", "广西日报")
    assert article.text.split("\n") == [
        "鹿寨县通过认真细致排查，确定了三批共36个村级党组织为软弱涣散基层党组织。",
        "一是构建责任体系。",
        "二是健全工作机制。",
    ]


def test_html_logo_heading_is_not_the_title() -> None:
    page = (
        "<html><head><title>某县整顿软弱涣散党组织的做法--经验交流-中国共产党新闻网</title></head><body>"
        "<div id=logo><h1>中国共产党新闻网</h1></div><div class=title>某县整顿软弱涣散党组织的做法</div>"
        "<p>某县坚持问题导向，扎实开展整顿工作。</p></body></html>"
    )
    article = parse_bytes(page.encode("utf-8"), "page.html").articles[0]
    assert (article.title, article.source) == ("某县整顿软弱涣散党组织的做法", "中国共产党新闻网")
    assert article.text == "某县坚持问题导向，扎实开展整顿工作。"


def test_html5_article_header_is_kept_and_page_header_dropped() -> None:
    page = (
        "<html><head><title>某村的做法 | 先锋网</title></head><body>"
        "<header><h1>先锋网</h1><p>首页 新闻 理论</p></header>"
        "<article><header><h1>某村的做法</h1><p>发布时间：2020-01-02</p></header>"
        "<p>该村党支部认真落实三会一课制度，效果明显。</p></article>"
        "<footer>版权所有 先锋网</footer></body></html>"
    )
    article = parse_bytes(page.encode("utf-8"), "page.html").articles[0]
    assert (article.title, article.date, article.source) == ("某村的做法", "2020-01-02", "先锋网")
    assert article.text == "该村党支部认真落实三会一课制度，效果明显。"


def test_html_in_gb18030_with_site_name_as_source() -> None:
    page = HTML_PAGE.replace('charset="utf-8"', 'charset="gb2312"').replace(" 来源：广西日报", "")
    article = parse_bytes(page.encode("gb18030"), "page.htm").articles[0]
    assert article.source == "先锋网"
    assert article.text.startswith("鹿寨县通过认真细致排查")


def test_markdown_markup_is_stripped() -> None:
    markdown = (
        "# 康定市**四字箴言**工作法\n\n"
        "在“实”字方面，*突出*责任落实，详见[工作方案](https://example.org/plan)。\n"
        "市委党建办实行季度调研督导。\n\n"
        "## 主要做法\n\n"
        "- 实施责任清单抓管理；\n"
        "- 实施月度清单抓指导。\n"
    )
    article = parse_bytes(markdown.encode("utf-8"), "note.md").articles[0]
    assert article.title == "康定市四字箴言工作法"
    assert article.text.split("\n") == [
        "在“实”字方面，突出责任落实，详见工作方案。市委党建办实行季度调研督导。",
        "主要做法",
        "实施责任清单抓管理；",
        "实施月度清单抓指导。",
    ]


def test_pdf_text_layer_with_wrapped_lines_joined() -> None:
    first = "各地把整顿软弱涣散基层党组织与专项整治不作为乱作为、村霸和宗族恶势力等工作结合起来，妥善解决群众反映强烈的突出问题。"
    second = "遼寧、西藏、寧夏等地集中清理農村三資，公開村務財務。"
    lines = ["整顿软弱涣散基层党组织工作综述", *wrap("\u3000\u3000" + first, 30), "\u3000\u3000" + second]
    data = make_pdf([[*lines[:3], "- 1 -"], [*lines[3:], "- 2 -"]])
    article = parse_bytes(data, "综述.pdf").articles[0]
    assert article.title == "整顿软弱涣散基层党组织工作综述"
    assert article.text.split("\n") == [first, second]


# ---------------------------------------------------------------- rejected files


def reason(data: bytes, name: str) -> str:
    with pytest.raises(DocumentError) as caught:
        parse_bytes(data, name)
    return str(caught.value)


def test_rejects_empty_and_whitespace_only_files() -> None:
    assert reason(b"", "a.txt") == "empty file"
    assert reason(" \n\t\r\n".encode(), "a.txt") == "empty file"
    assert reason("\u3000\n".encode("utf-16"), "a.txt") == "empty file"


def test_rejects_binary_files() -> None:
    assert reason(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "picture.txt") == "binary file, not a document"
    assert reason(random.Random(7).randbytes(4096), "noise.txt") == "binary file, not a document"


def test_rejects_corrupt_docx_and_pdf() -> None:
    assert reason(b"this is not a zip archive", "report.docx") == "corrupt .docx file (not a zip archive)"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not word")
    assert reason(buffer.getvalue(), "report.docx") == "corrupt .docx file"
    assert reason(b"%PDF-1.4\n garbage", "report.pdf") == "corrupt .pdf file"
    assert reason(make_image_only_pdf(), "scan.pdf") == "no text layer in the PDF (a scanned image?)"


def test_rejects_unknown_extensions() -> None:
    assert reason(b"some text", "table.xls") == "unsupported format .xls"
    assert reason(b"some text", "notes.XYZ") == "unsupported format .xyz"
    assert reason(b"some text", "README") == "unsupported format (no file extension)"
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".doc", ".wps"}


def test_rejects_a_page_of_only_chrome() -> None:
    assert reason("当前位置: 首页 > 新闻\n打印 纠错\n微信扫一扫 ×\n".encode(), "a.txt") == "no readable text"


def test_undecodable_text_is_rejected() -> None:
    # Latin-1 bytes that are neither UTF-8 nor plausible Chinese in any encoding.
    assert reason(bytes(range(0xC0, 0x100)) * 4, "a.txt") == "cannot decode text (tried utf-8, gb18030, big5, utf-16)"


# ---------------------------------------------------------------- the data classes


def test_paragraph_offsets_and_sections_of_a_made_up_article() -> None:
    article = Article(
        title=None, date=None, source=None, author=None, region=None,
        text="甲\n乙乙\n丙", sections=(Section("篇一", 0), Section("篇二", 5)),
    )  # fmt: skip
    assert article.paragraphs() == [(0, 1), (2, 4), (5, 6)]
    assert [article.section_at(i) for i in (0, 3, 5, 6)] == ["篇一", "篇一", "篇二", "篇二"]


# ---------------------------------------------------------------- layouts found on real pages (issue 9)

BODY = "该村党支部认真落实三会一课制度，党员教育管理明显加强，群众满意度逐年提高。"


def test_date_line_under_the_title() -> None:
    article = parse_text(f"某村党支部的做法\n2020年6月1日\n\n{BODY}\n").articles[0]
    assert (article.title, article.date, article.text) == ("某村党支部的做法", "2020-06-01", BODY)


def test_date_glued_to_the_authors_under_the_title() -> None:
    page = f"城市基层党建的格局重塑\n2019-08-03 09:51黄俊尧\n党政研究 2019年4期\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.title, article.date) == ("城市基层党建的格局重塑", "2019-08-03")
    assert "2019-08-03" not in article.text


def test_date_of_the_sign_off_at_the_end() -> None:
    page = f"某村党支部2022年工作总结\n{BODY}\n明年我们将继续努力。\n中共某村支部委员会\n2022年12月30日\n"
    article = parse_text(page).articles[0]
    assert article.date == "2022-12-30"
    assert article.text == f"{BODY}\n明年我们将继续努力。"


def test_a_date_stated_in_the_header_wins_over_the_sign_off() -> None:
    page = f"某村党支部2022年工作总结\n发布时间：2023-01-05\n{BODY}\n中共某村支部委员会\n2022年12月30日\n"
    assert parse_text(page).articles[0].date == "2023-01-05"


def test_date_after_the_source_name() -> None:
    article = parse_text(f"某村党支部的做法\n来源：某市组织工作网 2023-05-16 09:30\n{BODY}\n").articles[0]
    assert (article.date, article.source, article.text) == ("2023-05-16", "某市组织工作网", BODY)


def test_date_line_in_markdown() -> None:
    page = f"# 某村党支部的做法\n\n**2023年5月16日**\n\n{BODY}\n"
    article = parse_bytes(page.encode("utf-8"), "page.md").articles[0]
    assert (article.title, article.date, article.text) == ("某村党支部的做法", "2023-05-16", BODY)


@pytest.mark.parametrize(
    "page",
    [
        f"某村党支部的做法\n{BODY}\n2021年1月12日上午，支部召开组织生活会。\n",
        f"某村党支部的做法\n{BODY}\n2021年1月12日\n支部召开组织生活会，党员逐一发言，开展批评与自我批评。\n",
        f"某村党支部的做法\n{BODY}\n（2021年1月12日）\n{BODY}\n",
    ],
)
def test_a_date_inside_the_body_is_not_the_articles_date(page: str) -> None:
    assert parse_text(page).articles[0].date is None


@pytest.mark.parametrize(
    "junk",
    [
        "APP下载",
        "版权说明:本文档由用户提供并上传,收益归属内容提供方,若内容存在侵权,请进行举报或认领",
        "首页 | 本学科首页 官方微博 | 高级检索",
        "> 清风矩阵",
        "论文部分内容阅读",
        "2019-08-27",
        "(中共绍兴市柯桥区委党校,浙江 绍兴312030)",
        "中共某县委组织部",
        "崔会敏,张雪斐",
        "□ 卢福营 高 健",
        "中文刊名:求实, 英文刊名:Truth Seeking, 2020年01期",
        "欢迎您来到某某市党建协会!",
    ],
)
def test_page_chrome_is_never_the_title(junk: str) -> None:
    assert parse_text(f"{junk}\n{BODY}\n").articles[0].title is None
    titled = parse_text(f"{junk}\n某村党支部的做法\n{BODY}\n").articles[0]
    assert titled.title == "某村党支部的做法"
    assert norm(junk) not in norm(titled.text)


def test_question_title_above_its_date() -> None:
    page = f"欢迎您来到某某市党建协会!\n当前位置:首页 > 党务工作\n“两个覆盖”的内容是什么?\n2023.02.18 18:25浏览量:\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.title, article.date, article.text) == ("“两个覆盖”的内容是什么?", "2023-02-18", BODY)


def test_original_title_prefix_is_not_kept() -> None:
    article = parse_text(f"原题:从多元隔离到多元复合:村干部监督体系研究\n{BODY}\n").articles[0]
    assert article.title == "从多元隔离到多元复合:村干部监督体系研究"
    titled = parse_text(f"村干部监督体系研究\n原标题:从多元隔离到多元复合\n{BODY}\n").articles[0]
    assert (titled.title, titled.text) == ("村干部监督体系研究", BODY)


def test_the_newspaper_named_on_the_page_is_the_source_not_the_breadcrumb() -> None:
    page = f"您当前的位置 : 某某网 > 理论\n某村党支部的做法\n《某某日报》（2023年05月16日 第07版）\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.source, article.date, article.text) == ("某某日报", "2023-05-16", BODY)


def test_toolbar_words_glued_to_the_author_are_not_the_author() -> None:
    article = parse_text(f"某村党支部的做法\n作者：李明 打印】【纠错\n{BODY}\n").articles[0]
    assert (article.author, article.text) == ("李明", BODY)


def test_advertisement_and_cms_footer_are_dropped() -> None:
    page = "\n".join(
        [
            "某村党支部的做法",
            BODY,
            "月入过万不是梦，加微信 xxx123 了解详情",
            "党员们表示，要把学习成果转化为推动工作的实际行动。",
            "<!-- footer start -->",
            "http://www.example.gov.cn/dj/2023/0516/12345.html",
            "www.example.gov.cn",
            "-->",
        ]
    )
    assert parse_text(page).articles[0].text == f"{BODY}\n党员们表示，要把学习成果转化为推动工作的实际行动。"


def test_mangled_pinyin_notes_are_stripped() -> None:
    page = f"某村的做法\n網(w?ng)格化管理覆盖全区(q媹)，群众办事不出村。現(xiàn)有F(xiàn)十个网格。\n{BODY}\n"
    text = parse_text(page).articles[0].text
    assert text.split("\n")[0] == "網格化管理覆盖全区，群众办事不出村。現有F十个网格。"


def test_brackets_that_are_not_pinyin_survive() -> None:
    line = "村(社区)党组织(2014)和第一书记(a)及规划(第二版)都保留。"
    assert parse_text(f"某村的做法\n{line}\n{BODY}\n").articles[0].text.split("\n")[0] == line


def test_running_header_repeated_on_every_page_is_dropped() -> None:
    header = "某县2023年基层党建工作报告"
    paragraphs = [f"第{n}部分。{BODY}" for n in "一二三四"]
    title = "关于整顿软弱涣散村党组织的报告"
    page = "\n".join([header, title, paragraphs[0], paragraphs[1], header, paragraphs[2], header, paragraphs[3]])
    article = parse_text(f"{page}\n").articles[0]
    assert article.title == title
    assert header not in article.text and article.text.split("\n") == paragraphs


def test_pdf_running_header_does_not_become_the_title_or_leak_into_a_passage() -> None:
    header = "某县2023年基层党建工作报告（内部资料）"
    body = "各地把整顿软弱涣散基层党组织与专项整治结合起来，妥善解决群众反映强烈的突出问题。"
    pages = [[header, "关于整顿软弱涣散村党组织的报告", body], [header, body], [header, body]]
    article = parse_bytes(make_pdf(pages), "report.pdf").articles[0]
    assert article.title == "关于整顿软弱涣散村党组织的报告"
    assert norm(header) not in norm(article.text)


@pytest.mark.parametrize(
    ("first_line", "title", "text"),
    [
        ("农村党员教育管理制度党员教育管理制度加强党员的教育管理是党支部建设的重要内容。", "农村党员教育管理制度",
         "党员教育管理制度加强党员的教育管理是党支部建设的重要内容。"),
        ("某镇软弱涣散党组织整顿方案为认真贯彻落实上级要求，结合我镇实际，制定本方案。", "某镇软弱涣散党组织整顿方案",
         "为认真贯彻落实上级要求，结合我镇实际，制定本方案。"),
        ("关于软弱涣散党组织排查工作的情况报告省委组织部:按照要求，现将排查情况报告如下。", "关于软弱涣散党组织排查工作的情况报告",
         "省委组织部:按照要求，现将排查情况报告如下。"),
        ("党支部的组织生活前言组织生活是党支部对党员进行教育管理的基本方式。", "党支部的组织生活",
         "组织生活是党支部对党员进行教育管理的基本方式。"),
    ],
)
def test_title_fused_with_the_first_paragraph_of_a_flattened_document(first_line: str, title: str, text: str) -> None:
    article = parse_text(f"{first_line}\n").articles[0]
    assert (article.title, article.text) == (title, text)


def test_running_text_is_not_cut_into_a_title() -> None:
    line = "今年以来，我县制定了工作方案为群众办实事，成效明显。"
    article = parse_text(f"{line}\n").articles[0]
    assert (article.title, article.text) == (None, line)


def test_title_fused_with_the_table_of_contents_or_a_footnote_mark() -> None:
    assert parse_text(f"村集中治乱工作方案一、背景分析\n{BODY}\n").articles[0].title == "村集中治乱工作方案"
    assert parse_text(f"乡村治理的实践逻辑阐释* 基于典型案例\n{BODY}\n").articles[0].title == "乡村治理的实践逻辑阐释"


def test_category_printed_before_the_title_is_dropped() -> None:
    page = f"村党组织带头人队伍建设经验材料实施“头雁”工程 锻造过硬队伍\n实施“头雁”工程锻造过硬队伍\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.title, article.text) == ("实施“头雁”工程锻造过硬队伍", BODY)


def test_title_of_a_shared_document_is_its_file_name() -> None:
    page = f"《2022年换届选举工作实施方案2.doc》由会员分享,可在线阅读,更多相关《2022年换届选举工作实施方案2.doc(22页珍藏版)》请在某某网上搜索。\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.title, article.text) == ("2022年换届选举工作实施方案", BODY)


def test_a_short_section_heading_above_the_text_is_not_a_title() -> None:
    page = f"工作背景\n{BODY}\n工作做法\n{BODY}\n"
    assert parse_text(page).articles[0].title is None


def test_notes_of_content_farms_and_document_sites_are_dropped() -> None:
    junk = [
        "下面是小编为大家整理的某村党支部工作总结，供大家参考。",
        "导语:某村党支部工作总结一文来源于网友上传,不代表本站观点,若需要原创文章可咨询客服老师。",
        "- 格式:doc",
        "- 大小:28.00 KB",
        "- 文档页数:3",
        "推荐 CAJ下载PDF下载",
        "字体:【 打印",
        "字号:『 大字体 中字体 小字体 』",
        '<image>data:image/png;base64,iVBORw0KGgo" alt=""</image>',
        "Regional Quick Navigation",
        "党建引领 乡村振兴 党建引领 集体经济 乡村振兴",
    ]
    page = "\n".join(["某村党支部2022年工作总结(全文共2102字)", *junk, BODY, "(未完,全文共1783字,当前显示471字)", "(请认真阅读下面的提示信息)"])
    article = parse_text(page).articles[0]
    assert (article.title, article.text) == ("某村党支部2022年工作总结", BODY)


def test_a_sentence_before_a_content_farm_note_on_its_line_is_kept() -> None:
    lead = "当前，部分村屯组织工作不在状态、村干部说话没人听、办事没人跟，党员干部的先进性受到质疑。"
    note = "下面是美文网小编搜集的软弱涣散村整顿方案，欢迎大家参考！"
    article = parse_text(f"某村整顿方案\n{lead}{note}\n{BODY}\n").articles[0]
    assert article.text == f"{lead}\n{BODY}"
    traditional = "換屆選舉指本屆人民代表大會及其選舉的國家機關領導人員的任期已經屆滿。以下是小編整理的工作方案,歡迎閱讀與收藏。"
    article = parse_text(f"某村整顿方案\n{traditional}\n{BODY}\n").articles[0]
    assert article.text == f"換屆選舉指本屆人民代表大會及其選舉的國家機關領導人員的任期已經屆滿。\n{BODY}"
    two_notes = f"{lead}下面是小编整理的方案。{lead}小编推荐！"
    assert parse_text(f"某村整顿方案\n{two_notes}\n{BODY}\n").articles[0].text == f"{lead}{lead}\n{BODY}"


def test_a_long_paragraph_saying_what_a_service_station_collected_is_kept() -> None:
    # 本站 is also a 党群服务站 speaking of itself: in a paragraph of report prose it is no site's note.
    station = "今年以来，本站收集群众意见建议56条，已办结50条，" + "开展志愿服务活动，组织党员上门走访困难群众，" * 8 + "群众满意度明显提高。"
    assert len(station) > 200
    assert station in parse_text(f"某社区党群服务站工作总结\n{station}\n{BODY}\n").articles[0].text


def test_bracketed_lines_inside_the_text_are_kept() -> None:
    page = f"某村党支部的做法\n{BODY}\n(一)加强组织领导\n{BODY}\n"
    assert "(一)加强组织领导" in parse_text(page).articles[0].text


def test_authors_and_affiliation_under_the_title_are_not_text() -> None:
    page = f"村庄联结机制重塑路径\n沈丽丽\n(中共绍兴市柯桥区委党校,浙江 绍兴312030)\n崔会敏,张雪斐\n作 者: 祁雪春;\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.title, article.text) == ("村庄联结机制重塑路径", BODY)


@pytest.mark.parametrize(
    ("lines", "iso"),
    [
        (["2020年6月1日 星期一"], "2020-06-01"),
        (["*发布日期：2023-05-16*"], "2023-05-16"),
        (["2021年1月12日上午召开支部大会"], None),
        (["会议于 2021年1月12日"], None),
    ],
)
def test_date_lines_under_the_title(lines: list[str], iso: str | None) -> None:
    page = "\n\n".join(["# 某村党支部的做法", *lines, BODY])
    assert parse_bytes(page.encode("utf-8"), "page.md").articles[0].date == iso


@pytest.mark.parametrize("sign_off", ["中共某村支部委员会 2022年12月30日", "中共某村支部委员会\n二〇二二年十二月三十日"])
def test_sign_off_in_other_forms(sign_off: str) -> None:
    article = parse_text(f"某村党支部2022年工作总结\n{BODY}\n{sign_off}\n").articles[0]
    assert (article.date, article.text) == ("2022-12-30", BODY)


def test_a_long_breadcrumb_still_names_the_site() -> None:
    page = f"当前位置:某某素材网 > 报告体会 > 工作报告 > 某村党支部的做法\n某村党支部的做法\n{BODY}\n"
    article = parse_text(page).articles[0]
    assert (article.title, article.source, article.text) == ("某村党支部的做法", "某某素材网", BODY)


def test_a_two_page_pdf_running_header_is_neither_title_nor_text() -> None:
    header = "某某县委组织部工作简报"
    first = "冰城县推行“雪橇夜校”制度，组织党员冬季集中学习政策、讨论村务，半年来共办夜校四十二期，参学党员一千余人次。"
    second = "雪乡县建立“板凳会议”制度，每月召开群众议事会，解决群众急难愁盼问题三十六件，软弱涣散村全部按期摘帽。"
    pages = [
        [header, "冰城县整顿软弱涣散村党组织的做法", "", *wrap(first, 30), "- 1 -"],
        [header, *wrap(second, 30), "- 2 -"],
    ]
    [article] = parse_bytes(make_pdf(pages), "report.pdf").articles
    assert article.title == "冰城县整顿软弱涣散村党组织的做法"
    assert header not in article.text
    assert "四十二期" in article.text and "三十六件" in article.text


def test_control_characters_from_a_pdf_or_html_never_reach_an_article() -> None:
    body = "冰城县推行“雪橇夜校”制度\x01，组织党员\x1b冬季集中学习\ufffe，整顿软弱涣散村党组织。"
    html = "<html><body><h1>冰城县的做法</h1><p>" + body.replace("\x01", "&#1;").replace("\x1b", "&#x1b;") + "</p></body></html>"
    for data, name in [(make_pdf([["冰城县的做法", body]]), "a.pdf"), (html.encode(), "a.html")]:
        [article] = parse_bytes(data, name).articles
        assert "雪橇夜校" in article.text
        assert not any(ch in article.text for ch in "\x01\x1b\ufffe")


# ---------------------------------------------------------------- steps each module takes (issue 11)


def test_running_header_glued_to_a_paragraph_is_cut_off() -> None:
    header = "某县2023年基层党建工作报告"
    paragraphs = [f"第{n}部分。{BODY}{BODY}" for n in "一二三四"]
    page = [paragraphs[0], header, paragraphs[1], header, paragraphs[2] + header, paragraphs[3]]
    article = parse_text("\n".join(["关于整顿软弱涣散村党组织的报告", *page]) + "\n").articles[0]
    assert article.text.split("\n") == paragraphs


def test_a_byline_as_the_last_paragraph_is_the_author() -> None:
    page = f"某村党支部的做法\n{BODY}\n{BODY}\n四川省康定市委组织部 郑应红\n"
    article = parse_text(page).articles[0]
    assert (article.author, article.region, article.text) == ("四川省康定市委组织部 郑应红", "四川省康定市", f"{BODY}\n{BODY}")


@pytest.mark.parametrize(
    ("core_title", "title"),
    [("冰城县整顿软弱涣散村党组织的做法", "冰城县整顿软弱涣散村党组织的做法"), ("Microsoft Word - 文档1", None), ("文档1", None)],
)
def test_title_from_file_properties_only_when_the_text_has_none(core_title: str, title: str | None) -> None:
    document = Document()
    document.add_paragraph(BODY)
    document.core_properties.title = core_title
    buffer = io.BytesIO()
    document.save(buffer)
    article = parse_bytes(buffer.getvalue(), "report.docx").articles[0]
    assert (article.title, article.text) == (title, BODY)


def test_a_site_name_inside_the_text_is_content() -> None:
    article = parse_text(f"某村党支部的做法\n共产党员网\n{BODY}\n共产党员网\n{BODY}\n").articles[0]
    assert (article.source, article.text) == ("共产党员网", f"{BODY}\n共产党员网\n{BODY}")


def test_title_fused_with_its_first_numbered_heading() -> None:
    article = parse_text("某村党支部工作制度一、组织生活会每年召开一次。\n").articles[0]
    assert (article.title, article.text) == ("某村党支部工作制度", "一、组织生活会每年召开一次。")
