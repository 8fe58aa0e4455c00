"""What reading a file yields (Article, Section, ParsedFile) and how it can fail, without the readers themselves.

Importing this costs nothing: the store, the corpus and the chat replies need these names, while the readers
(retrieval/formats.py, retrieval/documents.py) compile many patterns on import that only ingesting uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The file name endings a reader exists for (retrieval/formats.py's READERS; a test checks they agree).
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".doc", ".wps"}
)


class Rejection(StrEnum):
    """Why a file was not ingested, for the message its sender reads; the exception's text says more."""

    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_LARGE = "too_large"  # larger than the corpus takes at all
    UNREADABLE = "unreadable"  # the file could not be read from disk
    EMPTY = "empty"
    NO_TEXT = "no_text"  # nothing readable once menus, footers and the like are cleaned away
    BINARY = "binary"
    CANNOT_DECODE = "cannot_decode"
    ARCHIVE = "archive"  # a zip archive under a document's name
    CORRUPT = "corrupt"
    ENCRYPTED = "encrypted"
    NO_TEXT_LAYER = "no_text_layer"  # a PDF of scanned images
    NOT_WORD = "not_word"  # a .doc or .wps file that is not one
    NO_CONVERTER = "no_converter"  # LibreOffice, which reads .doc and .wps, is not installed
    CONVERSION_TIMED_OUT = "conversion_timed_out"
    CONVERSION_FAILED = "conversion_failed"
    OVER_LIMIT = "over_limit"  # LimitExceeded, whose `limit` says which
    PARSER_FAILED = "parser_failed"  # the parser crashed or raised
    WORKER_FAILED = "worker_failed"  # no parse worker could be started
    CANCELLED = "cancelled"


class DocumentError(ValueError):
    """A file that cannot be ingested: `code` says why; str(e) is a short reason in English, after a Chinese hint
    if the user can act."""

    def __init__(self, code: Rejection, message: str) -> None:
        super().__init__(message)
        self.code = code


class Limit(StrEnum):
    """A bound on the work one file may cost."""

    UNPACKED_SIZE = "unpacked size"
    TEXT_LENGTH = "text length"
    PDF_PAGES = "PDF pages"
    HTML_DEPTH = "HTML nesting depth"
    MEMORY = "memory"
    CPU_TIME = "CPU time"
    WALL_TIME = "wall-clock time"


class LimitExceeded(DocumentError):
    """A file rejected because parsing it would cost more than a limit allows."""

    def __init__(self, limit: Limit, reason: str) -> None:
        super().__init__(Rejection.OVER_LIMIT, f"文件过大或过于复杂，请拆分或精简后再上传。 ({reason})")
        self.limit = limit
        self.reason = reason


@dataclass(frozen=True)
class ReadLimits:
    """What a reader may unpack and extract from one file; the defaults are generous for real reports."""

    max_unpacked_mb: int = 200  # all members of a .docx archive together
    max_ratio: int = 100  # unpacked / packed size of a .docx archive or of any member over 1 MB
    max_members: int = 10_000
    max_pdf_pages: int = 2_000
    max_chars: int = 5_000_000  # of extracted text
    max_html_depth: int = 512  # nested elements


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
