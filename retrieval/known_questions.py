"""Questions staff ask in their own words, each tied to the passage of a document that answers it, indexed with that
passage (document expansion, as doc2query does: Nogueira et al., 2019).

A report says 举债搞建设 where staff say 欠了一屁股债. The thesaurus bridges such words one pair at a time; a
passage indexed with the questions people ask of it bridges all the words of those questions at once. The questions
are searched, never shown: an excerpt is the passage's own text. The verdict counts them in how much of a question a
passage covers, not in what it holds as typed (see Searcher._judge). `retrieval/data/seed_questions.json` holds
questions for the bundled seed reports (see README, Ranking).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rectbot.retrieval.text import normalize

SEED_QUESTIONS = Path(__file__).parent / "data" / "seed_questions.json"
FORMAT = 1
# A quote shorter than this could be found in many passages.
MIN_QUOTE_CHARS = 8


@dataclass(frozen=True)
class KnownQuestion:
    """A question about a file, and a quote from the file that the passage answering it holds."""

    file_name: str
    quote: str
    question: str


class KnownQuestions:
    """Known questions by file, found for a passage by the quote it holds."""

    def __init__(self, questions: Iterable[KnownQuestion]) -> None:
        self.questions = tuple(questions)
        # By file: (quote, question, question), the quote and the last question normalised.
        self._by_file: dict[str, list[tuple[str, str, str]]] = {}
        for known in self.questions:
            if len(normalize(known.quote)) < MIN_QUOTE_CHARS:
                raise ValueError(f"a quote needs {MIN_QUOTE_CHARS} characters or more: {known.quote!r}")
            entry = (normalize(known.quote), known.question, normalize(known.question))
            self._by_file.setdefault(known.file_name, []).append(entry)
        digest = hashlib.sha256()
        for known in self.questions:
            digest.update(f"{known.file_name}\0{known.quote}\0{known.question}\n".encode())
        self.version = f"{len(self.questions)} {digest.hexdigest()[:16]}"  # an index built with others is rebuilt

    def __len__(self) -> int:
        return len(self.questions)

    def for_passage(self, file_name: str, text: str) -> list[str]:
        """The questions about this file whose quote the passage's text holds (both normalised)."""
        if file_name not in self._by_file:
            return []
        normalized = normalize(text)
        return [question for quote, question, _ in self._by_file[file_name] if quote in normalized]

    def for_normalized(self, file_name: str, normalized: str) -> list[str]:
        """for_passage() of a passage whose text is already normalised, the questions normalised too (the searcher
        matches normalised text, and asks this of every candidate)."""
        return [question for quote, _, question in self._by_file.get(file_name, ()) if quote in normalized]

    def indexed_text(self, file_name: str, text: str) -> str:
        """What the passage is indexed as: its text, then the questions it answers, a line each."""
        return "\n".join([text, *self.for_passage(file_name, text)])

    @classmethod
    def read(cls, path: Path) -> KnownQuestions:
        """Load a file written as {"format": 1, "files": {file name: [{"quote": ..., "questions": [...]}]}}."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
            raise ValueError(f"{path}: expected known questions of format {FORMAT}")
        questions = []
        for file_name, entries in data["files"].items():
            if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
                raise ValueError(f"{path}: {file_name}: expected a list of entries")
            for entry in entries:
                quote, asked = entry.get("quote"), entry.get("questions")
                if not isinstance(quote, str) or not isinstance(asked, list) or not all(isinstance(q, str) for q in asked):
                    raise ValueError(f"{path}: {file_name}: each entry needs a quote and a list of questions")
                questions += [KnownQuestion(file_name, quote, question) for question in asked]
        return cls(questions)


NO_KNOWN_QUESTIONS = KnownQuestions(())


@cache
def bundled_known_questions() -> KnownQuestions:
    """The questions shipped for the bundled seed reports."""
    return KnownQuestions.read(SEED_QUESTIONS)
