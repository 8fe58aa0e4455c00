"""Read a file into cleaned articles with their metadata: title, date, source, author, region, numbered parts.

Web-page dumps carry site chrome around the article. Each line is classified by pattern as junk (menus,
breadcrumbs, share/print widgets, counters, spam, separators), metadata (fields are extracted, then the line
is dropped) or content. Junk patterns only ever match short lines, so a paragraph that mentions a junk word in
its prose survives. Patterns are matched against the simplified-Chinese, lower-cased form of a line, so one
rule covers both scripts; the text kept is always in the original script.

Within an article, the *header* is everything before the first body paragraph (a sentence, a long line, a
numbered heading or a part marker). The title is found in the header; header lines before it are page chrome
and are dropped, and after it a byline gives the author and a repeat of the title is dropped.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from retrieval.formats import (
    NUMBERED_HEADING,
    READERS,
    SUPPORTED_SUFFIXES,
    DocumentError,
    RawDocument,
    ReadLimits,
    check_text_length,
    reader_for,
)
from retrieval.text import normalize_for_phrase_match, safe_text, strip_pinyin_notes, to_simplified

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Article",
    "DocumentError",
    "ParsedFile",
    "Section",
    "parse_bytes",
    "read_document",
]


@dataclass(frozen=True)
class Section:
    """A numbered part of an article (篇一, 篇二, ...) and where it starts in Article.text."""

    title: str
    start: int


@dataclass(frozen=True)
class Article:
    """One cleaned article: one paragraph per line, in the original script, with its metadata."""

    title: str | None
    date: str | None
    source: str | None
    author: str | None
    region: str | None
    text: str
    sections: tuple[Section, ...] = ()

    def paragraphs(self) -> list[tuple[int, int]]:
        """(start, end) character offsets of each paragraph in text."""
        spans = []
        start = 0
        for line in self.text.split("\n"):
            spans.append((start, start + len(line)))
            start += len(line) + 1
        return spans

    def section_at(self, offset: int) -> str | None:
        """The title of the section covering offset, None before the first section or without sections."""
        title = None
        for section in self.sections:
            if section.start > offset:
                break
            title = section.title
        return title


@dataclass(frozen=True)
class ParsedFile:
    """A parsed file: its identity and the articles found in it."""

    file_name: str
    content_hash: str
    encoding: str | None
    articles: tuple[Article, ...]


def read_document(path: Path) -> ParsedFile:
    """Read a file from disk and parse it."""
    return parse_bytes(Path(path).read_bytes(), Path(path).name)


def parse_bytes(data: bytes, file_name: str, limits: ReadLimits = ReadLimits()) -> ParsedFile:
    """Parse a file's bytes into articles; the format is chosen by the file name's extension.

    A PDF, Word or WPS file under another name (a PDF renamed .txt) is read as what its content says it is.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix not in READERS:
        raise DocumentError(f"unsupported format {suffix}" if suffix else "unsupported format (no file extension)")
    if not data.strip():
        raise DocumentError("empty file")
    raw = reader_for(suffix, data)(data, limits)
    check_text_length(raw.lines, limits)
    articles = _articles(raw)
    if not articles:
        raise DocumentError("no readable text")
    logger.debug("%s: %d article(s), encoding %s", file_name, len(articles), raw.encoding)
    return ParsedFile(
        file_name=file_name,
        content_hash=hashlib.sha256(data).hexdigest(),
        encoding=raw.encoding,
        articles=tuple(articles),
    )


# ---------------------------------------------------------------- patterns

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TERMINAL = tuple("。！？!?…")
_CLAUSE_END = tuple("，,、；;")
_CLOSERS = "”’」』\"')）"
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
_NO_WORDS = re.compile(rf"^[^A-Za-z{_HAN}]*$")
_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# Reading notes that a wrong decoding mangled: the character before it (F(xiàn) for 現(xiàn)) or its tone mark
# (網(w?ng), 區(q媹)). A tone-marked syllable is a note after any character; a syllable with one garbled
# letter only after a Han character, so 第一书记(a) or 村(社区) are left alone.
_MANGLED_PINYIN = re.compile(
    rf"[(（][a-zü]{{0,5}}[{_TONE_VOWELS}][a-zü]{{0,5}}[)）]"
    rf"|(?<=[{_HAN}])[(（][a-z]{{1,5}}(?:\?|[^\x00-\x7f()（）\s，。、；：？！“”]){{1,2}}[a-z]{{0,4}}[)）]"
)

_SEPARATOR = re.compile(r"^(?:[-=*_~—–]{8,}|[-=*_~—–]*\s*分[隔割]线\s*[-=*_~—–]*)$")
_PART_MARK = re.compile(
    r"^[（(【\[]?\s*(篇[一二三四五六七八九十]+|第[一二三四五六七八九十]+篇)\s*[)）】\]]?\s*(?:[:：]\s*(?P<rest>.+))?$"
)
_RELATED_HEADING = re.compile(
    r"^[【\[]?(?:延伸阅读|相关阅读|相关文章|相关新闻|相关链接|相关报道|相关推荐|推荐阅读|热点推荐|热门推荐|热门文章"
    r"|猜你喜欢|往期回顾|更多阅读|阅读推荐)[】\]]?\s*[:：]?$"
)
_MENU_ITEM = re.compile(r"^[•·▪●◆■►▶]\s*[^\s，。,.；;：:！？]{1,10}$")
_BREADCRUMB = re.compile(
    r"^[•·▪●◆■►▶\s]*(?:(?:您|你)(?:当前|现在|目前)?(?:所在)?的?位置|(?:当前|现在|目前|所在)(?:所在)?的?位置)\s*[:：]?"
)
_BARE_CRUMB = re.compile(r"^[>»›＞]\s*[^\s，。,.；;：:！？!?]{1,12}$")  # "> 清风矩阵": a crumb whose root was lost
_PIPE_MENU = re.compile(r"^[^|｜，。,]{1,10}(?:\s*[|｜]\s*[^|｜，。,]{1,10}){2,}$")
_CRUMB_SPLIT = re.compile(r"\s*(?:>|»|›|＞)+\s*")
_HOME = frozenset({"主页", "首页", "网站首页", "返回首页", "home"})
_COPYRIGHT = re.compile(r"版权所有|版权说明|版权声明|免责声明|copyright|©|icp备|icp证|公网安备")
_WELCOME = re.compile(r"^(?:欢迎|热烈欢迎)(?:您|你)?(?:来到|访问|光临|登录)")
# A page-structure label standing in for a title: 论文部分内容阅读, 资源描述, 文档简介, 内容摘要.
_PAGE_LABEL = re.compile(r"^(?:论文|文章|文档|资源|资料|全文|正文|在线|内容|部分)+(?:阅读|描述|简介|介绍|预览|摘要|下载)$")
_HTML_DEBRIS = re.compile(
    r"<!--|-->|data:image/|</?(?:div|span|script|style|p|a|br|td|tr|table|li|ul|img|image)\b[^>]*>?", re.IGNORECASE
)
# Content-farm notes about the page itself: "下面是小编为大家整理的...", "不代表本站观点", "客服老师".
_SITE_NOTE = re.compile(r"小编.{0,12}(?:整理|搜集|收集|精心|推荐|分享)|不代表本站|本站.{0,6}(?:整理|上传|收集)|客服老师")
# A downloadable file's properties on a document-sharing page: "格式:doc", "大小:28.00 KB", "文档页数:3".
_FILE_PROPERTY = re.compile(r"^[-•·*\s]*(?:格式|大小|文件大小|文档页数|页数|下载次数|上传时间|上传者|文档格式)\s*[:：]\s*[^，。,；;]{1,20}$")
_WORD_COUNT = re.compile(r"[（(][^()（）]{0,12}全文共\s*\d+\s*字[^()（）]{0,20}[)）]")
_MENU_LABEL = re.compile(r"^(?:[A-Z][a-z]+ ){1,3}[A-Z][a-z]+$")  # "Regional Quick Navigation"
_URL_LINE = re.compile(r"^(?:(?:网址|地址|链接|本文链接|原文链接|url)\s*[:：]\s*)?(?:https?://|www\.)\S+$")
# A contact solicitation with an account id: "加微信 xxx123", "+V: abc_888", "QQ群：12345678".
_SOLICITATION = re.compile(r"(?:加|添加|\+)\s*(?:微信|威信|薇信|vx|wx|v信|v|qq|q群|qq群)\s*(?:号)?\s*[:：]?\s*[a-z0-9_-]{5,}")
_NAVIGATION = re.compile(r"^(?:上一篇|下一篇|上一条|下一条)\s*(?:[:：]|$)")

# Spam headlines injected into hacked pages. One strong term, or two weak ones, in a short line.
_SPAM_STRONG = (
    "bet365", "中文字幕", "无码", "av在线", "在线av", "色情", "博彩", "赌场", "娱乐城", "百家乐", "六合彩",
    "老虎机", "真人娱乐", "威尼斯人", "葡京", "皇冠体育", "一本道", "亚洲欧美", "欧美日韩", "国产精品", "人成在线",
)  # fmt: skip
_SPAM_WEAK = ("亚洲", "欧美", "日韩", "国产", "精品", "无删减", "在线观看", "不卡", "乱码", "一区", "二区", "综合网")

# Share, print and navigation widgets: whole tokens of a short toolbar line.
_WIDGET_WORDS = frozenset(
    """打印 打印本页 纠错 我要纠错 收藏 加入收藏 回复 评论 发表评论 分享 投稿 我要投稿 投稿须知 微信扫一扫 扫一扫
    扫描二维码 二维码 收听本文 请选择 进入手机版 继续访问电脑版 关闭 关闭窗口 返回顶部 返回 顶部 返回列表 举报 点赞
    微信 微博 qq qq空间 朋友圈 新浪微博 腾讯微博 网站地图 设为首页 联系我们 关于我们 免责声明 推荐 字体 大字体 中字体
    小字体 大 中 小 ×""".split()
)
_WIDGET_PATTERN = re.compile(r"^(?:.{0,12}(?:手机站|手机版|电脑版|客户端)|(?:(?:app|pdf|caj|word|手机)?下载(?:app|本文|全文)?)+|本文已影响\d*人?次?|分享到.*|字[号体].*|\d{1,2}:\d{2}(?::\d{2})?)$")
_TOKEN = re.compile(r"[^\s|｜/]+")
_TOKEN_PUNCT = "【】[]()（）<>《》「」『』“”\":：,，·•"

_SITE_NAME = re.compile(
    rf"^(?P<site>[{_HAN}a-z0-9]{{1,16}}?(?:网站联盟|网站|网|在线|资料库|文库|之窗|门户网|门户|频道))(?:来稿|供稿|讯|原创|独家)?$"
)

_LABELS = (
    "发布时间|发表时间|发布日期|更新时间|录入时间|时间|日期|文章来源|信息来源|来源|刊名|作者单位|作者|撰稿人|撰稿|记者|通讯员"
    "|责任编辑|编辑|编审|审核|发布人|发布者|录入|点击数|点击量|点击|阅读人次|阅读量|阅读数|阅读|浏览次数|浏览量|浏览|访问量"
)
_SPACED_LABELS = "|".join(f"{label[0]} {label[1]}" for label in _LABELS.split("|") if len(label) == 2)  # "作 者:"
_LABEL = re.compile(rf"({_LABELS}|{_SPACED_LABELS})\s*[:：]")
_TAIL_START = re.compile(
    rf"(?<=[。！？!?{_CLOSERS}])\s*(?P<bracket>[（(【\[])?"
    r"(?=(?:发布时间|发表时间|发布日期|时间|日期|文章来源|信息来源|来源|作者|发布人|责任编辑|编辑)\s*[:：])"
)
_COUNTER_LABELS = frozenset({"点击数", "点击量", "点击", "阅读人次", "阅读量", "阅读数", "阅读", "浏览次数", "浏览量", "浏览", "访问量"})
_COUNT = re.compile(r"^[\d,\s]*(?:人次|次)?$")
_DATE_LABELS = ("发布时间", "发表时间", "发布日期", "", "时间", "日期", "录入时间", "更新时间")  # in order of trust
_SOURCE_LABELS = frozenset({"来源", "文章来源", "信息来源", "刊名"})
_AUTHOR_LABELS = frozenset({"作者", "作者单位", "撰稿", "撰稿人", "记者", "通讯员"})
_UNKNOWN_SOURCES = frozenset(
    {"未知", "不详", "佚名", "本站", "原创", "本站原创", "网络", "互联网", "网络整理", "转载", "网友投稿", "网友上传", "会员上传", "用户上传"}
)
_PLACEHOLDER_AUTHORS = frozenset(
    {"管理员", "系统管理员", "超级管理员", "admin", "administrator", "信息员", "佚名", "未知", "本站", "小编", "编辑", "站长"}
)
_DATE = re.compile(r"(?<!\d)(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})(?!\d)")
_CN_DIGITS = "〇零一二三四五六七八九"
_CN_DATE = re.compile(rf"([{_CN_DIGITS}]{{4}})年([一二三四五六七八九十]{{1,3}})月([一二三四五六七八九十]{{1,3}})日")
_SOURCE_DATE_LABELS = ("来源", "文章来源", "信息来源")  # "来源：某市组织工作网 2023-05-16 09:30"
_SIGN_OFF = "落款"  # the date under the signature at the end: trusted least
_ANY_DATE = rf"(?:{_DATE.pattern}|{_CN_DATE.pattern})\s*日?"
_TIME = r"(?:\s*\d{1,2}\s*[:：∶时]\s*\d{2}(?:\s*[:：∶分]\s*\d{2})?\s*[分秒]?)?"
# A line that is a date: "2020年6月1日", "(2021年1月12日)", "2019-08-03 09:51黄俊尧", "思而思学 2023-11-05 16:40:31".
# Whether it is the article's date depends on where it stands (see _place_dated_lines).
_DATED_LINE = re.compile(
    rf"^(?:[^\d，。,；;！？!?：:]{{1,30}}(?<![于在从自至])\s)?\s*{_ANY_DATE}{_TIME}\s*(?P<after>[^\d，。,；;！？!?]{{0,16}})$"
)
# Words after a date that make it an event's date, not a page's: "2021年1月12日上午召开支部大会".
_EVENT_WORDS = re.compile(r"上午|下午|晚上|早上|中午|凌晨|召开|举行|举办|开展|以来|期间|前后|至今|起")
_MARKUP_EDGES = " \t*_#>`~()（）[]【】〔〕"
# 《人民日报》（2023年05月16日 第07版）: the newspaper and its date.
_PAPER_LINE = re.compile(rf"^《(?P<paper>[^《》]{{2,20}})》\s*[（(]\s*(?P<date>{_ANY_DATE})\s*(?:第?\s*\d{{1,3}}\s*版)?\s*[)）]$")
# 党政研究 2019年4期: the journal an article was published in.
_JOURNAL_LINE = re.compile(rf"^(?P<journal>[{_HAN}a-z]{{2,20}}?)\s*\d{{4}}\s*年\s*(?:第\s*)?\d{{1,2}}\s*期$")
# 《2022年换届选举工作实施方案2.doc》由会员分享...: a document-sharing site names the file.
_SHARED_FILE = re.compile(r"^《(?P<title>[^《》]{4,80}?)\d{0,2}\.(?:docx?|pdf|wps|pptx?|txt)》")
# A title fused with what follows when a document lost its line breaks: "...制度前言组织生活是...".
_GENRE_END = ("方案", "报告", "制度", "总结", "计划", "意见", "办法", "细则", "规定", "通知", "决定", "讲话", "发言", "材料", "汇报")
_FUSED_LABEL = re.compile(r"(?:前言|引言|摘要|内容提要|内容摘要|收藏)(?=\S)")
_FUSED_HEADING = re.compile(r"(?:一、|第一章|第一部分|第一条|[（(]一[)）])")
_FUSED_OPENING = re.compile(r"(?:为|按照|根据|[^，。,；;：:\s]{2,12}[:：])")
_FOOTNOTE_MARK = re.compile(r"\s*[*＊]+(?:\s.*)?$")
_ORIGINAL_TITLE = re.compile(r"^(?:原题|原标题)\s*[:：]\s*(?P<title>.+)$")
_PART_LABELS = frozenset("摘要 引言 前言 正文 导语 概述 目录 附件 关键词 内容提要 结语 结束语 参考文献".split())
_FIELD_PAIR = re.compile(rf"[{_HAN}]{{2,6}}\s*[:：]")
_WHOLLY_BRACKETED = re.compile(r"^[（(〔\[【][^()（）〔〕\[\]【】]+[)）〕\]】]$")
# An organisation's name alone: "中共某县委组织部", "中共绍兴市柯桥区委党校".
_ORG_ALONE = re.compile(
    rf"^(?:中共)?[{_HAN}]{{2,30}}?(?:委员会|党委|党组|党工委|工委|总支|支部|组织部|宣传部|统战部|纪委|监委|党校|大学|学院"
    r"|研究院|研究所|研究中心|政府|办公室|办事处)$"
)

_ORG_SUFFIX = (
    "委员会|组织部|宣传部|统战部|工作部|办公室|党工委|党委|党组|工委|总支|支部|机关|委|部|办|局|厅|处|科|院|所|中心|站"
    "|社|馆|队|街道|镇|乡|村|社区|政府|公司|集团|学校|大学|学院|日报|报"
)
_PERSON = rf"[{_HAN}·]{{2,4}}"
_BYLINE = re.compile(
    rf"^(?:中共)?[{_HAN}]{{1,30}}?(?:{_ORG_SUFFIX})(?P<names>\s+{_PERSON}(?:[\s、，,]+{_PERSON})*)?$"
)
_BRACKETED = re.compile(r"^[（(](?P<inner>[^()（）]{2,40})[)）]$")
_WRITTEN_BY = re.compile(r"^文\s*[/／|｜]\s*(?P<who>\S.{0,30})$")
_SIGNATURE = re.compile(r"^(?P<body>.*[。！？!?”’」』])\s*[（(](?P<inner>[^()（）]{2,40})[)）]$")
_ATTACHMENT = re.compile(r"^附件\s*\d*\s*[:：]?$")
_DOC_NUMBER = re.compile(r"[〔\[（(]\d{4}[〕\]）)]\s*\d+\s*号")

_ADMIN_SUFFIX = "特别行政区|自治区|自治州|自治县|自治旗|地区|省|市|州|盟|县|区|旗"
_PLACE_CHAIN = re.compile(rf"^(?:[{_HAN}]{{2,6}}?(?:{_ADMIN_SUFFIX}))+")
_PROVINCES = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
    "青海", "宁夏", "新疆", "香港", "澳门", "台湾",
)  # fmt: skip


# ---------------------------------------------------------------- lines


class _Kind(enum.Enum):
    """What a line of a page is."""

    CONTENT = "content"
    JUNK = "junk"
    TOOLBAR = "toolbar"  # a widget line: junk that also marks the end of a headline block
    SITE = "site"  # a line naming the site: chrome in the header or footer, content inside the body
    META = "meta"
    DATED = "dated"  # a line that is a date: metadata in the header or a sign-off, content elsewhere
    SEPARATOR = "separator"
    PART = "part"
    RELATED = "related"


@dataclass
class _Line:
    """A non-blank line of the file as it goes through classification."""

    text: str  # the cleaned line in the original script
    simple: str  # simplified and lower-cased, for matching
    after_blank: bool
    kind: _Kind = _Kind.CONTENT
    fields: list[tuple[str, str]] = field(default_factory=list)
    site: str | None = None
    part: str | None = None
    rest: str | None = None  # text after a part marker on the same line

    def original(self, start: int, end: int) -> str:
        """The original-script text of a span found in simple (they align unless conversion changed length)."""
        return (self.text if len(self.text) == len(self.simple) else self.simple)[start:end]

    def cut(self, end: int) -> None:
        """Keep only the first end characters."""
        self.text = self.text[:end].rstrip()
        self.simple = self.simple[:end].rstrip()


def _clean_line(raw: str) -> str:
    """Drop pinyin notes, mangled ones too, and invisible characters; collapse runs of spaces, strip."""
    # safe_text again: PDF, Word and HTML text never passed through decode_text.
    text = _WORD_COUNT.sub("", _MANGLED_PINYIN.sub("", strip_pinyin_notes(_INVISIBLE.sub("", safe_text(raw)))))
    return _SPACES.sub(" ", text).strip()


def _make_line(text: str, after_blank: bool) -> _Line:
    """A line with its simplified, lower-cased form for matching."""
    return _Line(text=text, simple=to_simplified(text).lower(), after_blank=after_blank)


def _is_body(text: str) -> bool:
    """A line that reads as running text rather than a heading or a label."""
    return len(text) >= 80 or (len(text) >= 10 and text.rstrip(_CLOSERS).endswith(_TERMINAL))


def _han_count(text: str) -> int:
    """How many Han characters text has."""
    return len(re.findall(rf"[{_HAN}]", text))


# ---------------------------------------------------------------- classification


def _classify(line: _Line) -> None:
    """Set the kind of a line, and what it states (metadata fields, a site name, a part title)."""
    s = line.simple
    if _SEPARATOR.match(s):
        line.kind = _Kind.SEPARATOR
    elif m := _PART_MARK.match(s):
        line.kind = _Kind.PART
        line.part = line.original(*m.span(1))
        line.rest = line.original(*m.span("rest")) if m.group("rest") else None
    elif _RELATED_HEADING.match(s):
        line.kind = _Kind.RELATED
    elif _is_meta_line(s):
        line.kind = _Kind.META
        line.fields = _meta_fields(line, 0)
    elif m := _PAPER_LINE.match(s):
        line.kind = _Kind.META
        line.fields = [("来源", line.original(*m.span("paper"))), ("日期", m.group("date"))]
    elif m := _JOURNAL_LINE.match(s):
        line.kind = _Kind.META
        line.fields = [("刊名", line.original(*m.span("journal")))]
    elif m := _SHARED_FILE.match(s):
        line.kind = _Kind.META
        line.fields = [("原题", line.original(*m.span("title")))]
    elif m := _ORIGINAL_TITLE.match(s):
        line.kind = _Kind.META
        line.fields = [("原题", line.original(*m.span("title")))]
    elif (m := _DATED_LINE.match(s.strip(_MARKUP_EDGES))) and not _EVENT_WORDS.search(m["after"]) and _parse_date(s):
        line.kind = _Kind.DATED
        line.fields = [("", s)]
    elif _is_junk(s) or _MENU_LABEL.match(line.text):
        line.kind = _Kind.JUNK
    elif (toolbar := _toolbar(line)) is not None:
        line.kind = _Kind.TOOLBAR
        line.site = toolbar or None
    elif _BREADCRUMB.match(s) or (len(s) <= 60 and len(_CRUMB_SPLIT.findall(s)) >= 2 and not _is_body(s)):
        line.kind = _Kind.JUNK
        line.site = _breadcrumb_root(line)
    elif (site := _site_line(line)) is not None:
        line.kind = _Kind.SITE
        line.site = site
    else:
        _cut_meta_tail(line)


def _is_junk(s: str) -> bool:
    """Stray numbers, spam headlines, copyright footers and next/previous links."""
    if len(s) <= 30 and _NO_WORDS.match(s):
        return True  # stray counters and page numbers: "1 1 1", "- 3 -"
    if len(s) <= 80 and "。" not in s:
        if any(term in s for term in _SPAM_STRONG) or sum(term in s for term in _SPAM_WEAK) >= 2:
            return True
    if len(s) <= 300 and "。" not in s and sum(term in s for term in _SPAM_STRONG) >= 2:
        return True  # a long run of spam keywords: "国产精品_亚洲欧美_..."
    if len(s) <= 80 and "。" not in s and _SOLICITATION.search(s):
        return True
    if len(s) <= 60 and (_BARE_CRUMB.match(s) or _PIPE_MENU.match(s) or _PAGE_LABEL.match(s) or _WELCOME.match(s)):
        return True
    if len(s) <= 200 and (_HTML_DEBRIS.search(s) or _URL_LINE.match(s) or _SITE_NOTE.search(s)):
        return True
    if _FILE_PROPERTY.match(s) or _is_tag_cloud(s):
        return True
    return len(s) <= 100 and bool((_COPYRIGHT.search(s) and "。" not in s) or _NAVIGATION.match(s))


def _is_tag_cloud(s: str) -> bool:
    """A line of keyword tags with repeats: "乡村越来越好 乡村越来越好 发展壮大集体经济 ..."."""
    tags = [tag for tag in s.split() if not _NO_WORDS.match(tag)]
    return len(tags) >= 4 and len(set(tags)) < len(tags) and not re.search(r"[，,。；;！？!?]", s)


def _tokens(line: _Line) -> list[tuple[int, int]]:
    """Spans of the whitespace-separated tokens of a line, without surrounding brackets."""
    spans = []
    for m in _TOKEN.finditer(line.simple):
        token = m.group()
        stripped = token.strip(_TOKEN_PUNCT)
        if stripped:
            start = m.start() + token.index(stripped)
            spans.append((start, start + len(stripped)))
    return spans


def _toolbar(line: _Line) -> str | None:
    """For a share/print toolbar line, the site name it mentions or ""; None for any other line."""
    if len(line.simple) > 60:
        return None
    widgets = 0
    rest: list[tuple[int, int]] = []
    for start, end in _tokens(line):
        token = line.simple[start:end]
        if token in _WIDGET_WORDS or _WIDGET_PATTERN.match(token):
            widgets += 1
        elif not _NO_WORDS.match(token):
            rest.append((start, end))
    if not widgets or sum(end - start for start, end in rest) > 12:
        return None
    site = _site_token(line, *rest[0]) if len(rest) == 1 else None
    if rest and widgets < 2 and site is None:
        return None  # "回复 群众关切" is a heading, not a toolbar
    return site or ""


def _site_token(line: _Line, start: int, end: int) -> str | None:
    """The site name that a token is, as in "共产党员网" or "共产党员网来稿"."""
    m = _SITE_NAME.match(line.simple[start:end])
    return line.original(start, start + m.end("site")) if m else None


def _site_line(line: _Line) -> str | None:
    """The site name of a line such as "共产党员网 先锋文汇" (site, then an optional column name)."""
    if len(line.simple) > 24:
        return None
    tokens = _tokens(line)
    if not 1 <= len(tokens) <= 2 or (len(tokens) == 2 and tokens[1][1] - tokens[1][0] > 8):
        return None
    return _site_token(line, *tokens[0])


def _breadcrumb_root(line: _Line) -> str | None:
    """The first crumb of a breadcrumb when it names the site rather than "首页"."""
    m = _BREADCRUMB.match(line.simple)
    start = m.end() if m else 0
    crumbs = _CRUMB_SPLIT.split(line.simple[start:])
    if not crumbs:
        return None
    first = crumbs[0].strip(" ?？:：" + _TOKEN_PUNCT)
    if not 2 <= len(first) <= 20 or first in _HOME or _NO_WORDS.match(first):
        return None
    offset = line.simple.index(first, start)
    return line.original(offset, offset + len(first))


def _mark_menus(lines: list[_Line]) -> None:
    """Runs of three or more short bulleted lines are site menus."""
    run: list[_Line] = []
    for line in [*lines, None]:
        if line is not None and line.kind in (_Kind.CONTENT, _Kind.SITE) and _MENU_ITEM.match(line.simple):
            run.append(line)
            continue
        if len(run) >= 3:
            for item in run:
                item.kind = _Kind.JUNK
        run = []


def _drop_related_lists(lines: list[_Line]) -> None:
    """A "related reading" heading and the list of other article titles under it are junk."""
    inside = False
    for line in lines:
        if line.kind is _Kind.RELATED:
            line.kind = _Kind.JUNK
            inside = True
        elif inside:
            if line.kind in (_Kind.JUNK, _Kind.TOOLBAR):
                continue
            if line.kind in (_Kind.CONTENT, _Kind.SITE) and len(line.text) <= 60 and not _is_body(line.text):
                line.kind = _Kind.JUNK
            else:
                inside = False


# ---------------------------------------------------------------- metadata fields


def _is_meta_line(s: str) -> bool:
    """A short line of labelled fields: 时间:... 来源:... 作者:... 点击:..., possibly after a bare date."""
    if len(s) > 150 or any(c in s for c in "。！？"):
        return False
    labels = list(_LABEL.finditer(s))
    if not labels:
        return False
    if all(m.group(1).replace(" ", "") in _COUNTER_LABELS for m in labels):
        # "阅读:1623" is a hit counter; "阅读:《党章》第一章" is a study plan.
        values = [s[m.end() : n.start() if n else len(s)] for m, n in zip(labels, [*labels[1:], None], strict=True)]
        return all(_COUNT.match(value.strip(" ()（）")) for value in values)
    lead = s[: labels[0].start()]
    return (
        bool(_LABEL.match(s.lstrip("(（【[ ")))
        or len(labels) >= 2
        or len(_FIELD_PAIR.findall(s)) >= 2  # "网站:公文素材库 | 时间:2019-06-22"
        or (len(lead) <= 25 and _parse_date(lead) is not None)  # "2019年07月18日 来源:人民网"
    )


def _meta_fields(line: _Line, start: int) -> list[tuple[str, str]]:
    """(label, value) pairs from start on; text before the first label comes with the label ""."""
    matches = list(_LABEL.finditer(line.simple, start))
    if not matches:
        return []
    fields = [("", line.original(start, matches[0].start()))]
    for m, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(line.simple)
        fields.append((m.group(1).replace(" ", ""), line.original(m.end(), end).strip(" |｜()（）【】[]")))
    return fields


def _cut_meta_tail(line: _Line) -> None:
    """Cut a date/source block glued after the last sentence of a paragraph, keeping its fields."""
    if len(line.text) != len(line.simple):
        return
    for m in _TAIL_START.finditer(line.simple):
        if len(line.simple) - m.end() > 150:
            continue  # checked before slicing: a long line may have a match at every sentence
        tail = line.simple[m.end() :]
        if "。" in tail:
            continue
        fields = _meta_fields(line, m.end())
        dated = any(label in _DATE_LABELS and _parse_date(value) for label, value in fields[1:])
        # One field is enough in brackets: "...工作。(来源:人民日报)".
        if dated or len(fields) >= 3 or (m.group("bracket") and fields[1][0] not in _DATE_LABELS):
            line.fields = fields
            line.cut(m.start())
            return


def _parse_date(text: str) -> str | None:
    """The first valid calendar date in text as ISO YYYY-MM-DD: 2017年09月12日, 2019-7-18, 2019.07.18, 二〇二二年十二月三十日."""
    found = [(m.start(), tuple(int(g) for g in m.groups())) for m in _DATE.finditer(text)]
    found += [(m.start(), tuple(_chinese_number(g) for g in m.groups())) for m in _CN_DATE.finditer(text)]
    for _, (year, month, day) in sorted(found):
        if 1900 <= year <= 2100:
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                continue
    return None


def _chinese_number(text: str) -> int:
    """二〇二二 -> 2022 (digit by digit), 十二 -> 12, 三十 -> 30, 三十一 -> 31."""
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
    if "十" not in text:
        return int("".join(str(digits[c]) for c in text))
    tens, _, units = text.partition("十")
    return (digits[tens] if tens else 1) * 10 + (digits[units] if units else 0)


@dataclass
class _Meta:
    """Metadata stated by the field lines of an article."""

    date: str | None = None
    source: str | None = None
    author: str | None = None
    original_title: str | None = None


def _read_fields(fields: list[tuple[str, str]]) -> _Meta:
    """Date, source and author from (label, value) fields; placeholders such as 未知 or 管理员 are ignored."""
    meta = _Meta()
    for wanted in (*_DATE_LABELS, *_SOURCE_DATE_LABELS, _SIGN_OFF):
        meta.date = next((d for label, value in fields if label == wanted and (d := _parse_date(value))), None)
        if meta.date:
            break
    for label, value in fields:
        if label == "原题":
            meta.original_title = meta.original_title or value.strip()
            continue
        if label in _SOURCE_LABELS and (m := _DATE.search(value)):
            value = value[: m.start()]
        words = _value_words(value)
        if not words:
            continue
        key = to_simplified(words[0]).lower()
        if label in _SOURCE_LABELS and meta.source is None and key not in _UNKNOWN_SOURCES:
            meta.source = words[0]
        elif label in _AUTHOR_LABELS and meta.author is None and key not in _PLACEHOLDER_AUTHORS:
            meta.author = " ".join(words)
    return meta


def _value_words(value: str) -> list[str]:
    """The words of a field value, up to the first widget word (打印, 收藏, 本文已影响 ...)."""
    words = []
    for word in filter(None, re.split(r"[\s【】\[\]|｜]+", value)):
        word = word.strip(_TOKEN_PUNCT)
        simple = to_simplified(word).lower()
        if not word or simple in _WIDGET_WORDS or _WIDGET_PATTERN.match(simple):
            break
        words.append(word)
    return words


# ---------------------------------------------------------------- bylines and regions


def _byline(text: str) -> str | None:
    """The author of a byline line: "(中共中卫市沙坡头区党群工作部)", "四川省康定市委组织部 郑应红", "文/张三"."""
    if len(text) > 42:
        return None
    if m := _WRITTEN_BY.match(text):
        return m.group("who").strip()
    inner = m.group("inner").strip() if (m := _BRACKETED.match(text)) else text
    simple = to_simplified(inner)
    m = _BYLINE.match(simple)
    # Without brackets a lone organisation could be a short title, so a person's name must follow it.
    if m is None or (inner == text and not m.group("names")):
        return None
    return inner


def _signing_organisation(text: str) -> bool:
    """Whether a line above a sign-off date is the organisation that signs: "中共某村支部委员会"."""
    simple = to_simplified(text)
    return len(text) <= 40 and bool(_ORG_ALONE.match(simple) or _BYLINE.match(simple))


def _trailing_signature(text: str) -> tuple[str, str] | None:
    """(text without it, author) for a paragraph ending in a bracketed signature: "...工作。(县基层办 秦敬洪)"."""
    m = _SIGNATURE.match(text)
    if m is None or not _BYLINE.match(to_simplified(m.group("inner").strip())):
        return None
    return m.group("body"), m.group("inner").strip()


def _region(title: str | None, author: str | None, lead: str, text: str) -> str | None:
    """The place an article is about, only when the text makes it plain.

    1. The author's organisation starts with named administrative units: "四川省康定市委组织部" -> 四川省康定市,
       "中共中卫市沙坡头区党群工作部" -> 中卫市沙坡头区.
    2. The title starts with a place and a colon, news style: "四川康定：..." -> 四川康定 (a province's name
       or an administrative suffix is required).
    3. The author's organisation names only a level ("县基层办", "市委组织部"): the one place of that level named
       in the first paragraph and again elsewhere, e.g. 鹿寨县.
    Anonymised names ("**县") and places merely mentioned in passing never count.
    """
    level = None
    if author:
        org = author.split()[0]
        if org.startswith("中共"):
            org = org[2:]
        simple = to_simplified(org)
        if m := _PLACE_CHAIN.match(simple):
            start, end = m.span()
            if simple[start:end - 1] in _PROVINCES and simple[end - 1] == "区":  # 广西区委 = 广西壮族自治区党委
                end -= 1
            return _same_span(org, simple, start, end)
        if simple[:1] in ("县", "市", "区", "州", "旗"):
            level = simple[0]
    if title:
        simple = to_simplified(title)
        m = re.match(rf"^([{_HAN}]{{2,10}})\s*[:：]", simple)
        if m and (m.group(1).startswith(_PROVINCES) or _PLACE_CHAIN.fullmatch(m.group(1))):
            return _same_span(title, simple, *m.span(1))
    if level:
        lead_simple, text_simple = to_simplified(lead), to_simplified(text)
        spans: dict[str, tuple[int, int]] = {}
        for m in re.finditer(rf"(?<![{_HAN}*])([{_HAN}]{{2,3}}{level})", lead_simple[:_LEAD_CHARS]):
            spans.setdefault(m.group(1), m.span(1))
        found = {name: span for name, span in spans.items() if text_simple.count(name) >= 2}
        if len(found) == 1:
            (span,) = found.values()
            return _same_span(lead, lead_simple, *span)
    return None


_LEAD_CHARS = 1000  # a place named further into a first paragraph is not what it is about; counting stays cheap


def _same_span(original: str, simple: str, start: int, end: int) -> str:
    """The span of original matching one found in its simplified form."""
    return (original if len(original) == len(simple) else simple)[start:end]


# ---------------------------------------------------------------- articles


def _articles(raw: RawDocument) -> list[Article]:
    """Classify the lines, split the page at separators and build one article per part with content."""
    lines: list[_Line] = []
    blanks = 0
    after_blank = False
    for raw_line in raw.lines:
        text = _clean_line(raw_line)
        if not text:
            blanks += 1
            after_blank = True
            continue
        lines.append(_make_line(text, after_blank))
        after_blank = False
    for line in lines:
        _classify(line)
    _mark_menus(lines)
    _drop_related_lists(lines)
    _drop_running_headers(lines)
    # Plain text that separates paragraphs by blank lines may also break a paragraph after a semicolon.
    soft_breaks = blanks >= 0.4 * len(lines)

    segments: list[list[_Line]] = [[]]
    for line in lines:
        if line.kind is _Kind.SEPARATOR:
            segments.append([])
        else:
            segments[-1].append(line)
    zones = [_zones(segment) for segment in segments]
    site_name = raw.site_name
    for segment, (start, end) in zip(segments, zones, strict=True):
        _place_dated_lines(segment, start, end)
        for i, line in enumerate(segment):
            if line.kind is _Kind.SITE and start <= i < end:
                line.kind, line.site = _Kind.CONTENT, None
            site_name = site_name or line.site

    articles = []
    for k, (segment, (start, _)) in enumerate(zip(segments, zones, strict=True)):
        first = k == 0
        article = _article(
            segment,
            start,
            title_hint=raw.title if first else None,
            fallback_title=raw.fallback_title if first else None,
            date_hint=_parse_date(raw.date_text or "") if first else None,
            site_name=site_name,
            soft_breaks=soft_breaks,
        )
        if article is not None:
            articles.append(article)
    return articles


def _drop_running_headers(lines: list[_Line]) -> None:
    """A short line repeated between the paragraphs of the body, as a document's running header, is junk.

    A headline repeated in the header (title, breadcrumb, subtitle) is not: two repeats must stand after the
    first paragraph of running text. Where a layout glued the header to a paragraph, it is cut off.
    """
    first_body = next((i for i, line in enumerate(lines) if line.kind is _Kind.CONTENT and _is_body(line.text)), None)
    if first_body is None:
        return
    positions: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.kind in (_Kind.CONTENT, _Kind.SITE) and len(line.text) <= 40 and not _is_body(line.text):
            if not NUMBERED_HEADING.match(line.text):
                positions.setdefault(line.text, []).append(i)
    # Paragraphs ending with each header, found by looking up their endings: one pass whatever the number of headers.
    lengths = sorted({len(header) for header in positions})
    glued_at: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.kind is _Kind.CONTENT and _is_body(line.text):
            for length in lengths:
                if length < len(line.text) and (end := line.text[-length:]) in positions:
                    glued_at.setdefault(end, []).append(i)
    for header, found in positions.items():
        glued = glued_at.get(header, [])
        if len(found) + len(glued) >= 3 and sum(i > first_body for i in [*found, *glued]) >= 2:
            for i in found:
                lines[i].kind = _Kind.JUNK
            for i in glued:
                if lines[i].text.endswith(header):  # not already cut by a longer header ending the same way
                    lines[i].cut(len(lines[i].text) - len(header))


def _place_dated_lines(segment: list[_Line], body_start: int, body_end: int) -> None:
    """A date line is metadata in the header or in the sign-off after the last paragraph; elsewhere it is content.

    After the last paragraph, a bracketed line other than a byline is a notice: "(未完,请阅读下面的提示信息)".
    """
    for line in segment[body_end:]:
        text = line.text
        if line.kind is _Kind.CONTENT and _WHOLLY_BRACKETED.match(text):
            if not (_byline(text) or NUMBERED_HEADING.match(text)):
                line.kind = _Kind.JUNK
    # long_after[i]: a content line longer than 30 characters stands after line i.
    long_after = [False] * (len(segment) + 1)
    for i in range(len(segment) - 1, -1, -1):
        following = segment[i + 1] if i + 1 < len(segment) else None
        long_after[i] = long_after[i + 1] or (
            following is not None and following.kind is _Kind.CONTENT and len(following.text) > 30
        )
    for i, line in enumerate(segment):
        if line.kind is not _Kind.DATED:
            continue
        if i < body_start:
            line.kind = _Kind.META
        elif i >= body_end and not long_after[i]:
            line.kind = _Kind.META
            line.fields = [(_SIGN_OFF, line.fields[0][1])]
        else:
            line.kind = _Kind.CONTENT
            line.fields = []


def _zones(segment: list[_Line]) -> tuple[int, int]:
    """(start of the body, one past its last running-text paragraph)."""
    start = next(
        (
            i
            for i, line in enumerate(segment)
            if line.kind is _Kind.PART
            or (
                line.kind is _Kind.CONTENT
                and ((_is_body(line.text) and not _is_exclaimed_heading(line.text)) or NUMBERED_HEADING.match(line.text))
            )
        ),
        len(segment),
    )
    end = max(
        (i + 1 for i, line in enumerate(segment) if line.kind is _Kind.CONTENT and _is_body(line.text)),
        default=start,
    )
    return start, end


def _is_exclaimed_heading(text: str) -> bool:
    """A short question or exclamation with no other punctuation: a headline, not running text."""
    stem = text.rstrip(_CLOSERS).rstrip("？！?!")
    return len(text) <= 40 and stem != text.rstrip(_CLOSERS) and not re.search(r"[，,。；;！!？?：:]", stem)


def _is_name_list(text: str) -> bool:
    """A line of people's names: "崔会敏,张雪斐", "□ 卢福营 高 健"."""
    names = re.split(r"[\s,，、;；]+", text.strip(" □■◇◆●▪·"))
    han = re.compile(rf"[{_HAN}·]{{1,3}}")
    return len(names) >= 2 and all(han.fullmatch(name) for name in names)


def _is_lone_name(text: str) -> bool:
    """A line of two or three Han characters that is not a part label: under a headline, its author."""
    return bool(re.fullmatch(rf"[{_HAN}·]{{2,3}}", text)) and to_simplified(text) not in _PART_LABELS


def _title_candidate(text: str) -> bool:
    """A line that could be a headline: short, not a sentence, a numbered heading, a lead-in, a subtitle or chrome."""
    simple = to_simplified(text)
    return (
        4 <= len(text) <= 100
        and _han_count(text) >= 4
        and not text.endswith((*_CLAUSE_END, "：", ":"))
        and not text.startswith(("—", "-", "－", "–"))
        and not NUMBERED_HEADING.match(text)
        and (not _is_body(text) or _is_exclaimed_heading(text))
        and not _ATTACHMENT.match(text)
        and not _DOC_NUMBER.search(text)
        and not _WHOLLY_BRACKETED.match(text)
        and len(_FIELD_PAIR.findall(simple)) < 2
        and not _is_name_list(text)
        and not _ORG_ALONE.match(simple)
    )


def _find_title(segment: list[_Line], body_start: int) -> int | None:
    """The headline: the last title-like line before the first byline, metadata or toolbar line of the header."""
    candidates: list[int] = []
    for i, line in enumerate(segment[:body_start]):
        is_content = line.kind is _Kind.CONTENT
        if line.kind in (_Kind.META, _Kind.TOOLBAR) or (is_content and _byline(line.text)):
            if candidates:
                return candidates[-1]
        elif is_content and _title_candidate(line.text):
            candidates.append(i)
    if candidates and _is_section_heading(segment, candidates[0]):
        return None
    return candidates[0] if candidates else None


def _is_section_heading(segment: list[_Line], index: int) -> bool:
    """A short line right above the text, shaped like the unnumbered headings between later paragraphs: "工作背景"."""

    def short(i: int) -> bool:
        line = segment[i]
        return line.kind is _Kind.CONTENT and len(line.text) <= 8 and not _is_body(line.text)

    def body(i: int) -> bool:
        return 0 <= i < len(segment) and segment[i].kind is _Kind.CONTENT and _is_body(segment[i].text)

    return short(index) and body(index + 1) and any(
        short(i) and body(i - 1) and body(i + 1) for i in range(index + 2, len(segment) - 1)
    )


def _tidy_title(title: str) -> str:
    """A title without a footnote mark and what follows it, nor a table of contents glued on: "方案一、背景分析"."""
    title = _FOOTNOTE_MARK.sub("", title)
    if m := _FUSED_HEADING.search(title, 6):
        title = title[: m.start()]
    return title.strip()


def _fused_title(text: str) -> tuple[str, str] | None:
    """(title, rest) of a first paragraph that begins with its document's title, fused for want of a line break.

    The title must be a phrase without punctuation, and what follows must plainly start something else: a label
    (前言, 摘要), the first numbered heading, or after a document-kind word (方案, 报告, ...) an addressee
    ("省委组织部:"), an opening (为, 按照, 根据) or the tail of the title repeated as a heading.
    """
    stop = re.search(r"[，,。；;！？!?\s“”《》]", text)
    head = text[: min(stop.start() if stop else len(text), 41)]
    for end in range(6, len(head)):
        title, rest = text[:end], text[end:]
        if m := _FUSED_LABEL.match(rest):
            return title, rest[m.end() :]
        if _FUSED_HEADING.match(rest):
            return title, rest
        if title.endswith(_GENRE_END) and _han_count(title) >= 6:
            if _FUSED_OPENING.match(rest) or any(rest.startswith(title[k:]) for k in range(1, end - 3)):
                return title, rest
    return None


def _after_category(segment: list[_Line], index: int, body_start: int, title: str) -> tuple[int, str]:
    """The title without a category printed before it: the next header line when it is the title's tail."""
    key = normalize_for_phrase_match(title)
    if re.search(r"[—:：]", title):
        return index, title  # "标题——副标题" repeated as "副标题" is a subtitle, not a category
    for i in range(index + 1, body_start):
        line = segment[i]
        if line.kind is _Kind.CONTENT:
            tail = normalize_for_phrase_match(line.text)
            if len(tail) >= 6 and tail != key and key.endswith(tail):
                segment[index].kind = _Kind.JUNK
                return i, line.text
            break
    return index, title


def _first_content(segment: list[_Line]) -> int | None:
    """The index of the first content line."""
    return next((i for i, line in enumerate(segment) if line.kind is _Kind.CONTENT), None)


def _find_line(segment: list[_Line], wanted: str) -> int | None:
    """The index of the content line that reads as wanted, ignoring punctuation and script."""
    key = normalize_for_phrase_match(wanted)
    for i, line in enumerate(segment):
        if line.kind is _Kind.CONTENT and normalize_for_phrase_match(line.text) == key:
            return i
    return None


def _usable_fallback_title(title: str | None) -> bool:
    """Whether a title from file properties is a real title rather than "Microsoft Word - 文档1"."""
    if not title or _han_count(title) < 2:
        return False
    return not re.search(r"\.(?:docx?|wps|pdf)$|microsoft|untitled|无标题|^文档\d*$", title.lower())


def _article(
    segment: list[_Line],
    body_start: int,
    *,
    title_hint: str | None,
    fallback_title: str | None,
    date_hint: str | None,
    site_name: str | None,
    soft_breaks: bool,
) -> Article | None:
    """Build the article of one part of a page: title, header metadata, text and sections; None if empty."""
    dropped: set[int] = set()
    if title_hint:
        title_index = _find_line(segment, title_hint)
        title: str | None = title_hint
    else:
        title_index = _find_title(segment, body_start)
        title = _tidy_title(segment[title_index].text) if title_index is not None else None
        if title_index is not None:
            title_index, title = _after_category(segment, title_index, body_start, title)
        elif (first := _first_content(segment)) is not None and first == body_start:
            if fused := _fused_title(segment[first].text):
                title, rest = fused
                segment[first].text = rest
    if title is None and _usable_fallback_title(fallback_title):
        title = fallback_title

    author = None
    header_from = 0
    if title_index is not None:
        dropped.add(title_index)
        dropped.update(i for i in range(min(title_index, body_start)) if segment[i].kind is _Kind.CONTENT)
        header_from = title_index + 1
    title_key = normalize_for_phrase_match(title) if title else ""
    for i in range(header_from, body_start):
        line = segment[i]
        if line.kind is not _Kind.CONTENT or i in dropped:
            continue
        if by := _byline(line.text):
            author = author or by
            dropped.add(i)
        elif _is_name_list(line.text) or (title_index is not None and _is_lone_name(line.text)):
            author = author or line.text.strip(" □■◇◆●▪·")
            dropped.add(i)
        elif _WHOLLY_BRACKETED.match(line.text) and not NUMBERED_HEADING.match(line.text):
            dropped.add(i)  # the authors' affiliation: "(中共某市委党校,浙江 绍兴312030)"
        elif title_key and len(key := normalize_for_phrase_match(line.text)) >= 4 and key in title_key:
            dropped.add(i)  # the headline repeated as a subtitle block

    signed_off = [i for i, line in enumerate(segment) if any(label == _SIGN_OFF for label, _ in line.fields)]
    if signed_off:
        before = [i for i in range(signed_off[0]) if segment[i].kind is _Kind.CONTENT and i not in dropped]
        if before and _signing_organisation(segment[before[-1]].text):
            author = author or segment[before[-1]].text
            dropped.add(before[-1])
    content = [i for i, line in enumerate(segment) if line.kind is _Kind.CONTENT and i not in dropped]
    if content:
        last = segment[content[-1]]
        if by := _byline(last.text):
            author = author or by
            dropped.add(content[-1])
        elif signed := _trailing_signature(last.text):
            last.text, by = signed
            author = author or by

    paragraphs: list[str] = []
    sections: list[Section] = []
    pending: list[str] = []
    length = 0  # of "\n".join(paragraphs)
    joinable = False
    for i, line in enumerate(segment):
        if i in dropped:
            continue
        if line.kind is _Kind.PART:
            pending.append(line.part or "")
            joinable = False
            if not line.rest:
                continue
            text, after_blank = line.rest, True
        elif line.kind is _Kind.CONTENT:
            text, after_blank = line.text, line.after_blank
        else:
            continue
        if soft_breaks and joinable and not after_blank and paragraphs[-1].endswith(_CLAUSE_END):
            paragraphs[-1] += text
            length += len(text)
            continue
        offset = length + 1 if paragraphs else 0
        sections.extend(Section(part, offset) for part in pending)
        pending = []
        paragraphs.append(text)
        length = offset + len(text)
        joinable = True
    if not paragraphs or not (any(_is_body(p) for p in paragraphs) or sum(map(len, paragraphs)) >= 30):
        return None

    meta = _read_fields([f for line in segment for f in line.fields])
    if title is None and meta.original_title and _title_candidate(meta.original_title):
        title = meta.original_title
    author = author or meta.author
    text = "\n".join(paragraphs)
    return Article(
        title=title,
        date=meta.date or date_hint,
        source=meta.source or site_name,
        author=author,
        region=_region(title, author, paragraphs[0], text),
        text=text,
        sections=tuple(sections),
    )
