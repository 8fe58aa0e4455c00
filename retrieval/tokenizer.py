"""Tokenisation: normalised text -> jieba words (search mode), character bigrams; stopwords and punctuation dropped.

Words are cut by a segmenter chosen by name from SEGMENTERS: rjieba (jieba-rs, the default: the same dictionary
and algorithm, several times faster) or jieba itself, kept as the reference implementation.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable
from functools import cached_property, lru_cache
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, Protocol, TypeVar

from rectbot.retrieval.text import HAN_RUN, MEANINGFUL, normalize
from rectbot.retrieval.thesaurus import Thesaurus, data_lines
from rectbot.retrieval.typos import repairable, sound

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
DOMAIN_WORDS = DATA_DIR / "domain_words.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"
FILLERS = DATA_DIR / "fillers.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"
THESAURUS = DATA_DIR / "thesaurus.txt"
THESAURUS_EXTRA = DATA_DIR / "thesaurus_extra.txt"
THESAURUS_MORE = DATA_DIR / "thesaurus_more.txt"
THESAURUS_LIFE = DATA_DIR / "thesaurus_life.txt"
THESAURUS_SPOKEN = DATA_DIR / "thesaurus_spoken.txt"

_LATIN_OR_NUMBER = re.compile(r"[a-z0-9]+")
# Frequency given to thesaurus and filler words so jieba keeps them whole (domain_words.txt may set its own).
_ADDED_WORD_FREQ = 2000
# Bump when the code that turns text into tokens changes meaning (its data files are hashed into the version).
TOKENS_FORMAT = "2"
# Bump when what remembered() keeps changes layout.
REMEMBERED_FORMAT = "1"
_FREQUENCIES_FILE = "frequencies.json"
_SOUNDS_FILE = "sounds.json"
_THESAURUS_FILE = "thesaurus.json"

V = TypeVar("V")


def remembered(cache_dir: Path | None, name: str, key: str, compute: Callable[[], dict[str, V]]) -> dict[str, V]:
    """compute(), kept as JSON in cache_dir/name for the next process; a file made for another key (other
    data, another library version) or one that cannot be read is computed again and replaced."""
    key = f"{REMEMBERED_FORMAT}; {key}"
    path = cache_dir / name if cache_dir is not None else None
    if path is not None:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved["key"] == key:
                return saved["value"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # missing, partly written by a crashed older version, or not ours: computed again below
    value = compute()
    if path is not None:
        temporary = path.with_name(f".{name}.{uuid.uuid4().hex}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"key": key, "value": value}, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, path)  # whole or not at all, even with another process writing the same file
        except OSError as error:
            temporary.unlink(missing_ok=True)
            logger.warning("cannot keep %s for the next start: %s", path, error)
    return value


_HAN_OR_LATIN_RUN = re.compile(rf"({HAN_RUN.pattern})|{_LATIN_OR_NUMBER.pattern}")


def bigrams(normalized: str) -> list[str]:
    """Overlapping character pairs inside each run of Han characters (a lone character stands for itself),
    and each latin word or number, in order."""
    grams: list[str] = []
    for match in _HAN_OR_LATIN_RUN.finditer(normalized):
        run = match.group()
        if match.group(1) is None or len(run) == 1:
            grams.append(run)
        else:
            grams.extend(map(str.__add__, run[:-1], run[1:]))
    return grams


class PassageTokens(NamedTuple):
    """What a passage is indexed by: its words (search mode) and its character bigrams."""

    words: list[str]
    grams: list[str]


class Segmenter(Protocol):
    """A jieba dictionary and its cuts: what the Tokenizer needs from a jieba implementation."""

    version: str  # e.g. "jieba 0.42.1": another release may cut differently

    def frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """Each word's frequency in the dictionary, 0 for a word it does not hold."""

    def add_word(self, word: str, freq: int | None, tag: str | None) -> None:
        """Add a word (freq None: one that keeps it whole)."""

    def known(self, word: str) -> bool:
        """Whether the dictionary holds the word."""

    def cut(self, text: str, hmm: bool) -> list[str]:
        """The precise cut: one reading, no overlapping parts."""

    def cut_for_search(self, text: str, hmm: bool) -> list[str]:
        """The search cut: the precise cut, each long word preceded by its dictionary words of 2 and 3 characters."""


class JiebaSegmenter:
    """jieba itself: the reference implementation."""

    def __init__(self, cache_dir: Path | None) -> None:
        import jieba  # imports pkg_resources: only the reference segmenter pays for it

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:
            # jieba caches its prefix dictionary in the system temp dir unless told otherwise.
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        self._jieba.initialize()
        self.version = f"jieba {version('jieba')}"

    def frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """Each word's frequency in the dictionary, 0 for a word it does not hold."""
        return {word: self._jieba.FREQ.get(word, 0) for word in words}

    def add_word(self, word: str, freq: int | None, tag: str | None) -> None:
        """Add a word (freq None: one that keeps it whole)."""
        self._jieba.add_word(word, freq, tag)

    def known(self, word: str) -> bool:
        """Whether the dictionary holds the word."""
        return self._jieba.FREQ.get(word, 0) > 0

    def cut(self, text: str, hmm: bool) -> list[str]:
        """The precise cut."""
        return list(self._jieba.cut(text, HMM=hmm))

    def cut_for_search(self, text: str, hmm: bool) -> list[str]:
        """The search cut."""
        return list(self._jieba.cut_for_search(text, HMM=hmm))


class RjiebaSegmenter:
    """jieba-rs through rjieba: jieba's dictionary (built in) and algorithm, in Rust."""

    def __init__(self, cache_dir: Path | None) -> None:  # noqa: ARG002 - nothing to cache: the dictionary is built in
        self._jieba = _rjieba_class()()
        self.version = f"rjieba {version('rjieba')}"

    def frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """Each word's frequency in jieba's dictionary file, which jieba-rs builds in (rjieba cannot say)."""
        wanted = {word: 0 for word in words}
        spec = importlib.util.find_spec("jieba")  # found, not imported: importing jieba takes 0.15 s
        assert spec is not None and spec.origin is not None, "jieba is a dependency"
        with open(Path(spec.origin).parent / "dict.txt", encoding="utf-8") as dictionary:
            for line in dictionary:
                word, freq, *_ = line.split(" ", 2)
                if word in wanted:
                    wanted[word] = int(freq)
        return wanted

    def add_word(self, word: str, freq: int | None, tag: str | None) -> None:
        """Add a word (freq None: one that keeps it whole)."""
        self._jieba.add_word(word, freq, tag)

    def known(self, word: str) -> bool:
        """Whether the dictionary holds the word."""
        return self._jieba.has_word(word)

    def cut(self, text: str, hmm: bool) -> list[str]:
        """The precise cut."""
        return self._jieba.cut(text, hmm)

    def cut_for_search(self, text: str, hmm: bool) -> list[str]:
        """The search cut."""
        return self._jieba.cut_for_search(text, hmm)


def _rjieba_class() -> type:
    """rjieba's Jieba, loaded when first needed (importing this module for bigrams loads no dictionary code).

    The rjieba package builds a default Jieba when imported, which we never use: 0.1 s of every start-up and
    25 MB of every process. Its extension module alone holds the class, so that is loaded by itself, under the
    name the package would give it (a later `import rjieba` reuses it); if that fails, the package is imported.
    """
    if "rjieba" not in sys.modules and (module := sys.modules.get("rjieba.rjieba") or _rjieba_extension()):
        return module.Jieba
    import rjieba

    return rjieba.Jieba


def _rjieba_extension() -> ModuleType | None:
    """rjieba's compiled module, loaded without its package, or None when it cannot be."""
    package = importlib.util.find_spec("rjieba")
    if package is None or not package.origin:
        return None
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = Path(package.origin).parent / f"rjieba{suffix}"
        spec = importlib.util.spec_from_file_location("rjieba.rjieba", path) if path.is_file() else None
        if spec is None or spec.loader is None:
            continue
        try:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except Exception:  # another build of rjieba: its package knows how to load it
            logger.debug("loading %s alone failed; importing the rjieba package", path, exc_info=True)
            return None
        sys.modules["rjieba.rjieba"] = module
        return module
    return None


# Segmenters by name: each takes the folder it may cache its dictionary in.
SEGMENTERS: dict[str, Callable[[Path | None], Segmenter]] = {"rjieba": RjiebaSegmenter, "jieba": JiebaSegmenter}


@dataclass
class Tokenizer:
    """jieba behind a small interface, initialised once; the same pipeline for questions and passages."""

    cache_dir: Path | None = None
    domain_words: Path = DOMAIN_WORDS
    stopwords_file: Path = STOPWORDS
    fillers_file: Path = FILLERS
    thesaurus_files: tuple[Path, ...] = (
        SYNONYMS, THESAURUS, THESAURUS_EXTRA, THESAURUS_MORE, THESAURUS_LIFE, THESAURUS_SPOKEN
    )
    hmm: bool = True
    segmenter: str = "rjieba"  # a key of SEGMENTERS; "jieba" is the reference
    _segmenter: Segmenter = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.segmenter not in SEGMENTERS:
            raise ValueError(f"unknown segmenter {self.segmenter!r}; known: {', '.join(SEGMENTERS)}")
        self._segmenter = SEGMENTERS[self.segmenter](self.cache_dir)
        # Thesaurus keys and fillers are whole words, so a question is cut the way the thesaurus reads it.
        # Latin words stay as jieba cuts them: adding them would split English text (alleviati + on).
        added = sorted(word for word in self.thesaurus.words | self.fillers if len(word) > 1 and not word.isascii())
        # Reading jieba's 5 MB dictionary for them takes 0.4 s: done once per dictionary and word list.
        words_digest = hashlib.sha256("\n".join(added).encode("utf-8")).hexdigest()[:16]
        frequencies = remembered(
            self.cache_dir,
            _FREQUENCIES_FILE,
            f"{self._segmenter.version}; dictionary jieba {version('jieba')}; words {words_digest}",
            lambda: self._segmenter.frequencies(added),
        )
        for word in added:
            if frequencies[word] < _ADDED_WORD_FREQ:
                self._segmenter.add_word(word, _ADDED_WORD_FREQ, None)
        for line in data_lines(self.domain_words):
            word, *rest = line.split()
            freq = int(rest[0]) if rest else None
            tag = rest[1] if len(rest) > 1 else None
            self._segmenter.add_word(normalize(word), freq, tag)

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
        """How staff speak -> how reports write; read once per data version and kept in cache_dir (normalising
        its 4,000 words took 40 ms of every start)."""
        def read() -> Thesaurus:
            return Thesaurus.load(path for path in self.thesaurus_files if path.exists())

        kept = remembered(self.cache_dir, _THESAURUS_FILE, f"{self.version}; opencc {version('opencc')}; equivalents",
                          lambda: read().to_json())
        try:
            return Thesaurus.from_json(kept)
        except (KeyError, TypeError, ValueError):  # a file of ours with the right key, damaged
            return read()

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
        vocabulary, longest = self.domain_vocabulary, self._longest_domain_word
        return word in self._domain_pieces or any(
            word[i:j] in vocabulary for i in range(len(word)) for j in range(i + 2, min(len(word), i + longest) + 1)
        )

    @cached_property
    def _longest_domain_word(self) -> int:
        """No longer slice of a question word can be a domain word: keeps a 10,000-letter word linear."""
        return max(map(len, self.domain_vocabulary), default=0)

    @cached_property
    def repair_vocabulary(self) -> frozenset[str]:
        """Domain words and the words they are made of (书记 of 第一书记): what a typo may be repaired into."""
        return frozenset(part for word in self.domain_vocabulary for part in self.parts(word)) | self.domain_vocabulary

    @cached_property
    def repair_sounds(self) -> dict[str, str]:
        """The pinyin of each repair_vocabulary word a typo may be repaired into, worked out once per data
        version and kept in cache_dir (importing pypinyin and reading 2,000 words takes 0.5 s)."""
        return remembered(
            self.cache_dir,
            _SOUNDS_FILE,
            f"{self.version}; pypinyin {version('pypinyin')}",
            lambda: {word: sound(word) for word in sorted(self.repair_vocabulary) if repairable(word)},
        )

    def warm_up(self) -> None:
        """Load every vocabulary a question may need, so that no question waits for one."""
        _ = self.stopwords, self.fillers, self.thesaurus, self._domain_pieces, self._longest_domain_word
        _ = self.repair_sounds, self.version
        self._indexable("书记")
        sound("书记")  # imports pypinyin, which a question with a typo needs

    @cached_property
    def version(self) -> str:
        """Identifies everything that shapes the tokens, so a stale index can be detected."""
        digest = hashlib.sha256()
        for path in (self.domain_words, self.stopwords_file, self.fillers_file, *self.thesaurus_files):
            digest.update(path.read_bytes() if path.exists() else b"-")
        return f"{self._segmenter.version}; hmm {self.hmm}; tokens {TOKENS_FORMAT}; data {digest.hexdigest()[:16]}"

    def cut(self, normalized: str) -> list[str]:
        """jieba's precise cut of normalised text, blanks dropped (one reading, no overlapping parts)."""
        return [w for w in self._segmenter.cut(normalized, self.hmm) if w.strip()]

    def known(self, word: str) -> bool:
        """Whether jieba's dictionary (with ours) holds the word."""
        return self._segmenter.known(word)

    def tokens(self, text: str) -> list[str]:
        """The words a passage or question is ranked by (search mode: long words also yield their parts)."""
        return self.words_of(normalize(text))

    def words_of(self, normalized: str) -> list[str]:
        """tokens() of text that is already normalised."""
        return list(filter(self._indexable, self._segmenter.cut_for_search(normalized, self.hmm)))

    def search_cut(self, normalized: str) -> list[str]:
        """jieba's search-mode cut of normalised text, every piece (words_of() keeps the indexable ones)."""
        return self._segmenter.cut_for_search(normalized, self.hmm)

    def indexable(self, word: str) -> bool:
        """Whether words_of() keeps a piece of the cut: not a stopword, not punctuation."""
        return self._indexable(word)

    @cached_property
    def _indexable(self) -> Callable[[str], bool]:
        """Whether a word is kept: not a stopword, not punctuation; remembered, as the same words recur."""
        stopwords = self.stopwords

        @lru_cache(maxsize=1 << 16)
        def indexable(word: str) -> bool:
            return word not in stopwords and MEANINGFUL.search(word) is not None

        return indexable

    def passage_tokens(self, text: str) -> PassageTokens:
        """The words and bigrams a passage is indexed by (text normalised once for both)."""
        normalized = normalize(text)
        return PassageTokens(self.words_of(normalized), bigrams(normalized))

    def parts(self, word: str) -> list[str]:
        """The shorter words, of two or more characters, that a word is made of, left to right, not overlapping
        (发挥作用 -> 发挥, 作用; 软弱涣散村 -> 软弱涣散): overlapping ones would invent words across the joins
        (今天天气 holds 天天, which is not what it says)."""
        known = {part for part in self.words_of(word) if part != word and len(part) > 1}
        longest = max(map(len, known), default=0)  # no longer slice can be a part: keeps a 10,000-letter run linear
        parts, at = [], 0
        while at < len(word) and longest:
            part = next(
                (word[at:end] for end in range(min(len(word), at + longest), at + 1, -1) if word[at:end] in known), None
            )
            if part:
                parts.append(part)
            at += len(part) if part else 1
        return parts

    def bigrams(self, text: str) -> list[str]:
        """Character bigrams of a passage (see bigrams())."""
        return bigrams(normalize(text))
