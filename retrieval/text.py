"""Text normalisation for matching: NFKC, traditional to simplified, pinyin notes, case."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import opencc

_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ALL_HAN = re.compile(rf"[{_CJK}]+")
HAN_RUN = _ALL_HAN  # a run of Han characters
# A word worth indexing holds a Han character, a latin letter or a digit.
MEANINGFUL = re.compile(rf"[{_CJK}a-z0-9]")

# A reading note glued after a character, as some sites print them: 網(wǎng), 區(qū), 據(jù).
# Only a single tone-marked syllable right after a Han character counts, so that
# ordinary brackets such as 村(社区) or (2014) are left alone.
PINYIN_NOTE = re.compile(
    rf"(?<=[{_CJK}])[(（](?=[a-zü{_TONE_VOWELS}]*[{_TONE_VOWELS}])[a-zü{_TONE_VOWELS}]{{1,7}}[)）]"
)

# Characters removed before phrase matching (see shared/eval/README.md).
_PUNCT_FOR_MATCHING = re.compile(
    r"[\s\"'“”‘’「」『』《》〈〉()（）\[\]【】〔〕、，,。.：:；;！!？?—–\-－~～…·•]+"
)


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
    """Convert traditional Chinese characters to simplified ones."""
    return _converter().convert(text)


def as_stored(text: str) -> str:
    """The text unchanged."""
    return text


# Scripts text can be shown in, by name: the config's display.script picks one.
SCRIPTS: dict[str, Callable[[str], str]] = {"simplified": to_simplified, "original": as_stored}


def in_script(text: str, script: str) -> str:
    """text shown in one of SCRIPTS (a KeyError names an unknown one)."""
    return SCRIPTS[script](text)


def normalize(text: str) -> str:
    """Normalise text for matching: NFKC (full-width to half-width), pinyin notes, simplified, lower case."""
    text = unicodedata.normalize("NFKC", strip_pinyin_notes(text))
    return to_simplified(text).lower()


def normalize_for_phrase_match(text: str) -> str:
    """Normalise as the evaluation does: normalize(), then drop whitespace and punctuation."""
    return _PUNCT_FOR_MATCHING.sub("", normalize(text))


def text_fingerprint(text: str) -> str:
    """Identifies a text whatever its script, punctuation or spacing."""
    return hashlib.sha256(normalize_for_phrase_match(text).encode("utf-8")).hexdigest()
