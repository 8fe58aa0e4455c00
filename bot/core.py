"""Platform-neutral core: an incoming message -> a reply (questions, paging, context, feedback, admin work)."""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rectbot.bot.access import Access, ChannelName, RateLimiter, Verdict
from rectbot.bot.chatlog import AskedQuestion, ChatLog, QuestionStats, SavedAnswer
from rectbot.retrieval.corpus import IngestReport, ReindexReport
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.questions import separate_questions
from rectbot.retrieval.search import Confidence, Hit, Searcher
from rectbot.retrieval.store import DocumentRow, PassageRow, Removal
from rectbot.retrieval.text import safe_text, to_simplified

logger = logging.getLogger(__name__)

HELP_WORDS = frozenset({"帮助", "help", "?", "？", "/help", "/start"})
MORE_WORDS = frozenset({"更多", "more", "/more"})
STATS_WORDS = frozenset({"统计", "/stats"})
REINDEX_WORDS = frozenset({"重建索引", "/reindex"})
CONTEXT_COMMAND = re.compile(r"^\s*(?:上下文|全文|context)\s*(\d{1,4})\s*$", re.IGNORECASE)
NUMBERED_WORDS = {
    **dict.fromkeys(("上下文", "全文", "context"), "请在“上下文”后面加上段落编号，例如“上下文 1”：看回答里第 1 段的前后文。"),
    **dict.fromkeys(("文档", "/doc"), "请在“文档”后面加上文档编号，例如“文档 3”：看 3 号文档的标题、来源和日期。"),
}
DOCUMENT_COMMAND = re.compile(r"^\s*(?:文档|/doc)\s*(\d{1,9})\s*$", re.IGNORECASE)
DELETE_COMMAND = re.compile(r"^\s*(?:删除|/delete)\s*(\d{1,9})\s*$", re.IGNORECASE)
CONFIRM_DELETE_COMMAND = re.compile(r"^\s*确认删除\s*(\d{1,9})\s*$")
CONFIRM_SECONDS = 300  # how long a 删除 N waits for its 确认删除 N
CONTEXT_RADIUS = 1  # passages shown before and after an excerpt
TOKEN_BYTES = 9  # an answer's button token: 72 random bits, 12 URL-safe characters


_TRAILING_PUNCTUATION = re.compile(r"[\s!.,;:~。，、；：！～…]+$")
# Small talk, once spaces, punctuation and emoji are gone: a greeting is answered with what to ask, thanks in kind.
_PARTICLES = "(?:呀|啊|哈|吗|么|哦|呢|了|啦|~)*"
_GREETING = re.compile(
    rf"^(?:(?:你好|您好|大家好|(?:各位)?(?:老师|领导|书记|同志)们?好|哈喽|哈啰|嗨|在吗|在么|在不在|有人吗|"
    rf"早上好|上午好|中午好|下午好|晚上好|早安|hello|hi|hey|hithere|hieveryone|goodmorning|goodafternoon|goodevening|"
    rf"howareyou)"
    rf"{_PARTICLES})+$"
)
# A farewell (晚安, bye) is acknowledged too: 好的！还有问题直接发给我。
_ACKNOWLEDGEMENT = (
    rf"(?:(?:好的|好滴|好嘞|好|嗯+|哦+|收到|明白|知道|了解|懂|ok|okay|okk|行"
    rf"|再见|拜拜|晚安|bye|byebye|goodbye|goodnight){_PARTICLES})"
)
_THANKS = re.compile(  # after an acknowledgement or not: 好的谢谢, 收到 谢谢
    rf"^{_ACKNOWLEDGEMENT}*"
    rf"(?:(?:非常|太|十分|真|真是)?(?:谢谢你|谢谢您|谢谢|多谢|感谢|谢了|辛苦了|辛苦"
    rf"|thanks|thankyou|thx|thanksalot|thankyouverymuch|manythanks){_PARTICLES})+$"
)
_ACKNOWLEDGED = re.compile(rf"^{_ACKNOWLEDGEMENT}+$")
# A message of these alone (skin tones and variation selectors aside) is a thumbs-up, not a question.
_APPROVING = frozenset("👍👌🙏👏💪✌❤🌹🙂😊🤝✔✅") | {"\ufe0f", "\u200d", *map(chr, range(0x1F3FB, 0x1F400))}
_NOT_WORDS = re.compile(r"[\W_]+")


def command_form(message: str) -> str:
    """A message as command words are matched: full-width forms made half-width (ＮＦＫＣ: 上下文２ -> 上下文2),
    lower case, trailing punctuation dropped (更多！ and 更多。 are 更多); a message of punctuation alone is kept."""
    folded = unicodedata.normalize("NFKC", message).strip().lower()
    return _TRAILING_PUNCTUATION.sub("", folded) or folded


def small_talk(message: str) -> str | None:
    """"greeting", "welcome" (thanks were said) or "acknowledged" (好的, 收到, 👍) for a message that is only that
    (你好呀 在吗, good morning, 谢谢 辛苦了, 好的谢谢), else None."""
    bare = _NOT_WORDS.sub("", to_simplified(unicodedata.normalize("NFKC", message).lower()))
    if _GREETING.match(bare):
        return "greeting"
    if _THANKS.match(bare):
        return "welcome"
    symbols = set(message) - set(" \t\n")
    if _ACKNOWLEDGED.match(bare) or (not bare and symbols and symbols <= _APPROVING):
        return "acknowledged"
    return None


def small_talk_text(talk: str) -> str:
    """The reply to small_talk()'s kind, in every channel and in `rectbot ask`."""
    return {"greeting": GREETING_TEXT, "welcome": WELCOME_TEXT}.get(talk, ACKNOWLEDGED_TEXT)


@dataclass(frozen=True)
class Asker:
    """Who sent a message, and where."""

    channel: ChannelName
    user_id: str
    chat_type: str = "private"
    chat_id: str | None = None  # set in group chats, where each member follows their own questions
    is_admin: bool = False

    @property
    def conversation(self) -> str:
        """Whose last question 更多 and 上下文 N follow."""
        return self.user_id if self.chat_id is None else f"{self.chat_id}/{self.user_id}"

    @property
    def owner(self) -> str:
        """Who may use the buttons of this asker's answers: the asker alone, or, in a group, everyone in it."""
        return f"user:{self.user_id}" if self.chat_id is None else f"chat:{self.chat_id}"


@dataclass(frozen=True)
class AnswerRef:
    """An answer as its buttons name it: its id and the token that only its own message carries."""

    answer_id: int
    token: str


@dataclass(frozen=True)
class Answer:
    """Excerpts for a question; `first` is the number of the first one (1 for a new question)."""

    answer_id: int
    question: str
    hits: tuple[Hit, ...]
    first: int
    has_more: bool
    related: bool = False  # nothing answers the question directly: these excerpts may be related
    repairs: tuple[tuple[str, str], ...] = ()  # typos, and English read as Chinese: (typed, searched)
    script: str = "simplified"  # display.script: how document text is shown
    token: str = ""  # the secret its buttons carry; empty for answers saved before buttons were private
    questions: int = 0  # a message asking two or more things, searched as a whole: how many (the first page says)

    @property
    def ref(self) -> AnswerRef:
        """What this answer's buttons carry."""
        return AnswerRef(self.answer_id, self.token)


@dataclass(frozen=True)
class NothingFound:
    """The corpus has nothing on the question (or nothing more)."""

    question: str
    after_more: bool = False
    # The question is about the work (SearchResult.about_the_work): the reports lack an answer, not the subject.
    about_the_work: bool = False
    questions: int = 0  # as Answer.questions


def too_long_text(length: int, limit: int) -> str:
    """What every channel, and `rectbot ask`, says of a question over the length limit."""
    return f"问题太长了（{length} 字），请控制在 {limit} 字以内：贴最相关的一段，或只写关键的几个词。"


@dataclass(frozen=True)
class Context:
    """An excerpt with the passages around it."""

    answer_id: int
    number: int
    passage: PassageRow
    before: tuple[str, ...]
    after: tuple[str, ...]
    script: str = "simplified"


@dataclass(frozen=True)
class DocumentInfo:
    """What `/doc ID` shows."""

    document: DocumentRow
    script: str = "simplified"


@dataclass(frozen=True)
class Stats:
    """What an admin's /stats shows."""

    documents: int
    passages: int
    questions: QuestionStats


@dataclass(frozen=True)
class Ingested:
    """The outcome of an admin's upload."""

    report: IngestReport
    script: str = "simplified"


@dataclass(frozen=True)
class Reindexed:
    """The outcome of a rebuild."""

    report: ReindexReport


@dataclass(frozen=True)
class ConfirmRemoval:
    """An admin asked to remove a document: what would go, and how to confirm."""

    document: DocumentRow
    file_documents: tuple[DocumentRow, ...]  # every document of its file: a file is removed whole
    minutes: int


@dataclass(frozen=True)
class Removed:
    """Files taken out of the corpus."""

    removals: tuple[Removal, ...]


@dataclass(frozen=True)
class Pending:
    """Slow work has started: say `text` now, and send the job's reply when it is done."""

    text: str
    job: asyncio.Task[Reply]


@dataclass(frozen=True)
class Notice:
    """A short message: help, a refusal, a hint."""

    kind: str  # help | greeting | welcome | empty | too_long | no_question | bad_number | expired | not_admin | slow_down | thanks | ...
    text: str


@dataclass(frozen=True)
class Silence:
    """Nothing to send (a flood past its warning)."""


class FetchError(Exception):
    """A channel could not fetch an uploaded file; the message is for the user."""


@dataclass(frozen=True)
class Download:
    """A fetched upload whose name is known only once it is fetched (WeCom's media/get names the file)."""

    data: bytes
    file_name: str


Reply = (
    Answer | NothingFound | Context | DocumentInfo | Stats | Ingested | Reindexed
    | ConfirmRemoval | Removed | Pending | Notice | Silence
)

HELP_TEXT = (
    "把问题直接发给我，我从真实的整顿软弱涣散基层党组织工作报告里找出最相关的段落，注明来源和日期。\n"
    "例如：\n"
    "  软弱涣散村党组织怎么整顿\n"
    "  村书记年纪大了能力弱怎么办\n"
    "  第一书记怎么发挥作用\n"
    "回复“更多”看后面的段落，回复“上下文 1”看第 1 段的前后文，“文档 3”看 3 号文档的信息。"
)
GREETING_TEXT = f"你好！{HELP_TEXT}"
WELCOME_TEXT = "不客气！还有问题直接发给我。"
ACKNOWLEDGED_TEXT = "好的！还有问题直接发给我。"
EXPIRED = "这个回答已过期，请重新提问。"
NOT_YOURS = "这是别人的提问，请自己提问后再用这些按钮。"
NOT_ALLOWED = "抱歉，只有授权的用户可以使用。如需使用，请联系管理员。"
TEXT_ONLY = "我只能回答文字问题。请直接输入问题，例如：软弱涣散村党组织怎么整顿"
FAILED = "抱歉，处理这条消息时出错了，已记录下来。请稍后再试，或换个问法。"
EVERYONE = Access()  # a channel without allow-lists: everyone may ask, nobody administers


class Core:
    """Turns a message into a reply; channels only translate."""

    def __init__(
        self,
        corpus: Corpus,
        searcher: Searcher | None = None,
        *,
        chatlog: ChatLog,
        top_k: int = 3,
        max_question_chars: int = 2000,
        rate_limiter: RateLimiter | None = None,
        access: Mapping[ChannelName, Access] | None = None,
        script: str = "simplified",
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        self.corpus = corpus
        self.searcher = searcher or Searcher.over(corpus)
        self.store = corpus.store
        self.chatlog = chatlog
        self.top_k = top_k
        self.max_question_chars = max_question_chars
        self.rate_limiter = rate_limiter
        self.access = dict(access or {})  # channel -> its allow-lists and admins
        self.script = script
        self.now = now
        self._jobs: set[asyncio.Task[Reply]] = set()  # running slow work, kept so it is not garbage-collected
        self._paging = asyncio.Lock()  # two quick 更多 on one answer must get consecutive pages
        self._removals: dict[tuple[str, str], tuple[int, datetime]] = {}  # (channel, user) -> document, deadline

    async def handle(self, asker: Asker, text: str) -> Reply:
        """Answer one text message: a command word or a question (channels call admit() first)."""
        message = safe_text(text).strip()
        word = command_form(message)
        if word in HELP_WORDS:
            return Notice("help", HELP_TEXT)
        if talk := small_talk(message):
            return Notice(talk, small_talk_text(talk))
        if word in MORE_WORDS:
            return await self.more(asker)
        if match := CONTEXT_COMMAND.match(word):
            return await self.context(asker, int(match.group(1)))
        if match := DOCUMENT_COMMAND.match(word):
            return await self.document(int(match.group(1)))
        if word in NUMBERED_WORDS:  # 上下文 without its number is a command half typed, not a question
            return Notice("no_number", NUMBERED_WORDS[word])
        if word in STATS_WORDS:
            return await self.stats(asker)
        if word in REINDEX_WORDS:
            return self.reindex(asker)
        if match := DELETE_COMMAND.match(word):
            return await self.ask_to_remove(asker, int(match.group(1)))
        if match := CONFIRM_DELETE_COMMAND.match(word):
            return await self.remove(asker, int(match.group(1)))
        return await self.ask(asker, message)

    def asker(
        self, channel: ChannelName, user_id: object, chat_type: str = "private", chat_id: object | None = None
    ) -> Asker:
        """Who sent a message (chat_id only in group chats), an admin if the channel's config says so."""
        return Asker(
            channel, str(user_id), chat_type, None if chat_id is None else str(chat_id),
            is_admin=self.access.get(channel, EVERYONE).is_admin(user_id),
        )

    def admit(self, asker: Asker) -> Notice | Silence | None:
        """Check a message against the rate limit, then the allow-list: None to go on, else what to say (or not)."""
        # The rate limit comes first, so that refusals cannot be used to flood a chat either.
        if (refusal := self.throttle(asker)) is not None:
            logger.info("%s: rate limit: user %s", asker.channel, asker.user_id)
            return refusal
        if not self.access.get(asker.channel, EVERYONE).allows(asker.user_id, asker.chat_id):
            where = f" in chat {asker.chat_id}" if asker.chat_id is not None else ""
            logger.info("%s: refused user %s%s: not on the allow-list", asker.channel, asker.user_id, where)
            return Notice("not_allowed", NOT_ALLOWED)
        return None

    def throttle(self, asker: Asker) -> Notice | Silence | None:
        """Count a message under the rate limit: None to go on, else what to say (once) or not say."""
        if self.rate_limiter is None:
            return None
        verdict = self.rate_limiter.check(f"{asker.channel}:{asker.user_id}")
        if verdict is Verdict.WARN:
            return Notice("slow_down", f"消息太频繁了，请稍等一会儿再问（每分钟最多 {self.rate_limiter.per_minute} 条）。")
        if verdict is Verdict.DROP:
            return Silence()
        return None

    async def ask(self, asker: Asker, question: str) -> Reply:
        """A new question: the top excerpts, or why there are none; logged with what was shown."""
        question = safe_text(question).strip()  # the log cannot hold lone surrogates, nor should anyone read them
        if not question:
            return Notice("empty", "请输入要查询的问题，例如：软弱涣散村党组织怎么整顿")
        if len(question) > self.max_question_chars:
            return Notice("too_long", too_long_text(len(question), self.max_question_chars))
        started = time.perf_counter()
        result = await self.searcher.search(question, k=self.top_k + 1)
        latency_ms = (time.perf_counter() - started) * 1000
        shown = result.shown[: self.top_k]
        # Only confident excerpts count as an answer: a weak one is a gap the admin should fill.
        answered = len(result.hits[: self.top_k])
        asked = AskedQuestion(asker.channel, asker.user_id, asker.chat_type, question, answered, latency_ms)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        answer_id = await self.chatlog.log_question(
            asked, [hit.passage_id for hit in shown], asker.conversation, owner=asker.owner, token=token
        )
        questions = len(separate_questions(question))
        if not shown:
            return NothingFound(question, about_the_work=result.about_the_work, questions=questions)
        return Answer(
            answer_id, question, shown, 1, len(result.shown) > self.top_k,
            related=result.confidence is Confidence.WEAK, repairs=result.query.repairs, script=self.script,
            token=token, questions=questions,
        )

    async def more(self, asker: Asker, ref: AnswerRef | None = None) -> Reply:
        """The next excerpts for an answer: the user's last one, or the one a button names (its owner's only)."""
        if ref is None:
            answer_id = await self.chatlog.conversation(asker.channel, asker.conversation)
            if answer_id is None:
                return Notice("no_question", "还没有提问。请先发一个问题，再回复“更多”。")
        else:
            answer_id = ref.answer_id
        async with self._paging:
            saved = await self.chatlog.answer(answer_id)
            if (refusal := refuse(asker, saved, ref)) is not None:
                return refusal
            # Search afresh and skip what was shown: the index may have changed since.
            result = await self.searcher.search(saved.question, k=len(saved.shown) + self.top_k + 1)
            new = [hit for hit in result.shown if hit.passage_id not in saved.shown]
            if not new:
                return NothingFound(saved.question, after_more=True)
            page = new[: self.top_k]
            await self.chatlog.extend_answer(answer_id, [hit.passage_id for hit in page])
        return Answer(
            answer_id, saved.question, tuple(page), len(saved.shown) + 1, len(new) > self.top_k,
            related=result.confidence is Confidence.WEAK, repairs=result.query.repairs, script=self.script,
            token=saved.token or "",
        )

    async def context(self, asker: Asker, number: int, ref: AnswerRef | None = None) -> Reply:
        """The passages around excerpt `number` of an answer: the user's last one, or the one a button names."""
        answer_id = await self.chatlog.conversation(asker.channel, asker.conversation) if ref is None else ref.answer_id
        saved = await self.chatlog.answer(answer_id) if answer_id is not None else None
        if answer_id is not None and (refusal := refuse(asker, saved, ref)) is not None:
            return refusal
        if saved is None or not saved.shown:
            return Notice("no_question", "还没有可以查看上下文的段落。请先提问。")
        if not 1 <= number <= len(saved.shown):
            return Notice(
                "bad_number", f"没有第 {number} 段。请回复 1 到 {len(saved.shown)} 之间的数字，例如“上下文 1”。"
            )
        passage_id = saved.shown[number - 1]
        passage = (await self.store.passages_by_id([passage_id])).get(passage_id)
        if passage is None:
            return Notice("expired", "这段内容所在的文档已经更新，请重新提问。")
        passages = await self.store.passages_of_document(passage.document_id)
        index = next((i for i, p in enumerate(passages) if p.id == passage_id), None)
        if index is None:  # the document was replaced between the two reads
            return Notice("expired", "这段内容所在的文档已经更新，请重新提问。")
        before = tuple(p.text for p in passages[max(0, index - CONTEXT_RADIUS) : index])
        after = tuple(p.text for p in passages[index + 1 : index + 1 + CONTEXT_RADIUS])
        return Context(answer_id, number, passage, before, after, self.script)

    async def feedback(self, asker: Asker, ref: AnswerRef, vote: int) -> Notice:
        """Store a 👍 (+1) or 👎 (-1) on an answer, from its owner; any other vote is refused."""
        if vote not in (1, -1):
            return Notice("expired", EXPIRED)
        if (refusal := refuse(asker, await self.chatlog.answer(ref.answer_id), ref)) is not None:
            return refusal
        await self.chatlog.save_vote(ref.answer_id, asker.user_id, vote)
        return Notice("thanks", "谢谢反馈！" if vote > 0 else "谢谢反馈，我们会补充更合适的材料。")

    async def document(self, document_id: int) -> Reply:
        """A document's title, source, date, sections and passage count."""
        document = await self.store.document(document_id)
        if document is None:
            return Notice("no_document", f"没有编号为 {document_id} 的文档。")
        return DocumentInfo(document, self.script)

    async def stats(self, asker: Asker) -> Reply:
        """Corpus size and query-log figures, for admins; in a group, counts only (the gap list quotes others)."""
        if not asker.is_admin:
            return Notice("not_admin", "抱歉，只有管理员可以查看统计。")
        now = self.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        questions = await self.chatlog.question_stats(midnight, now - timedelta(days=7))
        documents = len(await self.store.documents())
        passages = len(self.corpus.index) if self.corpus.index is not None else 0
        if asker.chat_id is not None:
            return Notice("stats_in_group", group_stats_text(Stats(documents, passages, questions)))
        return Stats(documents, passages, questions)

    def reindex(self, asker: Asker) -> Reply:
        """Start rebuilding the index, for admins; searches go on meanwhile."""
        if not asker.is_admin:
            return Notice("not_admin", "抱歉，只有管理员可以重建索引。")
        return Pending("正在重建索引，完成后告诉你……", self._start(self._reindex()))

    async def ingest(self, asker: Asker, fetch: Callable[[], Awaitable[bytes | Download]], file_name: str) -> Reply:
        """Add an uploaded document, for admins (others' files are never fetched); searchable when this returns."""
        if not asker.is_admin:
            return Notice("not_admin", "抱歉，只有管理员可以添加文档。没有做任何改动。")
        try:
            fetched = await fetch()
        except FetchError as error:
            return Notice("fetch_failed", str(error))
        if isinstance(fetched, Download):
            data, file_name = fetched.data, fetched.file_name
        else:
            data = fetched
        # The same name sent in another chat is another document; sent again here, it is a new version.
        where = asker.chat_id or asker.user_id
        return Ingested(await self.corpus.ingest_bytes(data, file_name, path=f"{asker.channel}/{where}/{file_name}"), self.script)

    async def ask_to_remove(self, asker: Asker, document_id: int) -> Reply:
        """Show an admin what 删除 N would remove and wait for 确认删除 N; nothing is removed yet."""
        if not asker.is_admin:
            return Notice("not_admin", "抱歉，只有管理员可以删除文档。没有做任何改动。")
        document = await self.store.document(document_id)
        if document is None:
            return Notice("no_document", f"没有编号为 {document_id} 的文档。没有做任何改动。")
        together = tuple(doc for doc in await self.store.documents() if doc.path == document.path)
        self._removals[(asker.channel, asker.user_id)] = (
            document_id, self.now() + timedelta(seconds=CONFIRM_SECONDS)
        )
        return ConfirmRemoval(document, together, CONFIRM_SECONDS // 60)

    async def remove(self, asker: Asker, document_id: int) -> Reply:
        """Remove the file of a document this admin asked to remove (删除 N) in the last few minutes."""
        if not asker.is_admin:
            return Notice("not_admin", "抱歉，只有管理员可以删除文档。没有做任何改动。")
        pending = self._removals.get((asker.channel, asker.user_id))
        if pending is None or pending[0] != document_id or pending[1] < self.now():
            return Notice("not_confirmed", f"请先发送“删除 {document_id}”，看清要删除的内容后再确认。没有做任何改动。")
        del self._removals[(asker.channel, asker.user_id)]
        paths = await self.store.paths_of_documents([document_id])
        if not paths:
            return Notice("no_document", f"文档 {document_id} 已经不在了。")
        removed = await self.corpus.remove(paths.values(), removed_by=f"{asker.channel}:{asker.user_id}")
        return Removed(tuple(removed))

    async def _reindex(self) -> Reply:
        try:
            return Reindexed(await self.corpus.reindex())
        except Exception:
            logger.exception("reindex failed; the previous index stays in use")
            return Notice("failed", "重建索引失败，旧索引仍在使用。详情见服务器日志。")

    def _start(self, work: Coroutine[Any, Any, Reply]) -> asyncio.Task[Reply]:
        job = asyncio.create_task(work)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        return job


def refuse(asker: Asker, saved: SavedAnswer | None, ref: AnswerRef | None) -> Notice | None:
    """Why the asker may not use this answer, or None; without a ref it is their own conversation's."""
    if saved is None:
        return Notice("expired", EXPIRED)
    if ref is None:
        return None
    # A button made before answers had tokens, or data not from this answer's message, has expired.
    if not saved.token or not secrets.compare_digest(saved.token.encode(), ref.token.encode()):
        return Notice("expired", EXPIRED)
    if saved.owner != asker.owner or saved.channel != asker.channel:
        return Notice("not_yours", NOT_YOURS)
    return None


def group_stats_text(stats: Stats) -> str:
    """/stats in a group: the counts only; the gap list quotes other people's questions, so it stays private."""
    q = stats.questions
    return "\n".join([
        f"文档 {stats.documents} 篇，可检索段落 {stats.passages} 段",
        f"今天提问 {q.today} 次，近 7 天 {q.week} 次，其中找到答案 {q.answered_week} 次",
        f"近 7 天反馈：👍 {q.votes_up_week}  👎 {q.votes_down_week}",
        "没找到答案的问题清单含有其他人的提问，只在私聊里显示：请私聊我发送 /stats（或“统计”）。",
    ])
