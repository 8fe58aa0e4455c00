"""Platform-neutral core: an incoming message -> a reply (questions, paging, context, help)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retrieval.search import EmptyQuestion, Hit, Searcher

HELP_WORDS = frozenset({"帮助", "help", "?", "？", "/help", "/start"})
MORE_WORDS = frozenset({"更多", "more", "/more"})
CONTEXT_COMMAND = re.compile(r"^\s*(?:上下文|全文|context)\s*(\d+)\s*$", re.IGNORECASE)
CONTEXT_RADIUS = 1  # passages shown before and after an excerpt


@dataclass(frozen=True)
class Answer:
    """Excerpts for a question; `first` is the number of the first one (1 for a new question)."""

    question: str
    hits: tuple[Hit, ...]
    first: int
    has_more: bool


@dataclass(frozen=True)
class NothingFound:
    """The corpus has nothing on the question (or nothing more)."""

    question: str
    after_more: bool = False


@dataclass(frozen=True)
class Context:
    """An excerpt with the passages around it."""

    number: int
    hit: Hit
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """A short message: help, a refusal, a hint."""

    kind: str  # help | empty | too_long | no_question | bad_number
    text: str


Reply = Answer | NothingFound | Context | Notice


@dataclass
class Conversation:
    """What one user was last shown, so 更多 and 上下文 N can follow it."""

    question: str | None = None
    shown: list[Hit] = field(default_factory=list)


HELP_TEXT = (
    "把问题直接发给我，我从真实的整顿软弱涣散基层党组织工作报告里找出最相关的段落，注明来源和日期。\n"
    "例如：\n"
    "  软弱涣散村党组织怎么整顿\n"
    "  村书记年纪大了能力弱怎么办\n"
    "  第一书记怎么发挥作用\n"
    "回复“更多”看后面的段落，回复“上下文 1”看第 1 段的前后文。"
)


class Core:
    """Turns a message into a reply; channels only translate."""

    def __init__(self, searcher: Searcher, top_k: int = 3, max_question_chars: int = 300) -> None:
        self.searcher = searcher
        self.top_k = top_k
        self.max_question_chars = max_question_chars

    async def handle(self, conversation: Conversation, text: str) -> Reply:
        """Answer one message in a conversation."""
        message = text.strip()
        if message.lower() in HELP_WORDS:
            return Notice("help", HELP_TEXT)
        if message.lower() in MORE_WORDS:
            return await self.more(conversation)
        if match := CONTEXT_COMMAND.match(message):
            return await self.context(conversation, int(match.group(1)))
        return await self.ask(conversation, message)

    async def ask(self, conversation: Conversation, question: str) -> Reply:
        """A new question: the top excerpts, or why there are none."""
        if len(question) > self.max_question_chars:
            return Notice(
                "too_long",
                f"问题太长了（{len(question)} 字），请控制在 {self.max_question_chars} 字以内，只写关键的几个词。",
            )
        try:
            hits = await self.searcher.search(question, k=self.top_k + 1)
        except EmptyQuestion:
            return Notice("empty", "请输入要查询的问题，例如：软弱涣散村党组织怎么整顿")
        conversation.question = question
        conversation.shown = list(hits[: self.top_k])
        if not hits:
            return NothingFound(question)
        return Answer(question, tuple(hits[: self.top_k]), 1, len(hits) > self.top_k)

    async def more(self, conversation: Conversation) -> Reply:
        """The next excerpts for the last question."""
        if conversation.question is None:
            return Notice("no_question", "还没有提问。请先发一个问题，再回复“更多”。")
        offset = len(conversation.shown)
        hits = await self.searcher.search(conversation.question, k=self.top_k + 1, offset=offset)
        if not hits:
            return NothingFound(conversation.question, after_more=True)
        conversation.shown.extend(hits[: self.top_k])
        return Answer(conversation.question, tuple(hits[: self.top_k]), offset + 1, len(hits) > self.top_k)

    async def context(self, conversation: Conversation, number: int) -> Reply:
        """The passages around excerpt `number` of the last answer."""
        if not conversation.shown:
            return Notice("no_question", "还没有可以查看上下文的段落。请先提问。")
        if not 1 <= number <= len(conversation.shown):
            return Notice("bad_number", f"没有第 {number} 段。请回复 1 到 {len(conversation.shown)} 之间的数字，例如“上下文 1”。")
        hit = conversation.shown[number - 1]
        passages = await self.searcher.corpus.store.passages_of_document(hit.doc_id)
        index = next((i for i, p in enumerate(passages) if p.id == hit.passage_id), None)
        if index is None:
            return Notice("bad_number", "这段内容所在的文档已被更新，请重新提问。")
        before = tuple(p.text for p in passages[max(0, index - CONTEXT_RADIUS) : index])
        after = tuple(p.text for p in passages[index + 1 : index + 1 + CONTEXT_RADIUS])
        return Context(number, hit, before, after)
