"""Rendering: hostile text escaped, platform limits kept by shortening excerpts, buttons within 64 bytes."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from rectbot.bot.chatlog import ChatLog
from rectbot.bot.core import Answer, Asker, Context, Core, NothingFound, Notice, Reply
from rectbot.bot.render import (
    MAX_TITLE_CHARS,
    REJECTION_TEXT,
    TELEGRAM_MAX_CHARS,
    WECOM_MAX_BYTES,
    citation,
    cut_to_bytes,
    ingest_text,
    render_plain,
    render_telegram,
    render_wecom,
)
from rectbot.retrieval.corpus import Corpus, IngestReport, IngestStatus
from rectbot.retrieval.formats import Rejection
from rectbot.retrieval.search import Hit, highlight_spans
from rectbot.retrieval.store import PassageRow
from rectbot.retrieval.text import SCRIPTS, Script
from testkit.docfactory import make_docx, make_image_only_pdf


def hit(text: str, terms: tuple[str, ...] = (), title: str | None = "标题", date: str | None = "2020-01-02",
        passage_id: int = 1) -> Hit:
    return Hit(passage_id=passage_id, doc_id=1, text=text, title=title, source="某县组织部", date=date, author=None,
               region=None, section=None, position=0, score=1.0, matched_terms=terms,
               highlights=highlight_spans(text, terms))


class Tags(HTMLParser):
    """Collects tags and bold text, failing on anything Telegram would not parse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.bold: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        assert tag in {"b", "i", "u"}, tag
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "b" in self.open:
            self.bold.append(data)


def parsed(html_text: str) -> Tags:
    tags = Tags()
    tags.feed(html_text)
    tags.close()
    assert not tags.open
    return tags


def test_hostile_text_is_escaped_and_matched_terms_are_bold() -> None:
    answer = Answer(1, "q", (hit("支部<b>书记</b> & 党员 <script>整顿</script>", ("整顿", "党员")),), 1, False)
    html_text = render_telegram(answer)
    assert "<script>" not in html_text and "&lt;b&gt;" in html_text and "&amp;" in html_text
    tags = parsed(html_text)
    assert "党员" in tags.bold and "整顿" in tags.bold
    assert "支部<b>书记</b> & 党员 <script>整顿</script>" in "".join(tags.text)


def test_hostile_titles_and_notices_are_escaped() -> None:
    answer = Answer(1, "q", (hit("正文", title="<i>标题</i> & 副题"),), 1, False)
    assert "《<i>" not in render_telegram(answer)
    parsed(render_telegram(answer))
    assert render_telegram(Notice("x", "a < b & c")) == "a &lt; b &amp; c"


def test_long_excerpts_are_shortened_to_fit_one_telegram_message() -> None:
    texts = [("整顿" * 2000) + "结尾一", ("党员&" * 1500) + "结尾二", "短的一段"]
    answer = Answer(1, "q", tuple(hit(t, ("整顿",), passage_id=i) for i, t in enumerate(texts)), 1, True)
    html_text = render_telegram(answer)
    assert len(html_text) <= TELEGRAM_MAX_CHARS
    visible = "".join(parsed(html_text).text)
    assert visible.count("——") == 3  # every excerpt keeps its citation
    assert "短的一段" in visible and "结尾一" not in visible and visible.count("…") >= 2
    assert len(html_text) > TELEGRAM_MAX_CHARS * 0.8  # shortened only as much as needed


def test_wecom_text_fits_2048_bytes_without_cutting_a_character() -> None:
    texts = ["整顿软弱涣散" * 200, "党组织" * 300, "第一书记" * 100]
    answer = Answer(1, "q", tuple(hit(t, passage_id=i) for i, t in enumerate(texts)), 1, True)
    text = render_wecom(answer)
    assert len(text.encode("utf-8")) <= WECOM_MAX_BYTES
    assert text.count("——") == 3 and "更多" in text and "上下文 N" in text
    assert "【1】整顿软弱涣散" in text and "【3】第一书记" in text
    assert len(cut_to_bytes("整" * 1000, 10).encode("utf-8")) <= 10


def test_a_short_answer_is_not_shortened() -> None:
    answer = Answer(1, "q", (hit("支部书记带头整顿。"),), 1, False)
    assert "支部书记带头整顿。" in render_wecom(answer) and "…" not in render_wecom(answer)
    assert "更多" not in render_wecom(answer)


@pytest.mark.parametrize(
    "cut_off",
    [
        "召开村务监督委员会成员会议，完善村级财务管理办法，",  # the page ends after a comma
        "各地对干扰破坏换届选举的村霸和宗族恶势力露头就打，依法严惩操纵破坏基层换届选举的黑",  # mid-word, in a line of prose
        "结合该村实际，特制定如下整顿方案：",  # a lead-in: the plan itself is in the next passage
    ],
)
def test_an_excerpt_that_stops_mid_sentence_ends_in_an_ellipsis(cut_off: str) -> None:
    answer = Answer(1, "q", (hit(cut_off),), 1, False)
    for render in (render_plain, render_wecom, render_telegram):
        assert f"{cut_off[-4:]}…" in render(answer), render


def test_the_ellipsis_of_a_cut_off_excerpt_is_never_bold() -> None:
    text = "完善村级财务管理办法，\n"
    answer = Answer(1, "q", (dataclasses.replace(hit(text), highlights=((0, len(text)),)),), 1, False)
    assert "<b>完善村级财务管理办法，</b>…" in render_telegram(answer)


@pytest.mark.parametrize(
    "whole",
    [
        "支部书记带头整顿，群众满意度明显提高。",
        "主要表现在：\n班子不团结\n书记能力不强",
        "主要表现在：\n班子不团结；\n阵地作用发挥不够；",
        "（三）财务审查",
        "全县投入资金，建成党群服务中心十二个，改造活动场所三十个，配齐办公设备，共计投入资金5万元.",
        "全县投入资金，建成党群服务中心十二个，改造活动场所三十个，配齐办公设备，群众纷纷点赞👍",
    ],
)
def test_an_excerpt_that_ends_a_sentence_or_a_list_gets_no_ellipsis(whole: str) -> None:
    answer = Answer(1, "q", (hit(whole),), 1, False)
    assert "…" not in render_plain(answer) and "…" not in render_wecom(answer)


def test_unknown_date_and_source_are_said_plainly() -> None:
    assert citation(hit("x", title=None, date=None)) == "（无标题） · 某县组织部 · 日期不详"


def test_an_untitled_excerpt_says_the_place_its_report_is_about() -> None:
    # A bundled seed has no title, source or date; its county was all a reader could go on, and was not shown.
    untitled = dataclasses.replace(hit("x", title=None, date=None), region="鹿寨县")
    assert citation(untitled) == "（无标题，鹿寨县） · 某县组织部 · 日期不详"
    assert citation(dataclasses.replace(untitled, title="整顿报告")) == "《整顿报告》 · 某县组织部 · 日期不详"


def test_an_excerpt_of_a_page_stating_nothing_names_its_file() -> None:
    # 63 of the 132 development pages state no title, source or date: "（无标题） · 来源不详 · 日期不详" left a
    # reader no way to tell which report an excerpt came from, or to find it.
    bare = dataclasses.replace(hit("x", title=None, date=None), source=None, file_name="鹿寨县整顿工作总结.docx")
    assert citation(bare) == "（无标题，鹿寨县整顿工作总结.docx） · 来源不详 · 日期不详"
    placed = dataclasses.replace(bare, region="鹿寨县")
    assert citation(placed) == "（无标题，鹿寨县，鹿寨县整顿工作总结.docx） · 来源不详 · 日期不详"
    assert citation(dataclasses.replace(bare, title="整顿报告")) == "《整顿报告》 · 来源不详 · 日期不详"
    long = citation(dataclasses.replace(bare, file_name="很长的文件名" * 30 + ".txt"))
    assert long.startswith("（无标题，很长的文件名") and len(long.split(" · ")[0]) <= MAX_TITLE_CHARS + 6


def test_a_report_without_a_source_is_cited_by_its_author() -> None:
    # A trial: the bundled 鹿寨县 seed names its writer (县基层办 秦敬洪), and `rectbot docs` showed it, but its
    # excerpts were cited "来源不详".
    bare = dataclasses.replace(hit("x", title=None, date=None), source=None, region="鹿寨县", author="县基层办 秦敬洪")
    assert citation(bare) == "（无标题，鹿寨县） · 县基层办 秦敬洪 · 日期不详"
    assert citation(dataclasses.replace(bare, source="某县组织部")) == "（无标题，鹿寨县） · 某县组织部 · 日期不详"


@pytest.mark.parametrize("machine_name", ["D085.txt", "002_fd0e3d0b9b3fec5c.txt", "page-3.html"])
def test_an_untitled_excerpt_does_not_show_a_machine_made_file_name(machine_name: str) -> None:
    # Staff read "（无标题，D085.txt）" as an internal code leaking out; a file people named says something.
    bare = dataclasses.replace(hit("x", title=None, date=None), source=None, file_name=machine_name)
    assert citation(bare) == "（无标题） · 来源不详 · 日期不详"
    assert citation(dataclasses.replace(bare, region="鹿寨县")) == "（无标题，鹿寨县） · 来源不详 · 日期不详"


def test_an_untitled_excerpt_shows_its_file_name_as_stored_in_any_script() -> None:
    # The file name is there to find the file; 文档 N shows it as stored, so a citation converted to simplified
    # characters named a file that does not exist (組織部工作總結.docx cited as 组织部工作总结.docx).
    traditional = dataclasses.replace(hit("x", title=None, date=None), region="鹿寨縣", file_name="組織部工作總結.docx")
    assert citation(traditional) == "（无标题，鹿寨县，組織部工作總結.docx） · 某县组织部 · 日期不详"
    assert citation(traditional, Script.ORIGINAL) == "（无标题，鹿寨縣，組織部工作總結.docx） · 某县组织部 · 日期不详"


def test_the_context_of_an_untitled_excerpt_names_its_file_on_every_channel() -> None:
    # Telegram's 上下文 header said only （无标题） where the terminal and WeCom named the place and the file.
    row = PassageRow(5, 2, 1, None, 0, 10, "中间段", None, None, None, None, "鹿寨县", "整顿<总结>&.txt")
    context = Context(1, 2, row, ("前一段",), ("后一段",))
    for render in (render_plain, render_wecom):
        assert render(context).startswith("（无标题，鹿寨县，整顿<总结>&.txt） · 来源不详 · 日期不详（文档 2）")
    assert parsed(render_telegram(context)).bold[0] == "（无标题，鹿寨县，整顿<总结>&.txt）"


def test_context_marks_the_excerpt_and_fits() -> None:
    row = PassageRow(5, 2, 1, None, 0, 10, "中间段" * 900, "题目", None, "来源", None, None, "f.txt")
    context = Context(1, 2, row, ("前一段" * 900,), ("后一段",))
    html_text = render_telegram(context)
    assert len(html_text) <= TELEGRAM_MAX_CHARS
    assert "日期不详" in html_text and "文档 2" in html_text and "【2】" in html_text
    assert render_plain(context).index("前一段") < render_plain(context).index("【2】中间段")


def test_many_excerpts_with_long_titles_still_fit_wecom_and_telegram() -> None:
    hits = tuple(
        Hit(passage_id=n, doc_id=1, text="整顿" * 200, title="很长的标题" * 20, source="某某省某某市某某县委组织部" * 5,
            date="2020-01-02", author=None, region=None, section="篇一：关于整顿软弱涣散村党组织的调研报告" * 5,
            position=0, score=1.0, matched_terms=("整顿",), highlights=highlight_spans("整顿" * 200, ("整顿",)))
        for n in range(10)
    )
    answer = Answer(1, "q", hits, 1, True)
    assert len(render_wecom(answer).encode("utf-8")) <= WECOM_MAX_BYTES
    html_text = render_telegram(answer)
    assert len(html_text) <= TELEGRAM_MAX_CHARS
    parsed(html_text)


def test_possibly_related_excerpts_are_introduced_as_such_on_every_channel() -> None:
    weak = Answer(1, "q", (hit("村干部报酬"),), 1, False, related=True)
    confident = Answer(1, "q", (hit("村干部报酬"),), 1, False)
    for render in (render_plain, render_wecom, render_telegram):
        assert "资料里没有直接回答，下面的内容可能相关" in render(weak)
        assert "可能相关" not in render(confident)
    parsed(render_telegram(weak))


def test_an_answer_s_excerpts_holding_little_of_the_question_are_marked_on_every_channel() -> None:
    # A trial found confident answers padded with excerpts on other matters, never marked as weaker.
    weaker = dataclasses.replace(hit("述职评议会"), possibly_related=True)
    answer = Answer(1, "q", (hit("四上四下选人"), weaker, hit("四上四下程序")), 1, False)
    for render in (render_plain, render_wecom, render_telegram):
        text = render(answer)
        assert "资料里没有直接回答" not in text
        assert text.count("可能相关") == 1
        assert text.index("四上四下选人") < text.index("（可能相关）") < text.index("述职评议会") < text.index("四上四下程序")
    parsed(render_telegram(answer))


def test_a_repaired_typo_is_said_before_the_excerpts() -> None:
    answer = Answer(1, "q", (hit("第一书记"),), 1, False, repairs=(("书计", "书记"),))
    for render in (render_plain, render_wecom, render_telegram):
        text = render(answer)
        assert "按“书记”查找（你输入的是“书计”）" in text
        assert text.index("按“书记”") < text.index("第一书记")


TRADITIONAL_TITLE = "某縣黨支部整頓工作報告"
TRADITIONAL_TEXT = [
    "全縣黨支部開展整頓，組織黨員集中學習，建好共產黨員網(wǎng)。",
    "村黨支部書記帶頭整頓，組織生活會每月召開一次，黨員參加率明顯提高，群眾滿意度逐年上升。" * 3,
    "下一步，各級黨組織將繼續鞏固整頓成果，健全長效機制，推動基層組織全面進步過硬。" * 3,
]
SIMPLIFIED_WORDS = ["党支部", "组织", "整顿", "网"]
TRADITIONAL_WORDS = ["黨支部", "組織", "整頓", "網"]
RENDERERS: list[Callable[[Reply], str]] = [
    render_plain,
    render_wecom,
    lambda reply: "".join(parsed(render_telegram(reply)).text),  # what a Telegram user reads
]


@pytest.mark.parametrize(
    ("script", "shown", "hidden"),
    [("simplified", SIMPLIFIED_WORDS, TRADITIONAL_WORDS), ("original", TRADITIONAL_WORDS, SIMPLIFIED_WORDS)],
)
async def test_a_traditional_report_is_shown_in_the_configured_script(
    empty_corpus: Corpus, script: str, shown: list[str], hidden: list[str]
) -> None:
    core = Core(empty_corpus, chatlog=await ChatLog.open(empty_corpus.store.database), script=script)
    admin, user = Asker("telegram", "9", is_admin=True), Asker("telegram", "1")

    async def fetch() -> bytes:
        return make_docx(TRADITIONAL_TITLE, TRADITIONAL_TEXT)

    ingested = render_plain(await core.ingest(admin, fetch, "報告.docx"))
    assert "報告.docx" in ingested  # a file name is an identifier, never converted
    assert ("某县党支部整顿工作报告" if script == "simplified" else TRADITIONAL_TITLE) in ingested
    answer = await core.ask(user, "党支部怎么整顿")
    context = await core.handle(user, "上下文 1")
    full = await core.handle(user, "全文 1")
    title = "《某县党支部整顿工作报告》" if script == "simplified" else f"《{TRADITIONAL_TITLE}》"
    for render in RENDERERS:
        for reply in (answer, context, full):
            text = render(reply)
            assert all(word in text for word in shown), text
            assert not any(word in text for word in hidden), text
            assert "(wǎng)" not in text  # the reading note stays stripped
        assert title in render(answer)
        assert title.strip("《》") in render(context)
    stored = await empty_corpus.store.passages_of_document(answer.hits[0].doc_id)
    assert "黨支部" in stored[0].text and "党支部" not in stored[0].text  # only the display is converted


def test_matched_terms_stay_bold_when_conversion_changes_lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SCRIPTS, "doubled", lambda text: text.replace("黨", "黨黨"))
    text = "各黨支部帶頭整頓，黨員參加。" * 400  # long enough to be cut for Telegram
    answer = Answer(1, "q", (hit(text, ("整顿", "党员")),), 1, False, script="doubled")
    tags = parsed(render_telegram(answer))
    assert set(tags.bold) - {"1."} == {"整頓", "黨黨員"}  # on the matched words, not shifted by the conversion
    visible = "".join(tags.text)
    assert visible.startswith("1. 各黨黨支部帶頭整頓") and "…" in visible


def test_every_rejection_code_has_a_message_in_chinese() -> None:
    assert set(REJECTION_TEXT) == set(Rejection)
    for code in Rejection:
        report = IngestReport("报告.docx", IngestStatus.REJECTED, "an English reason", rejection=code)
        text = ingest_text(report)
        assert text.startswith("没有导入 报告.docx：") and text.endswith("。没有做任何改动。"), code
        assert REJECTION_TEXT[code] in text and "English" not in text, code
    assert len(set(REJECTION_TEXT.values())) == len(Rejection)  # each code says something of its own


def _zip_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("名单.csv", "姓名,村")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "code", "said"),
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0 not a document", Rejection.UNSUPPORTED_FORMAT, "不支持这种文件格式"),
        ("empty.txt", b" \n\t\n", Rejection.EMPTY, "文件是空的"),
        ("noise.txt", bytes(range(1, 9)) * 100, Rejection.BINARY, "二进制"),
        ("名单.txt", _zip_file(), Rejection.ARCHIVE, "压缩包"),
        ("report.docx", b"not a zip archive", Rejection.CORRUPT, "已损坏"),
        ("scan.pdf", make_image_only_pdf(), Rejection.NO_TEXT_LAYER, "没有文字层"),
        ("通知.wps", "不是 OLE 文件".encode(), Rejection.NOT_WORD, "不是 Word/WPS 文档"),
    ],
)
async def test_an_upload_the_library_rejects_is_told_why_by_its_code(
    empty_corpus: Corpus, name: str, data: bytes, code: Rejection, said: str
) -> None:
    report = await empty_corpus.ingest_bytes(data, name)
    assert (report.status, report.rejection) == (IngestStatus.REJECTED, code), report.reason
    text = ingest_text(report)
    assert said in text and report.reason not in text  # the admin reads Chinese, not the library's English


async def test_an_upload_whose_bytes_another_file_has_is_kept_as_a_copy_and_names_it(empty_corpus: Corpus) -> None:
    data = "红色夜校\n\n某某县开办红色夜校，共办夜校四十二期，党员群众踊跃参加。\n".encode()
    assert (await empty_corpus.ingest_bytes(data, "夜校.txt")).status is IngestStatus.ADDED
    report = await empty_corpus.ingest_bytes(data, "夜校副本.txt")
    assert report.status is IngestStatus.ADDED and report.same_as == "夜校.txt"
    text = ingest_text(report)
    assert text.startswith("已导入 夜校副本.txt（与 夜校.txt 内容相同）")
    assert "（与已有文档相同，只保留一份）" in text  # never a second excerpt
    again = await empty_corpus.ingest_bytes(data, "夜校副本.txt")
    assert ingest_text(again) == "夜校副本.txt 已经导入过，内容没有变化。"


def test_several_words_read_another_way_are_said_in_one_line() -> None:
    repairs = (("rectify", "整顿"), ("weak and lax", "软弱涣散"))
    answer = Answer(1, "q", (hit("整顿软弱涣散"),), 1, False, repairs=repairs)
    for render in (render_plain, render_wecom, render_telegram):
        text = render(answer)
        assert "按“整顿”“软弱涣散”查找（你输入的是“rectify”“weak and lax”）" in text
        assert text.count("你输入的是") == 1


def test_a_message_asking_several_things_is_said_to_be_searched_as_a_whole_on_every_channel() -> None:
    said = "你的消息里有 3 个问题，下面按整段内容查找；要分别查，请一个一个发。"
    answer = Answer(1, "q", (hit("整顿软弱涣散"),), 1, False, questions=3)
    nothing = NothingFound("q", questions=3)
    for render in (render_plain, render_wecom, render_telegram):
        assert said in render(answer) and said in render(nothing)
        assert said not in render(dataclasses.replace(answer, first=4))  # a later page of 更多
