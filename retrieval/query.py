"""A question turned into what ranking needs: its topic words, their parts and bigrams, synonyms, repairs."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from rectbot.retrieval.asked import Asked, asked_for
from rectbot.retrieval.english import EnglishGlossary, as_typed, bundled_english_glossary
from rectbot.retrieval.index import idf_lucene
from rectbot.retrieval.places import Place, bundled_gazetteer
from rectbot.retrieval.tokenizer import Tokenizer, bigrams
from rectbot.retrieval.text import MEANINGFUL, is_han, normalize, safe_text
from rectbot.retrieval.typos import HomophoneRepair

_LATIN_RUN = re.compile(r"[a-z][a-z0-9'\-]*")
_LATIN = re.compile(rf"^{_LATIN_RUN.pattern}$")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:年)?")
# A village, town or community by its name: 林庄村, 南华镇, 蓝山社区 (below the gazetteer's counties).
_LOCAL_PLACE = re.compile(r"^([\u4e00-\u9fff]{2,8})(?:村|镇|乡|街道|社区)$")
# Function words jieba glues onto a character it cannot place (组织力是 -> 组织 + 力是); not 了, as 提了 would leave
# 提 a topic word.
_FUNCTION_CHAR = re.compile(r"[是的]")
_PLACE_SUFFIXES = frozenset({"村", "镇", "乡", "街道", "社区", "县", "区", "市"})
# Words that make a kind of village, not a name (空壳村, 新合并村, 城中村社区): never taken for a place.
_KIND_OF_PLACE = re.compile(
    r"(?:合并|撤并|空壳|示范|贫困|薄弱|后进|先进|落后|重点|软弱|涣散|特色|美丽|文明|中心|行政|自然|城中|城郊|边远|偏远|"
    r"山区|移民|搬迁|集体|传统|民族|新型|农村|城市|老旧|新建|试点|样板|标杆|星级|整顿|小)$"
)
# Spoken question words that no report word contains. jieba's HMM glues them onto the next character
# (咋建, 咋定, 巡啥), which turns a question word into an unknown topic word.
_GLUED_QUESTION_WORD = re.compile(r"(咋|啥)")


class EmptyQuestion(ValueError):
    """The question is empty or only whitespace."""


def require_question(text: str) -> str:
    """The text as safe_text, unless that is empty or only whitespace (EmptyQuestion, with a message for the user).

    Every question a channel passes to the library comes through here, so this is where invalid code points
    (lone surrogates from undecodable bytes, controls, non-characters) are dropped before anything reads them.
    """
    text = safe_text(text)
    if not text.strip():
        raise EmptyQuestion("the question is empty: type a few words about what you want to know")
    return text


@dataclass(frozen=True)
class QueryParams:
    """How a question is read."""

    # Pasted text: only this many of its most telling words are kept.
    max_topic_words: int = 12
    # Words the thesaurus adds weigh this much against the words typed.
    expansion_weight: float = 1.0


@dataclass(frozen=True)
class Query:
    """What ranking needs from a question; tests can build one directly."""

    text: str
    topic: tuple[str, ...]  # the words the question is about, in order (fillers and stopwords gone, typos repaired)
    words: tuple[str, ...] = ()  # topic words with their parts (jieba search mode): the word representation
    grams: tuple[str, ...] = ()  # character bigrams of the topic words as typed together
    expansions: dict[str, float] = field(default_factory=dict)  # thesaurus words' tokens -> weight
    expanded_from: dict[str, str] = field(default_factory=dict)  # thesaurus word -> the topic word that brought it
    unknown: tuple[str, ...] = ()  # topic words no passage holds
    unknown_places: tuple[str, ...] = ()  # unknown words naming a place: no report is about it
    places: tuple[Place, ...] = ()  # divisions the question names as words of their own (宁夏, 镇安县)
    ignored: tuple[str, ...] = ()  # fillers, question words, latin words the corpus lacks
    repairs: tuple[tuple[str, str], ...] = ()  # (as typed, as searched): typos, and English the glossary knows
    years: tuple[str, ...] = ()
    pasted: bool = False  # long text: only its key words were kept
    content: tuple[str, ...] = ()  # every topic word before pasted text was cut to its key words
    searched: str = ""  # the normalised question with typos repaired and English read ("" in a Query built by hand)
    asks: Asked | None = None  # the kind of answer a typed question asks for (多久: a length of time), if any
    asking: str = ""  # the words that ask for it (多少比例)

    def stand_ins(self, word: str) -> list[str]:
        """Thesaurus words that stand for a typed word: those a key inside it, or around it, brought."""
        return stand_ins(word, self.expanded_from)


def divisions_named(word: str) -> list[Place]:
    """The administrative divisions a word is a name of (湘潭县, 宁夏; 临夏州, as autonomous prefectures are
    written, for 临夏回族自治州)."""
    return [place for place in bundled_gazetteer().find(word) if word in place.writings]


def names_a_division(word: str) -> bool:
    """Whether a word is the name of an administrative division in the gazetteer."""
    return bool(divisions_named(word))


class QueryParser:
    """Reads questions against one index's vocabulary (which words are known, how rare they are)."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        document_frequency: Callable[[str], int],
        passage_count: int,
        repair: HomophoneRepair | None = None,
        params: QueryParams = QueryParams(),
        in_context: Callable[[str], int] = lambda word: 0,
        english: EnglishGlossary | None = None,
        about_the_work: Callable[[str], bool] = lambda text: True,
    ) -> None:
        self.tokenizer = tokenizer
        self.english = bundled_english_glossary() if english is None else english
        self.about_the_work = about_the_work  # whether text (its Chinese typed) is about party-building work
        self.df = document_frequency
        self.in_context = in_context  # documents whose title, region or source hold a word (a place, a name)
        self.n = max(passage_count, 1)
        self.repair = repair
        self.params = params

    def weight(self, word: str) -> float:
        """How telling a word is, from 0 to 1: idf relative to that of a word in one passage; unknown words 1."""
        df = self.df(word)
        return idf_lucene(df, self.n) / idf_lucene(1, self.n) if df else 1.0

    def parse(self, text: str) -> Query:
        """Turn a question into a Query."""
        text = require_question(text)
        normalized, rendered = self._rendered(normalize(text))
        rendered = [(as_typed(text, typed), chinese) for typed, chinese in rendered]  # said as the user wrote it
        pieces = [part for piece in self.tokenizer.cut(normalized) for part in self._unglued(piece)]
        kept: list[str | None] = []  # None marks a dropped piece, so bigrams never join across it
        ignored: list[str] = []
        latin: list[str] = []  # latin words the corpus lacks
        for piece in pieces:
            if not MEANINGFUL.search(piece):
                kept.append(None)
            elif piece in self.tokenizer.fillers or piece in self.tokenizer.stopwords:
                ignored.append(piece)
                kept.append(None)
            elif len(piece) == 1 and is_han(piece) and self.df(piece) == 0:
                ignored.append(piece)  # a lone character no passage holds as a word: 老, 坏, 得
                kept.append(None)
            elif _LATIN.match(piece) and (len(piece) < 2 or self.df(piece) == 0):
                latin.append(piece)
                kept.append(None)
            else:
                kept.append(piece)
        # Pasted text is copied, not typed: its rare words are names and terms, not typos.
        if len({p for p in kept if p}) <= self.params.max_topic_words:
            kept, repairs = self._repair(kept)
        else:
            repairs = []
        topic = [piece for piece in kept if piece is not None]
        content = tuple(dict.fromkeys(topic))
        pasted = len(content) > self.params.max_topic_words
        if pasted:
            topic = self._key_words(topic)
            kept = [piece if piece in topic else None for piece in kept]
        words = [w for piece in topic for w in self.tokenizer.words_of(piece)]
        grams = [g for run in _runs(kept) for g in bigrams(run)]
        searched = "".join(p or " " for p in kept)
        expanded_from = self.tokenizer.thesaurus.expand(searched, self._boundaries(kept))
        # Each typed word's expansions share one weight, each split over its tokens, so that a word with many
        # synonyms does not outweigh the words typed.
        targets_of = Counter(expanded_from.values())
        expansions: dict[str, float] = {}
        for target, key in expanded_from.items():
            tokens = [t for t in self.tokenizer.words_of(target) if t not in words]
            for token in tokens:
                share = self.params.expansion_weight / targets_of[key] / len(tokens)
                expansions[token] = expansions.get(token, 0.0) + share
        # English mixed into a party-building question (how to 整顿 weak 党支部) is ignored; in a question
        # with no party-building word at all (python怎么安装) it says what the question is about.
        if any(self.tokenizer.is_domain_word(p) for p in topic):
            ignored += latin
        else:
            topic += [w for w in latin if len(w) > 1]
        unknown = tuple(
            dict.fromkeys(
                p for p in topic
                if self.df(p) == 0 and not self.in_context(p) and not self._has_known_parts(p)
                and not self._known_stand_ins(p, expanded_from)
            )
        )
        asked = None if pasted else asked_for(normalized)
        return Query(
            text=text,
            topic=tuple(dict.fromkeys(topic)),
            words=tuple(words),
            grams=tuple(grams),
            expansions=expansions,
            expanded_from=expanded_from,
            unknown=unknown,
            unknown_places=self._unknown_places(kept, unknown),
            places=self._places(kept),
            ignored=tuple(ignored),
            repairs=(*rendered, *repairs),
            searched=_repaired(normalized, repairs),
            years=tuple(dict.fromkeys(_YEAR.findall(normalized))),
            pasted=pasted,
            content=content,
            asks=asked[0] if asked else None,
            asking=asked[1] if asked else "",
        )

    def _rendered(self, normalized: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with the English the glossary knows read as the reports' word (村两委 election -> 村两委 选举),
        and what was read so: only in a question whose Chinese is about party-building work on its own, so that
        weak password 怎么改 or bank account 开户问题 does not become a question about 软弱 or 账目."""
        if not _LATIN_RUN.search(normalized):
            return normalized, []
        chinese = _LATIN_RUN.sub(" ", normalized)
        if not any(map(self.tokenizer.is_domain_word, self.tokenizer.cut(chinese))) or not self.about_the_work(chinese):
            return normalized, []
        return self.english.render(normalized)

    def _unglued(self, piece: str) -> list[str]:
        """The piece, or its parts when a spoken question word is glued to it (咋建 -> 咋, 建), or a function word
        to a piece no passage and no dictionary holds (组织力是 cut 组织 + 力是 -> 力, 是)."""
        if len(piece) < 2 or piece in self.tokenizer.fillers or piece in self.tokenizer.stopwords:
            return [piece]
        if self.df(piece) == 0 and not self.tokenizer.known(piece) and is_han(piece):
            if _FUNCTION_CHAR.fullmatch(piece[-1]):
                return [*self._unglued(piece[:-1]), piece[-1]]
            if _FUNCTION_CHAR.fullmatch(piece[0]):
                return [piece[0], *self._unglued(piece[1:])]
        return [part for part in _GLUED_QUESTION_WORD.split(piece) if part]

    def _boundaries(self, kept: list[str | None]) -> set[int]:
        """Offsets in the joined pieces where a word, or a part of one, starts or ends."""
        boundaries, at = {0}, 0
        for piece in kept:
            if piece is not None:
                inner = at
                for part in self.tokenizer.parts(piece):
                    inner = piece.find(part, inner - at) + at
                    boundaries.update((inner, inner + len(part)))
                    inner += len(part)
            at += len(piece) if piece is not None else 1
            boundaries.add(at)
        return boundaries

    def _known_stand_ins(self, word: str, expanded_from: dict[str, str]) -> list[str]:
        """Thesaurus words some passage holds that stand for a typed word (支书 -> 党支部书记)."""
        return [target for target in stand_ins(word, expanded_from) if self.df(target) > 0]

    def word_weight(self, word: str, query: Query) -> float:
        """weight() of a word, or of its best stand-in when no passage holds the word itself."""
        if self.df(word) == 0 and (stand_ins := self._known_stand_ins(word, query.expanded_from)):
            return max(self.weight(target) for target in stand_ins)
        return self.weight(word)

    def _unknown_places(self, kept: list[str | None], unknown: tuple[str, ...]) -> tuple[str, ...]:
        """Places named in the question that no report holds: an unknown division (湘潭县), village, town or
        community (张家村, or 红星 + 镇 as jieba cuts it) whose name the corpus does not know either (not 合并村 or
        空壳村: a kind of village)."""
        places = [word for word in unknown if names_a_division(word) and not self._known_division(word)]
        places += [word for word in unknown if (m := _LOCAL_PLACE.match(word)) and self._unheard_of(m.group(1))]
        for word, after in zip(kept, kept[1:]):
            if word in unknown and after in _PLACE_SUFFIXES and self._unheard_of(word):
                places.append(word + after)
        return tuple(dict.fromkeys(places))

    def _known_division(self, word: str) -> bool:
        """Whether the corpus holds a division by another of its names (长阳 for 长阳土家族自治县)."""
        return any(
            self.df(name) > 0 or self.in_context(name) > 0
            for place in bundled_gazetteer().find(word)
            for name in (*place.writings, *filter(None, [place.bare]))
        )

    @staticmethod
    def _places(kept: list[str | None]) -> tuple[Place, ...]:
        """The divisions the question names as words of their own (not 中卫 inside 集中卫生)."""
        return tuple(dict.fromkeys(place for word in kept if word for place in divisions_named(word)))

    def _unheard_of(self, name: str) -> bool:
        """A name of two or more Han characters, not a kind of place, that no passage holds, whole or in parts."""
        if not is_han(name) or len(name) < 2 or _KIND_OF_PLACE.search(name):
            return False
        return self.df(name) == 0 and not any(self.df(part) > 0 for part in self.tokenizer.parts(name))

    def _has_known_parts(self, word: str) -> bool:
        """A word the corpus lacks whole but holds in parts (软弱涣散村 -> 软弱涣散, 村) is not unknown."""
        parts = self.tokenizer.parts(word)
        return bool(parts) and all(self.df(p) > 0 for p in parts)

    def _repair(self, kept: list[str | None]) -> tuple[list[str | None], list[tuple[str, str]]]:
        """Replace words that no passage holds, and that no dictionary knows, by a corpus word that sounds alike."""
        if self.repair is None:
            return kept, []
        repaired: list[str | None] = []
        repairs: list[tuple[str, str]] = []
        i = 0
        while i < len(kept):
            piece = kept[i]
            fixed = None
            if piece is not None and is_han(piece):
                # A typo often makes jieba cut a word into single characters or glue it to a neighbour:
                # try the piece alone, then with the next one or two pieces.
                for span in (1, 2, 3):
                    group = kept[i : i + span]
                    if len(group) < span or any(g is None or not is_han(g) for g in group):
                        break
                    joined = "".join(group)  # type: ignore[arg-type]
                    if len(joined) > 6:
                        break
                    if span > 1 and not any(len(g) == 1 or self.df(g) == 0 for g in group):  # type: ignore[arg-type]
                        continue
                    if self.df(joined) == 0 and not self.tokenizer.known(joined):
                        candidate = self.repair(joined)
                        if candidate:
                            fixed = (span, joined, candidate)
            if fixed:
                span, joined, candidate = fixed
                repaired.append(candidate)
                repairs.append((joined, candidate))
                i += span
            elif (
                piece is not None and len(piece) > 2 and is_han(piece) and self.df(piece) == 0
                and not self.tokenizer.known(piece)  # a dictionary word is no typo: 房贷利率 holds no 代理
            ):
                # A typo glued to its neighbour (抓书计): repair a window inside the piece.
                inner = self._repair_inside(piece)
                if inner:
                    before, typed, candidate, after = inner
                    repaired.extend(p for p in (before, candidate, after) if p)
                    repairs.append((typed, candidate))
                else:
                    repaired.append(piece)
                i += 1
            else:
                repaired.append(piece)
                i += 1
        return repaired, repairs

    def _repair_inside(self, piece: str) -> tuple[str, str, str, str] | None:
        """(before, typed, repaired, after) for the longest window of the piece that sounds like a corpus word."""
        assert self.repair is not None
        for size in range(len(piece) - 1, 1, -1):
            for start in range(len(piece) - size + 1):
                window = piece[start : start + size]
                if self.df(window) == 0 and not self.tokenizer.known(window) and (candidate := self.repair(window)):
                    return piece[:start], window, candidate, piece[start + size :]
        return None

    def _key_words(self, topic: list[str]) -> list[str]:
        """The most telling words of pasted text: frequency in the text x rarity in the corpus, domain words first."""
        counts = Counter(topic)
        scored = {
            word: (1 + math.log(count)) * self.weight(word) * (0.3 if self.df(word) == 0 else 1.0)
            * (2.0 if self.tokenizer.is_domain_word(word) else 1.0)
            for word, count in counts.items()
            if len(word) > 1
        }
        best = sorted(scored, key=lambda w: -scored[w])[: self.params.max_topic_words]
        return [word for word in topic if word in best]


def _repaired(normalized: str, repairs: list[tuple[str, str]]) -> str:
    """The text with each typo replaced by the word it was repaired into (both Chinese, so English read as Chinese
    is left alone)."""
    for typed, repaired in repairs:
        normalized = normalized.replace(typed, repaired)
    return normalized


def stand_ins(word: str, expanded_from: dict[str, str]) -> list[str]:
    """The thesaurus words (of target -> key) that a key inside the word, or around it, brought."""
    return [target for target, key in expanded_from.items() if key in word or word in key]


def _runs(kept: list[str | None]) -> list[str]:
    """Consecutive kept pieces joined, split where a piece was dropped."""
    runs, current = [], ""
    for piece in kept:
        if piece is None:
            if current:
                runs.append(current)
            current = ""
        else:
            current += piece
    if current:
        runs.append(current)
    return runs
