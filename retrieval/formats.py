"""Readers: the bytes of a supported file -> raw lines of text plus what the format itself states."""

from __future__ import annotations

import codecs
import io
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

from rectbot.retrieval.articles import (
    DocumentError,
    Limit,
    LimitExceeded,
    ReadLimits,
    Rejection,
)


if TYPE_CHECKING:  # bs4, lxml and charset-normalizer are imported where used: `rectbot ask` needs none of them
    from bs4 import PageElement, Tag
    from docx.document import Document as WordDocument
    from docx.table import _Cell

logger = logging.getLogger(__name__)

_CANNOT_DECODE = "cannot decode text (tried utf-8, gb18030, big5, utf-16)"
_BINARY = "binary file, not a document"

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# C0 controls other than tab, newlines, form feed and escape: text files do not contain them.
_CONTROL_BYTES = bytes((*range(0x01, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)))
_MIN_PLAUSIBLE = 0.75
_TERMINAL = tuple("。！？!?…")
NUMBERED_HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+[、.．](?!\d)|第[一二三四五六七八九十\d]+[章节条部篇])"
)


@dataclass(frozen=True)
class RawDocument:
    """A file's lines before cleaning ("" marks a blank line in plain text) and the metadata its format states."""

    lines: tuple[str, ...]
    encoding: str | None = None
    title: str | None = None  # stated by markup: a docx Title/Heading paragraph, an HTML <h1>/<title>
    fallback_title: str | None = None  # docx core properties / PDF info title: used only when the text has none
    site_name: str | None = None
    date_text: str | None = None  # unparsed publication date from HTML <meta>


# ---------------------------------------------------------------- text decoding


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode the bytes of a text file; returns (text, codec name) or raises DocumentError.

    The text is safe_text: controls and non-characters a few stray bytes leave are removed (line-breaking ones
    become newlines), so no passage carries what a channel cannot send.
    """
    from rectbot.retrieval.text import safe_text

    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise DocumentError(Rejection.CANNOT_DECODE, _CANNOT_DECODE) from None
            if _odd_share(text) > 0.01:
                raise DocumentError(Rejection.BINARY, _BINARY)  # bytes that merely start like a BOM
            return _checked(safe_text(text)), codec
    if b"\x00" in data or _control_share(data) > 0.01:
        raise DocumentError(Rejection.BINARY, _BINARY)
    try:
        return _checked(safe_text(data.decode("utf-8"))), "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[float, str, str] | None = None
    for codec in _candidate_codecs(data):
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        score = _plausibility(text)
        logger.debug("decoding as %s: plausibility %.2f", codec, score)
        if best is None or score > best[0]:
            best = (score, codec, text)
    if best is None or best[0] < _MIN_PLAUSIBLE:
        raise DocumentError(Rejection.CANNOT_DECODE, _CANNOT_DECODE)
    return _checked(safe_text(best[2])), best[1]


def _checked(text: str) -> str:
    """Text with Unix newlines; an empty file is rejected."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(Rejection.EMPTY, "empty file")
    return text


def _odd_share(text: str) -> float:
    """Share of characters that are control, unassigned, private-use or surrogate code points."""
    odd = sum(1 for c in text if c not in "\t\n\r\f" and unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs"))
    return odd / len(text) if text else 0.0


def _control_share(data: bytes) -> float:
    """Share of bytes that are control characters no text file contains."""
    return (len(data) - len(data.translate(None, _CONTROL_BYTES))) / len(data) if data else 0.0


def _candidate_codecs(data: bytes) -> list[str]:
    """charset-normalizer's guess first, then the two Chinese encodings it often confuses on short text."""
    names = []
    import charset_normalizer

    guess = charset_normalizer.from_bytes(data).best()
    if guess is not None:
        names.append(guess.encoding)
    names += ["gb18030", "big5"]
    seen: list[str] = []
    for name in names:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        if codec not in seen:
            seen.append(codec)
    return seen


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are common Han characters or usual CJK punctuation."""
    chars = [c for c in text if not c.isascii() and not c.isspace()]
    if not chars:
        return 1.0
    common = _common_han()
    good = sum(1 for c in chars if c in common or _plausible_symbol(ord(c)))
    return good / len(chars)


def _plausible_symbol(cp: int) -> bool:
    """Punctuation and symbols usual in Chinese text."""
    return (
        cp in (0xB0, 0xB7, 0xD7)
        or 0x2000 <= cp <= 0x206F  # general punctuation: “”‘’…—•
        or 0x2100 <= cp <= 0x218F  # letterlike symbols, roman numerals
        or 0x2460 <= cp <= 0x24FF  # ①②⑥
        or 0x25A0 <= cp <= 0x25FF  # ■●○
        or 0x3000 <= cp <= 0x303F  # 、。〈〉《》「」【】
        or 0x3200 <= cp <= 0x32FF  # ㈠
        or 0xFE30 <= cp <= 0xFE4F
        or 0xFF01 <= cp <= 0xFF5E  # full-width forms
    )


@lru_cache(maxsize=1)
def _common_han() -> frozenset[str]:
    """All GB2312 characters and Big5 level-1 characters: what a correct decoding of Chinese mostly yields."""
    chars: set[str] = set()
    for lead in range(0xB0, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            try:
                chars.add(bytes((lead, trail)).decode("big5"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


# ---------------------------------------------------------------- plain text and markdown


def _decode_bounded(data: bytes, limits: ReadLimits) -> tuple[str, str]:
    """decode_text, refusing text longer than the limit (before decoding when the bytes alone say so)."""
    # No encoding we read takes more than four bytes a character.
    if len(data) > 4 * limits.max_chars:
        raise _too_long(f"more than {len(data) // 4:,}", limits)
    text, codec = decode_text(data)
    if len(text) > limits.max_chars:
        raise _too_long(f"{len(text):,}", limits)
    return text, codec


def _too_long(count: str, limits: ReadLimits) -> LimitExceeded:
    """The error for a file of count characters."""
    return LimitExceeded(Limit.TEXT_LENGTH, f"text of {count} characters; at most {limits.max_chars:,} are read")


def check_text_length(lines: tuple[str, ...], limits: ReadLimits) -> None:
    """Refuse extracted text longer than the limit."""
    total = sum(map(len, lines))
    if total > limits.max_chars:
        raise _too_long(f"{total:,}", limits)


def read_text(data: bytes, limits: ReadLimits = ReadLimits()) -> RawDocument:
    """A plain text file: its lines as they are."""
    text, codec = _decode_bounded(data, limits)
    return RawDocument(lines=tuple(text.split("\n")), encoding=codec)


_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_MD_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_MD_QUOTE = re.compile(r"^\s*>\s?")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_MD_FRONT_TITLE = re.compile(r"^title\s*:\s*['\"]?(.*?)['\"]?\s*$", re.IGNORECASE)
# Linear time: no span may run past the next opening of its own kind, so a match attempt from each
# delimiter scans only to the next one (an unclosed "__a " x 8000 took seconds with ".+?").
_MD_DESTINATION = r"\((?:[^()]|\([^()]*\))*\)"  # a link target, with one level of brackets: (a(b).html)
_MD_INLINE = (
    (re.compile(rf"!\[([^\[\]]*)\]{_MD_DESTINATION}"), r"\1"),
    (re.compile(rf"\[([^\[\]]+)\]{_MD_DESTINATION}"), r"\1"),
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^<>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^<>]*>"), ""),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)((?:(?!\1).)+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<!\*)\*(?=[^\s*])([^*]*?[^\s*])\*(?!\*)"), r"\1"),
    # An underscore inside a word (snake_case) may stand inside the span, no other.
    (
        re.compile(r"(?<![_A-Za-z0-9])_(?=[^\s_])((?:[^_]|(?<=[A-Za-z0-9])_(?=[A-Za-z0-9]))*?[^\s_])_(?![_A-Za-z0-9])"),
        r"\1",
    ),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|])"), r"\1"),
)


def read_markdown(data: bytes, limits: ReadLimits = ReadLimits()) -> RawDocument:
    """A Markdown file with its markup stripped lightly; soft-wrapped paragraph lines are joined."""
    text, codec = _decode_bounded(data, limits)
    source = text.split("\n")
    title = None
    if source and source[0].strip() == "---":
        end = next((i for i, line in enumerate(source[1:40], 1) if line.strip() in ("---", "...")), None)
        if end is not None:
            for line in source[1:end]:
                if m := _MD_FRONT_TITLE.match(line.strip()):
                    title = m.group(1) or None
            source = source[end + 1 :]
    lines: list[str] = []
    paragraph: list[str] = []
    in_code = False
    seen_text = False

    def flush() -> None:
        nonlocal seen_text
        if paragraph:
            lines.append(_inline_markdown(_join_wrapped_pieces(paragraph)))
            paragraph.clear()
            seen_text = True

    for line in source:
        if _MD_FENCE.match(line):
            flush()
            in_code = not in_code
            continue
        if in_code:
            if line.strip():
                lines.append(line.strip())
            continue
        stripped = line.strip()
        if not stripped or _MD_LINK_DEF.match(line) or _MD_TABLE_SEP.match(line) and "|" in line:
            flush()
            continue
        if paragraph and _MD_SETEXT.match(line):
            heading = _inline_markdown(_join_wrapped_pieces(paragraph))
            paragraph.clear()
            if title is None and not seen_text and line.strip().startswith("="):
                title = heading
            lines.append(heading)
            seen_text = True
            continue
        if m := _MD_HEADING.match(line):
            flush()
            heading = _inline_markdown(m.group(2))
            if title is None and not seen_text and len(m.group(1)) == 1:
                title = heading
            lines.append(heading)
            seen_text = True
            continue
        if _MD_RULE.match(line) and len(stripped.replace(" ", "")) < 8:
            flush()  # a short thematic break; a long one is left for the article splitter
            continue
        if stripped.startswith("|") and stripped.endswith("|"):
            flush()
            lines.extend(_inline_markdown(cell.strip()) for cell in stripped.strip("|").split("|") if cell.strip())
            seen_text = True
            continue
        stripped = _MD_QUOTE.sub("", stripped)
        if m := _MD_ITEM.match(stripped):
            flush()
            stripped = m.group(1)
        paragraph.append(stripped)
    flush()
    return RawDocument(lines=tuple(line for line in lines if line.strip()), encoding=codec, title=title)


def _inline_markdown(text: str) -> str:
    """Remove emphasis, links, images, code spans and inline HTML, keeping their text."""
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text


# ---------------------------------------------------------------- HTML

_DROP_TAGS = (
    "script", "style", "nav", "header", "footer", "aside", "noscript", "template", "iframe", "svg",
    "button", "select", "head",
)  # fmt: skip
_BLOCK_TAGS = (
    "address", "article", "blockquote", "caption", "center", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main",
    "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
)  # fmt: skip
_HTML_SOFT_BREAK = re.compile(rf"(?<=[{_HAN}])\s*\n\s*(?=[{_HAN}])")
# "标题 - 网站", "标题_栏目_网站", "标题|网站", "标题--栏目-网站"; not "2019-2020年" nor "——" inside a title.
_TITLE_SPLIT = re.compile(rf"\s+[-–—|｜]+\s+|\s*[_|｜]\s*|(?<=[{_HAN}》”）)])-{{1,2}}(?=[{_HAN}《“（(])")
_DATE_META = (
    ("property", "article:published_time"),
    ("name", "publishdate"),
    ("name", "pubdate"),
    ("name", "PubDate"),
    ("name", "publish_date"),
    ("itemprop", "datePublished"),
)


def read_html(data: bytes, limits: ReadLimits = ReadLimits()) -> RawDocument:
    """An HTML page: page chrome elements dropped, each block element a line."""
    text, codec = _decode_bounded(data, limits)
    _check_html_depth(text, limits)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "lxml")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    metas = soup.find_all("meta")  # once: each search walks the whole tree
    site_name = _meta_content(metas, ("property", "og:site_name"))
    date_text = next((v for key in _DATE_META if (v := _meta_content(metas, key))), None)
    title_parts = [p for p in _TITLE_SPLIT.split(page_title) if p.strip()] if page_title else []
    if len(title_parts) > 1 and not site_name:
        site_name = title_parts[-1].strip()

    headings = [h.get_text(" ", strip=True) for h in soup.find_all("h1")]
    text = "".join(_html_text(soup.body or soup))
    lines = tuple(line.strip() for line in text.split("\n") if line.strip())
    return RawDocument(
        lines=lines,
        encoding=codec,
        title=_html_title(headings, title_parts[0].strip() if title_parts else None),
        site_name=site_name or None,
        date_text=date_text,
    )


def _check_html_depth(text: str, limits: ReadLimits) -> None:
    """Refuse a page nested deeper than the limit, measured by lxml's parser as BeautifulSoup will see it."""
    from lxml import etree

    parser = etree.HTMLParser(target=_DepthGauge(), recover=True, huge_tree=False)
    parser.feed(text)
    if (deepest := parser.close()) > limits.max_html_depth:
        raise LimitExceeded(Limit.HTML_DEPTH, f"HTML nested {deepest:,} elements deep; at most {limits.max_html_depth}")


class _DepthGauge:
    """An lxml parser target that builds nothing and measures how deep elements nest."""

    def __init__(self) -> None:
        self.depth = self.deepest = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        """An element opens."""
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)

    def end(self, tag: str) -> None:
        """An element closes."""
        self.depth -= 1

    def data(self, data: str) -> None:
        """Text: not needed."""

    def close(self) -> int:
        """The deepest nesting seen, returned by the parser's close()."""
        return self.deepest


def _html_text(body: Tag) -> Iterator[str]:
    """The text of body without page chrome, a newline for each <br> and around each block element.

    The tree is walked, not edited: inserting into a BeautifulSoup tree costs time in the number of siblings,
    which made a flat page of many paragraphs quadratic.
    """
    from bs4 import CData, NavigableString, Tag

    stack: list[tuple[PageElement | None, bool]] = [(body, False)]  # (node or None for a newline, inside <article>)
    while stack:
        node, in_article = stack.pop()
        if node is None:
            yield "\n"
        elif isinstance(node, Tag):
            # An <article>'s own <header> holds its headline and date, not site chrome.
            if node.name in _DROP_TAGS and not (node.name in ("header", "footer") and in_article):
                continue
            if node.name == "br":
                yield "\n"
                continue
            if node.name in _BLOCK_TAGS:
                yield "\n"
                stack.append((None, False))
            inside = in_article or node.name == "article"
            stack.extend((child, inside) for child in reversed(node.contents))
        elif type(node) is NavigableString:  # not a comment, doctype or the like
            yield re.sub(r"\s+", " ", _HTML_SOFT_BREAK.sub("", node))
        elif type(node) is CData:
            yield str(node)


def _meta_content(metas: list[Tag], key: tuple[str, str]) -> str | None:
    """The content of the first <meta> tag with one attribute, e.g. ("property", "og:site_name")."""
    from bs4 import Tag

    tag = next((meta for meta in metas if meta.get(key[0]) == key[1]), None)
    content = tag.get("content") if isinstance(tag, Tag) else None
    return content.strip() if isinstance(content, str) and content.strip() else None


def _html_title(headings: list[str], page_title: str | None) -> str | None:
    """The <h1> that agrees with <title> (an <h1> may be the site logo), else <title>, else the first <h1>."""
    headings = [h for h in headings if h]
    if page_title:
        for heading in headings:
            if heading.startswith(page_title) or page_title.startswith(heading):
                return heading
        return page_title
    return headings[0] if headings else None


# ---------------------------------------------------------------- docx


def read_docx(data: bytes, limits: ReadLimits = ReadLimits()) -> RawDocument:
    """A Word .docx file: paragraphs in order, each table cell a line."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DocumentError(Rejection.CORRUPT, "corrupt .docx file (not a zip archive)")
    check_archive(data, limits)
    from docx import Document  # python-docx is slow to import; only .docx needs it

    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for a damaged package
        logger.debug("python-docx failed: %r", exc)
        raise DocumentError(Rejection.CORRUPT, "corrupt .docx file") from None
    lines: list[str] = []
    title = None
    seen_body = False
    for kind, text, style in _docx_blocks(document):
        for line in text.split("\n"):
            line = line.strip()
            if not line:
                continue
            if kind == "p" and title is None and not seen_body:
                if style == "title" or (style.startswith("heading") and not lines):
                    title = line
            if len(line) >= 80 or line.endswith(_TERMINAL):
                seen_body = True
            lines.append(line)
    core_title = (document.core_properties.title or "").strip() or None
    return RawDocument(lines=tuple(lines), title=title, fallback_title=core_title)


def check_archive(data: bytes, limits: ReadLimits) -> None:
    """Refuse a zip archive whose members would unpack past the limits, from the sizes its directory declares.

    zipfile never returns more than a member's declared size, so the declared sizes bound what python-docx reads.
    """
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise DocumentError(Rejection.CORRUPT, "corrupt .docx file") from None
    if len(members) > limits.max_members:
        raise LimitExceeded(Limit.UNPACKED_SIZE, f"archive of {len(members):,} files; at most {limits.max_members:,}")
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    bulky = [m for m in members if m.file_size > 2**20]
    if unpacked > limits.max_unpacked_mb * 2**20:
        raise LimitExceeded(
            Limit.UNPACKED_SIZE,
            f"compressed file expands to {unpacked / 2**20:,.0f} MB; at most {limits.max_unpacked_mb} MB are read",
        )
    if unpacked > limits.max_ratio * max(packed, 1) or any(m.file_size > limits.max_ratio * m.compress_size for m in bulky):
        raise LimitExceeded(
            Limit.UNPACKED_SIZE,
            f"compressed file expands to {unpacked / 2**20:,.1f} MB from {len(data) / 2**20:,.2f} MB"
            f" (more than {limits.max_ratio} times)",
        )


def _docx_blocks(document: WordDocument) -> Iterator[tuple[str, str, str]]:
    """(kind, text, lower-case style name) for each paragraph and table cell in document order."""
    from docx.table import Table

    def walk(container: WordDocument | _Cell) -> Iterator[tuple[str, str, str]]:
        for block in container.iter_inner_content():
            if isinstance(block, Table):
                seen: list[object] = []  # the elements themselves: ids of lxml proxies get reused
                for row in block.rows:
                    for cell in row.cells:
                        if any(cell._tc is element for element in seen):  # a merged cell repeats per column
                            continue
                        seen.append(cell._tc)
                        yield from walk(cell)
            else:
                try:
                    style = (block.style.name or "").lower() if block.style is not None else ""
                except (KeyError, ValueError):
                    style = ""
                yield ("p" if container is document else "cell"), block.text, style

    yield from walk(document)


# ---------------------------------------------------------------- PDF

_PAGE_NUMBER = re.compile(r"^[-—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:/|共)\s*\d{1,4}\s*页?)?[-—–\s]*$")
_INDENT = re.compile(r"^(?:\u3000|\s{2,})")


def read_pdf(data: bytes, limits: ReadLimits = ReadLimits()) -> RawDocument:
    """A PDF's text layer, with lines wrapped inside a paragraph joined again."""
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(Rejection.CORRUPT, "corrupt .pdf file (no PDF header)")
    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(Rejection.ENCRYPTED, "encrypted .pdf file")
        # The count the page tree states first: counting the pages themselves takes seconds for 50,000.
        # pypdf types every entry as a PdfObject: these two are dictionaries, or the file is damaged (caught below).
        catalog = cast(DictionaryObject, reader.trailer["/Root"])
        stated = cast(DictionaryObject, catalog["/Pages"]).get("/Count", 0)
        count = stated if isinstance(stated, int) and stated > limits.max_pdf_pages else len(reader.pages)
        if count > limits.max_pdf_pages:
            raise LimitExceeded(Limit.PDF_PAGES, f"PDF of {count:,} pages; at most {limits.max_pdf_pages:,} are read")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or None
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many kinds for a damaged file
        logger.debug("pypdf failed: %r", exc)
        raise DocumentError(Rejection.CORRUPT, "corrupt .pdf file") from None
    page_lines = _without_running_lines([[line for line in page.split("\n") if line.strip()] for page in pages])
    raw_lines = [line.rstrip() for page in page_lines for line in page if not _PAGE_NUMBER.match(line)]
    if not raw_lines:
        raise DocumentError(Rejection.NO_TEXT_LAYER, "no text layer in the PDF (a scanned image?)")
    return RawDocument(lines=tuple(_join_wrapped_lines(raw_lines)), fallback_title=info_title)


def _without_running_lines(pages: list[list[str]], edge: int = 2) -> list[list[str]]:
    """Drop running headers and footers: a line at the top or bottom of most pages (digits ignored)."""
    if len(pages) < 2:
        return pages
    key = lambda line: re.sub(r"\d+", "#", "".join(line.split()))  # noqa: E731  (page numbers differ)
    seen: dict[str, int] = {}
    for page in pages:
        for line_key in {key(line) for line in page[:edge] + page[-edge:]}:
            seen[line_key] = seen.get(line_key, 0) + 1
    # Most pages, and every page of a short document: a title printed once is never dropped.
    # Headers are short and never a sentence; a repeated sentence is the document's own text.
    running = {
        k for k, count in seen.items()
        if count >= max(2, -(-len(pages) * 3 // 5)) and len(k) <= 40 and not k.endswith(("。", "！", "？", "."))
    }
    at_edge = lambda i, page: i < edge or i >= len(page) - edge  # noqa: E731
    return [
        [line for i, line in enumerate(page) if not (at_edge(i, page) and key(line) in running)] for page in pages
    ]


def _join_wrapped_lines(lines: list[str]) -> list[str]:
    """Join lines that a layout wrapped inside a paragraph: a full-width line continues into the next one."""
    widths = sorted(_display_width(line) for line in lines)
    full = widths[int(0.9 * (len(widths) - 1))]
    indented = any(_INDENT.match(line) for line in lines)
    paragraphs: list[str] = []
    previous_full = False
    for line in lines:
        text = line.strip()
        starts_new = (
            not paragraphs
            or not previous_full
            or _INDENT.match(line) is not None
            or NUMBERED_HEADING.match(text) is not None
            or (not indented and paragraphs[-1].endswith(_TERMINAL))
        )
        if starts_new:
            paragraphs.append(text)
        else:
            paragraphs[-1] = _join_wrapped_pieces([paragraphs[-1], text])
        previous_full = _display_width(line) >= 0.85 * full
    return paragraphs


def _join_wrapped_pieces(pieces: list[str]) -> str:
    """Join wrapped pieces of one paragraph: no space between Han characters, one between Latin words."""
    out = ""
    for piece in pieces:
        piece = piece.strip()
        if out and piece and out[-1].isascii() and out[-1].isalnum() and piece[0].isascii() and piece[0].isalnum():
            out += " "
        out += piece
    return out


def _display_width(text: str) -> int:
    """Width in half-width columns: Han characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# ---------------------------------------------------------------- legacy Word (.doc) and WPS (.wps)

CONVERSION_TIMEOUT_SECONDS = 60.0
CONVERTERS = ("soffice", "libreoffice")  # LibreOffice's command, under either of its usual names
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # an OLE compound file: Word 97-2003 .doc, WPS Office .wps

_SAVE_AS_DOCX = "请在 WPS 或 Word 中“另存为” .docx 后再上传。"
_NO_CONVERTER = (
    f"无法读取 .doc/.wps 文件：服务器未安装 LibreOffice。{_SAVE_AS_DOCX}"
    " (cannot read .doc/.wps: LibreOffice is not installed; save the file as .docx and upload that)"
)
_NOT_WORD = "文件内容不是 Word/WPS 文档 (not a Word/WPS file: no OLE2 header)"


def read_legacy_word(data: bytes, limits: ReadLimits = ReadLimits()) -> RawDocument:
    """A Word 97-2003 .doc or WPS .wps file, converted to .docx by LibreOffice; a renamed .docx is read as is."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        return read_docx(data, limits)
    if not data.startswith(OLE2_MAGIC):
        raise DocumentError(Rejection.NOT_WORD, _NOT_WORD)
    converter = next((path for name in CONVERTERS if (path := shutil.which(name))), None)
    if converter is None:
        raise DocumentError(Rejection.NO_CONVERTER, _NO_CONVERTER)
    return read_docx(_convert_to_docx(converter, data), limits)


def _convert_to_docx(converter: str, data: bytes) -> bytes:
    """Run LibreOffice headless on data in a private temporary directory; the .docx bytes it writes."""
    timeout = CONVERSION_TIMEOUT_SECONDS
    with tempfile.TemporaryDirectory(prefix="rectbot-doc-") as tmp:
        folder = Path(tmp)
        source, outdir = folder / "document.doc", folder / "out"  # .wps is the Word 97 format: one filter for both
        source.write_bytes(data)
        outdir.mkdir()
        args = [
            converter,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",  # concurrent conversions must not share one
            "--headless",
            "--norestore",
            "--convert-to",
            "docx",
            "--outdir",
            str(outdir),
            str(source),
        ]
        with open(folder / "stderr.txt", "w+b") as stderr:
            # A session of its own, so a timeout kills soffice.bin too and not only the launcher script.
            with _address_space_unlimited():
                process = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
                )
            try:
                status = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise DocumentError(
                    Rejection.CONVERSION_TIMED_OUT,
                    f"LibreOffice 转换 .doc/.wps 文件超时（{timeout:g} 秒）。{_SAVE_AS_DOCX}"
                    f" (conversion timed out after {timeout:g} s)"
                ) from None
            stderr.seek(0)
            message = stderr.read().decode("utf-8", "replace").strip()
        result = outdir / "document.docx"
        if status != 0 or not result.is_file():
            failure = f"exit status {status}" if status else "no output"  # soffice exits 0 on a file it cannot load
            logger.warning("LibreOffice failed (%s): %s", failure, message[-500:])
            raise DocumentError(
                Rejection.CONVERSION_FAILED,
                f"LibreOffice 无法转换这个 .doc/.wps 文件（可能已损坏或有密码保护）。{_SAVE_AS_DOCX}"
                f" (conversion failed: {failure})"
            )
        return result.read_bytes()


@contextmanager
def _address_space_unlimited() -> Iterator[None]:
    """Lift this process's memory limit while starting a child: LibreOffice, bounded by its own timeout."""
    # A parse worker maps less than LibreOffice needs; it runs one thread, so nothing else allocates meanwhile.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == hard:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ---------------------------------------------------------------- dispatch

READERS: dict[str, Callable[[bytes, ReadLimits], RawDocument]] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".docx": read_docx,
    ".pdf": read_pdf,
    ".doc": read_legacy_word,
    ".wps": read_legacy_word,
}



def reader_for(suffix: str, data: bytes) -> Callable[[bytes, ReadLimits], RawDocument]:
    """The reader for a suffix, but a text file holding a PDF or Word file is read as what its bytes announce."""
    # The binary formats check their own headers and say what is wrong with a file of another kind.
    declared = READERS[suffix]
    if declared not in (read_text, read_markdown, read_html) or (announced := _announced_suffix(data)) is None:
        return declared
    if announced == ".zip":
        raise DocumentError(Rejection.ARCHIVE, f"a zip archive, not a {suffix} file")
    logger.info("a %s file holds a %s file: read as one", suffix, announced)
    return READERS[announced]


def _announced_suffix(data: bytes) -> str | None:
    """The format that the bytes announce by their first bytes: ".pdf", ".docx", ".zip", ".doc" (OLE2), or None."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return ".pdf"
    if data.startswith(OLE2_MAGIC):
        return ".doc"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError, EOFError):
            return ".zip"
        return ".docx" if "word/document.xml" in names else ".zip"
    return None
