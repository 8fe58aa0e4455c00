"""The token lists of many texts in one piece, each token a number into a vocabulary.

Segmenting a million passages makes about 200 million tokens. Handed around as Python lists of strings, every
step after the cut (packing for the trip from a worker process, the token cache's ids, the index's columns) is a
dictionary lookup per token; as a TokenBatch each of those steps looks up each distinct token once and maps the
rest with numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

import numpy as np

TokenLists = tuple[list[str], ...]  # one text's lists (for a passage: its words, then its bigrams)


class TokenBatch(NamedTuple):
    """Texts' token lists: every list's tokens one after another as numbers into `vocabulary`, `fields` lists
    per text (text 0's lists, then text 1's, ...)."""

    vocabulary: Sequence[str]
    ids: np.ndarray  # unsigned integers into vocabulary
    lengths: np.ndarray  # int64, the length of each list
    fields: int

    @classmethod
    def of_lists(cls, lists: Sequence[TokenLists], fields: int | None = None) -> TokenBatch:
        """A batch of token lists given as strings (every text with the same number of lists)."""
        if fields is None:
            fields = len(lists[0]) if lists else 1
        if any(len(text_lists) != fields for text_lists in lists):
            raise ValueError(f"every text needs {fields} token lists")
        every = list(chain.from_iterable(chain.from_iterable(lists)))
        number = {token: i for i, token in enumerate(dict.fromkeys(every))}
        ids = np.fromiter(map(number.__getitem__, every), dtype=np.uint32, count=len(every))
        lengths = np.fromiter((len(tokens) for text_lists in lists for tokens in text_lists), dtype=np.int64,
                              count=len(lists) * fields)
        return cls(list(number), ids, lengths, fields)

    @classmethod
    def joined(cls, batches: Sequence[TokenBatch], fields: int) -> TokenBatch:
        """One batch of the texts of several, in order, over one vocabulary (each distinct token looked up once)."""
        numbers: dict[str, int] = {}
        parts = []
        for batch in batches:
            if batch.fields != fields:
                raise ValueError(f"a batch of {batch.fields} lists per text among batches of {fields}")
            parts.append(np.asarray(number_tokens(batch.vocabulary, numbers), dtype=np.uint32)[batch.ids])
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)
        lengths = np.concatenate([b.lengths for b in batches]) if batches else np.zeros(0, dtype=np.int64)
        return cls(list(numbers), ids, lengths, fields)

    def __len__(self) -> int:
        """Return the number of texts."""
        return len(self.lengths) // self.fields

    def field(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        """The ids of one field's lists one after another (text by text), and each text's list length."""
        if self.fields == 1:
            return self.ids, self.lengths
        owner = np.repeat(np.arange(len(self.lengths)) % self.fields, self.lengths)
        return self.ids[owner == number], self.lengths[number :: self.fields]

    def lists(self) -> list[TokenLists]:
        """Each text's token lists as strings."""
        if len(self.ids) == 0:
            tokens: Sequence[str] = ()
        elif len(self.ids) == 1:
            tokens = (self.vocabulary[int(self.ids[0])],)
        else:
            tokens = itemgetter(*self.ids.tolist())(self.vocabulary)  # one C loop over every token
        ends = np.cumsum(self.lengths).tolist()
        flat = [list(tokens[start:end]) for start, end in zip([0, *ends[:-1]], ends)]
        return [tuple(flat[at : at + self.fields]) for at in range(0, len(flat), self.fields)]


def number_tokens(tokens: Sequence[str], numbers: dict[str, int], added: list[str] | None = None) -> list[int]:
    """Each token's number in `numbers`, new tokens numbered from len(numbers) on (added to it, and to `added`).

    One C loop looks up every token; only the new ones, few once a build is under way, take a Python step.
    """
    found = list(map(numbers.get, tokens))
    if None in found:
        for place in [place for place, number in enumerate(found) if number is None]:
            token = tokens[place]
            number = numbers.get(token)  # the same new token may come twice
            if number is None:
                number = numbers[token] = len(numbers)
                if added is not None:
                    added.append(token)
            found[place] = number
    return found  # type: ignore[return-value]
