"""Tokenisation: normalised text -> jieba search-mode words, minus stopwords and punctuation."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import jieba
import jieba.posseg

from retrieval.text import normalize

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
DOMAIN_WORDS = DATA_DIR / "domain_words.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"

# A token worth indexing holds a Han character, a latin letter or a digit.
_MEANINGFUL = re.compile(r"[\u3400-\u9fff\uf900-\ufaffa-z0-9]")


def _data_lines(path: Path) -> list[str]:
    """Non-empty, non-comment lines of a data file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@dataclass
class Tokenizer:
    """jieba behind a small interface, initialised once; the same pipeline for questions and passages."""

    cache_dir: Path | None = None
    domain_words: Path = DOMAIN_WORDS
    stopwords_file: Path = STOPWORDS
    synonyms_file: Path = SYNONYMS
    hmm: bool = True
    _jieba: jieba.Tokenizer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if self.cache_dir is not None:
            # jieba caches its prefix dictionary in the system temp dir unless told otherwise.
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(self.cache_dir)
        self._jieba.initialize()
        for line in _data_lines(self.domain_words):
            word, *rest = line.split()
            freq = int(rest[0]) if rest else None
            tag = rest[1] if len(rest) > 1 else None
            self._jieba.add_word(normalize(word), freq, tag)

    @cached_property
    def stopwords(self) -> frozenset[str]:
        """Words dropped before ranking."""
        return frozenset(normalize(word) for word in _data_lines(self.stopwords_file))

    @cached_property
    def synonyms(self) -> dict[str, tuple[str, ...]]:
        """Each word of a synonym group -> the other words of its group."""
        groups: dict[str, tuple[str, ...]] = {}
        for line in _data_lines(self.synonyms_file):
            words = [normalize(word) for word in line.split()]
            for word in words:
                others = tuple(w for w in words if w != word)
                groups[word] = tuple(dict.fromkeys(groups.get(word, ()) + others))
        return groups

    @cached_property
    def version(self) -> str:
        """Identifies everything that shapes the tokens, so a stale index can be detected."""
        digest = hashlib.sha256()
        for path in (self.domain_words, self.stopwords_file):
            digest.update(path.read_bytes())
        return f"jieba {version('jieba')}; hmm {self.hmm}; data {digest.hexdigest()[:16]}"

    @cached_property
    def _tagger(self) -> jieba.posseg.POSTokenizer:
        return jieba.posseg.POSTokenizer(self._jieba)

    def place_names(self, text: str) -> set[str]:
        """Place names in a (short) text, as jieba's part-of-speech tagger marks them."""
        return {pair.word for pair in self._tagger.cut(normalize(text)) if pair.flag == "ns"}

    def segment(self, text: str) -> list[str]:
        """Normalise and segment text in jieba's search mode, keeping every word (for tests and debugging)."""
        return [w for w in self._jieba.cut_for_search(normalize(text), HMM=self.hmm) if w.strip()]

    def tokens(self, text: str) -> list[str]:
        """The words a passage or question is ranked by."""
        return [
            word
            for word in self._jieba.cut_for_search(normalize(text), HMM=self.hmm)
            if word not in self.stopwords and _MEANINGFUL.search(word)
        ]

    def synonym_tokens(self, question: str) -> list[str]:
        """The tokens of the synonyms of words a question contains, without repeats."""
        normalized = normalize(question)
        tokens = [
            token
            for word, synonyms in self.synonyms.items()
            if word in normalized
            for synonym in synonyms
            for token in self.tokens(synonym)
        ]
        return list(dict.fromkeys(tokens))

    def question_tokens(self, question: str) -> list[str]:
        """A question's tokens, then the tokens of synonyms of words it contains, without repeats."""
        return list(dict.fromkeys(self.tokens(question) + self.synonym_tokens(question)))
