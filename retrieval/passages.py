"""Article -> passages a phone can show: paragraph-based, with the heading that introduces them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.documents import Article

# Sentence ends where a long paragraph may be cut; the closing quote stays with its sentence.
_SENTENCE_END = re.compile(r"[。！？；!?;][”’」』\"']?")
_ENDS_LIKE_SENTENCE = re.compile(r"[。！？；!?;:：，,][”’」』\"')）]?$")


# Bump when the way passages are cut changes, so stored documents are re-split on the next start.
PASSAGE_FORMAT = 2


@dataclass(frozen=True)
class PassageParams:
    """How passages are shaped; target_chars was chosen on the development questions (see README)."""

    target_chars: int = 150
    max_chars: int = 240
    heading_max_chars: int = 30


@dataclass(frozen=True)
class Passage:
    """A span of an article's text, with its place in the article."""

    position: int
    section: str | None
    start: int
    end: int
    text: str


def is_heading(paragraph: str, params: PassageParams) -> bool:
    """A short line that does not end like a sentence introduces what follows it."""
    return len(paragraph) <= params.heading_max_chars and not _ENDS_LIKE_SENTENCE.search(paragraph)


def _sentence_cuts(text: str, start: int, end: int, params: PassageParams) -> list[tuple[int, int]]:
    """Cut text[start:end] at sentence ends into spans near the target length."""
    if end - start <= params.max_chars:
        return [(start, end)]
    ends = [m.end() for m in _SENTENCE_END.finditer(text, start, end)]
    if not ends or ends[-1] != end:
        ends.append(end)
    spans: list[tuple[int, int]] = []
    span_start = start
    for i, sentence_end in enumerate(ends):
        is_last = i == len(ends) - 1
        length = sentence_end - span_start
        next_length = (ends[i + 1] - span_start) if not is_last else None
        if is_last or length >= params.target_chars or (next_length and next_length > params.max_chars):
            spans.append((span_start, sentence_end))
            span_start = sentence_end
    # A tiny tail reads better joined to the span before it.
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < params.target_chars // 4:
        last = spans.pop()
        spans[-1] = (spans[-1][0], last[1])
    return spans


def build_passages(article: Article, params: PassageParams = PassageParams()) -> list[Passage]:
    """Split an article into passages: headings joined to the paragraph they introduce,
    short paragraphs of one section merged up to the target length, long ones cut at sentence ends."""
    text = article.text
    spans: list[tuple[int, int]] = []
    pending_heading: int | None = None  # start of headings waiting for their paragraph
    current: tuple[int, int] | None = None  # short paragraphs being merged

    def flush() -> None:
        nonlocal current
        if current is not None:
            spans.extend(_sentence_cuts(text, current[0], current[1], params))
            current = None

    for start, end in article.paragraphs():
        paragraph = text[start:end]
        section = article.section_at(start)
        if is_heading(paragraph, params):
            flush()
            if pending_heading is None:
                pending_heading = start
            continue
        span_start = pending_heading if pending_heading is not None else start
        pending_heading = None
        if (
            current is not None
            and article.section_at(current[0]) == section
            and span_start == start  # a paragraph under a new heading starts a new passage
            and end - current[0] <= params.target_chars
        ):
            current = (current[0], end)
            continue
        flush()
        current = (span_start, end)
    flush()
    if pending_heading is not None:  # trailing headings with nothing after them
        spans.append((pending_heading, article.paragraphs()[-1][1]))

    return [
        Passage(position=i, section=article.section_at(start), start=start, end=end, text=text[start:end])
        for i, (start, end) in enumerate(spans)
    ]
