"""A reply -> plain text (terminal), Telegram HTML (4096 characters) or WeCom text (2048 UTF-8 bytes); and what
the `rectbot` commands print (search results, ingest reports, documents, evaluation metrics).

Document text (excerpts, titles, sources, context) is shown in the reply's script (config display.script):
it is cut first and converted after, so no offset computed on the stored text is applied to converted text.
Every reply is safe_text before it is measured: no control character, non-character or lone surrogate reaches a
channel (WeCom's XML refuses them, UTF-8 cannot encode surrogates), whatever the stored text holds.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Protocol

from rectbot.bot.backup import BackupReport
from rectbot.bot.chatlog import LoggedQuestion
from rectbot.bot.core import (
    Answer,
    ConfirmRemoval,
    Context,
    DocumentInfo,
    Ingested,
    NothingFound,
    Notice,
    Pending,
    Reindexed,
    Removed,
    Reply,
    Silence,
    Stats,
)
from rectbot.retrieval.corpus import IngestReport, IngestStatus, ReindexReport
from rectbot.retrieval.evaluation import EvalReport
from rectbot.retrieval.articles import Rejection
from rectbot.retrieval.questions import separate_questions
from rectbot.retrieval.search import Hit, SearchResult
from rectbot.retrieval.store import DocumentRow, Removal
from rectbot.retrieval.text import HAN, Script, in_script, safe_text

UNKNOWN_DATE = "日期不详"
UNKNOWN_SOURCE = "来源不详"
UNTITLED = "（无标题）"
ELLIPSIS = "…"
TELEGRAM_MAX_CHARS = 4096
WECOM_MAX_BYTES = 2048
MAX_TITLE_CHARS = 60
MAX_SOURCE_CHARS = 30
SHORTEST_EXCERPT = 20  # excerpts are cut no shorter than this to fit a message

Spans = Sequence[tuple[int, int]]
_HAN = re.compile(r"[\u4e00-\u9fff]")


class Cited(Protocol):
    """Anything with citation fields: a search hit, a stored passage, an ingested article (no section)."""

    @property
    def title(self) -> str | None: ...

    @property
    def source(self) -> str | None: ...

    @property
    def date(self) -> str | None: ...


def clip(text: str | None, limit: int | None) -> str:
    """text cut to `limit` characters (None: no limit) with an ellipsis."""
    text = text or ""
    return text if limit is None or len(text) <= limit else text[: limit - 1] + ELLIPSIS


def untitled(item: Cited, script: str = Script.SIMPLIFIED) -> str:
    """（无标题，place，file name）, what tells an untitled report apart; the file name as stored, to find the file,
    when people named it (a download's D085.txt or 002_fd0e3d0b.txt would read as an internal code)."""
    place, file_name = getattr(item, "region", None), getattr(item, "file_name", None)
    if file_name and len(_HAN.findall(file_name)) < 2:
        file_name = None
    label = "，".join(filter(None, (in_script(place, script) if place else None, file_name)))
    return f"（无标题，{clip(label, MAX_TITLE_CHARS)}）" if label else UNTITLED


def citation(item: Cited, script: str = Script.SIMPLIFIED) -> str:
    """《title》 · source (else author) · date (· section) in `script`, with unknowns said plainly (an untitled report:
    untitled())."""
    head = in_script(f"《{clip(item.title, MAX_TITLE_CHARS)}》", script) if item.title else untitled(item, script)
    # Without a source, the writer the report names (县基层办 秦敬洪) says where it came from.
    origin = item.source or getattr(item, "author", None)
    rest = [clip(origin, MAX_SOURCE_CHARS) or UNKNOWN_SOURCE, item.date or UNKNOWN_DATE]
    if section := getattr(item, "section", None):
        rest.append(clip(section, MAX_TITLE_CHARS))
    return f"{head} · {in_script(' · '.join(rest), script)}"


# Marks after which nothing is finished: a clause goes on, or a lead-in introduces what follows.
_OPEN_END = ("，", ",", "、", "：", ":")
_SEMICOLON_END = ("；", ";")
_CUT_WORD = re.compile(r"[\w，,、；;]$")  # a Han character, letter or digit, or a clause mark, ends the text


def excerpt(text: str) -> str:
    """A passage as shown: with an ellipsis where it stops mid-sentence, a page cut off (……完善村级财务管理办法,).

    A comma ends no sentence, nor does a lead-in's colon (特制定如下整顿方案：, what it introduces is in the next
    passage). A line of prose (40 characters or more, with a comma in it) that ends in a semicolon or without any
    closing mark is cut off; a short list item or heading (书记能力不强, 阵地作用发挥不够；) is not, nor is a line ending
    in a full stop, a bracket, a quotation mark or an emoji.
    """
    stripped = text.rstrip()
    last_line = stripped.rsplit("\n", 1)[-1]
    prose = len(last_line) >= 40 and any(c in last_line for c in "，,")
    cut_off = stripped.endswith(_OPEN_END) or (
        prose and (stripped.endswith(_SEMICOLON_END) or bool(_CUT_WORD.search(stripped)))
    )
    return stripped + ELLIPSIS if cut_off else text


def _within(spans: Spans, length: int) -> list[tuple[int, int]]:
    """The spans cut to the first `length` characters (an ellipsis after them is never bold)."""
    return [(start, min(end, length)) for start, end in spans if start < length]


def marked_html(text: str, spans: Spans, limit: int | None, script: str = Script.SIMPLIFIED) -> str:
    """Escaped text with the spans in bold, cut to `limit` characters with an ellipsis, then put in `script`."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1]
        spans = [(start, min(end, len(text))) for start, end in spans if start < len(text)]
        tail = ELLIPSIS
    else:
        tail = ""
    out, at = [], 0
    for start, end in spans:
        out.append(html.escape(in_script(text[at:start], script), quote=False))
        out.append(f"<b>{html.escape(in_script(text[start:end], script), quote=False)}</b>")
        at = end
    out.append(html.escape(in_script(text[at:], script), quote=False) + tail)
    return "".join(out)


def fit(render: Callable[[int | None], str], fits: Callable[[str], bool], longest: int) -> str:
    """render(None) if it fits, else render(n) for the largest excerpt length n that fits."""
    text = render(None)
    if fits(text):
        return text
    low, high = SHORTEST_EXCERPT, max(SHORTEST_EXCERPT, longest - 1)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(render(middle)):
            low = middle
        else:
            high = middle - 1
    return render(low)


def fits_telegram(text: str) -> bool:
    """Within Telegram's message limit, counting the HTML source (stricter than the visible text)."""
    return len(text) <= TELEGRAM_MAX_CHARS


def fits_wecom(text: str) -> bool:
    """Within WeCom's text limit, which counts UTF-8 bytes."""
    return len(text.encode("utf-8")) <= WECOM_MAX_BYTES


def cut_to_bytes(text: str, limit: int = WECOM_MAX_BYTES) -> str:
    """text within `limit` UTF-8 bytes, cut between characters with an ellipsis."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    return text.encode("utf-8")[:room].decode("utf-8", errors="ignore") + ELLIPSIS


RELATED_HEADER = "资料里没有直接回答，下面的内容可能相关："
# After the number of an answer's excerpt that holds much less of the question than the best (Hit.possibly_related).
RELATED_MARK = "（可能相关）"


def related_mark(hit: Hit) -> str:
    """The mark for an answer's excerpt that only may be related, or nothing."""
    return RELATED_MARK if hit.possibly_related else ""


def questions_note(questions: int) -> list[str]:
    """The line said of a message asking several things, which is searched as a whole; none for one question."""
    if questions < 2:
        return []
    return [f"你的消息里有 {questions} 个问题，下面按整段内容查找；要分别查，请一个一个发。"]


def notes(repairs: Sequence[tuple[str, str]], related: bool, questions: int = 0) -> list[str]:
    """Lines said before excerpts: that a message asking several things was searched as a whole, how typos and
    English words were read (one line for all), and whether they only may be related."""
    lines = questions_note(questions)
    if repairs:
        searched = "".join(f"“{searched}”" for _, searched in repairs)
        typed = "".join(f"“{typed}”" for typed, _ in repairs)
        lines.append(f"按{searched}查找（你输入的是{typed}）。")
    if related:
        lines.append(RELATED_HEADER)
    return lines


def answer_notes(reply: Answer) -> list[str]:
    """notes() for an answer; its first page says how many questions the message asked."""
    return notes(reply.repairs, reply.related, reply.questions if reply.first == 1 else 0)


_COVERS = "整顿软弱涣散党组织、村两委、第一书记、党员队伍、村集体经济等"
_EXAMPLES = "例如：“软弱涣散村党组织怎么整顿”“第一书记怎么发挥作用”。"
_ASK_BETTER = (
    "可以试试：用更短的问题，只留关键词（如“第一书记 作用”“村两委 矛盾”），"
    "或换成报告里常用的说法（如“软弱涣散”“整顿”“带头人”）。"
)
# A question outside the work: say what the bot knows and how its questions look; telling the asker to use
# report words (软弱涣散) suggested a question about 新农合 might be answered if only reworded.
NOTHING_FOUND = (
    "没有找到相关内容：这个问题不在我的资料范围内。\n"
    f"我只回答基层党建方面的问题（{_COVERS}），答案都摘自真实的工作报告，"
    f"{_EXAMPLES}"
    "如果问的是党建工作，可以只留关键词再问（如“第一书记 作用”）。"
)
# For a question about the work that no passage answers: what the reports cover, said without reading as a rebuke
# for asking off-topic, and how to ask better.
NOTHING_FOUND_ON_TOPIC = f"资料里没有找到能回答这个问题的段落（资料收的是{_COVERS}方面的工作报告）。\n{_ASK_BETTER}"


# A question with no Chinese at all (English, pinyin) was not read, which is not the same as off-topic: the reports
# are Chinese, and English is read only inside a Chinese question about the work (retrieval/english.py).
NOT_IN_CHINESE = (
    f"请用汉字提问（不支持只用英文或拼音），我只回答基层党建方面的问题。{_EXAMPLES}\n"
    "Please ask in Chinese characters: the reports are in Chinese, so I can't search English or pinyin."
)
# A link alone: the bot reads no web pages (no fetching at run time), so say what to send instead.
LINK_ONLY = "我打不开链接。请把要问的问题或文章里相关的文字直接发给我；要把文章加入资料，请联系管理员上传。"
_HAN_CHARACTER = re.compile(f"[{HAN}\U00020000-\U0003FFFF]")
_LATIN_LETTER = re.compile("[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F]")
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def nothing_found_message(about_the_work: bool, question: str) -> str:
    """Say nothing matched, and how to ask better; what the bot knows, unless the question was about it; to send text,
    for a link alone; to ask in Chinese, for letters alone."""
    folded = unicodedata.normalize("NFKC", question)  # full-width letters, and Kangxi radicals pasted from PDFs
    if _LINK.search(folded) and not _LINK.sub("", folded).strip():
        return LINK_ONLY
    if _LATIN_LETTER.search(folded) and not _HAN_CHARACTER.search(folded):
        return NOT_IN_CHINESE
    return NOTHING_FOUND_ON_TOPIC if about_the_work else NOTHING_FOUND


def nothing_found_text(reply: NothingFound) -> str:
    """Say nothing matched, what the bot knows, and how to ask better."""
    if reply.after_more:
        return "没有更多相关段落了。可以换个说法重新提问。"
    return "\n".join([*questions_note(reply.questions), nothing_found_message(reply.about_the_work, reply.question)])


_SAVE_AS_DOCX = "请在 WPS 或 Word 中“另存为” .docx 后再上传"
REJECTION_TEXT: dict[Rejection, str] = {  # why a file was not ingested, as an admin in chat reads it
    Rejection.UNSUPPORTED_FORMAT: "不支持这种文件格式，请发送 .txt、.md、.html、.docx、.doc、.wps 或 .pdf 文件",
    Rejection.TOO_LARGE: "文件太大",
    Rejection.UNREADABLE: "服务器无法读取这个文件",
    Rejection.EMPTY: "文件是空的",
    Rejection.NO_TEXT: "文件里没有可读的文字",
    Rejection.BINARY: "这不是文本文档（像是二进制文件）",
    Rejection.CANNOT_DECODE: "无法识别文件的文字编码",
    Rejection.ARCHIVE: "这是 zip 压缩包，不是文档，请解压后发送其中的文件",
    Rejection.CORRUPT: "文件已损坏，无法打开",
    Rejection.ENCRYPTED: "PDF 有密码保护，无法读取",
    Rejection.NO_TEXT_LAYER: "PDF 里没有文字层（可能是扫描件），请提供文字版",
    Rejection.NOT_WORD: "文件内容不是 Word/WPS 文档",
    Rejection.NO_CONVERTER: f"无法读取 .doc/.wps 文件：服务器未安装 LibreOffice。{_SAVE_AS_DOCX}",
    Rejection.CONVERSION_TIMED_OUT: f"LibreOffice 转换 .doc/.wps 文件超时。{_SAVE_AS_DOCX}",
    Rejection.CONVERSION_FAILED: f"LibreOffice 无法转换这个 .doc/.wps 文件（可能已损坏或有密码保护）。{_SAVE_AS_DOCX}",
    Rejection.OVER_LIMIT: "文件过大或过于复杂，请拆分或精简后再上传",
    Rejection.PARSER_FAILED: "文件无法解析（可能已损坏）",
    Rejection.WORKER_FAILED: "服务器暂时无法解析文件，请稍后再发送",
    Rejection.CANCELLED: "解析被中断，请重新发送",
}


def rejection_text(rejection: Rejection | None) -> str:
    """Why a file was not ingested, in Chinese."""
    return REJECTION_TEXT[rejection] if rejection is not None else "无法读取这个文件"


def ingest_text(report: IngestReport, script: str = Script.SIMPLIFIED) -> str:
    """What an admin reads after sending a file; titles and sources in `script`, file names as sent."""
    if report.status is IngestStatus.REJECTED:
        return f"没有导入 {report.file_name}：{rejection_text(report.rejection)}。没有做任何改动。"
    if report.status is IngestStatus.UNCHANGED:
        return f"{report.file_name} 已经导入过，内容没有变化。"
    verb = "已导入" if report.status is IngestStatus.ADDED else "已更新"
    same = f"（与 {report.same_as} 内容相同）" if report.same_as else ""
    lines = [f"{verb} {report.file_name}{same}，识别出 {len(report.articles)} 篇：", ""]
    for number, article in enumerate(report.articles, start=1):
        copy = "（与已有文档相同，只保留一份）" if article.republished else ""
        lines.append(f"{number}. {citation(article, script)} · {article.passages} 段{copy}")
    lines += ["", "现在就可以检索。"]
    return "\n".join(lines)


def document_text(info: DocumentInfo) -> str:
    """What `/doc ID` shows; the document's own words in the reply's script, its file name as stored."""
    doc = info.document
    lines = [
        f"文档 {doc.id}：{'《' + doc.title + '》' if doc.title else UNTITLED}",
        f"来源：{doc.source or UNKNOWN_SOURCE}",
        f"日期：{doc.date or UNKNOWN_DATE}",
    ]
    if doc.author:
        lines.append(f"作者：{doc.author}")
    if doc.region:
        lines.append(f"地区：{doc.region}")
    if doc.sections:
        lines.append("章节：" + "；".join(doc.sections))
    if doc.duplicate_of:
        lines.append(f"段落：与文档 {doc.duplicate_of} 内容相同，检索时只用那一份")
    else:
        lines.append(f"段落：{doc.passages} 段")
    if doc.also_in and not doc.duplicate_of:
        lines.append("也见于：" + "，".join(doc.also_in))
    return in_script("\n".join(lines), info.script) + f"\n文件：{doc.file_name}"


def stats_text(stats: Stats) -> str:
    """What an admin's /stats (统计) shows."""
    q = stats.questions
    share = f"（{q.answered_week / q.week:.0%}）" if q.week else ""
    lines = [
        f"文档 {stats.documents} 篇，可检索段落 {stats.passages} 段",
        f"今天提问 {q.today} 次，近 7 天 {q.week} 次，其中找到答案 {q.answered_week} 次{share}",
        f"近 7 天反馈：👍 {q.votes_up_week}  👎 {q.votes_down_week}",
    ]
    if q.unanswered:
        lines.append("近 7 天没找到答案的问题（可据此补充材料）：")
        lines += [f"  {n}. {clip(text, 40)}（{times} 次）" for n, (text, times) in enumerate(q.unanswered, start=1)]
    else:
        lines.append("近 7 天没有找不到答案的问题。")
    return "\n".join(lines)


def reindexed_text(reply: Reindexed) -> str:
    """The result of a rebuild."""
    return f"索引已重建：{reply.report.passages} 段，用时 {reply.report.seconds:.1f} 秒。"


def confirm_removal_text(reply: ConfirmRemoval) -> str:
    """What 删除 N shows before anything is removed."""
    doc = reply.document
    lines = [f"将删除文件 {doc.path}，其中 {len(reply.file_documents)} 篇文档会从检索中移除："]
    lines += [
        f"  文档 {d.id}：{'《' + d.title + '》' if d.title else UNTITLED}{KEPT_ELSEWHERE if _held_elsewhere(d) else ''}"
        for d in reply.file_documents
    ]
    lines += ["", f"确认请回复“确认删除 {doc.id}”（{reply.minutes} 分钟内有效）；不回复则不做任何改动。"]
    return "\n".join(lines)


KEPT_ELSEWHERE = "（另有文件内容相同，检索中仍会出现）"


def _held_elsewhere(doc: DocumentRow) -> bool:
    """Whether another file holds the document's text: it is a copy, or others are copies of it."""
    return doc.duplicate_of is not None or bool(doc.also_in)


def removed_text(reply: Removed) -> str:
    """The result of a confirmed removal."""
    if not reply.removals:
        return "这个文件已经不在了，没有做任何改动。"
    return "\n".join(_removed_line(removal) for removal in reply.removals)


def _removed_line(removal: Removal) -> str:
    if not removal.kept:
        return f"已删除 {removal.path}（{len(removal.titles)} 篇），检索中不会再出现。"
    return f"已删除 {removal.path}（{len(removal.titles)} 篇）；其中 {removal.kept} 篇另有文件内容相同，检索中仍会出现。"


def common_text(reply: Reply) -> str:
    """Plain text for every reply that reads the same on all channels."""
    match reply:
        case NothingFound():
            return nothing_found_text(reply)
        case DocumentInfo():
            return document_text(reply)
        case Stats():
            return stats_text(reply)
        case Ingested():
            return ingest_text(reply.report, reply.script)
        case Reindexed():
            return reindexed_text(reply)
        case ConfirmRemoval():
            return confirm_removal_text(reply)
        case Removed():
            return removed_text(reply)
        case Pending():
            return reply.text
        case Notice():
            return reply.text
        case Silence():
            return ""
    raise TypeError(f"cannot render {type(reply).__name__}")


def _answer_plain(reply: Answer, limit: int | None) -> str:
    notes = answer_notes(reply)
    blocks = ["\n".join(notes)] if notes else []
    blocks += [
        f"【{number}】{related_mark(hit)}{in_script(clip(excerpt(hit.text), limit), reply.script)}\n"
        f"—— {citation(hit, reply.script)}"
        for number, hit in enumerate(reply.hits, start=reply.first)
    ]
    more = "回复“更多”看后面的段落；" if reply.has_more else ""
    blocks.append(f"{more}回复“上下文 N”（或“全文 N”）看第 N 段的前后文。")
    return "\n\n".join(blocks)


def _context_plain(reply: Context, limit: int | None) -> str:
    shown = [in_script(clip(text, limit), reply.script) for text in (*reply.before, reply.passage.text, *reply.after)]
    mark = len(reply.before)
    shown[mark] = f"【{reply.number}】{shown[mark]}"
    return f"{citation(reply.passage, reply.script)}（文档 {reply.passage.document_id}）\n\n" + "\n\n".join(shown)


def _longest(reply: Answer | Context) -> int:
    if isinstance(reply, Answer):
        return max(len(hit.text) for hit in reply.hits)
    return max(len(text) for text in (*reply.before, reply.passage.text, *reply.after))


def render_plain(reply: Reply) -> str:
    """Plain text for the terminal chat (no escape sequence from a document reaches the terminal)."""
    match reply:
        case Answer():
            return safe_text(_answer_plain(reply, None))
        case Context():
            return safe_text(_context_plain(reply, None))
    return safe_text(common_text(reply))


def render_wecom(reply: Reply) -> str:
    """Plain text within WeCom's 2048-byte limit: excerpts are shortened, never a character cut in half."""
    match reply:
        case Answer():
            text = fit(lambda limit: safe_text(_answer_plain(reply, limit)), fits_wecom, _longest(reply))
        case Context():
            text = fit(lambda limit: safe_text(_context_plain(reply, limit)), fits_wecom, _longest(reply))
        case _:
            text = safe_text(common_text(reply))
    return cut_to_bytes(text)  # a no-op unless even the shortest excerpts do not fit (many, with long titles)


def _answer_html(reply: Answer, limit: int | None) -> str:
    notes = answer_notes(reply)
    blocks = [f"<i>{html.escape(chr(10).join(notes), quote=False)}</i>"] if notes else []
    blocks += [
        f"<b>{number}.</b> {f'<i>{related_mark(hit)}</i>' if hit.possibly_related else ''}"
        f"{marked_html(excerpt(hit.text), _within(hit.highlights, len(hit.text.rstrip())), limit, reply.script)}\n"
        f"<i>—— {html.escape(citation(hit, reply.script), quote=False)}</i>"
        for number, hit in enumerate(reply.hits, start=reply.first)
    ]
    return "\n\n".join(blocks)


def _context_html(reply: Context, limit: int | None) -> str:
    passage, script = reply.passage, reply.script
    title = in_script(clip(passage.title, MAX_TITLE_CHARS), script) or untitled(passage, script)
    head = f"<b>{html.escape(title, quote=False)}</b>\n"
    details = [passage.source or UNKNOWN_SOURCE, passage.date or UNKNOWN_DATE]
    if passage.section:
        details.append(clip(passage.section, MAX_TITLE_CHARS))
    head += html.escape(in_script(" · ".join(details), script), quote=False) + f"（文档 {passage.document_id}）"
    before = [marked_html(text, (), limit, script) for text in reply.before]
    after = [marked_html(text, (), limit, script) for text in reply.after]
    focus = f"<b>【{reply.number}】</b><u>{marked_html(passage.text, (), limit, script)}</u>"
    return "\n\n".join([head, *before, focus, *after])


def render_telegram(reply: Reply) -> str:
    """Telegram HTML within 4096 characters; all text escaped, matched terms in bold."""
    match reply:
        case Answer():
            marked = fit(lambda limit: safe_text(_answer_html(reply, limit)), fits_telegram, _longest(reply))
        case Context():
            marked = fit(lambda limit: safe_text(_context_html(reply, limit)), fits_telegram, _longest(reply))
        case _:
            marked = ""
    if marked and fits_telegram(marked):
        return marked
    text = render_plain(reply)  # safe, and no markup, so it can be cut anywhere
    return fit(lambda limit: html.escape(clip(text, limit), quote=False), fits_telegram, len(text))


# ---------------------------------------------------------------- what the `rectbot` commands print

UNTITLED_EN = "(untitled)"
LISTED_INDENT = "    "  # details under a listed file or document


def hit_json(hit: Hit) -> dict[str, object]:
    """A hit as the JSON object `rectbot ask --json` prints."""
    return {
        "text": hit.text,
        "title": hit.title,
        "source": hit.source,
        "date": hit.date,
        "doc_id": hit.doc_id,
        "passage_id": hit.passage_id,
        "section": hit.section,
        "author": hit.author,
        "region": hit.region,
        "file_name": hit.file_name,
        "possibly_related": hit.possibly_related,
        "score": round(hit.score, 4),
        "matched_terms": list(hit.matched_terms),
    }


def result_json(question: str, result: SearchResult) -> dict[str, object]:
    """`--json`: confident excerpts in `hits` (each saying whether it only may be related), possibly related ones in
    `related`, and how the question was read."""
    return {
        "question": question,
        "confidence": str(result.confidence),
        "hits": [hit_json(h) for h in result.hits],
        "related": [hit_json(h) for h in result.related],
        "searched_as": [{"typed": typed, "searched": searched} for typed, searched in result.query.repairs],
        # A message asking two or more things is searched as a whole: its questions, to send one by one.
        "questions": list(separate_questions(question)),
    }


def result_plain(question: str, result: SearchResult, show_question: bool, script: str = Script.SIMPLIFIED) -> str:
    """Numbered excerpts with their citations (marked when only possibly related), or a plain 'nothing found'."""
    lines = [f"问：{question}"] if show_question else []
    lines += notes(result.query.repairs, related=bool(result.related), questions=len(separate_questions(question)))
    if not result.shown:
        lines.append(nothing_found_message(result.about_the_work, question))
    for number, hit in enumerate(result.shown, start=1):
        lines.append(
            f"【{number}】{related_mark(hit)}{in_script(excerpt(hit.text), script)}\n{LISTED_INDENT}—— {citation(hit, script)}\n"
        )
    return safe_text("\n".join(lines))


def ingest_plain(report: IngestReport) -> str:
    """One file's outcome, as `rectbot ingest` prints it: status, path, reason, and each article found."""
    detail = f" ({report.reason})" if report.reason else ""
    articles = "".join(
        f"\n{LISTED_INDENT}{a.title or UNTITLED_EN} | {a.date or 'date unknown'} | {a.source or 'source unknown'}"
        f" | {a.passages} passages{' | republished copy, not searched twice' if a.republished else ''}"
        for a in report.articles
    )
    return safe_text(f"{report.status:<9} {report.path}{detail}{articles}")


def removal_plan_plain(paths: Sequence[str], documents: Sequence[DocumentRow]) -> str:
    """The files `rectbot remove` is about to remove, each with its documents."""
    lines = []
    for path in paths:
        lines.append(f"{path}:")
        lines += [f"{LISTED_INDENT}#{doc.id} {doc.title or UNTITLED_EN}" for doc in documents if doc.path == path]
    return safe_text("\n".join(lines))


def removed_plain(removal: Removal) -> str:
    """A file `rectbot remove` removed."""
    return safe_text(f"removed   {removal.path} ({len(removal.titles)} documents)")


def reindexed_plain(report: ReindexReport) -> str:
    """What `rectbot reindex` did."""
    return f"indexed {report.passages} passages in {report.seconds:.2f} s"


def document_plain(doc: DocumentRow) -> str:
    """A document as `rectbot docs` lists it."""
    copy = f" | copy of #{doc.duplicate_of}" if doc.duplicate_of else ""
    also = f" | also in: {', '.join(doc.also_in)}" if doc.also_in and not doc.duplicate_of else ""
    lines = [
        f"#{doc.id} {doc.title or UNTITLED_EN}",
        f"{LISTED_INDENT}{doc.date or 'date unknown'} | {doc.source or 'source unknown'} | {doc.author or '-'} | "
        f"{doc.region or '-'} | {doc.passages} passages{copy}{also} | {doc.path}",
    ]
    if doc.sections:
        lines.append(f"{LISTED_INDENT}sections: {', '.join(doc.sections)}")
    return safe_text("\n".join(lines))


def eval_plain(report: EvalReport, verbose: bool = False) -> str:
    """The metrics `rectbot eval` prints, after one line per question when verbose."""
    lines = []
    if verbose:
        for result in report.results:
            mark = "ok " if (result.first_good_rank or 0) and result.first_good_rank <= 3 else "-- "
            if result.question.kind == "abstain":
                mark = "ok " if result.hits == 0 else "-- "
            lines.append(f"{mark}{result.question.id} [{result.question.kind}] rank={result.first_good_rank} "
                         f"hits={result.hits} related={result.related} {result.question.q}")
    lines += [
        f"questions: {len(report.answerable)} answerable, {len(report.abstain)} abstain",
        f"Hit@1  {report.hit_at(1):.3f}",
        f"Hit@3  {report.hit_at(3):.3f}",
        f"MRR@5  {report.mrr_at_5:.3f}",
        f"paraphrase Hit@3  {report.hit_at(3, 'paraphrase'):.3f}",
        f"Abstain {report.abstain_rate:.3f}",
    ]
    return safe_text("\n".join(lines))


def info_plain(facts: Sequence[tuple[str, str]], settings: Sequence[tuple[str, str]]) -> str:
    """`rectbot info`: what is installed and where, then every setting in effect (secrets only as set or not)."""
    width = max(len(label) for label, _ in facts)
    lines = [f"{label:<{width}}  {value}" for label, value in facts]
    lines += ["", "configuration in effect (environment over file over default):"]
    lines += [f"  {key} = {value}" for key, value in settings]
    return "\n".join(lines)


def backup_plain(report: BackupReport) -> str:
    """The one line `rectbot backup` prints."""
    return (f"backed up to {report.target} ({report.size / 1e6:.1f} MB: {report.documents} documents, "
            f"{report.questions} questions); restore by stopping rectbot and putting it in place of the database")


EXPORT_FIELDS = ("id", "asked_at", "channel", "chat_type", "question", "answered", "excerpts", "votes_up", "votes_down")


def questions_csv(questions: Sequence[LoggedQuestion]) -> str:
    """The question log as CSV with a header row (UTF-8 with BOM: Excel on Windows then reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    for q in questions:
        writer.writerow([getattr(q, name) for name in EXPORT_FIELDS])
    return "\ufeff" + buffer.getvalue()


def questions_jsonl(questions: Sequence[LoggedQuestion]) -> str:
    """The question log as one JSON object per line."""
    return "".join(json.dumps(dataclasses.asdict(q), ensure_ascii=False) + "\n" for q in questions)
