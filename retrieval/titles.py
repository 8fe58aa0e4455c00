"""The title of an article: a hint from the file, the headline of the page's header, or a title fused to the text.

Within an article, the *header* is everything before the first body paragraph (a sentence, a long line, a
numbered heading or a part marker). The headline is found in the header; header lines before it are page chrome.
"""

from __future__ import annotations

import re

from rectbot.retrieval.formats import NUMBERED_HEADING
from rectbot.retrieval.lines import CLAUSE_END, CLOSERS, Kind, Line, han_count, is_body
from rectbot.retrieval.metadata import FIELD_PAIR, ORG_ALONE, WHOLLY_BRACKETED, byline, is_name_list
from rectbot.retrieval.text import normalize_for_phrase_match, to_simplified

# A title fused with what follows when a document lost its line breaks: "...制度前言组织生活是...".
_GENRE_END = ("方案", "报告", "制度", "总结", "计划", "意见", "办法", "细则", "规定", "通知", "决定", "讲话", "发言", "材料", "汇报")
_FUSED_LABEL = re.compile(r"(?:前言|引言|摘要|内容提要|内容摘要|收藏)(?=\S)")
_FUSED_HEADING = re.compile(r"(?:一、|第一章|第一部分|第一条|[（(]一[)）])")
_FUSED_OPENING = re.compile(r"(?:为|按照|根据|[^，。,；;：:\s]{2,12}[:：])")
_FOOTNOTE_MARK = re.compile(r"\s*[*＊]+(?:\s.*)?$")
# Never a headline: an attachment label (附件1:) or a line with a document number (〔2023〕5号).
_ATTACHMENT = re.compile(r"^附件\s*\d*\s*[:：]?$")
_DOC_NUMBER = re.compile(r"[〔\[（(]\d{4}[〕\]）)]\s*\d+\s*号")


def headline(
    segment: list[Line], body_start: int, title_hint: str | None, fallback_title: str | None
) -> tuple[str | None, int | None]:
    """The article's title and the index of its line, None when it has no line of its own.

    A hint (the page's <title>, a Word file's title) wins. Else the headline of the header, less a category printed
    above it; else a title fused to the start of the first paragraph, cut off it; else a usable title from the
    file's properties.
    """
    if title_hint:
        return title_hint, _find_line(segment, title_hint)
    title: str | None = None
    title_index = _find_title(segment, body_start)
    if title_index is not None:
        title_index, title = _after_category(segment, title_index, body_start, _tidy_title(segment[title_index].text))
    elif (first := _first_content(segment)) is not None and first == body_start:
        if fused := _fused_title(segment[first].text):
            title, rest = fused
            segment[first].text = rest
    if title is None and _usable_fallback_title(fallback_title):
        title = fallback_title
    return title, title_index


def is_exclaimed_heading(text: str) -> bool:
    """A short question or exclamation with no other punctuation: a headline, not running text."""
    stem = text.rstrip(CLOSERS).rstrip("？！?!")
    return len(text) <= 40 and stem != text.rstrip(CLOSERS) and not re.search(r"[，,。；;！!？?：:]", stem)


def title_candidate(text: str) -> bool:
    """A line that could be a headline: short, not a sentence, a numbered heading, a lead-in, a subtitle or chrome."""
    simple = to_simplified(text)
    return (
        4 <= len(text) <= 100
        and han_count(text) >= 4
        and not text.endswith((*CLAUSE_END, "：", ":"))
        and not text.startswith(("—", "-", "－", "–"))
        and not NUMBERED_HEADING.match(text)
        and (not is_body(text) or is_exclaimed_heading(text))
        and not _ATTACHMENT.match(text)
        and not _DOC_NUMBER.search(text)
        and not WHOLLY_BRACKETED.match(text)
        and len(FIELD_PAIR.findall(simple)) < 2
        and not is_name_list(text)
        and not ORG_ALONE.match(simple)
    )


def _find_title(segment: list[Line], body_start: int) -> int | None:
    """The headline: the last title-like line before the first byline, metadata or toolbar line of the header."""
    candidates: list[int] = []
    for i, line in enumerate(segment[:body_start]):
        is_content = line.kind is Kind.CONTENT
        if line.kind in (Kind.META, Kind.TOOLBAR) or (is_content and byline(line.text)):
            if candidates:
                return candidates[-1]
        elif is_content and title_candidate(line.text):
            candidates.append(i)
    if candidates and _is_section_heading(segment, candidates[0]):
        return None
    return candidates[0] if candidates else None


def _is_section_heading(segment: list[Line], index: int) -> bool:
    """A short line right above the text, shaped like the unnumbered headings between later paragraphs: "工作背景"."""

    def short(i: int) -> bool:
        line = segment[i]
        return line.kind is Kind.CONTENT and len(line.text) <= 8 and not is_body(line.text)

    def body(i: int) -> bool:
        return 0 <= i < len(segment) and segment[i].kind is Kind.CONTENT and is_body(segment[i].text)

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
        if title.endswith(_GENRE_END) and han_count(title) >= 6:
            if _FUSED_OPENING.match(rest) or any(rest.startswith(title[k:]) for k in range(1, end - 3)):
                return title, rest
    return None


def _after_category(segment: list[Line], index: int, body_start: int, title: str) -> tuple[int, str]:
    """The title without a category printed before it: the next header line when it is the title's tail."""
    key = normalize_for_phrase_match(title)
    if re.search(r"[—:：]", title):
        return index, title  # "标题——副标题" repeated as "副标题" is a subtitle, not a category
    for i in range(index + 1, body_start):
        line = segment[i]
        if line.kind is Kind.CONTENT:
            tail = normalize_for_phrase_match(line.text)
            if len(tail) >= 6 and tail != key and key.endswith(tail):
                segment[index].kind = Kind.JUNK
                return i, line.text
            break
    return index, title


def _first_content(segment: list[Line]) -> int | None:
    """The index of the first content line."""
    return next((i for i, line in enumerate(segment) if line.kind is Kind.CONTENT), None)


def _find_line(segment: list[Line], wanted: str) -> int | None:
    """The index of the content line that reads as wanted, ignoring punctuation and script."""
    key = normalize_for_phrase_match(wanted)
    for i, line in enumerate(segment):
        if line.kind is Kind.CONTENT and normalize_for_phrase_match(line.text) == key:
            return i
    return None


def _usable_fallback_title(title: str | None) -> bool:
    """Whether a title from file properties is a real title rather than "Microsoft Word - 文档1"."""
    if not title or han_count(title) < 2:
        return False
    return not re.search(r"\.(?:docx?|wps|pdf)$|microsoft|untitled|无标题|^文档\d*$", title.lower())
