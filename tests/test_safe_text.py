"""Safe text: what no document, question or reply may hold is removed, and every reply is valid for its channel."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from xml.sax.saxutils import escape as xml_escape

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rectbot.bot.chatlog import ChatLog
from rectbot.bot.core import Answer, Asker, Context, Core, NothingFound, Notice
from rectbot.bot.render import TELEGRAM_MAX_CHARS, WECOM_MAX_BYTES, render_plain, render_telegram, render_wecom
from rectbot.bot.wecom import reply_xml
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.formats import decode_text
from rectbot.retrieval.query import EmptyQuestion
from rectbot.retrieval.search import Hit, Searcher, highlight_spans
from rectbot.retrieval.store import PassageRow
from rectbot.retrieval.text import safe_text

PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE = "\x00\x01\x08\x0b\x0c\x0e\x1b\x1f\x7f\x85\x9b\ud800\udc80\udfff\ufdd0\ufffe\uffff\U0001fffe\r\t\n"
TELEGRAM_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler", "strong", "em", "ins", "del"}


def invalid(char: str) -> bool:
    """A code point no reply may hold, said independently of retrieval.text: surrogates, non-characters, controls."""
    point = ord(char)
    category = unicodedata.category(char)
    return (
        category == "Cs"
        or (category == "Cc" and char not in "\t\n")
        or 0xFDD0 <= point <= 0xFDEF
        or point & 0xFFFE == 0xFFFE
    )


# Any code point at all (surrogates included), weighted towards the ones that break things and the ones users write.
chars = st.one_of(
    st.characters(exclude_categories=()),
    st.sampled_from(HOSTILE + "<>&;\"']]>/ 整顿软弱涣散党組織第一书记👍🏽🇨🇳"),
)
texts = st.text(chars, max_size=40)
long_texts = st.one_of(texts, st.builds(lambda piece, times: piece * times, st.text(chars, min_size=1, max_size=9),
                                        st.integers(1, 900)))
optional = st.one_of(st.none(), texts)


@st.composite
def hits(draw: st.DrawFn, passage_id: int) -> Hit:
    text = draw(long_texts.filter(bool))
    terms = tuple(draw(st.lists(st.text(chars, min_size=1, max_size=3), max_size=3)))
    return Hit(
        passage_id=passage_id, doc_id=1, text=text, title=draw(optional), source=draw(optional), date=draw(optional),
        author=draw(optional), region=draw(optional), section=draw(optional), position=0, score=1.0,
        matched_terms=terms, highlights=highlight_spans(text, terms),
    )


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    count = draw(st.integers(1, 4))
    return Answer(
        answer_id=draw(st.integers(1, 10**9)), question=draw(long_texts), hits=tuple(draw(hits(n)) for n in range(count)),
        first=draw(st.integers(1, 100)), has_more=draw(st.booleans()), related=draw(st.booleans()),
        repairs=tuple(draw(st.lists(st.tuples(texts, texts), max_size=2))),
        script=draw(st.sampled_from(["simplified", "original"])),
    )


@st.composite
def contexts(draw: st.DrawFn) -> Context:
    passage = PassageRow(
        id=1, document_id=draw(st.integers(1, 10**6)), position=0, section=draw(optional), start=0, end=1,
        text=draw(long_texts), title=draw(optional), date=draw(optional), source=draw(optional), author=None,
        region=None, file_name=draw(texts),
    )
    return Context(
        answer_id=1, number=draw(st.integers(1, 100)), passage=passage,
        before=tuple(draw(st.lists(long_texts, max_size=2))), after=tuple(draw(st.lists(long_texts, max_size=2))),
        script=draw(st.sampled_from(["simplified", "original"])),
    )


replies = st.one_of(
    answers(), contexts(), st.builds(Notice, st.just("x"), long_texts), st.builds(NothingFound, long_texts)
)


class TelegramHtml(HTMLParser):
    """Parses a reply as Telegram's HTML mode would: only its tags, balanced, no attributes, every <>& escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        assert tag in TELEGRAM_TAGS and not attrs, (tag, attrs)
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, tag

    def handle_entityref(self, name: str) -> None:
        assert name in {"lt", "gt", "amp", "quot"}, name
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name: str) -> None:
        raise AssertionError(f"&#{name}; is not needed")

    def handle_data(self, data: str) -> None:
        assert not set(data) & set("<>&"), data
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")

    def handle_pi(self, data: str) -> None:
        raise AssertionError("processing instruction")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError("CDATA or unknown declaration")


def telegram_text(html_text: str) -> str:
    """The visible text of a Telegram HTML message, after checking it would parse."""
    parser = TelegramHtml()
    parser.feed(html_text)
    parser.close()
    assert not parser.open, parser.open
    assert parser.rawdata == "", parser.rawdata  # nothing left unparsed (a stray "<")
    return "".join(parser.text)


# ---------------------------------------------------------------- safe_text


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("整顿\udc80软弱", "整顿软弱"),  # an invalid byte read under surrogateescape
        ("\ud83d\ude00", ""),  # a surrogate pair left as two code points (UTF-16 read as code units)
        ("党员\x00\x01\x08\x0e\x1b[31m大会\x1f\x7f", "党员[31m大会"),
        ("第一书记\ufffe\uffff\ufdd0\ufdef\U0001fffe\U0010ffff", "第一书记"),
        ("书记👍\U0001fffe会议\U0010ffff", "书记👍会议"),  # only non-characters beyond the first plane
        ("C1\x80\x9b\x9f", "C1"),
        ("第一页\x0c第二页\x0b第三行\x85第四行", "第一页\n第二页\n第三行\n第四行"),
        ("windows\r\nold mac\rend", "windows\nold mac\nend"),
        ("tab\tnewline\n emoji👍🏽 flag🇨🇳 <b>&amp; \u2028 \u00a0 \ufeff \ue000", None),  # all valid: unchanged
    ],
)
def test_safe_text_removes_what_no_channel_carries_and_keeps_everything_else(raw: str, safe: str | None) -> None:
    assert safe_text(raw) == (raw if safe is None else safe)


@PROPERTIES
@given(st.text(chars, max_size=200))
@example("]]>")  # valid text that only escaping makes valid XML content
def test_safe_text_is_valid_xml_and_utf8_and_idempotent(raw: str) -> None:
    safe = safe_text(raw)
    assert not any(invalid(char) for char in safe)
    safe.encode("utf-8")
    # Escaped as any XML writer escapes text (">" too: "]]>" may not stand in element content).
    assert (ET.fromstring(f"<x>{xml_escape(safe)}</x>").text or "") == safe
    assert safe_text(safe) == safe
    assert [c for c in safe if c != "\n"] == [c for c in raw if not invalid(c) and c not in "\r\n"]


# ---------------------------------------------------------------- documents


def test_decoded_documents_hold_no_control_characters_or_non_characters() -> None:
    body = "第一书记驻村开展工作，整顿软弱涣散党组织。\n" * 20
    data = ("村党组织\x01软弱涣散\x1b[0m整顿\x7f到位\u0085第一书记\ufffe驻村\x0c第二页\r\n" + body).encode("utf-8")
    text, codec = decode_text(data)
    assert codec == "utf-8"
    assert not any(invalid(char) for char in text)
    assert "村党组织软弱涣散[0m整顿到位\n第一书记驻村\n第二页\n" in text


def test_a_gb18030_document_is_cleaned_too() -> None:
    data = ("第一书记驻村\x01\x1b开展工作，整顿软弱涣散党组织。\n" + "村两委班子团结，党员队伍稳定。\n" * 20).encode("gb18030")
    text, codec = decode_text(data)
    assert codec != "utf-8" and "第一书记驻村开展工作" in text and "\x01" not in text and "\x1b" not in text


# ---------------------------------------------------------------- questions


@pytest.mark.parametrize("dirty", ["软弱涣散\udc80村党组织怎么整顿", "软弱涣散\x01村党组织\ufffe怎么整顿\x1b"])
async def test_a_question_with_invalid_code_points_is_searched_as_if_they_were_not_there(
    searcher: Searcher, dirty: str
) -> None:
    clean = await searcher.search("软弱涣散村党组织怎么整顿", k=3)
    result = await searcher.search(dirty, k=3)
    assert [hit.passage_id for hit in result.hits] == [hit.passage_id for hit in clean.hits] != []


async def test_a_question_of_nothing_but_invalid_code_points_is_an_empty_question(searcher: Searcher) -> None:
    with pytest.raises(EmptyQuestion):
        await searcher.search("\udc80\x01\ufffe", k=3)


async def test_core_answers_a_question_holding_lone_surrogates(corpus: Corpus, searcher: Searcher, chatlog: ChatLog) -> None:
    core = Core(corpus, searcher, chatlog=chatlog)
    reply = await core.handle(Asker("telegram", "1"), "软弱涣散\udc80村党组织怎么整顿")
    assert isinstance(reply, Answer) and reply.question == "软弱涣散村党组织怎么整顿"


# ---------------------------------------------------------------- replies


@PROPERTIES
@given(replies)
def test_every_wecom_reply_is_utf8_within_2048_bytes_and_parses_inside_the_reply_xml(reply) -> None:
    text = render_wecom(reply)
    assert len(text.encode("utf-8")) <= WECOM_MAX_BYTES
    assert not any(invalid(char) for char in text)
    inner = ET.fromstring(reply_xml("LiSi", "wx49f0ab532d5d035a", 1411443780, text))
    assert (inner.findtext("Content") or "") == text


@PROPERTIES
@given(replies)
def test_every_telegram_reply_is_balanced_html_within_4096_characters(reply) -> None:
    html_text = render_telegram(reply)
    assert len(html_text) <= TELEGRAM_MAX_CHARS
    html_text.encode("utf-8")
    visible = telegram_text(html_text)
    assert not any(invalid(char) for char in visible)


@PROPERTIES
@given(replies)
def test_every_terminal_reply_prints(reply) -> None:
    text = render_plain(reply)
    text.encode("utf-8")
    assert "\x1b" not in text and not any(invalid(char) for char in text)


def test_hostile_characters_in_a_passage_are_dropped_from_both_channels_and_the_rest_is_kept() -> None:
    text = "村党组织\x01软弱涣散\udc80问题\ufffe得到整顿\x1b[0m <b>&"
    answer = Answer(1, "q", (Hit(1, 1, text, "标题\x08", "来源\x7f", "2020", None, None, None, 0, 1.0, (), ()),), 1, False)
    assert "村党组织软弱涣散问题得到整顿[0m &lt;b&gt;&amp;" in render_telegram(answer)
    assert "《标题》 · 来源 · 2020" in render_telegram(answer)
    assert "村党组织软弱涣散问题得到整顿[0m <b>&" in render_wecom(answer)
    assert re.search("[\x00-\x08\x1b\x7f\ufffe\udc80]", render_wecom(answer) + render_plain(answer)) is None
