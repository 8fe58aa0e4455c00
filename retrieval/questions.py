"""The separate questions in one message: a pasted situation often ends with two or three of them.

A message is searched as a whole, so its excerpts are for what the whole says; the application tells the asker which
questions it holds, so that each can be sent on its own instead of being left unanswered without a word.
"""

from __future__ import annotations

import re

from rectbot.retrieval.text import HAN_RUN

# A sentence ends at a full stop, question or exclamation mark, semicolon or line break (full- or half-width).
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_MARKED = re.compile(r"[?？]\s*$")
_STATED = re.compile(r"[。！!；;]\s*$")  # a sentence ended as a statement asks nothing (不知道该怎么办。)
_ASKING = re.compile(
    r"怎么|怎样|如何|咋|啥|什么|多少|多久|多长|哪|吗|是否|是不是|能不能|要不要|有没有|可不可以|行不行|算不算|该不该|需不需要"
)
# A question with fewer characters of its own (有啥办法？, 咋办？) follows up the one before it.
MIN_QUESTION_CHARS = 6


def separate_questions(text: str) -> tuple[str, ...]:
    """The questions of a message that asks two or more (each a sentence ending in a question mark, or one not ended
    as a statement that holds an interrogative, with six or more Chinese characters); () when it asks one."""
    found = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        asks = _MARKED.search(sentence) or (not _STATED.search(sentence) and _ASKING.search(sentence))
        if asks and sum(map(len, HAN_RUN.findall(sentence))) >= MIN_QUESTION_CHARS:
            found.append(sentence)
    return tuple(found) if len(found) >= 2 else ()
