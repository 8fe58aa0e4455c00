"""A reply -> text for a terminal (the Telegram and WeCom renderers sit beside this one)."""

from __future__ import annotations

from bot.core import Answer, Context, NothingFound, Notice, Reply
from retrieval.search import Hit

UNKNOWN_DATE = "日期不详"
UNKNOWN_SOURCE = "来源不详"


def citation(hit: Hit) -> str:
    """《title》 source · date (section), with unknowns said plainly."""
    parts = [f"《{hit.title}》" if hit.title else "（无标题）", hit.source or UNKNOWN_SOURCE, hit.date or UNKNOWN_DATE]
    if hit.section:
        parts.append(hit.section)
    return " · ".join(parts)


def nothing_found_text(reply: NothingFound) -> str:
    """Say nothing matched and how to ask better."""
    if reply.after_more:
        return "没有更多相关段落了。可以换个说法重新提问。"
    return (
        "没有找到与这个问题相关的报告段落。\n"
        "可以试试：用更短的问题，只留关键词（如“第一书记 作用”“村两委 矛盾”），"
        "或换成报告里常用的说法（如“软弱涣散”“整顿”“带头人”）。"
    )


def render_plain(reply: Reply) -> str:
    """Plain text for the terminal chat and `rectbot ask`."""
    match reply:
        case Answer():
            blocks = []
            for number, hit in enumerate(reply.hits, start=reply.first):
                blocks.append(f"【{number}】{hit.text}\n    —— {citation(hit)}")
            footer = "回复“更多”看后面的段落，" if reply.has_more else ""
            blocks.append(f"{footer}回复“上下文 N”看第 N 段的前后文。")
            return "\n\n".join(blocks)
        case NothingFound():
            return nothing_found_text(reply)
        case Context():
            parts = [*reply.before, f"【{reply.number}】{reply.hit.text}", *reply.after]
            return "\n\n".join(parts) + f"\n    —— {citation(reply.hit)}"
        case Notice():
            return reply.text
    raise TypeError(f"cannot render {type(reply).__name__}")
