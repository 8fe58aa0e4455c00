"""Many passages cut at once into a TokenBatch: the tokens Tokenizer.passage_tokens gives, made faster.

Big builds cut hundreds of thousands of passages. Cut one by one, most of the time goes on making and looking
up strings: every character pair of a passage becomes a string, every word is checked against the stopwords.
Here the character pairs of a whole batch are numbers worked out by numpy (each distinct pair becomes a
string once), and each distinct word is checked once. tests/test_batch_cut.py checks the lists are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from rectbot.retrieval.text import normalize
from rectbot.retrieval.token_batch import TokenBatch
from rectbot.retrieval.tokenizer import Tokenizer

# The code point ranges of text.HAN and of tokenizer._LATIN_OR_NUMBER, for numpy.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_LATIN_RANGES = ((ord("a"), ord("z")), (ord("0"), ord("9")))
_PAIR_SHIFT = 21  # every code point is under 2**21: a pair (a, b) is a << 21 | b, a lone character itself
_LATIN_KEYS = 1 << 50  # latin words and numbers are numbered from here


def passage_batch(tokenizer: Tokenizer, texts: Sequence[str]) -> TokenBatch:
    """[tokenizer.passage_tokens(text) for text in texts] as a TokenBatch of two fields (words, bigrams)."""
    if not texts:
        return TokenBatch([], np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64), 2)
    normalized = [normalize(text) for text in texts]
    word_vocabulary, word_ids, word_lengths = _words(tokenizer, normalized)
    gram_vocabulary, gram_ids, gram_lengths = _bigrams(normalized)
    # One vocabulary (a word and a pair may be the same string twice: harmless, both say the same token).
    gram_ids = gram_ids + len(word_vocabulary)
    # Each text's words, then its bigrams.
    lengths = np.column_stack((word_lengths, gram_lengths)).reshape(-1)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ids = np.empty(int(lengths.sum()), dtype=np.uint32)
    ids[_places(starts[0::2], word_lengths)] = word_ids
    ids[_places(starts[1::2], gram_lengths)] = gram_ids
    return TokenBatch([*word_vocabulary, *gram_vocabulary], ids, lengths, 2)


def _places(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions start, start + 1, ... start + length - 1 of every (start, length), one after another."""
    total = int(lengths.sum())
    first_of_run = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return np.repeat(starts - first_of_run, lengths) + np.arange(total)


def _words(tokenizer: Tokenizer, normalized: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Tokenizer.words_of each text: the distinct words, every word as a number into them, each text's count."""
    cuts = [tokenizer.search_cut(text) for text in normalized]
    every = list(chain.from_iterable(cuts))
    number = {word: i for i, word in enumerate(dict.fromkeys(every))}
    ids = np.fromiter(map(number.__getitem__, every), dtype=np.uint32, count=len(every))
    owner = np.repeat(np.arange(len(cuts)), [len(cut) for cut in cuts])
    kept = np.fromiter(map(tokenizer.indexable, number), dtype=bool, count=len(number))[ids]
    return list(number), ids[kept], np.bincount(owner[kept], minlength=len(cuts)).astype(np.int64)


def _in(codes: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    inside = np.zeros(len(codes), dtype=bool)
    for low, high in ranges:
        inside |= (codes >= low) & (codes <= high)
    return inside


def _bigrams(normalized: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """tokenizer.bigrams() of each text: the distinct tokens, every token as a number into them, each text's
    count. A Han run gives its overlapping pairs (a lone character itself), a latin word or number itself."""
    joined = "\n".join(normalized)  # a newline is neither Han nor latin: no run crosses two texts
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    han, latin = _in(codes, _HAN_RANGES), _in(codes, _LATIN_RANGES)
    han_before = np.concatenate(([False], han[:-1]))
    han_after = np.concatenate((han[1:], [False]))
    pairs = np.flatnonzero(han & han_after)
    lone = np.flatnonzero(han & ~han_before & ~han_after)
    latin_before = np.concatenate(([False], latin[:-1]))
    latin_after = np.concatenate((latin[1:], [False]))
    latin_starts = np.flatnonzero(latin & ~latin_before)
    latin_ends = np.flatnonzero(latin & ~latin_after) + 1
    latin_words = [joined[start:end] for start, end in zip(latin_starts.tolist(), latin_ends.tolist(), strict=True)]
    latin_number = {word: i for i, word in enumerate(dict.fromkeys(latin_words))}
    positions = np.concatenate((pairs, lone, latin_starts))
    keys = np.concatenate((
        codes[pairs] << _PAIR_SHIFT | codes[pairs + 1],
        codes[lone],
        _LATIN_KEYS + np.fromiter(map(latin_number.__getitem__, latin_words), dtype=np.int64, count=len(latin_words)),
    ))
    order = np.argsort(positions, kind="stable")  # the tokens in the order the text holds them
    positions, keys = positions[order], keys[order]
    distinct, ids = np.unique(keys, return_inverse=True)
    latin_vocabulary = list(latin_number)
    vocabulary = [
        latin_vocabulary[key - _LATIN_KEYS] if key >= _LATIN_KEYS
        else chr(key >> _PAIR_SHIFT) + chr(key & ((1 << _PAIR_SHIFT) - 1)) if key >> _PAIR_SHIFT
        else chr(key)
        for key in distinct.tolist()
    ]
    text_starts = np.concatenate(([0], np.cumsum([len(text) + 1 for text in normalized])[:-1]))
    owner = np.searchsorted(text_starts, positions, side="right") - 1
    lengths = np.bincount(owner, minlength=len(normalized)).astype(np.int64)
    return vocabulary, ids.astype(np.uint32), lengths
