"""Article -> passages a phone can show: paragraph-based, with the heading that introduces them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rectbot.retrieval.articles import Article

# Sentence ends where a long paragraph may be cut; the closing quote stays with its sentence.
_SENTENCE_END = re.compile(r"[。！？；!?;][”’」』\"']?")
# Clause ends, for a sentence longer than max_chars; an ASCII comma between digits is a thousands separator.
_CLAUSE_END = re.compile(r"[，、；; \t\u3000]|(?<!\d),|,(?!\d)")
_ENDS_LIKE_SENTENCE = re.compile(r"[。！？；!?;:：，,][”’」』\"')）]?$")

_DATE_LINE = re.compile(
    r"[(（]?(?:"
    r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?"
    r"|[〇○零一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,2}\s*月(?:\s*[一二三四五六七八九十]{1,3}\s*[日号])?"
    r"|\d{4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}"
    r")[)）]?"
)
# Organisations that sign a report: 中共某某村支部委员会, 某某镇人民政府, 某某县委组织部, several on one line.
_SIGN_OFF_LINE = re.compile(
    r"(?:中共)?[\u4e00-\u9fff]{2,30}"
    r"(?:委员会|总支|支部|党委|党组|工委|纪委|县委|市委|区委|省委|人民政府|政府|办事处|组织部|宣传部|统战部"
    r"|办公室|办公厅|领导小组|局)"
)
_ENUMERATED = re.compile(r"[一二三四五六七八九十]+是|第[一二三四五六七八九十\d]+")
# A line ending in a colon introduces what follows it (主要表现在：, 一般还应具备以下条件：).
_LEAD_IN = re.compile(r"[:：]\s*$")
# The heading of a part of a report (一、指导思想, （二）, 第三章): after a lead-in, it starts the report's parts, not a list.
_PART_HEADING = re.compile(r"(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）]|第[一二三四五六七八九十\d]+[章节条部篇])")

# Bump when the way passages are cut changes, so stored documents are re-split on the next start.
PASSAGE_FORMAT = 7

# Cost of ending a passage at each kind of cut, against ((length - target) / target) ** 2 for its length (under 1
# while max_chars <= 2 * target_chars): a clause end is taken only where sentence ends cannot keep passages within
# max_chars, a hard cut only where neither can, and a passage shorter than min_chars only where nothing else can.
_CLAUSE_COST = 1.0
_HARD_COST = 4.0
_SHORT_COST = 1000.0


@dataclass(frozen=True)
class PassageParams:
    """How passages are shaped; target_chars was chosen on the development questions (see README)."""

    target_chars: int = 150
    max_chars: int = 240
    # About one sentence of a report: a shorter passage is a phrase that answers nothing, yet BM25's length
    # normalisation and its document's title can rank it first.
    min_chars: int = 40
    heading_max_chars: int = 30

    def __post_init__(self) -> None:
        if not 0 < 2 * self.min_chars <= self.max_chars:
            # A short piece next to a full passage is re-cut into two, so both must be able to reach min_chars.
            raise ValueError(f"max_chars ({self.max_chars}) must be at least twice min_chars ({self.min_chars})")


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


def is_closing_line(paragraph: str) -> bool:
    """A line that is only a date, or only the names of the organisations signing the report."""
    line = paragraph.strip()
    if _DATE_LINE.fullmatch(line):
        return True
    names = line.split()
    return bool(names) and all(_SIGN_OFF_LINE.fullmatch(n) and not _ENUMERATED.match(n) for n in names)


def _cut_points(text: str, start: int, end: int, params: PassageParams) -> dict[int, float]:
    """Where text[start:end] may be cut, with the cost of cutting there."""
    points: dict[int, float] = {}
    for m in _CLAUSE_END.finditer(text, start, end):
        points[m.end()] = _CLAUSE_COST
    for m in _SENTENCE_END.finditer(text, start, end):
        points[m.end()] = 0.0
    for i in range(start, end):
        if text[i] == "\n":
            # A lead-in is kept with what it introduces wherever a sentence end can be cut instead.
            points[i] = _CLAUSE_COST if text[i - 1] in ":：" else 0.0
    points.pop(start, None)
    points.pop(end, None)
    # With a cut point at least every (max - 2 min) / 2 characters, any span longer than max_chars can be cut
    # into pieces between min_chars and max_chars; a longer run without one may be cut anywhere.
    longest_run = max(1, (params.max_chars - 2 * params.min_chars) // 2 - 1)
    edges = [start, *sorted(points), end]
    for left, right in zip(edges, edges[1:]):
        if right - left > longest_run:
            points.update((i, _HARD_COST) for i in range(left + 1, right))
    return points


def _next_start(text: str, cut: int) -> int:
    """Where the passage after a cut begins: a cut at a line break leaves the break out of both."""
    return cut + 1 if cut < len(text) and text[cut] == "\n" else cut


def _cut(text: str, start: int, end: int, params: PassageParams) -> list[tuple[int, int]]:
    """Cut text[start:end] into spans of at most max_chars, near the target, at the cheapest cut points."""
    if end - start <= params.max_chars:
        return [(start, end)]
    points = _cut_points(text, start, end, params)
    cuts = [start, *sorted(points), end]
    piece_start = [start] + [_next_start(text, c) for c in cuts[1:]]
    # Fewest-cost cuts by dynamic programming: best[j] is the cheapest way to cut text[start:cuts[j]].
    best = [0.0] + [float("inf")] * (len(cuts) - 1)
    back = [0] * len(cuts)
    for j in range(1, len(cuts)):
        cut_cost = points.get(cuts[j], 0.0)
        i = j - 1
        while i >= 0 and cuts[j] - piece_start[i] <= params.max_chars:
            length = cuts[j] - piece_start[i]
            cost = best[i] + cut_cost + ((length - params.target_chars) / params.target_chars) ** 2
            if length < params.min_chars:
                cost += _SHORT_COST
            if cost < best[j]:
                best[j], back[j] = cost, i
            i -= 1
    spans = []
    j = len(cuts) - 1
    while j > 0:
        spans.append((piece_start[back[j]], cuts[j]))
        j = back[j]
    return spans[::-1]


def _merge_short(article: Article, spans: list[tuple[int, int]], params: PassageParams) -> list[tuple[int, int]]:
    """Join each span shorter than min_chars to a neighbour of its section: the one before if the two fit,
    else the one after; if neither fits, re-cut it with the one before (or after) into longer spans."""
    text = article.text
    spans = list(spans)
    i = 0
    while i < len(spans):
        start, end = spans[i]
        if end - start >= params.min_chars:
            i += 1
            continue
        section = article.section_at(start)
        has_before = i > 0 and article.section_at(spans[i - 1][0]) == section
        has_after = i + 1 < len(spans) and article.section_at(spans[i + 1][0]) == section
        if has_before and end - spans[i - 1][0] <= params.max_chars:
            spans[i - 1 : i + 1] = [(spans[i - 1][0], end)]
            i -= 1  # the joined span may still be short
        elif has_after and spans[i + 1][1] - start <= params.max_chars:
            spans[i : i + 2] = [(start, spans[i + 1][1])]
        elif has_before or has_after:
            first = i - 1 if has_before else i
            recut = _cut(text, spans[first][0], spans[first + 1][1], params)
            spans[first : first + 2] = recut
            i = first + len(recut)
        else:
            i += 1
    return spans


def _without_closing(article: Article) -> list[tuple[int, int]]:
    """The article's paragraphs without the closing lines (sign-off, date) at its end, unless nothing else is left."""
    paragraphs = article.paragraphs()
    lines = [article.text[start:end].strip() for start, end in paragraphs]
    kept = len(lines)
    while kept > 0 and (not lines[kept - 1] or is_closing_line(lines[kept - 1])):
        kept -= 1
    return paragraphs[:kept] if kept else paragraphs


def build_passages(article: Article, params: PassageParams = PassageParams()) -> list[Passage]:
    """Split an article into passages of at most max_chars: headings and lead-ins (主要表现在：) joined to what they introduce,
    short paragraphs of one section merged up to the target length, long ones cut at sentence ends (else at
    clause ends, else anywhere), pieces shorter than min_chars joined to a neighbour; a closing sign-off and
    date are left out."""
    text = article.text
    paragraphs = _without_closing(article)

    groups: list[tuple[int, int]] = []
    pending_heading: int | None = None  # start of headings waiting for their paragraph
    current: tuple[int, int] | None = None  # short paragraphs being merged
    after_lead_in = False  # the paragraph before ended in a colon: this one is what it introduces
    in_list = False  # the paragraph before was a short item of a lead-in's list

    def flush() -> None:
        nonlocal current
        if current is not None:
            groups.append(current)
            current = None

    for start, end in paragraphs:
        paragraph = text[start:end]
        section = article.section_at(start)
        short = is_heading(paragraph, params)
        # Short items under a lead-in (主要表现在：\n班子不团结\n书记能力不强) are its list, not headings of what follows.
        listed = (
            short and (after_lead_in or in_list) and current is not None and not _PART_HEADING.match(paragraph)
            and article.section_at(current[0]) == section and end - current[0] <= params.max_chars
        )
        if short and not listed:
            flush()
            if pending_heading is None:
                pending_heading = start
            after_lead_in = in_list = False
            continue
        span_start = pending_heading if pending_heading is not None else start
        pending_heading = None
        introduced = after_lead_in or listed
        after_lead_in, in_list = bool(_LEAD_IN.search(paragraph)), listed
        if (
            current is not None
            and article.section_at(current[0]) == section
            and span_start == start  # a paragraph under a new heading starts a new passage
            and (introduced or end - current[0] <= params.target_chars)
        ):
            current = (current[0], end)
            continue
        flush()
        current = (span_start, end)
    flush()
    if pending_heading is not None and not groups:  # only headings: keep them
        groups.append((pending_heading, paragraphs[-1][1]))
    # Headings at the end with nothing after them (a page cut off after "(三)") introduce nothing: left out, as a
    # sign-off is.

    spans = [span for start, end in groups for span in _cut(text, start, end, params)]
    spans = _merge_short(article, spans, params)
    return [
        Passage(position=i, section=article.section_at(start), start=start, end=end, text=text[start:end])
        for i, (start, end) in enumerate(spans)
    ]
