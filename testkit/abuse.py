"""Hostile inputs for the abuse tests and benchmarks/abuse.py (fuzzed messages, malformed files), and the check
every reply to them must pass."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

from rectbot.bot.render import render_plain, render_telegram, render_wecom
from testkit.docfactory import make_docx, make_pdf

PIECES = [
    "软弱涣散", "第一书记", "村党组织", "整顿", "怎么办", "咋整", "？", "!", " ", "\n", "\t", "🙂", "👍🏽", "\u200b",
    "<b>", "</i>", "&amp;", "]]>", "\x00", "\x01", "\x0b", "\x1b", "\ud800", "\udfff", "\ufffe", "\uffff", "\u2028",
    "網(wǎng)", "ＡＢＣ", "abc", "DROP TABLE documents;", "%s", "{0}", "\\", "'", '"', "更多", "上下文 1", "文档 1",
    "删除 1", "确认删除 1", "重建索引", "统计", "帮助", "a" * 50, "党" * 40,
]


def fuzzed_questions(count: int, seed: int = 0) -> list[str]:
    """Questions glued together from domain words, commands, markup, controls, surrogates and emoji."""
    chooser = random.Random(seed)
    questions = []
    for _ in range(count):
        parts = [chooser.choice(PIECES) for _ in range(chooser.randint(0, 8))]
        if chooser.random() < 0.2:
            parts.append("".join(chr(chooser.randint(1, 0x2FFFF)) for _ in range(chooser.randint(1, 30))))
        questions.append("".join(parts))
    return questions


def malformed_files(seed: int = 0) -> dict[str, bytes]:
    """Broken, mislabelled, binary and mis-encoded files, and one good report."""
    chooser = random.Random(seed)
    good = make_docx("冰城县整顿软弱涣散党组织的做法", ["冰城县推行“雪橇夜校”制度，组织党员冬季集中学习。"])
    files = {
        "good.docx": good,
        "truncated.docx": good[: len(good) // 2],
        "flipped.docx": bytes(b ^ 0xFF if i % 97 == 0 else b for i, b in enumerate(good)),
        "pdf-as.txt": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
        "zip-as.md": good,
        "gbk.txt": "软弱涣散村党组织整顿工作总结。".encode("gbk"),
        "utf16.txt": "软弱涣散村党组织整顿工作总结。".encode("utf-16"),
        "nul.html": b"<html>\x00\x00<body>\x00</body></html>",
        "deep.html": b"<div>" * 5000 + "整顿".encode() + b"</div>" * 5000,
        "controls.txt": "标题\x01\x02\x0b\x0c\x1b\n\n正文\ufffe里有控制字符。".encode("utf-8", "surrogatepass"),
        "surrogates.txt": "正文\ud800里有代理字符。".encode("utf-8", "surrogatepass"),
        "empty.pdf": b"",
        "noise.pdf": b"%PDF-" + bytes(chooser.randrange(256) for _ in range(3000)),
    }
    for number in range(10):
        files[f"random-{number}.txt"] = bytes(chooser.randrange(256) for _ in range(chooser.randint(1, 4000)))
    return files


def mutated_files(count: int, seed: int = 0) -> dict[str, bytes]:
    """Good files of every format, truncated, bit-flipped, spliced with noise or renamed, deterministically."""
    chooser = random.Random(seed)
    text = "冰城县整顿软弱涣散村党组织的做法\n\n冰城县推行“雪橇夜校”制度，组织党员冬季集中学习，共办四十二期。\n"
    good = {
        ".txt": text.encode(),
        ".md": ("# 冰城县的做法\n\n" + text).encode(),
        ".html": f"<html><body><h1>冰城县的做法</h1><p>{text}</p></body></html>".encode(),
        ".docx": make_docx("冰城县的做法", [text]),
        ".pdf": make_pdf([["冰城县的做法", text[:40]]]),
    }
    files = {}
    for number in range(count):
        suffix, data = chooser.choice(list(good.items()))
        how = chooser.choice(["truncate", "flip", "splice", "rename", "noise"])
        if how == "truncate":
            data = data[: chooser.randint(0, len(data))]
        elif how == "flip":
            data = bytes(b ^ (1 << chooser.randrange(8)) if chooser.random() < 0.02 else b for b in data)
        elif how == "splice":
            at = chooser.randint(0, len(data))
            data = data[:at] + bytes(chooser.randrange(256) for _ in range(chooser.randint(1, 200))) + data[at:]
        elif how == "rename":
            suffix = chooser.choice(list(good))
        else:
            data = bytes(chooser.randrange(256) for _ in range(chooser.randint(0, 5000)))
        files[f"{number:05}-{how}{suffix}"] = data
    return files


def assert_valid_for_every_channel(reply: object) -> None:
    """The reply renders for the terminal, as WeCom XML and as Telegram HTML within their limits."""
    render_plain(reply)
    wecom = render_wecom(reply)
    assert len(wecom.encode("utf-8")) <= 2048
    ET.fromstring(f"<xml><Content><![CDATA[{wecom.replace(']]>', ']]]]><![CDATA[>')}]]></Content></xml>")
    telegram = render_telegram(reply)
    assert len(telegram) <= 4096
    telegram.encode("utf-8")
