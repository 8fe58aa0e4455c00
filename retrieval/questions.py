"""The separate questions in one message: a pasted situation often ends with two or three of them.

A message is searched as a whole, so its excerpts are for what the whole says; the application tells the asker which
questions it holds, so that each can be sent on its own instead of being left unanswered without a word.
"""

from __future__ import annotations

import re

from rectbot.retrieval.text import HAN_RUN

# A sentence ends at a full stop, question or exclamation mark, semicolon or line break (full- or half-width);
# not inside quotes or a title: 群众常问“为什么要整顿？”，我该怎么回答？ asks one thing.
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_QUOTED = re.compile(r"“[^”\n]*”|「[^」\n]*」|『[^』\n]*』|《[^》\n]*》")
_QUOTED_ENDS = str.maketrans("。！？!?；;", "，，，，，，，")
_ASKS = re.compile(r"[?？]\s*$")
# Fewer characters than this in a question (有啥办法？, 咋办？) follow up the one before it.
MIN_QUESTION_CHARS = 6
# Fewer than this in the whole message (第一书记是怎么选派的？有什么要求吗？) make one question with its follow-up;
# a pasted situation ending in two questions is longer.
MIN_MESSAGE_CHARS = 30


def _han(text: str) -> int:
    return sum(map(len, HAN_RUN.findall(text)))


def separate_questions(text: str) -> tuple[str, ...]:
    """The questions of a message that asks two or more: sentences ending in a question mark, with six or more
    Chinese characters, in a message of 30 or more; () otherwise. A line that asks without a mark (我不知道怎么办) is
    not told from a statement, nor a heading (二、怎么开展整顿) from a question: only marked ones count."""
    if _han(text) < MIN_MESSAGE_CHARS:
        return ()
    # Sentences are found in the text with the marks inside quotes blanked (same length), and cut from the text.
    masked = _QUOTED.sub(lambda quoted: quoted.group().translate(_QUOTED_ENDS), text)
    found = []
    for match in _SENTENCE.finditer(masked):
        sentence = text[match.start() : match.end()].strip()
        if _ASKS.search(match.group().strip()) and _han(sentence) >= MIN_QUESTION_CHARS:
            found.append(sentence)
    return tuple(found) if len(found) >= 2 else ()
