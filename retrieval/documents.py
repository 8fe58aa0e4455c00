"""Read a file into cleaned articles with their metadata: title, date, source, author, region, numbered parts.

Each line is cleaned (retrieval.cleaning) and classified (retrieval.lines.Kind): a separator or a part marker
(篇一) shapes the articles, a line stating metadata keeps its fields and leaves the text (retrieval.metadata),
site chrome is dropped (retrieval.cleaning), and the rest is content. The page is split into articles at
separators; each finds its title (retrieval.titles), its author in the header or the sign-off (retrieval.metadata),
its paragraphs and numbered parts, and its region (retrieval.places).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from rectbot.retrieval.cleaning import (
    clean_line,
    drop_keyword_lists,
    drop_related_lists,
    drop_running_headers,
    is_related_heading,
    mark_chrome,
    mark_menus,
)
from rectbot.retrieval.articles import (
    SUPPORTED_SUFFIXES,
    Article,
    DocumentError,
    ParsedFile,
    ReadLimits,
    Rejection,
    Section,
)
from rectbot.retrieval.formats import NUMBERED_HEADING, READERS, RawDocument, check_text_length, reader_for
from rectbot.retrieval.lines import CLAUSE_END, Kind, Line, is_body, make_line
from rectbot.retrieval.metadata import (
    closing_author,
    cut_meta_tail,
    header_author,
    parse_date,
    place_dated_lines,
    read_fields,
    read_metadata_line,
)
from rectbot.retrieval.places import article_region
from rectbot.retrieval.titles import headline, is_exclaimed_heading, title_candidate

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Article",
    "DocumentError",
    "ParsedFile",
    "Rejection",
    "Section",
    "parse_bytes",
    "read_document",
]

_SEPARATOR = re.compile(r"^(?:[-=*_~—–]{8,}|[-=*_~—–]*\s*分[隔割]线\s*[-=*_~—–]*)$")
_PART_MARK = re.compile(
    r"^[（(【\[]?\s*(篇[一二三四五六七八九十]+|第[一二三四五六七八九十]+篇)\s*[)）】\]]?\s*(?:[:：]\s*(?P<rest>.+))?$"
)


def read_document(path: Path) -> ParsedFile:
    """Read a file from disk and parse it."""
    return parse_bytes(Path(path).read_bytes(), Path(path).name)


def parse_bytes(data: bytes, file_name: str, limits: ReadLimits = ReadLimits()) -> ParsedFile:
    """Parse a file's bytes into articles; the format is chosen by the file name's extension.

    A PDF, Word or WPS file under another name (a PDF renamed .txt) is read as what its content says it is.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix not in READERS:
        reason = f"unsupported format {suffix}" if suffix else "unsupported format (no file extension)"
        raise DocumentError(Rejection.UNSUPPORTED_FORMAT, reason)
    if not data.strip():
        raise DocumentError(Rejection.EMPTY, "empty file")
    raw = reader_for(suffix, data)(data, limits)
    check_text_length(raw.lines, limits)
    articles = _articles(raw)
    if not articles:
        raise DocumentError(Rejection.NO_TEXT, "no readable text")
    logger.debug("%s: %d article(s), encoding %s", file_name, len(articles), raw.encoding)
    return ParsedFile(
        file_name=file_name,
        content_hash=hashlib.sha256(data).hexdigest(),
        encoding=raw.encoding,
        articles=tuple(articles),
    )


# ---------------------------------------------------------------- the page


def _articles(raw: RawDocument) -> list[Article]:
    """Classify the lines, split the page at separators and build one article per part with content."""
    lines, blanks = _read_lines(raw.lines)
    for line in lines:
        _classify(line)
    mark_menus(lines)
    drop_keyword_lists(lines)
    drop_related_lists(lines)
    drop_running_headers(lines)
    # Plain text that separates paragraphs by blank lines may also break a paragraph after a semicolon.
    soft_breaks = blanks >= 0.4 * len(lines)

    segments = _split_at_separators(lines)
    zones = [_zones(segment) for segment in segments]
    site_name = raw.site_name
    for segment, (start, end) in zip(segments, zones, strict=True):
        place_dated_lines(segment, start, end)
        named = _site_outside_body(segment, start, end)
        site_name = site_name or named

    articles = []
    for k, (segment, (start, _)) in enumerate(zip(segments, zones, strict=True)):
        first = k == 0
        article = _article(
            segment,
            start,
            title_hint=raw.title if first else None,
            fallback_title=raw.fallback_title if first else None,
            date_hint=parse_date(raw.date_text or "") if first else None,
            site_name=site_name,
            soft_breaks=soft_breaks,
        )
        if article is not None:
            articles.append(article)
    return articles


def _read_lines(raw_lines: Iterable[str]) -> tuple[list[Line], int]:
    """The cleaned non-blank lines, each knowing whether a blank line came before it, and the number of blanks."""
    lines: list[Line] = []
    blanks = 0
    after_blank = False
    for raw_line in raw_lines:
        text = clean_line(raw_line)
        if not text:
            blanks += 1
            after_blank = True
            continue
        lines.append(make_line(text, after_blank))
        after_blank = False
    return lines, blanks


def _classify(line: Line) -> None:
    """Set the kind of a line, and what it states (metadata fields, a site name, a part title)."""
    s = line.simple
    if _SEPARATOR.match(s):
        line.kind = Kind.SEPARATOR
    elif m := _PART_MARK.match(s):
        line.kind = Kind.PART
        line.part = line.original(*m.span(1))
        line.rest = line.original(*m.span("rest")) if m.group("rest") else None
    elif is_related_heading(s):
        line.kind = Kind.RELATED
    elif not read_metadata_line(line) and not mark_chrome(line):
        cut_meta_tail(line)


def _split_at_separators(lines: list[Line]) -> list[list[Line]]:
    """The parts of a page between separator lines, the separators left out."""
    segments: list[list[Line]] = [[]]
    for line in lines:
        if line.kind is Kind.SEPARATOR:
            segments.append([])
        else:
            segments[-1].append(line)
    return segments


def _zones(segment: list[Line]) -> tuple[int, int]:
    """(start of the body, one past its last running-text paragraph)."""
    start = next(
        (
            i
            for i, line in enumerate(segment)
            if line.kind is Kind.PART
            or (
                line.kind is Kind.CONTENT
                and ((is_body(line.text) and not is_exclaimed_heading(line.text)) or NUMBERED_HEADING.match(line.text))
            )
        ),
        len(segment),
    )
    end = max(
        (i + 1 for i, line in enumerate(segment) if line.kind is Kind.CONTENT and is_body(line.text)),
        default=start,
    )
    return start, end


def _site_outside_body(segment: list[Line], body_start: int, body_end: int) -> str | None:
    """The first site named in the header or footer; a line naming a site inside the body is content."""
    named = None
    for i, line in enumerate(segment):
        if line.kind is Kind.SITE and body_start <= i < body_end:
            line.kind, line.site = Kind.CONTENT, None
        named = named or line.site
    return named


# ---------------------------------------------------------------- one article


def _article(
    segment: list[Line],
    body_start: int,
    *,
    title_hint: str | None,
    fallback_title: str | None,
    date_hint: str | None,
    site_name: str | None,
    soft_breaks: bool,
) -> Article | None:
    """Build the article of one part of a page: title, header metadata, text and sections; None if empty."""
    title, title_index = headline(segment, body_start, title_hint, fallback_title)
    dropped = _title_and_chrome_above(segment, title_index, body_start)
    author, bylines = header_author(segment, title_index, body_start, title)
    dropped |= bylines
    signer, signature = closing_author(segment, dropped)
    dropped |= signature

    paragraphs, sections = _paragraphs(segment, dropped, soft_breaks)
    if not paragraphs or not (any(is_body(p) for p in paragraphs) or sum(map(len, paragraphs)) >= 30):
        return None

    stated = read_fields([f for line in segment for f in line.fields])
    if title is None and stated.original_title and title_candidate(stated.original_title):
        title = stated.original_title
    author = author or signer or stated.author
    text = "\n".join(paragraphs)
    return Article(
        title=title,
        date=stated.date or date_hint,
        source=stated.source or site_name,
        author=author,
        region=article_region(title, author, paragraphs[0], text),
        text=text,
        sections=tuple(sections),
    )


def _title_and_chrome_above(segment: list[Line], title_index: int | None, body_start: int) -> set[int]:
    """The title's line and the header's content lines above it, which are page chrome."""
    if title_index is None:
        return set()
    return {title_index, *(i for i in range(min(title_index, body_start)) if segment[i].kind is Kind.CONTENT)}


def _paragraphs(segment: list[Line], dropped: set[int], soft_breaks: bool) -> tuple[list[str], list[Section]]:
    """The article's paragraphs from its content lines and part markers, and where each part starts.

    With soft breaks, a line that follows a clause end (，；) without a blank line continues its paragraph.
    """
    paragraphs: list[str] = []
    sections: list[Section] = []
    pending: list[str] = []
    length = 0  # of "\n".join(paragraphs)
    joinable = False
    for i, line in enumerate(segment):
        if i in dropped:
            continue
        if line.kind is Kind.PART:
            pending.append(line.part or "")
            joinable = False
            if not line.rest:
                continue
            text, after_blank = line.rest, True
        elif line.kind is Kind.CONTENT:
            text, after_blank = line.text, line.after_blank
        else:
            continue
        if soft_breaks and joinable and not after_blank and paragraphs[-1].endswith(CLAUSE_END):
            paragraphs[-1] += text
            length += len(text)
            continue
        offset = length + 1 if paragraphs else 0
        sections.extend(Section(part, offset) for part in pending)
        pending = []
        paragraphs.append(text)
        length = offset + len(text)
        joinable = True
    return paragraphs, sections
