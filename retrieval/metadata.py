"""Metadata of an article as its page states it: labelled fields (date, source, author), dates, bylines.

A line of labelled fields (时间:... 来源:... 作者:...), a newspaper's or journal's line, a date alone: each is
recognised, its (label, value) fields are kept, and the line leaves the text. Which stated value wins is decided
once per article, by the trust each label earns (a publication date over a sign-off date, say). The author may
also be named without a label: a byline under the title, a list of names, or a signature at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rectbot.retrieval.cleaning import TOKEN_PUNCT, is_widget
from rectbot.retrieval.formats import NUMBERED_HEADING
from rectbot.retrieval.lines import CLOSERS, Kind, Line
from rectbot.retrieval.text import HAN, normalize_for_phrase_match, to_simplified

_LABELS = (
    "发布时间|发表时间|发布日期|更新时间|录入时间|时间|日期|文章来源|信息来源|来源|刊名|作者单位|作者|撰稿人|撰稿|记者|通讯员"
    "|责任编辑|编辑|编审|审核|发布人|发布者|录入|点击数|点击量|点击|阅读人次|阅读量|阅读数|阅读|浏览次数|浏览量|浏览|访问量"
)
_SPACED_LABELS = "|".join(f"{label[0]} {label[1]}" for label in _LABELS.split("|") if len(label) == 2)  # "作 者:"
_LABEL = re.compile(rf"({_LABELS}|{_SPACED_LABELS})\s*[:：]")
_TAIL_START = re.compile(
    rf"(?<=[。！？!?{CLOSERS}])\s*(?P<bracket>[（(【\[])?"
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
# Whether it is the article's date depends on where it stands (see place_dated_lines).
_DATED_LINE = re.compile(
    rf"^(?:[^\d，。,；;！？!?：:]{{1,30}}(?<![于在从自至])\s)?\s*{_ANY_DATE}{_TIME}\s*(?P<after>[^\d，。,；;！？!?]{{0,16}})$"
)
# Words after a date that make it an event's date, not a page's: "2021年1月12日上午召开支部大会".
_EVENT_WORDS = re.compile(r"上午|下午|晚上|早上|中午|凌晨|召开|举行|举办|开展|以来|期间|前后|至今|起")
_MARKUP_EDGES = " \t*_#>`~()（）[]【】〔〕"
# 《人民日报》（2023年05月16日 第07版）: the newspaper and its date.
_PAPER_LINE = re.compile(rf"^《(?P<paper>[^《》]{{2,20}})》\s*[（(]\s*(?P<date>{_ANY_DATE})\s*(?:第?\s*\d{{1,3}}\s*版)?\s*[)）]$")
# 党政研究 2019年4期: the journal an article was published in.
_JOURNAL_LINE = re.compile(rf"^(?P<journal>[{HAN}a-z]{{2,20}}?)\s*\d{{4}}\s*年\s*(?:第\s*)?\d{{1,2}}\s*期$")
# 《2022年换届选举工作实施方案2.doc》由会员分享...: a document-sharing site names the file.
_SHARED_FILE = re.compile(r"^《(?P<title>[^《》]{4,80}?)\d{0,2}\.(?:docx?|pdf|wps|pptx?|txt)》")
_ORIGINAL_TITLE = re.compile(r"^(?:原题|原标题)\s*[:：]\s*(?P<title>.+)$")
_PART_LABELS = frozenset("摘要 引言 前言 正文 导语 概述 目录 附件 关键词 内容提要 结语 结束语 参考文献".split())
FIELD_PAIR = re.compile(rf"[{HAN}]{{2,6}}\s*[:：]")
WHOLLY_BRACKETED = re.compile(r"^[（(〔\[【][^()（）〔〕\[\]【】]+[)）〕\]】]$")
# An organisation's name alone: "中共某县委组织部", "中共绍兴市柯桥区委党校".
ORG_ALONE = re.compile(
    rf"^(?:中共)?[{HAN}]{{2,30}}?(?:委员会|党委|党组|党工委|工委|总支|支部|组织部|宣传部|统战部|纪委|监委|党校|大学|学院"
    r"|研究院|研究所|研究中心|政府|办公室|办事处)$"
)

_ORG_SUFFIX = (
    "委员会|组织部|宣传部|统战部|工作部|办公室|党工委|党委|党组|工委|总支|支部|机关|委|部|办|局|厅|处|科|院|所|中心|站"
    "|社|馆|队|街道|镇|乡|村|社区|政府|公司|集团|学校|大学|学院|日报|报"
)
_PERSON = rf"[{HAN}·]{{2,4}}"
_BYLINE = re.compile(
    rf"^(?:中共)?[{HAN}]{{1,30}}?(?:{_ORG_SUFFIX})(?P<names>\s+{_PERSON}(?:[\s、，,]+{_PERSON})*)?$"
)
_BRACKETED = re.compile(r"^[（(](?P<inner>[^()（）]{2,40})[)）]$")
_WRITTEN_BY = re.compile(r"^文\s*[/／|｜]\s*(?P<who>\S.{0,30})$")
_SIGNATURE = re.compile(r"^(?P<body>.*[。！？!?”’」』])\s*[（(](?P<inner>[^()（）]{2,40})[)）]$")


# ---------------------------------------------------------------- lines that state metadata


def read_metadata_line(line: Line) -> bool:
    """Mark a line that states metadata and keep its (label, value) fields; False for any other line.

    Such a line holds labelled fields, names a newspaper or journal, a shared file or the original title, or is a
    date alone (placed later by place_dated_lines).
    """
    s = line.simple
    if _is_meta_line(s):
        line.kind = Kind.META
        line.fields = _meta_fields(line, 0)
    elif m := _PAPER_LINE.match(s):
        line.kind = Kind.META
        line.fields = [("来源", line.original(*m.span("paper"))), ("日期", m.group("date"))]
    elif m := _JOURNAL_LINE.match(s):
        line.kind = Kind.META
        line.fields = [("刊名", line.original(*m.span("journal")))]
    elif m := _SHARED_FILE.match(s):
        line.kind = Kind.META
        line.fields = [("原题", line.original(*m.span("title")))]
    elif m := _ORIGINAL_TITLE.match(s):
        line.kind = Kind.META
        line.fields = [("原题", line.original(*m.span("title")))]
    elif (m := _DATED_LINE.match(s.strip(_MARKUP_EDGES))) and not _EVENT_WORDS.search(m["after"]) and parse_date(s):
        line.kind = Kind.DATED
        line.fields = [("", s)]
    else:
        return False
    return True


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
        or len(FIELD_PAIR.findall(s)) >= 2  # "网站:公文素材库 | 时间:2019-06-22"
        or (len(lead) <= 25 and parse_date(lead) is not None)  # "2019年07月18日 来源:人民网"
    )


def _meta_fields(line: Line, start: int) -> list[tuple[str, str]]:
    """(label, value) pairs from start on; text before the first label comes with the label ""."""
    matches = list(_LABEL.finditer(line.simple, start))
    if not matches:
        return []
    fields = [("", line.original(start, matches[0].start()))]
    for m, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(line.simple)
        fields.append((m.group(1).replace(" ", ""), line.original(m.end(), end).strip(" |｜()（）【】[]")))
    return fields


def cut_meta_tail(line: Line) -> None:
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
        dated = any(label in _DATE_LABELS and parse_date(value) for label, value in fields[1:])
        # One field is enough in brackets: "...工作。(来源:人民日报)".
        if dated or len(fields) >= 3 or (m.group("bracket") and fields[1][0] not in _DATE_LABELS):
            line.fields = fields
            line.cut(m.start())
            return


def place_dated_lines(segment: list[Line], body_start: int, body_end: int) -> None:
    """A date line is metadata in the header or in the sign-off after the last paragraph; elsewhere it is content.

    After the last paragraph, a bracketed line other than a byline is a notice: "(未完,请阅读下面的提示信息)".
    """
    for line in segment[body_end:]:
        text = line.text
        if line.kind is Kind.CONTENT and WHOLLY_BRACKETED.match(text):
            if not (byline(text) or NUMBERED_HEADING.match(text)):
                line.kind = Kind.JUNK
    # long_after[i]: a content line longer than 30 characters stands after line i.
    long_after = [False] * (len(segment) + 1)
    for i in range(len(segment) - 1, -1, -1):
        following = segment[i + 1] if i + 1 < len(segment) else None
        long_after[i] = long_after[i + 1] or (
            following is not None and following.kind is Kind.CONTENT and len(following.text) > 30
        )
    for i, line in enumerate(segment):
        if line.kind is not Kind.DATED:
            continue
        if i < body_start:
            line.kind = Kind.META
        elif i >= body_end and not long_after[i]:
            line.kind = Kind.META
            line.fields = [(_SIGN_OFF, line.fields[0][1])]
        else:
            line.kind = Kind.CONTENT
            line.fields = []


# ---------------------------------------------------------------- dates and stated values


def parse_date(text: str) -> str | None:
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
class StatedMetadata:
    """Metadata stated by the field lines of an article."""

    date: str | None = None
    source: str | None = None
    author: str | None = None
    original_title: str | None = None


def read_fields(fields: list[tuple[str, str]]) -> StatedMetadata:
    """Date, source and author from (label, value) fields; placeholders such as 未知 or 管理员 are ignored."""
    meta = StatedMetadata()
    for wanted in (*_DATE_LABELS, *_SOURCE_DATE_LABELS, _SIGN_OFF):
        meta.date = next((d for label, value in fields if label == wanted and (d := parse_date(value))), None)
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
        word = word.strip(TOKEN_PUNCT)
        simple = to_simplified(word).lower()
        if not word or is_widget(simple):
            break
        words.append(word)
    return words


# ---------------------------------------------------------------- authors


def header_author(
    segment: list[Line], title_index: int | None, body_start: int, title: str | None
) -> tuple[str | None, set[int]]:
    """The author named between the title and the body, and the header lines that are not text.

    Those are bylines, lists of names (or a lone name under the title), the authors' affiliation in brackets and
    the headline repeated as a subtitle.
    """
    author = None
    dropped: set[int] = set()
    title_key = normalize_for_phrase_match(title) if title else ""
    for i in range(title_index + 1 if title_index is not None else 0, body_start):
        line = segment[i]
        if line.kind is not Kind.CONTENT:
            continue
        if by := byline(line.text):
            author = author or by
            dropped.add(i)
        elif is_name_list(line.text) or (title_index is not None and _is_lone_name(line.text)):
            author = author or line.text.strip(" □■◇◆●▪·")
            dropped.add(i)
        elif WHOLLY_BRACKETED.match(line.text) and not NUMBERED_HEADING.match(line.text):
            dropped.add(i)  # the authors' affiliation: "(中共某市委党校,浙江 绍兴312030)"
        elif title_key and len(key := normalize_for_phrase_match(line.text)) >= 4 and key in title_key:
            dropped.add(i)  # the headline repeated as a subtitle block
    return author, dropped


def closing_author(segment: list[Line], dropped: set[int]) -> tuple[str | None, set[int]]:
    """The author who signs at the end, and the closing lines that are not text.

    The signer is the organisation above a sign-off date, a byline as the last paragraph, or a bracketed signature
    ending the last paragraph (cut from its text). Lines in dropped are already out of the text.
    """
    author = None
    closing: set[int] = set()
    signed_off = [i for i, line in enumerate(segment) if any(label == _SIGN_OFF for label, _ in line.fields)]
    if signed_off:
        before = [i for i in range(signed_off[0]) if segment[i].kind is Kind.CONTENT and i not in dropped]
        if before and _signing_organisation(segment[before[-1]].text):
            author = segment[before[-1]].text
            closing.add(before[-1])
    content = [
        i for i, line in enumerate(segment) if line.kind is Kind.CONTENT and i not in dropped and i not in closing
    ]
    if content:
        last = segment[content[-1]]
        if by := byline(last.text):
            author = author or by
            closing.add(content[-1])
        elif signed := _trailing_signature(last.text):
            last.text, by = signed
            author = author or by
    return author, closing


def is_name_list(text: str) -> bool:
    """A line of people's names: "崔会敏,张雪斐", "□ 卢福营 高 健"."""
    names = re.split(r"[\s,，、;；]+", text.strip(" □■◇◆●▪·"))
    han = re.compile(rf"[{HAN}·]{{1,3}}")
    return len(names) >= 2 and all(han.fullmatch(name) for name in names)


def _is_lone_name(text: str) -> bool:
    """A line of two or three Han characters that is not a part label: under a headline, its author."""
    return bool(re.fullmatch(rf"[{HAN}·]{{2,3}}", text)) and to_simplified(text) not in _PART_LABELS


def byline(text: str) -> str | None:
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
    return len(text) <= 40 and bool(ORG_ALONE.match(simple) or _BYLINE.match(simple))


def _trailing_signature(text: str) -> tuple[str, str] | None:
    """(text without it, author) for a paragraph ending in a bracketed signature: "...工作。(县基层办 秦敬洪)"."""
    m = _SIGNATURE.match(text)
    if m is None or not _BYLINE.match(to_simplified(m.group("inner").strip())):
        return None
    return m.group("body"), m.group("inner").strip()
