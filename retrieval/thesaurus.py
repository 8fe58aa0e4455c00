"""The domain thesaurus: how staff speak -> how reports write, read from reviewed data files."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rectbot.retrieval.text import normalize


def data_lines(path: Path) -> list[str]:
    """Non-empty lines of a data file without `#` comments."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


@dataclass(frozen=True)
class Thesaurus:
    """Each key -> the words a question holding it also searches for."""

    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    everyday: frozenset[str] = frozenset()  # keys of `~` groups: they widen a search but are not party-building
    # Each word of an equivalence group -> the others (后继乏人 -> 后继无人): the same thing, not a broader one.
    equivalents: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: Iterable[Path]) -> Thesaurus:
        """Read group files: `a b c` or `= a b c` (equivalents), `a b > X Y` (a and b also search X and Y).

        A group starting with `~` has everyday keys (几天 > 时限 期限): they expand as usual, but do not make a
        question one about party building.
        """
        expansions: dict[str, list[str]] = {}
        everyday: set[str] = set()
        equivalents: dict[str, set[str]] = {}

        def add(keys: list[str], targets: list[str]) -> None:
            for key in keys:
                known = expansions.setdefault(key, [])
                known.extend(t for t in targets if t != key and t not in known)

        for path in paths:
            for line in data_lines(path):
                if line.startswith("~"):
                    line = line[1:].strip()
                    everyday.update(_words(line.split(">", 1)[0]))
                if ">" in line:
                    left, right = line.split(">", 1)
                    keys, targets = _words(left), _words(right)
                    if not keys or not targets:
                        raise ValueError(f"{path.name}: a directional group needs words on both sides: {line!r}")
                    add(keys, targets)
                else:
                    group = _words(line.removeprefix("="))
                    add(group, group)
                    for word in group:
                        equivalents.setdefault(word, set()).update(w for w in group if w != word)
        return cls(
            {key: tuple(targets) for key, targets in expansions.items() if targets}, frozenset(everyday),
            {word: frozenset(others) for word, others in equivalents.items() if others},
        )

    def to_json(self) -> dict[str, object]:
        """The thesaurus as JSON values (from_json() reads them back)."""
        return {"expansions": {key: list(targets) for key, targets in self.expansions.items()},
                "everyday": sorted(self.everyday),
                "equivalents": {word: sorted(others) for word, others in self.equivalents.items()}}

    @classmethod
    def from_json(cls, value: dict[str, object]) -> Thesaurus:
        """A thesaurus from to_json()'s values."""
        expansions = value["expansions"]
        everyday = value["everyday"]
        equivalents = value["equivalents"]
        if not isinstance(expansions, dict) or not isinstance(everyday, list) or not isinstance(equivalents, dict):
            raise ValueError("not a thesaurus")
        return cls(
            {key: tuple(targets) for key, targets in expansions.items()}, frozenset(everyday),
            {word: frozenset(others) for word, others in equivalents.items()},
        )

    def same(self, word: str, other: str) -> bool:
        """Whether two words are in one equivalence group (the same thing here, not a broader word)."""
        return other in self.equivalents.get(word, ())

    @property
    def words(self) -> set[str]:
        """Every word the thesaurus names, keys and targets."""
        return set(self.expansions) | {t for targets in self.expansions.values() for t in targets}

    @property
    def report_words(self) -> set[str]:
        """Words that mark a question as party-building: what reports write, and how staff say it (支书 for
        党支部书记, 土皇帝 for 村霸), but not everyday keys, those of `~` groups (多少钱 for 经费)."""
        targets = {t for targets in self.expansions.values() for t in targets}
        return (targets | set(self.expansions)) - self.everyday

    def expand(self, normalized_question: str, boundaries: Set[int] | None = None) -> dict[str, str]:
        """Words to also search -> the key of the question that brought them, longest keys first.

        With `boundaries` (offsets where words start or end), a key counts only as whole words, never
        across the inside of one (天天 is not in 今天天气). A key inside a longer key that matched (书记 inside
        村书记) adds nothing of its own.
        """

        def whole(key: str) -> bool:
            start = normalized_question.find(key)
            while start != -1:
                if boundaries is None or (start in boundaries and start + len(key) in boundaries):
                    return True
                start = normalized_question.find(key, start + 1)
            return False

        matched: list[str] = []
        for key in self._keys_in(normalized_question):
            if not any(key in longer for longer in matched) and whole(key):
                matched.append(key)
        found: dict[str, str] = {}
        for key in matched:
            for target in self.expansions[key]:
                if target not in normalized_question:
                    found.setdefault(target, key)
        return found


    def _keys_in(self, text: str) -> list[str]:
        """The keys that occur in the text, longest first (equal lengths in the files' order).

        Looks up the text's substrings (a question has a few hundred) rather than every key (thousands).
        """
        rank, longest = self._key_order
        present = {
            text[start:end]
            for start in range(len(text) - 1)
            for end in range(start + 2, min(start + longest, len(text)) + 1)
            if text[start:end] in rank
        }
        return sorted(present, key=rank.__getitem__)

    @cached_property
    def _key_order(self) -> tuple[dict[str, int], int]:
        """Each key's place in the order keys are tried (longest first), and the longest key's length."""
        keys = sorted(self.expansions, key=len, reverse=True)
        return {key: place for place, key in enumerate(keys)}, max(map(len, keys), default=0)


def _words(text: str) -> list[str]:
    words = [normalize(word) for word in text.split() if word != "="]
    if short := [word for word in words if len(word) < 2]:
        # A single character matches inside countless words: it would widen every question that holds it.
        raise ValueError(f"thesaurus words need two or more characters: {short} in {text.strip()!r}")
    return words
