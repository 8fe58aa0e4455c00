"""Text normalisation for matching: NFKC, traditional to simplified, pinyin notes, case; safe text for every channel."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from typing import Any

import opencc

TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # the Han code point ranges, for character classes
_ALL_HAN = re.compile(rf"[{HAN}]+")
HAN_RUN = _ALL_HAN  # a run of Han characters
# A word worth indexing holds a Han character, a latin letter or a digit.
MEANINGFUL = re.compile(rf"[{HAN}a-z0-9]")

# A reading note glued after a character, as some sites print them: 網(wǎng), 區(qū), 據(jù).
# Only a single tone-marked syllable right after a Han character counts, so that
# ordinary brackets such as 村(社区) or (2014) are left alone.
# The expression starts at the bracket and looks back past it: one starting with a look-behind is tried at every
# character, this one only at brackets (four times faster on long text, the same matches).
PINYIN_NOTE = re.compile(
    rf"[(（](?<=[{HAN}][(（])(?=[a-zü{TONE_VOWELS}]*[{TONE_VOWELS}])[a-zü{TONE_VOWELS}]{{1,7}}[)）]"
)

# Characters removed before phrase matching: an expected phrase is found in an excerpt whatever its spacing and
# punctuation (quotes, brackets, 、，。：；！？, dashes).
_PUNCT_FOR_MATCHING = re.compile(
    r"[\s\"'“”‘’「」『』《》〈〉()（）\[\]【】〔〕、，,。.：:；;！!？?—–\-－~～…·•]+"
)
_PUNCTUATION_BY_TABLE = 2000  # from this length without_punctuation() looks characters up in a table


# Controls that end a line in some file or system (VT, FF, FS, GS, RS, NEL), and CR: read as a newline.
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85]")
# Code points no document, question or reply should hold: C0 controls other than tab and newline, DEL and the
# C1 controls, surrogates (what invalid bytes become under surrogateescape; UTF-8 and XML refuse them), and
# the non-characters (U+FDD0-U+FDEF and the last two of every plane; XML refuses U+FFFE and U+FFFF).
_INVALID = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | 0xFFFE) + "-" + chr(plane << 16 | 0xFFFF) for plane in range(17))
    + "]"
)


# The same checks in two cheap parts: regular expressions whose class reaches beyond the first plane are
# several times slower on every character, and most text never leaves it.
_INVALID_IN_FIRST_PLANE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_BEYOND_FIRST_PLANE = re.compile("[\U00010000-\U0010ffff]")


def safe_text(text: str) -> str:
    """text that every channel carries (UTF-8, XML 1.0, Telegram HTML once escaped): line-break controls and CR
    become newlines, and invalid code points (see _INVALID) are removed; valid text is returned unchanged."""
    if _INVALID_IN_FIRST_PLANE.search(text) is None and (
        _BEYOND_FIRST_PLANE.search(text) is None or _INVALID.search(text) is None
    ):
        return text
    return _INVALID.sub("", _LINE_BREAKS.sub("\n", text))


def is_han(text: str) -> bool:
    """Whether text is one or more Han characters and nothing else."""
    return _ALL_HAN.fullmatch(text) is not None


def strip_pinyin_notes(text: str) -> str:
    """Remove pinyin reading notes glued after characters: 網(wǎng) -> 網."""
    return PINYIN_NOTE.sub("", text)


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified ones (OpenCC takes only safe text)."""
    return _converter().convert(safe_text(text))


def as_stored(text: str) -> str:
    """The text unchanged."""
    return text


class Script(StrEnum):
    """A script text can be shown in; the config's display.script picks one."""

    SIMPLIFIED = "simplified"  # traditional characters converted
    ORIGINAL = "original"  # as the document is written


SCRIPTS: dict[str, Callable[[str], str]] = {Script.SIMPLIFIED: to_simplified, Script.ORIGINAL: as_stored}


def in_script(text: str, script: str) -> str:
    """text shown in one of SCRIPTS (a KeyError names an unknown one)."""
    return SCRIPTS[script](text)


_NFKC_BY_LINES = 2000  # from this length nfkc() normalises only the lines that need it
# The compatibility characters Chinese web text is full of (full-width punctuation, the ideographic space, the
# ellipsis), each with its NFKC.
_FREQUENT = {character: unicodedata.normalize("NFKC", character) for character in "，：；（）！？％＋－／～　…"}


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), faster on long Chinese text.

    CPython normalises a whole string at 150 ns a character as soon as one character needs it. Replacing a
    character by its own NFKC keeps the text's NFKC the same (both decompose alike), and a newline neither
    composes nor reorders with its neighbours, so each line can be normalised alone: most lines, once the
    frequent full-width punctuation is replaced, are already in NFKC, which unicodedata checks in microseconds.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    if len(text) < _NFKC_BY_LINES:
        return unicodedata.normalize("NFKC", text)
    for character, image in _FREQUENT.items():
        if character in text:
            text = text.replace(character, image)
    return "\n".join(
        line if unicodedata.is_normalized("NFKC", line) else unicodedata.normalize("NFKC", line)
        for line in text.split("\n")
    )


def normalize(text: str) -> str:
    """Normalise text for matching: NFKC (full-width to half-width), pinyin notes, simplified, lower case."""
    return to_simplified(nfkc(strip_pinyin_notes(text))).lower()


def normalize_for_phrase_match(text: str) -> str:
    """Normalise as the evaluation does: normalize(), then drop whitespace and punctuation."""
    return without_punctuation(normalize(text))


def text_fingerprint(text: str) -> str:
    """Identifies a text whatever its script, punctuation or spacing."""
    return fingerprint_of_normalized(normalize(text))


def fingerprint_of_normalized(normalized: str) -> str:
    """text_fingerprint() of a text already normalize()d."""
    return hashlib.sha256(without_punctuation(normalized).encode("utf-8")).hexdigest()


def without_punctuation(text: str) -> str:
    """text without the whitespace and punctuation phrase matching ignores (_PUNCT_FOR_MATCHING)."""
    if len(text) < _PUNCTUATION_BY_TABLE:
        return _PUNCT_FOR_MATCHING.sub("", text)
    # An article's text has a mark every few characters: the expression makes a match object for each (1.3 ms
    # for 25,000 characters), a lookup over the code points as numbers takes a sixth of that.
    import numpy as np  # imported here: `rectbot --help` and the chat channels import this module, not numpy

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return codes[~_punctuation_table()[codes]].tobytes().decode("utf-32-le", "surrogatepass")


@lru_cache(maxsize=1)
def _punctuation_table() -> Any:
    """A boolean per code point: whether _PUNCT_FOR_MATCHING matches it (read off the expression itself, 50 ms)."""
    import numpy as np

    every = np.arange(0x110000, dtype=np.uint32)
    kept = _PUNCT_FOR_MATCHING.sub("", every.tobytes().decode("utf-32-le", "surrogatepass"))
    table = np.ones(len(every), dtype=bool)
    table[np.frombuffer(kept.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)] = False
    return table
