"""A line of a page as documents classify it: the text in both scripts, what kind of line it is, what it states."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from rectbot.retrieval.text import HAN, to_simplified

TERMINAL = tuple("。！？!?…")
CLAUSE_END = tuple("，,、；;")
CLOSERS = "”’」』\"')）"


class Kind(enum.Enum):
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
class Line:
    """A non-blank line of the file as it goes through classification."""

    text: str  # the cleaned line in the original script
    simple: str  # simplified and lower-cased, for matching
    after_blank: bool
    kind: Kind = Kind.CONTENT
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


def make_line(text: str, after_blank: bool) -> Line:
    """A line with its simplified, lower-cased form for matching."""
    return Line(text=text, simple=to_simplified(text).lower(), after_blank=after_blank)


def is_body(text: str) -> bool:
    """A line that reads as running text rather than a heading or a label."""
    return len(text) >= 80 or (len(text) >= 10 and text.rstrip(CLOSERS).endswith(TERMINAL))


def han_count(text: str) -> int:
    """How many Han characters text has."""
    return len(re.findall(rf"[{HAN}]", text))
