"""Tokenisation: normalised text -> jieba words (search mode), character bigrams; stopwords and punctuation dropped."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import jieba

from retrieval.text import HAN_RUN, MEANINGFUL, is_han, normalize
from retrieval.thesaurus import Thesaurus, data_lines

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
DOMAIN_WORDS = DATA_DIR / "domain_words.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"
FILLERS = DATA_DIR / "fillers.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"
THESAURUS = DATA_DIR / "thesaurus.txt"
THESAURUS_EXTRA = DATA_DIR / "thesaurus_extra.txt"

_LATIN_OR_NUMBER = re.compile(r"[a-z0-9]+")
# Frequency given to thesaurus and filler words so jieba keeps them whole (domain_words.txt may set its own).
_ADDED_WORD_FREQ = 2000


def bigrams(normalized: str) -> list[str]:
    """Overlapping character pairs inside each run of Han characters (a lone character stands for itself),
    and each latin word or number, in order."""
    grams: list[str] = []
    for match in re.finditer(rf"{HAN_RUN.pattern}|{_LATIN_OR_NUMBER.pattern}", normalized):
        run = match.group()
        if not is_han(run) or len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


@dataclass
class Tokenizer:
    """jieba behind a small interface, initialised once; the same pipeline for questions and passages."""

    cache_dir: Path | None = None
    domain_words: Path = DOMAIN_WORDS
    stopwords_file: Path = STOPWORDS
    fillers_file: Path = FILLERS
    thesaurus_files: tuple[Path, ...] = (SYNONYMS, THESAURUS, THESAURUS_EXTRA)
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
        # Thesaurus keys and fillers are whole words, so a question is cut the way the thesaurus reads it.
        for word in sorted(self.thesaurus.words | self.fillers):
            # Latin words stay as jieba cuts them: adding them would split English text (alleviati + on).
            if len(word) > 1 and not word.isascii() and self._jieba.FREQ.get(word, 0) < _ADDED_WORD_FREQ:
                self._jieba.add_word(word, _ADDED_WORD_FREQ)
        for line in data_lines(self.domain_words):
            word, *rest = line.split()
            freq = int(rest[0]) if rest else None
            tag = rest[1] if len(rest) > 1 else None
            self._jieba.add_word(normalize(word), freq, tag)

    @cached_property
    def stopwords(self) -> frozenset[str]:
        """Function words dropped from passages and questions."""
        return frozenset(normalize(word) for word in data_lines(self.stopwords_file))

    @cached_property
    def fillers(self) -> frozenset[str]:
        """Question words and spoken fillers (咋办, 请问, 搞): dropped from questions only."""
        return frozenset(normalize(word) for word in data_lines(self.fillers_file)) if self.fillers_file.exists() \
            else frozenset()

    @cached_property
    def thesaurus(self) -> Thesaurus:
        """How staff speak -> how reports write."""
        return Thesaurus.load(path for path in self.thesaurus_files if path.exists())

    @cached_property
    def domain_vocabulary(self) -> frozenset[str]:
        """Words of party-building work: the domain dictionary and every thesaurus word."""
        words = {normalize(line.split()[0]) for line in data_lines(self.domain_words)}
        return frozenset(words | self.thesaurus.report_words)

    @cached_property
    def _domain_pieces(self) -> frozenset[str]:
        """Every run of two or more characters inside a domain word (书记 in 党支部书记)."""
        return frozenset(
            word[i:j] for word in self.domain_vocabulary for i in range(len(word)) for j in range(i + 2, len(word) + 1)
        )

    def is_domain_word(self, word: str) -> bool:
        """Whether a word of two or more characters is, holds, or is part of a party-building word."""
        if len(word) < 2:
            return False
        vocabulary = self.domain_vocabulary
        return word in self._domain_pieces or any(
            word[i:j] in vocabulary for i in range(len(word)) for j in range(i + 2, len(word) + 1)
        )

    @cached_property
    def repair_vocabulary(self) -> frozenset[str]:
        """Domain words and the words they are made of (书记 of 第一书记): what a typo may be repaired into."""
        return frozenset(part for word in self.domain_vocabulary for part in self.parts(word)) | self.domain_vocabulary

    @cached_property
    def version(self) -> str:
        """Identifies everything that shapes the tokens, so a stale index can be detected."""
        digest = hashlib.sha256()
        for path in (self.domain_words, self.stopwords_file, self.fillers_file, *self.thesaurus_files):
            digest.update(path.read_bytes() if path.exists() else b"-")
        return f"jieba {version('jieba')}; hmm {self.hmm}; data {digest.hexdigest()[:16]}"

    def cut(self, normalized: str) -> list[str]:
        """jieba's precise cut of normalised text, blanks dropped (one reading, no overlapping parts)."""
        return [w for w in self._jieba.cut(normalized, HMM=self.hmm) if w.strip()]

    def known(self, word: str) -> bool:
        """Whether jieba's dictionary (with ours) holds the word."""
        return self._jieba.FREQ.get(word, 0) > 0

    def tokens(self, text: str) -> list[str]:
        """The words a passage or question is ranked by (search mode: long words also yield their parts)."""
        return self.words_of(normalize(text))

    def words_of(self, normalized: str) -> list[str]:
        """tokens() of text that is already normalised."""
        return [
            word
            for word in self._jieba.cut_for_search(normalized, HMM=self.hmm)
            if word not in self.stopwords and MEANINGFUL.search(word)
        ]

    def parts(self, word: str) -> list[str]:
        """The shorter words, of two or more characters, that a word is made of, left to right, not overlapping
        (发挥作用 -> 发挥, 作用; 软弱涣散村 -> 软弱涣散): overlapping ones would invent words across the joins
        (今天天气 holds 天天, which is not what it says)."""
        known = {part for part in self.words_of(word) if part != word and len(part) > 1}
        parts, at = [], 0
        while at < len(word):
            part = next((word[at:end] for end in range(len(word), at + 1, -1) if word[at:end] in known), None)
            if part:
                parts.append(part)
            at += len(part) if part else 1
        return parts

    def bigrams(self, text: str) -> list[str]:
        """Character bigrams of a passage (see bigrams())."""
        return bigrams(normalize(text))
