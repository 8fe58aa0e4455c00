"""English mixed into a question (村两委 election, weak and lax) read as the Chinese word the reports write."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from rectbot.retrieval.thesaurus import data_lines

ENGLISH_GLOSSARY = Path(__file__).parent / "data" / "english.txt"
# A latin word of normalised (lower-cased) text, not glued to digits (party2023 is no word); to-do is one word.
_WORD = re.compile(r"(?<![a-z0-9])[a-z]+(?:['\-][a-z]+)*(?![a-z0-9])")
# Endings cut off a word not found as typed, and what replaces them: parties -> party, elected -> elect, elect(e)d.
_INFLECTIONS = (
    ("'s", ""), ("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
)  # fmt: skip


@dataclass(frozen=True)
class EnglishGlossary:
    """English terms (one word or a phrase, lower case, base form) -> the one Chinese word reports write."""

    terms: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> EnglishGlossary:
        """Read `english term = 中文` lines; a term listed twice, or a line without both sides, is refused."""
        terms: dict[str, str] = {}
        for line in data_lines(path):
            english, sep, chinese = (part.strip() for part in line.partition("="))
            english = " ".join(english.lower().split())
            if not sep or not english or not chinese or not _WORD.fullmatch(english.replace(" ", "-")):
                raise ValueError(f"{path}: not `english term = 中文`: {line!r}")
            if english in terms:
                raise ValueError(f"{path}: {english!r} is listed twice")
            terms[english] = chinese
        return cls(terms)

    @cached_property
    def _phrase_lengths(self) -> dict[str, tuple[int, ...]]:
        """For each first word of a phrase, the numbers of words its phrases hold, longest first."""
        lengths: defaultdict[str, set[int]] = defaultdict(set)
        for term in self.terms:
            words = term.replace("-", " ").split()
            if len(words) > 1:
                lengths[words[0]].add(len(words))
        return {word: tuple(sorted(found, reverse=True)) for word, found in lengths.items()}

    @cached_property
    def _spaced(self) -> dict[str, str]:
        """Every term by its words joined with spaces (party-building and party building alike)."""
        return {" ".join(term.replace("-", " ").split()): chinese for term, chinese in self.terms.items()}

    def render(self, normalized: str) -> tuple[str, list[tuple[str, str]]]:
        """The text with each English term it holds replaced by its Chinese word, longest terms first, and the
        distinct (as typed, Chinese) pairs replaced; only spaces and hyphens join words into a phrase."""
        words = [match for found in _WORD.finditer(normalized) for match in _split_hyphens(found)]
        parts: list[str] = []
        renderings: dict[str, str] = {}  # Chinese -> as first typed: elections and election are said once
        done = i = 0  # how much of the text is in parts; the word looked at
        while i < len(words):
            for n in (*self._phrase_lengths.get(words[i][2], ()), 1):
                run = words[i : i + n]
                if len(run) < n or any(normalized[a[1] : b[0]].strip(" -") for a, b in zip(run, run[1:])):
                    continue  # the text ends first, or punctuation or Chinese stands between two of its words
                chinese = self._lookup([word for _, _, word in run])
                if chinese is not None:
                    start, end = run[0][0], run[-1][1]
                    parts += [normalized[done:start], f" {chinese} "]
                    renderings.setdefault(chinese, normalized[start:end])
                    done, i = end, i + n
                    break
            else:
                i += 1
        return "".join([*parts, normalized[done:]]), [(typed, chinese) for chinese, typed in renderings.items()]

    def _lookup(self, words: list[str]) -> str | None:
        """The Chinese for these words as a term, its last word as typed or in its base form (villages, elected)."""
        head = " ".join(words[:-1])
        for last in _base_forms(words[-1]):
            chinese = self._spaced.get(f"{head} {last}" if head else last)
            if chinese is not None:
                return chinese
        return None


def _split_hyphens(match: re.Match[str]) -> list[tuple[int, int, str]]:
    """A latin word as (start, end, word) pieces: to-do whole (the glossary may list it), party-branch as two."""
    word, start = match.group(), match.start()
    if "-" not in word:
        return [(start, match.end(), word)]
    pieces, at = [], start
    for piece in word.split("-"):
        pieces.append((at, at + len(piece), piece))
        at += len(piece) + 1
    return pieces


def _base_forms(word: str) -> list[str]:
    """The word, then what it may be an inflection of: parties -> party, branches -> branch, elected -> elect."""
    forms = [word]
    for suffix, replacement in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)] + replacement)
    return forms


def as_typed(question: str, term: str) -> str:
    """The term as the question wrote it (Election, Party-Branch) rather than normalised (election, party-branch);
    the term itself if the question does not hold it so."""
    pattern = r"[\s\-]+".join(map(re.escape, re.split(r"[\s\-]+", term)))
    found = re.search(pattern, unicodedata.normalize("NFKC", question), re.IGNORECASE)
    return found.group() if found else term


@cache
def bundled_english_glossary() -> EnglishGlossary:
    """The glossary shipped with rectbot (`retrieval/data/english.txt`)."""
    return EnglishGlossary.read(ENGLISH_GLOSSARY)
