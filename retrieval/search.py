"""Searcher.search(question) -> excerpts with citations, and how confident the corpus is about them."""

from __future__ import annotations

import asyncio
import enum
import heapq
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

import numpy as np

from rectbot.retrieval import kernels
from rectbot.retrieval.asked import states
from rectbot.retrieval.backend import Candidate, SearchBackend
from rectbot.retrieval.characters import character_scores, question_characters
from rectbot.retrieval.calibration import CalibratedModel, bundled_confidence_model, bundled_shown_model
from rectbot.retrieval.known_questions import NO_KNOWN_QUESTIONS, KnownQuestions
from rectbot.retrieval.places import Place, bundled_gazetteer
from rectbot.retrieval.query import EmptyQuestion, Query, QueryParams, QueryParser, require_question
from rectbot.retrieval.store import PassageRow
from rectbot.retrieval.text import fingerprint_of_normalized, normalize, without_punctuation
from rectbot.retrieval.tokenizer import Tokenizer, bigrams
from rectbot.retrieval.topic import TopicModel, bundled_topic_model
from rectbot.retrieval.typos import HomophoneRepair, sound

__all__ = ["Confidence", "EmptyQuestion", "Hit", "SearchParams", "SearchResult", "Searcher", "highlight_spans"]


# From this many passages a server compiles the scoring loops (retrieval/compiled.py), at warm-up or, when its index
# grows past it, in a thread of their own: at a million they answer 3 times faster; below, numpy takes about a
# millisecond a question, not worth numba's 1 s and 130 MB.
COMPILED_FROM = 100_000
_FULLY_KNOWN = 0.99  # every word of the question is in some passage
_TOPIC_BOUND = 1e-4  # the topic probability is read as log-odds between this and 1 minus it


_Ranked = tuple[float, Candidate, PassageRow, str]  # re-ranked score, candidate, its row, text with citation


class Confidence(enum.StrEnum):
    """How well the corpus answers a question."""

    CONFIDENT = "confident"  # the excerpts answer it
    WEAK = "weak"  # nothing answers it directly; the excerpts may be related
    OFF_TOPIC = "off_topic"  # the corpus is not about it


@dataclass(frozen=True)
class SearchParams:
    """How the searcher decides what is worth showing; calibrated on the tuning half of our question set."""

    # Share of the question's telling words (weighted by rarity) that one of the top passages, with its
    # document's title and source, must hold to be an answer, or to be worth showing as possibly related.
    confident_coverage: float = 0.6
    related_coverage: float = 0.2
    # Share of the question's character bigrams (its words as typed together) that one of the top passages must
    # hold to be an answer: words found apart (公益性 ... 岗位 ... 工资) are not the phrase asked about (公益性岗位).
    # Not for pasted text, whose key words are picked from anywhere in it.
    confident_phrases: float = 0.35
    # Share of the question's telling words (weighted) that one of the top passages must hold as typed (or in all
    # of its parts) to be an answer: one that holds them mostly through the thesaurus's wording (留党察看 as
    # 党内处分, 委托投票 as 换届选举) is about the broader thing, and is shown as possibly related. Not for pasted text.
    confident_literal: float = 0.3
    # For typed questions, the confidence model (retrieval/calibration.py) decides between a confident and a possibly
    # related answer where the rules below show excerpts, and the shown model whether a question not answered is
    # shown possibly related excerpts (coverage and known at least the related_ minimums) or nothing; False: the
    # thresholds alone decide, as before session 16.
    calibrated: bool = True
    # Share of the question's weight the corpus knows at all; below it the question is mostly about other things.
    confident_known: float = 0.6
    related_known: float = 0.3
    # A question only partly known is shown possibly related excerpts only if this share of its words is
    # party-building vocabulary (天气 and 炒股 never are); a fully known one always.
    related_domain: float = 0.3
    # Passages looked at for the verdict.
    evidence_depth: int = 3
    # Re-ranking: a candidate's share of the question's telling words adds this much to its score (each of
    # the index's fields gives at most 1).
    coverage_weight: float = 2.0
    # Re-ranking: how well a candidate holds the question's single characters (BM25 among the candidates, as a share
    # of the best) adds this much times that share: a report's 分类 answers 分成几类, where neither words nor bigrams
    # meet (Nie & Ren, 1999: characters and bigrams together beat either alone).
    characters_weight: float = 1.2
    # Re-ranking: a candidate stating the kind of answer the question asks for (多久: a length of time) in a sentence
    # holding one of its words gains this much (retrieval/asked.py).
    asked_weight: float = 0.5
    # In a confident answer, an excerpt (after the first) holding less than this share of what the best of the top
    # passages holds of the question (its coverage) is marked possibly related.
    answer_share: float = 0.5
    # With a semantic re-ranker: how close a candidate's meaning is to the question (a z-score among the
    # candidates) adds this much times that closeness to its score. The verdict does not use it.
    semantic_weight: float = 0.5
    # With a semantic re-ranker, a question the verdict silences (the shown model's no included) is shown possibly
    # related excerpts when one candidate's meaning is this close (cosine): spoken questions with few report words.
    semantic_related: float = 0.90
    # The topic model's probability that the question is about party-building work at all (retrieval/topic.py):
    # below topic_veto nothing is shown however well its words match (你是谁, 冰箱哪个牌子省电); below
    # topic_related a question is never shown possibly related excerpts. At topic_sure or above, a question whose
    # words the corpus knows in part is shown possibly related excerpts even when few of them are party-building
    # vocabulary (村里没职务的党员让他们干点啥好呢). With `calibrated`, for typed questions these only decide which
    # ones the confidence model may make an answer (and which closeness in meaning may show, and which are told
    # the reports lack the answer, not the subject); whether the rest are shown is the shown model's. All four 0
    # turn the model off, and the shown model with it (the rules decide what is shown).
    topic_veto: float = 0.07
    topic_related: float = 0.15
    topic_sure: float = 0.9
    # A question every word of which some passage holds is vetoed only under this (never pasted text): the
    # corpus holding all it says is evidence too, and a new report's own terms (雪橇夜校) are new to the model.
    topic_veto_known: float = 0.02
    query: QueryParams = QueryParams()

    def matched_enough(self, coverage: float, known: float) -> bool:
        """Whether the top passages hold, and the corpus knows, enough of a question for any excerpt to be shown."""
        return coverage >= self.related_coverage and known >= self.related_known


@dataclass(frozen=True)
class Hit:
    """One excerpt with its citation."""

    passage_id: int
    doc_id: int
    text: str
    title: str | None
    source: str | None
    date: str | None
    author: str | None
    region: str | None
    section: str | None
    position: int
    score: float
    matched_terms: tuple[str, ...]
    highlights: tuple[tuple[int, int], ...]  # (start, end) spans of matched terms in text
    file_name: str = ""  # the name of the file the passage's document came from
    # In an answer: this excerpt holds much less of the question than the best passage, so it only may be related.
    possibly_related: bool = False


@dataclass(frozen=True)
class Evidence:
    """What the verdict rests on; none of it grows or shrinks with the size of the corpus."""

    coverage: float  # best share of the question's weight held by one of the top passages
    known: float  # share of the question's weight that some passage holds
    domain: float = 0.0  # share of the question's words that are party-building vocabulary
    topical: float = 1.0  # the topic model's probability that the question is about party-building work
    pasted: bool = False  # long pasted text: the topic model, trained on questions, is overconfident on it
    phrases: float = 1.0  # best share of the question's character bigrams held by one of the top passages
    # Best share of the question's weight held as typed (not through the thesaurus) by one of the top passages.
    literal: float = 1.0
    place_unknown: bool = False  # the question names a place that no report holds: none is about it
    years_held: bool = True  # a top passage (with its document's date) holds every year the question names
    places_held: bool = True  # a top passage (with its document's title and region) holds every place it names
    # A top passage holding enough of the question states the kind of answer it asks for (多久: a length of time).
    answer_stated: bool = True
    words: int = 0  # the question's topic words
    unknown: float = 0.0  # share of its topic words no passage holds

    @property
    def about_it(self) -> bool:
        """No place or year the question names is missing from the top documents: they may answer it."""
        return not self.place_unknown and self.years_held and self.places_held

    def features(self) -> dict[str, float]:
        """What the calibrated models read, by name (calibration.CONFIDENCE_FEATURES and SHOWN_FEATURES)."""
        topical = min(max(self.topical, _TOPIC_BOUND), 1 - _TOPIC_BOUND)
        return {
            "coverage": self.coverage, "known": self.known, "domain": self.domain, "topical": self.topical,
            "topic_logit": math.log(topical / (1 - topical)), "phrases": self.phrases, "literal": self.literal,
            "coverage_known": self.coverage * self.known, "words": min(self.words, 10) / 10, "unknown": self.unknown,
        }


@dataclass(frozen=True)
class SearchResult:
    """Confident excerpts (`hits`, some of which may be marked possibly related) or possibly related ones
    (`related`), never both."""

    query: Query
    confidence: Confidence
    hits: tuple[Hit, ...] = ()
    related: tuple[Hit, ...] = ()
    evidence: Evidence | None = None
    # With nothing shown (off-topic): the question is still about the work (party-building words, and the topic
    # model does not call it everyday talk), so the reports lack an answer, not the subject.
    about_the_work: bool = False

    @property
    def shown(self) -> tuple[Hit, ...]:
        """The excerpts to show, whichever kind they are."""
        return self.hits + self.related


class PassageSource(Protocol):
    """Where passages' texts and citations are read from."""

    async def passages_by_id(self, ids: Iterable[int]) -> Mapping[int, PassageRow]:
        """Return the passages still stored, keyed by id."""


def highlight_spans(
    text: str, terms: tuple[str, ...], normalized: str | None = None
) -> tuple[tuple[int, int], ...]:
    """Spans of text whose normalised form (given, or worked out) is one of the terms, longest terms first, not
    overlapping."""
    if normalized is None:
        normalized = normalize(text)
    if len(normalized) != len(text):  # NFKC changed lengths: map character by character
        normalized = "".join(normalize(ch)[:1] or " " for ch in text)
    taken = [False] * len(text)
    spans = []
    for term in sorted(terms, key=len, reverse=True):
        start = normalized.find(term)
        while start != -1:
            end = start + len(term)
            if not any(taken[start:end]):
                spans.append((start, end))
                taken[start:end] = [True] * len(term)
            start = normalized.find(term, end)
    return tuple(sorted(spans))


def _shown_terms(tokens: Iterable[str], normalized_text: str) -> tuple[str, ...]:
    """Question words found in a passage, dropping single characters and words inside longer matches."""
    found = [t for t in dict.fromkeys(tokens) if t in normalized_text and (len(t) > 1 or t.isdigit())]
    return tuple(t for t in found if not any(t != other and t in other for other in found))


class Searcher:
    """Ranks passages for a question and says how confident the answer is."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        backend: Callable[[], SearchBackend | None],
        passages: PassageSource,
        params: SearchParams = SearchParams(),
        semantic: SemanticCloseness | None = None,
        topic_model: TopicModel | None = None,
        confidence_model: CalibratedModel | None = None,
        shown_model: CalibratedModel | None = None,
        known_questions: KnownQuestions = NO_KNOWN_QUESTIONS,
    ) -> None:
        self.tokenizer = tokenizer
        self.backend = backend  # called per question: the index is swapped whole when rebuilt
        self.passages = passages
        self.params = params
        self.semantic = semantic  # an optional re-ranker by meaning (retrieval/semantic.py)
        self._topic_model = topic_model  # None: the bundled one, read on first use
        self._confidence_model = confidence_model  # None: the bundled one, read on first use
        self._shown_model = shown_model  # None: the bundled one, read on first use
        # The questions each passage was indexed with: what it is known to answer counts as evidence too.
        self.known_questions = known_questions
        self._parser: tuple[SearchBackend, QueryParser] | None = None
        self._warmed = False  # warm_up() ran: a process that answers many questions (a server, the chat)

    @classmethod
    def over(
        cls,
        corpus: "CorpusLike",
        params: SearchParams = SearchParams(),
        semantic: SemanticCloseness | None = None,
        topic_model: TopicModel | None = None,
        confidence_model: CalibratedModel | None = None,
        shown_model: CalibratedModel | None = None,
    ) -> Searcher:
        """A searcher over a corpus's current index and store."""
        return cls(corpus.tokenizer, lambda: corpus.index, corpus.store, params, semantic, topic_model,
                   confidence_model, shown_model, getattr(corpus, "known_questions", NO_KNOWN_QUESTIONS))

    def _current(self) -> tuple[SearchBackend, QueryParser] | None:
        """The current index and a query parser over its vocabulary (which words are known, how rare)."""
        backend = self.backend()
        if backend is None:
            return None
        if self._parser is None or self._parser[0] is not backend:
            # Typos are repaired only into party-building words the corpus holds: 书计 -> 书记, never 老是 -> 老师.
            tokenizer = self.tokenizer
            repair = HomophoneRepair(lambda: tokenizer.repair_sounds, backend.document_frequency, min_frequency=1)
            parser = QueryParser(
                self.tokenizer, backend.document_frequency, len(backend), repair, self.params.query,
                in_context=backend.context_frequency, about_the_work=self._surely_about_the_work,
            )
            self._parser = (backend, parser)
            if self._warmed and len(backend) >= COMPILED_FROM and kernels.compiled() is None:
                # A server's index grew past the mark: compile beside the questions, never during one.
                threading.Thread(target=kernels.enable, name="compile-scoring", daemon=True).start()
        return self._parser

    @property
    def confidence_model(self) -> CalibratedModel:
        """Says how likely the top passages are to answer a question (read on first use)."""
        if self._confidence_model is None:
            self._confidence_model = bundled_confidence_model()
        return self._confidence_model

    @property
    def shown_model(self) -> CalibratedModel:
        """Says whether a typed question is shown excerpts at all (read on first use)."""
        if self._shown_model is None:
            self._shown_model = bundled_shown_model()
        return self._shown_model

    @property
    def topic_model(self) -> TopicModel:
        """Says whether a question is about party-building work at all."""
        if self._topic_model is None:
            self._topic_model = bundled_topic_model()
        return self._topic_model

    def parse(self, question: str) -> Query:
        """Read a question against the current index (with no index, nothing in it is known)."""
        current = self._current()
        return current[1].parse(question) if current else Query(text=require_question(question), topic=())

    def warm_up(self) -> None:
        """Load now what questions need (vocabularies, pinyin, place names, the parser over the index), so that
        the first question waits for none of it; blocking: a server runs it in a thread before it reports ready."""
        self.tokenizer.warm_up()
        bundled_gazetteer()
        _ = self.topic_model
        _ = self.confidence_model
        _ = self.shown_model
        current = self._current()
        if current is not None and current[1].repair is not None:
            current[1].repair.warm_up()
        if current is not None and len(current[0]) >= COMPILED_FROM:
            kernels.enable()
        self._warmed = True

    async def search(self, question: str | Query, k: int = 3, offset: int = 0) -> SearchResult:
        """The best k excerpts after the first `offset`, with the verdict on the whole candidate list.

        Reading the question, ranking and judging run in worker threads, so the event loop (a bot's other
        chats) goes on while they do; only reading the passages' rows runs on it.
        """
        query, current, candidates = await asyncio.to_thread(self._rank, question, k, offset)
        if current is None or not candidates:
            return self._nothing(query)
        rows = await self.passages.passages_by_id(c.passage_id for c in candidates)
        return await asyncio.to_thread(self._judge, query, current[1], candidates, rows, k, offset)

    def _rank(
        self, question: str | Query, k: int, offset: int
    ) -> tuple[Query, tuple[SearchBackend, QueryParser] | None, list[Candidate]]:
        """The query, the index and parser it was read against, and the passages worth a look, best first."""
        query = question if isinstance(question, Query) else self.parse(question)
        current = self._current()
        if current is None or len(current[0]) == 0 or not query.topic:
            return query, current, []
        # The same candidates for every page: re-ranking more of them for a later page could bring in one that
        # belongs on an earlier page (更多 would repeat one excerpt and skip another).
        return query, current, current[0].search(query, k=max(_CANDIDATES, offset + k))

    def _judge(
        self,
        query: Query,
        parser: QueryParser,
        candidates: list[Candidate],
        rows: Mapping[int, PassageRow],
        k: int,
        offset: int,
    ) -> SearchResult:
        """Re-rank the distinct candidates still stored by how much of the question each holds, then give the
        verdict on the best and the page of hits asked for."""
        coverage = _Coverage(query, parser, self.tokenizer)
        scanned: list[_Ranked] = []  # every distinct candidate re-ranked
        distinct: list[_Ranked] = []  # those that may be shown
        seen_texts: set[str] = set()
        needed = max(offset + k, self.params.evidence_depth)
        by_meaning = self.semantic is not None
        # Each candidate's text and (not for pasted text, whose key words a few short questions would cover by
        # chance) the questions it is known to answer, which its characters are counted in, as the index does.
        texts = {c.passage_id: _matchable(rows[c.passage_id].text)[0] for c in candidates if c.passage_id in rows}
        first = sum(c.passage_id in rows for c in candidates[:_CANDIDATES])  # the same on every page
        known_to_answer = {
            passage_id: () if query.pasted else self.known_questions.for_normalized(rows[passage_id].file_name, text)
            for passage_id, text in texts.items()
        }
        shares = character_scores(
            question_characters(query.topic),
            ["\n".join((text, *known_to_answer[passage_id])) for passage_id, text in texts.items()],
            among=first,
        )
        characters = dict(zip(texts, shares, strict=True))
        coincidences: set[int] = set()  # passages sharing one everyday word with the question, for meaning to judge
        best: list[float] = []  # a min-heap of the `needed` best re-ranked scores so far
        floor: float | None = None  # the lowest score on a page without near copies, when last worked out
        answer_words = _answer_words(query)
        stating: set[int] = set()  # candidates stating the kind of answer the question asks for, in a sentence of it
        answer_weight = self.params.asked_weight if query.asks else 0.0
        for candidate in candidates:  # best first by the index's score
            # its best re-ranked score, holding every word and the most of the question's characters
            reach = candidate.score + self.params.coverage_weight + self.params.characters_weight + answer_weight
            if not by_meaning and len(best) == needed and reach <= best[0]:
                if floor is None:
                    page = _distinct_page(sorted(distinct, key=_best_first), needed)[0]
                    floor = page[-1][0] if len(page) == needed else -math.inf
                if reach <= floor:
                    break  # neither this candidate nor any after it can reach the page (near copies left out)
            row = rows.get(candidate.passage_id)
            if row is None:  # deleted since the index was built
                continue
            text, fingerprint = _matchable(row.text)
            if fingerprint in seen_texts:  # the same paragraph republished in another document
                continue
            seen_texts.add(fingerprint)
            names = f"{_NAMES}{_normalized(row.author or '')}"
            own = f"{_citation(row.title, row.region, row.source)}\n{text}"
            share, held = coverage.measure(own + names)
            # How much of the question the passage covers counts the questions it is known to answer too; the
            # re-ranking by words, and what it holds as typed, places and years, count what the passage says.
            known = known_to_answer[candidate.passage_id]
            cited = f"{own}{_KNOWN}{chr(10).join(known)}{names}" if known else own + names
            if known:
                held = coverage.measure(cited)[1]  # its questions tie it to the question: no coincidence
            # BM25 saturates each word; a passage holding more of the question's distinct telling words is
            # usually the answer (Lucene's old coordination factor does the same).
            score = (
                candidate.score
                + self.params.coverage_weight * share
                + self.params.characters_weight * characters[candidate.passage_id]
            )
            if query.asks and states(query.asks, _said(cited), near=answer_words):
                stating.add(candidate.passage_id)
                score += answer_weight
            scanned.append((score, candidate, row, cited))
            # One everyday word in common is a coincidence, unless the re-ranker by meaning is there to judge.
            if not (self._may_show(coverage, held) or self._may_show(coverage, coverage.touched(own + names, held))):
                if not (by_meaning and self.params.semantic_weight):
                    continue  # weighed as evidence, never shown; the page and its early stop count only the others
                coincidences.add(candidate.passage_id)
            distinct.append((score, candidate, row, cited))
            (heapq.heappush if len(best) < needed else heapq.heappushpop)(best, score)
            if floor is not None and score > floor:
                floor = None  # it may enter the page: work the page out again
        if not scanned:
            return self._nothing(query)
        # The verdict weighs the best passages whether or not they may be shown (the scan reaches at least as deep
        # as it would for them alone, so these are the same whatever is left out of the page).
        top = _without_near_copies(sorted(scanned, key=_best_first), needed)[: self.params.evidence_depth]
        places_held = _places_held(query, top, coverage, self.params.confident_coverage, self.tokenizer)
        evidence = self._evidence(query, coverage, [cited for *_, cited in top], _years_held(query, top), places_held)
        if query.asks and not _answer_stated(top, coverage, self.params.confident_coverage, stating):
            evidence = replace(evidence, answer_stated=False)
        confidence = self._verdict(evidence)
        distinct.sort(key=_best_first)  # stable: ties keep the index's order
        found: np.ndarray | None = None
        closeness_of: dict[int, float] = {}
        if by_meaning:
            assert self.semantic is not None
            found = self.semantic.cosines(query.text, [row.text for _, _, row, _ in distinct])
            if found is not None:
                closeness_of = {entry[1].passage_id: cosine for entry, cosine in zip(distinct, found, strict=True)}
            # Meaning judges the coincidences only where it is known: one not yet embedded is left out (before the
            # near copies are, or it could take a copy of itself that may be shown with it).
            distinct = [
                entry for entry in distinct
                if entry[1].passage_id not in coincidences
                or not math.isnan(closeness_of.get(entry[1].passage_id, math.nan))
            ]
        distinct = _without_near_copies(distinct, needed)
        if by_meaning:
            cosines = None if found is None else np.array([closeness_of[entry[1].passage_id] for entry in distinct])
            if (
                confidence is Confidence.OFF_TOPIC
                and evidence.topical >= max(self.params.topic_veto, self.params.topic_related)
                and cosines is not None
                and np.nanmax(cosines, initial=0.0) >= self.params.semantic_related
            ):
                confidence = Confidence.WEAK
            if confidence is not Confidence.OFF_TOPIC and self.params.semantic_weight != 0:
                weight = self.params.semantic_weight
                closeness = z_scores(cosines, len(distinct))
                fused = [(score + weight * close, *rest) for (score, *rest), close in zip(distinct, closeness, strict=True)]
                distinct = _without_near_copies(sorted(fused, key=_best_first), needed)  # ties keep the coverage order
        if confidence is Confidence.OFF_TOPIC or not distinct:
            return self._nothing(query, evidence)
        terms = (*query.words, *query.expansions)
        page = distinct[offset : offset + k]
        if confidence is not Confidence.CONFIDENT:
            return SearchResult(query, confidence, related=self._hits(page, terms), evidence=evidence)
        # An answer's excerpts holding much less of the question than its best passage are marked as possibly
        # related, each on its own (so the same excerpt is marked on every page and for any k), in the ranking's order:
        # a trial found answers padded with excerpts on other matters (四上四下 beside a 述职 meeting).
        enough = self.params.answer_share * evidence.coverage
        hits = tuple(
            replace(hit, possibly_related=coverage.of(entry[3]) < enough and offset + at > 0)  # the first answers
            for at, (entry, hit) in enumerate(zip(page, self._hits(page, terms), strict=True))
        )
        return SearchResult(query, confidence, hits=hits, evidence=evidence)

    def _hits(self, entries: list[_Ranked], terms: tuple[str, ...]) -> tuple[Hit, ...]:
        """Ranked passages as excerpts with their citations."""
        return tuple(self._hit(row, score, terms) for score, _, row, _ in entries)

    def _may_show(self, coverage: _Coverage, held: list[str]) -> bool:
        """Whether a passage may be shown for a question: it holds a party-building word of the question (or a
        piece of one: 工作, 申请), or two of its words, or its only word. One everyday word of several (家里, 改革,
        手续) is a coincidence; a word counts when one of its pieces of two characters or more is held (牌子 of 挂牌子)."""
        return len(held) >= min(2, coverage.words) or any(self.tokenizer.is_domain_word(word) for word in held)

    def _evidence(
        self, query: Query, coverage: _Coverage, texts: list[str], years_held: bool, places_held: bool
    ) -> Evidence:
        topical = self._topical(query)
        domain = self._domain_share(query)
        unknown = len(query.unknown) / len(query.topic) if query.topic else 0.0
        if not coverage.known_total:
            return Evidence(coverage=0.0, known=0.0, domain=domain, topical=topical, words=len(query.topic),
                            unknown=unknown)
        if query.pasted:
            # Pasted text asks several things at once: the top passages together must cover it, not one alone.
            texts = ["\n".join(texts)]
        best = max(coverage.of(text) for text in texts)
        phrases = max(_phrase_share(query, _said(text)) for text in texts)
        literal = max(coverage.literal(_said(text)) for text in texts)
        return Evidence(
            coverage=best, known=coverage.known_total / coverage.total, domain=domain, topical=topical,
            pasted=query.pasted, phrases=phrases, place_unknown=bool(query.unknown_places), years_held=years_held,
            literal=literal, places_held=places_held, words=len(query.topic), unknown=unknown,
        )

    def _surely_about_the_work(self, text: str) -> bool:
        """Whether the topic model gives text `topic_sure` or more (always, when the model is turned off)."""
        return self._topic_probability(text) >= self.params.topic_sure

    def _topical(self, query: Query) -> float:
        """The topic model's probability that the question, as searched (typos repaired, English read as Chinese),
        is about the work."""
        return self._topic_probability(query.searched or query.text)

    def _topic_probability(self, text: str) -> float:
        """The topic model's probability that text is about the work (1 when the model is turned off)."""
        return self.topic_model.probability(text, self.tokenizer) if self._topic_model_on else 1.0

    @property
    def _topic_model_on(self) -> bool:
        """Whether any topic threshold is set; all four 0 turn the topic model off."""
        p = self.params
        return any(v > 0 for v in (p.topic_veto, p.topic_veto_known, p.topic_related, p.topic_sure))

    def _domain_share(self, query: Query) -> float:
        """Share of the question's words that are party-building vocabulary, over all the words typed or pasted
        (key words of pasted text are picked for being party-building words)."""
        words = query.content or query.topic
        return sum(self.tokenizer.is_domain_word(word) for word in words) / len(words) if words else 0.0

    def _nothing(self, query: Query, evidence: Evidence | None = None) -> SearchResult:
        """Nothing to show; about the work all the same if the question holds party-building words and the topic
        model does not call it everyday talk (the reports lack an answer, not the subject)."""
        if evidence is None:
            domain, topical = self._domain_share(query), self._topical(query)
        else:
            domain, topical = evidence.domain, evidence.topical
        about_the_work = domain > 0 and topical >= self.params.topic_related
        return SearchResult(query, Confidence.OFF_TOPIC, evidence=evidence, about_the_work=about_the_work)

    def _verdict(self, evidence: Evidence) -> Confidence:
        """Off-topic, possibly related or confident. With `calibrated`, for a typed question the confidence model
        says whether the excerpts are an answer where the rules show some (about a place or a year no top document
        holds, never), and the shown model whether any others that hold enough of it are shown at all (with the topic
        model on: it reads its probability); otherwise the rules decide."""
        by_rules = self._verdict_by_rules(evidence)
        if not self.params.calibrated or evidence.pasted:
            return by_rules  # pasted text is read for its key words, unlike the typed questions the models learnt
        features = evidence.features()
        if by_rules is not Confidence.OFF_TOPIC and evidence.about_it and self.confidence_model.says_yes(features):
            # An answer's evidence outweighs everyday words in it (大老虎, 苍蝇). It is no answer when no top passage
            # states the kind asked for (多久: a length of time); the models were trained without this rule.
            return Confidence.CONFIDENT if evidence.answer_stated else Confidence.WEAK
        if not self._topic_model_on:  # its probability would read 1 for every question: 冰箱哪个牌子省电 too
            return Confidence.OFF_TOPIC if by_rules is Confidence.OFF_TOPIC else Confidence.WEAK
        if not self.params.matched_enough(evidence.coverage, evidence.known):
            return Confidence.OFF_TOPIC  # excerpts holding one word of 党费交纳标准 (标准) are not worth showing
        return Confidence.WEAK if self.shown_model.says_yes(features) else Confidence.OFF_TOPIC

    def _verdict_by_rules(self, evidence: Evidence) -> Confidence:
        p = self.params
        fully_known = evidence.known >= _FULLY_KNOWN and not evidence.pasted
        if evidence.topical < (min(p.topic_veto, p.topic_veto_known) if fully_known else p.topic_veto):
            return Confidence.OFF_TOPIC
        if (
            evidence.coverage >= p.confident_coverage
            and evidence.known >= p.confident_known
            and (evidence.domain > 0 or evidence.known >= _FULLY_KNOWN)
        ):
            # Every word held, but not as typed together, or mostly through the thesaurus: shown, as possibly
            # related. Nor is a report about another place, or another year, the answer to a question about one no
            # report holds (2026年村两委换届哪个月开始, answered from a 2010 plan).
            held_as_typed = (
                evidence.phrases >= p.confident_phrases and evidence.literal >= p.confident_literal
            ) or evidence.pasted
            answers = held_as_typed and evidence.about_it and evidence.answer_stated
            return Confidence.CONFIDENT if answers else Confidence.WEAK
        if (
            p.matched_enough(evidence.coverage, evidence.known)
            and (
                evidence.domain >= p.related_domain
                or evidence.known >= _FULLY_KNOWN
                or 0 < p.topic_sure <= evidence.topical
            )
            and evidence.topical >= p.topic_related
        ):
            return Confidence.WEAK
        return Confidence.OFF_TOPIC

    @staticmethod
    def _hit(row: PassageRow, score: float, terms: Iterable[str]) -> Hit:
        text = _matchable(row.text)[0]
        shown = _shown_terms(terms, f"{_normalized(row.title or '')}\n{text}")
        return Hit(
            passage_id=row.id,
            doc_id=row.document_id,
            text=row.text,
            title=row.title,
            source=row.source,
            date=row.date,
            author=row.author,
            region=row.region,
            section=row.section,
            position=row.position,
            score=float(score),
            matched_terms=shown,
            highlights=highlight_spans(row.text, shown, text),
            file_name=row.file_name,
        )


def z_scores(cosines: np.ndarray | None, count: int) -> np.ndarray:
    """Cosines as z-scores among the known ones, so that a weight means the same whatever the question; 0 for
    unknown (NaN) ones, and for all when fewer than half are known (two or three cosines would make noise look
    like a difference, as while new passages are still being embedded)."""
    scores = np.zeros(count)
    if cosines is None:
        return scores
    present = np.flatnonzero(~np.isnan(cosines))
    if len(present) < max(2, count / 2):
        return scores
    known = cosines[present]
    spread = known.std()
    if spread > 0:
        scores[present] = (known - known.mean()) / spread
    return scores


@lru_cache(maxsize=8192)
def _matchable(text: str) -> tuple[str, str]:
    """A passage's normalised text and its fingerprint; remembered, as the same passages recur across questions."""
    normalized = normalize(text)
    return normalized, fingerprint_of_normalized(normalized)


# Share of the shorter passage's character pairs that the other holds, from which two passages are one text (one
# site's passage may be two of another's), unless each states a number the other does not.
_NEAR_COPY = 0.8
_CANDIDATES = 50  # the index's best passages re-ranked (more when a later page needs them)
_NAMES = "\x00"  # in a passage's text for matching, what follows (to the line's end) is its document's authors
_KNOWN = "\x01"  # ... and between the passage's text and its authors, the questions it is known to answer
_NAMES_RUN = re.compile(f"{_NAMES}[^\n]*")
_DIGITS = re.compile(r"\d+")


def _said(cited: str) -> str:
    """A passage's text for matching without the questions it is known to answer: what the report says."""
    if _KNOWN not in cited:
        return cited
    own, rest = cited.split(_KNOWN, 1)
    return own + rest[rest.index(_NAMES):]


def _best_first(entry: _Ranked) -> float:
    """Sort key: the highest re-ranked score first."""
    return -entry[0]


def _without_near_copies(ranked: list[_Ranked], wanted: int) -> list[_Ranked]:
    """The ranked passages with the near copies of a better one left out of the first `wanted`: one report
    republished by two sites is cut into passages differently (a heading more or less), so the same paragraph
    would take two of the three excerpts."""
    page, looked_at = _distinct_page(ranked, wanted)
    return page + ranked[looked_at:]


def _distinct_page(ranked: list[_Ranked], wanted: int) -> tuple[list[_Ranked], int]:
    """The first `wanted` ranked passages (or fewer) none of which is a near copy of one before it, and how many of
    the ranked passages it looked at."""
    kept: list[_Ranked] = []
    shapes: list[tuple[frozenset[str], frozenset[str]]] = []
    for at, entry in enumerate(ranked):
        if len(kept) == wanted:
            return kept, at
        pairs, numbers = these = _shape(_matchable(entry[2].text)[0])
        if not any(
            (numbers <= other_numbers or other_numbers <= numbers)
            and len(pairs & other) >= _NEAR_COPY * min(len(pairs), len(other)) > 0
            for other, other_numbers in shapes
        ):
            kept.append(entry)
            shapes.append(these)
    return kept, len(ranked)


@lru_cache(maxsize=256)  # a few per question, each a few kilobytes
def _shape(normalized: str) -> tuple[frozenset[str], frozenset[str]]:
    """What tells a copy of a passage: the overlapping character pairs of its text without punctuation or spaces,
    and the numbers it states (reports written from one template differ in them; a copy with a heading more may
    state one more)."""
    bare = without_punctuation(normalized)  # as the fingerprint of an exact copy reads it
    return frozenset(bare[i : i + 2] for i in range(len(bare) - 1)), frozenset(_DIGITS.findall(normalized))


@lru_cache(maxsize=4096)
def _normalized(title: str) -> str:
    """A document's title or authors normalised; remembered, as the same documents recur."""
    return normalize(title)


def _phrase_share(query: Query, text: str) -> float:
    """Share of the question's character bigrams a passage holds; a word the passage holds through a thesaurus
    equivalent (支书 -> 党支部书记) holds its own bigrams."""
    grams = set(query.grams)
    if not grams:
        return 1.0
    held = {gram for gram in grams if gram in text}
    for word in query.topic:
        if word not in text and any(stand_in in text for stand_in in query.stand_ins(word)):
            held.update(gram for gram in bigrams(word) if gram in grams)
    return len(held) / len(grams)


def forget_seen_passages() -> None:
    """Empty the memory of passages' and citations' normalised texts and of words' sounds (for benchmarks of
    first questions)."""
    _matchable.cache_clear()
    _citation.cache_clear()
    _normalized.cache_clear()
    sound.cache_clear()


def _years_held(query: Query, top: list[_Ranked]) -> bool:
    """Whether one of the top passages, with its document's title and date, holds every year the question names."""
    return not query.years or any(
        all(year in f"{row.date or ''}\n{_said(cited)}" for year in query.years) for _, _, row, cited in top
    )


def _answer_stated(top: list[_Ranked], coverage: _Coverage, enough: float, stating: set[int]) -> bool:
    """Whether one of the top passages holding enough of the question states the kind of answer it asks for (one of
    `stating`): 第一书记驻村多久 is not answered by a paragraph on first secretaries that states no length of time.
    With none holding enough, whether one of the top passages states it."""
    # The confidence model may make an answer of passages holding less than enough: then all of them are looked at.
    answering = [candidate for _, candidate, _, cited in top if coverage.of(cited) >= enough] or [
        candidate for _, candidate, _, _ in top
    ]
    return any(candidate.passage_id in stating for candidate in answering)


def _answer_words(query: Query) -> list[str]:
    """The words a sentence stating the answer must hold one of: the question's known words, or thesaurus words
    standing for them, other than those asking (比例 of 多少比例: reports say 按5%的比例 of anything) and single
    characters (按, 交)."""
    return [
        saying
        for word in query.topic
        if len(word) > 1 and word not in query.unknown and word not in query.asking and query.asking not in word
        for saying in (word, *query.stand_ins(word))
    ]


def _places_held(query: Query, top: list[_Ranked], coverage: _Coverage, enough: float, tokenizer: Tokenizer) -> bool:
    """Whether each place a typed question names is held by a document one of whose top passages holds enough of
    the question: one of its top passages names it (a county by its name without its level, 镇安, as a word of its
    own: not in 各乡镇安排), with the document's title and region and the places above those (a 沙坡头区
    report answers for 中卫). True when no passage holds enough: the verdict is not confident anyway."""
    if not query.places or query.pasted:
        return True
    answering = {candidate.document_id for _, candidate, _, cited in top if coverage.of(cited) >= enough}
    if not answering:
        return True
    cited_by_document = [(candidate.document_id, _said(cited)) for _, candidate, _, cited in top]

    def holds(text: str, place: Place) -> bool:
        if any(way in text for way in place.writings):
            return True
        return place.bare is not None and place.bare in text and place.bare in tokenizer.cut(text)

    return all(
        any(document in answering and holds(cited, place) for document, cited in cited_by_document)
        for place in query.places
    )


@lru_cache(maxsize=4096)
def _citation(title: str | None, region: str | None, source: str | None) -> str:
    """A document's title, region and source normalised, with the places above those it names (a passage of a
    沙坡头区 report also speaks of 中卫 and 宁夏); remembered, as the same documents recur. Its author follows the
    text after _NAMES."""
    places = _places_above(f"{title or ''}{region or ''}")
    return normalize("\n".join([*filter(None, (title, region, source)), *places]))


@lru_cache(maxsize=4096)
def _places_above(context: str) -> tuple[str, ...]:
    """The places above those a document's title and region name; remembered, as the same documents recur."""
    return tuple(bundled_gazetteer().above(context))


class _Coverage:
    """The share of a question's telling words (weighted by rarity, unknown words left out) a text holds."""

    def __init__(self, query: Query, parser: QueryParser, tokenizer: Tokenizer) -> None:
        weights = {word: parser.word_weight(word, query) for word in query.topic}
        self.known = {word: w for word, w in weights.items() if word not in query.unknown}
        self.words = len(weights)  # the question's topic words, known or not
        self.total = sum(weights.values()) or 1.0
        self.known_total = sum(self.known.values())
        # Each word's weight and ways of being said (itself or a thesaurus word standing for it; or all of its
        # parts), worked out once for all passages.
        self._forms = [
            (w, (word, *query.stand_ins(word)), tuple(tokenizer.parts(word))) for word, w in self.known.items()
        ]
        self._pieces = {
            word: [piece for piece in tokenizer.words_of(word) if len(piece) > 1 and piece != word]
            for word in self.known
        }
        # What holds a word as typed: itself, a thesaurus word it is a short form of (支书 of 党支部书记, 村监委 of
        # 村务监督委员会) or the same as (后继无人, 后继乏人), never a broader word standing for it (党内处分 for 留党察看).
        same = tokenizer.thesaurus.same
        self._as_typed = [
            (word, *(other for other in others if _shortens(word, other) or same(word, other)))
            for _, (word, *others), _ in self._forms
        ]

    def of(self, text: str) -> float:
        """The share of the known words' weight that the text holds (0 when no word is known)."""
        return self.measure(text)[0]

    def measure(self, text: str) -> tuple[float, list[str]]:
        """The share of the known words' weight that the text holds (0 when no word is known), and those words.

        Names after _NAMES (a document's authors) hold words of two or more characters only: 换 is not in 魏小換.
        """
        if not self.known_total:
            return 0.0, []
        prose = _NAMES_RUN.sub("", text)  # a line of names ends each passage's text (pasted: several passages)
        share, held = 0.0, []
        for (weight, sayings, parts), word in zip(self._forms, self.known):  # run for every candidate
            if _holds(text, prose, sayings, parts):
                share += weight
                held.append(word)
        return share / self.known_total, held

    def literal(self, text: str) -> float:
        """The share of the known words' weight that the text holds as typed (or as a longer word they are a short
        form of), or in all of their parts, not through a broader thesaurus word standing for them."""
        if not self.known_total:
            return 0.0
        prose = _NAMES_RUN.sub("", text)
        share = 0.0
        for (weight, _, parts), sayings in zip(self._forms, self._as_typed):
            if _holds(text, prose, sayings, parts):
                share += weight
        return share / self.known_total

    def touched(self, text: str, held: list[str]) -> list[str]:
        """The known words held, and those one of whose pieces of two characters or more (jieba's search mode:
        牌子 of 挂牌子) the text holds."""
        prose = _NAMES_RUN.sub("", text)
        return held + [
            word for word, pieces in self._pieces.items() if word not in held and any(p in prose for p in pieces)
        ]


def _holds(text: str, prose: str, sayings: Sequence[str], parts: Sequence[str]) -> bool:
    """Whether a text holds a word said one of these ways, or all of its parts; a one-character saying counts only
    in the prose, not in the authors' names after it."""
    for saying in sayings:
        if saying in (text if len(saying) > 1 else prose):
            return True
    return bool(parts) and all(part in prose for part in parts)


def _shortens(short: str, word: str) -> bool:
    """Whether a word is a short form of another: its characters, in order, within the longer one (支书 in
    党支部书记)."""
    if len(short) >= len(word):
        return False
    rest = iter(word)
    return all(char in rest for char in short)


class SemanticCloseness(Protocol):
    """How close in meaning each of some passages is to a question (retrieval/semantic.py)."""

    def cosines(self, question: str, texts: Sequence[str]) -> np.ndarray | None:
        """The cosine of each text's vector and the question's (NaN where a text has none yet); None when the
        question cannot be embedded now."""


class CorpusLike(Protocol):
    """What Searcher.over needs of a corpus."""

    tokenizer: Tokenizer
    index: SearchBackend | None
    store: PassageSource
