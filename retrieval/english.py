"""English mixed into a question (村两委 election, weak and lax) read as the Chinese word the reports write."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from rectbot.retrieval.thesaurus import data_lines

ENGLISH_GLOSSARY = Path(__file__).parent / "data" / "english.txt"
# A latin word of normalised (lower-cased) text; to-do and villagers' are one word each.
_WORD = re.compile(r"[a-z]+(?:['\-][a-z]+)*")
# Endings cut off a word not found as typed, and what replaces them: parties -> party, elected -> elect, elect(e)d.
_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"))


@dataclass(frozen=True)
class EnglishGlossary:
    """English terms (one word or a phrase, lower case, base form) -> the one Chinese word reports write."""

    terms: dict[str, str] = field(default_factory=dict)
    everyday: frozenset[str] = frozenset()  # terms read as Chinese only in a question about the work (meeting, money)

    @classmethod
    def read(cls, path: Path) -> EnglishGlossary:
        """Read `english term = 中文` lines (`~ term = 中文` for an everyday term); a term listed twice, or a line
        without both sides, is refused."""
        terms: dict[str, str] = {}
        everyday: set[str] = set()
        for line in data_lines(path):
            common = line.startswith("~")
            english, sep, chinese = (part.strip() for part in line.removeprefix("~").partition("="))
            english = " ".join(english.lower().split())
            if not sep or not english or not chinese or not _WORD.fullmatch(english.replace(" ", "-")):
                raise ValueError(f"{path}: not `english term = 中文`: {line!r}")
            if english in terms:
                raise ValueError(f"{path}: {english!r} is listed twice")
            terms[english] = chinese
            if common:
                everyday.add(english)
        return cls(terms, frozenset(everyday))

    @cached_property
    def _longest(self) -> int:
        """The most words a term holds."""
        return max((term.count(" ") + 1 for term in self.terms), default=0)

    def render(self, normalized: str, everyday: bool = True) -> tuple[str, list[tuple[str, str]]]:
        """The text with each English term it holds (everyday ones too, unless told not to) replaced by its Chinese
        word, longest terms first, and the (as typed, Chinese) pairs replaced. Only spaces join words into a phrase."""
        words = list(_WORD.finditer(normalized))
        parts: list[str] = []
        renderings: list[tuple[str, str]] = []
        done = 0  # how much of the text is in parts
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                run = words[i : i + n]
                if any(normalized[a.end() : b.start()].strip() for a, b in zip(run, run[1:])):
                    continue  # punctuation or Chinese between them: not one phrase
                chinese = self._lookup([match.group() for match in run], everyday)
                if chinese is not None:
                    start, end = run[0].start(), run[-1].end()
                    parts += [normalized[done:start], f" {chinese} "]
                    renderings.append((normalized[start:end], chinese))
                    done, i = end, i + n
                    break
            else:
                i += 1
        return "".join([*parts, normalized[done:]]), renderings

    def _lookup(self, words: list[str], everyday: bool) -> str | None:
        """The Chinese for these words as a term, its last word as typed or in its base form (villages, elected)."""
        head = " ".join(words[:-1])
        for last in _base_forms(words[-1]):
            term = f"{head} {last}" if head else last
            if term in self.terms and (everyday or term not in self.everyday):
                return self.terms[term]
        return None


def _base_forms(word: str) -> list[str]:
    """The word, then what it may be an inflection of: parties -> party, branches -> branch, elected -> elect."""
    forms = [word]
    for suffix, replacement in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)] + replacement)
    return forms


@cache
def bundled_english_glossary() -> EnglishGlossary:
    """The glossary shipped with rectbot (`retrieval/data/english.txt`)."""
    return EnglishGlossary.read(ENGLISH_GLOSSARY)
