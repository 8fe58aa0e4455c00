"""Searcher.search(question) -> cited hits, or none when the question shares nothing meaningful with the corpus."""

from __future__ import annotations

import math
from dataclasses import dataclass

from retrieval.corpus import Corpus
from retrieval.index import PassageIndex
from retrieval.store import PassageRow
from retrieval.text import normalize, text_fingerprint


class EmptyQuestion(ValueError):
    """The question is empty or only whitespace."""


@dataclass(frozen=True)
class SearchParams:
    """How the searcher decides what is worth showing."""

    # Share of the question's weight (idf of its words; unknown words weigh the most) that the
    # best passage must contain; below it the question is about something the corpus lacks.
    min_coverage: float = 0.45
    # Questions are cut to this many words before ranking; longer input is pasted text, not a question.
    max_question_tokens: int = 64
    # A word that no passage contains is evidence the question is about something else: it weighs
    # this many times the largest idf when coverage is computed.
    unknown_word_weight: float = 1.5
    # Synonyms of the question's words count for less than the words the user typed.
    synonym_weight: float = 0.5


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


def _term_weight(index: PassageIndex, token: str, unknown_word_weight: float) -> float:
    """How much a question word says: its idf, or more than any idf if no passage has it."""
    if index.document_frequency(token) == 0:
        return unknown_word_weight * math.log(1 + (len(index) - 0.5) / 1.5)
    return max(index.idf(token), 0.0)


def highlight_spans(text: str, terms: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Spans of text whose normalised form is one of the terms, longest terms first, not overlapping."""
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


def _shown_terms(tokens: list[str], normalized_text: str) -> tuple[str, ...]:
    """Question words found in a passage, dropping single characters and words inside longer matches."""
    found = [t for t in tokens if t in normalized_text and (len(t) > 1 or t.isdigit())]
    return tuple(t for t in found if not any(t != other and t in other for other in found))


class Searcher:
    """Ranks passages of the corpus for a question."""

    def __init__(self, corpus: Corpus, params: SearchParams = SearchParams()) -> None:
        self.corpus = corpus
        self.params = params

    async def search(self, question: str, k: int = 3, offset: int = 0) -> list[Hit]:
        """The best k hits after the first `offset`; [] when nothing in the corpus is about the question."""
        if not question or not question.strip():
            raise EmptyQuestion("the question is empty: type a few words about what you want to know")
        index = self.corpus.index
        if index is None or len(index) == 0:
            return []
        tokenizer = self.corpus.tokenizer
        words = tokenizer.tokens(question)[: self.params.max_question_tokens]
        if not words:
            return []
        synonyms = [t for t in tokenizer.synonym_tokens(question) if t not in words][: self.params.max_question_tokens]
        ranked = self._rank(index, words, synonyms, candidates=max(50, (offset + k) * 5))
        if not ranked:
            return []
        query = words + synonyms
        rows = await self.corpus.store.passages_by_id(passage_id for passage_id, _ in ranked)

        weights = self._topic_weights(index, question, words)
        total_weight = sum(weights.values()) or 1.0
        hits: list[Hit] = []
        seen_texts: set[str] = set()
        for passage_id, score in ranked:
            row = rows.get(passage_id)
            if row is None:  # deleted since the index was built
                continue
            normalized = normalize(f"{row.title or ''}\n{row.text}")
            if not hits:  # the best passage decides whether the corpus is about the question at all
                # Synonyms count towards the word they stand for.
                covered = sum(
                    weight
                    for word, weight in weights.items()
                    if word in normalized or any(s in normalized for s in tokenizer.synonyms.get(word, ()))
                )
                if covered / total_weight < self.params.min_coverage:
                    return []
            fingerprint = text_fingerprint(row.text)
            if fingerprint in seen_texts:  # the same paragraph republished in another document
                continue
            seen_texts.add(fingerprint)
            hits.append(self._hit(row, score, query, normalized))
            if len(hits) >= offset + k:
                break
        return hits[offset : offset + k]

    def _topic_weights(self, index: PassageIndex, question: str, words: list[str]) -> dict[str, float]:
        """Weights of the words that say what the question is about.

        Place names only say where (宁夏, 北京): they narrow a question but are not its topic, so
        they are left out unless the question holds nothing else.
        """
        places = self.corpus.tokenizer.place_names(question)
        topic = [w for w in words if not any(w in place for place in places)] or words
        return {word: _term_weight(index, word, self.params.unknown_word_weight) for word in topic}

    def _rank(self, index: PassageIndex, words: list[str], synonyms: list[str], candidates: int) -> list[tuple[int, float]]:
        """BM25 on the question's words, plus the synonyms' BM25 at a lower weight, best first."""
        scores = {passage_id: score for passage_id, score in index.search(words, k=candidates)}
        if synonyms:
            for passage_id, score in index.search(synonyms, k=candidates):
                scores[passage_id] = scores.get(passage_id, 0.0) + self.params.synonym_weight * score
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))

    @staticmethod
    def _hit(row: PassageRow, score: float, query: list[str], normalized: str) -> Hit:
        terms = _shown_terms(query, normalized)
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
            matched_terms=terms,
            highlights=highlight_spans(row.text, terms),
        )
