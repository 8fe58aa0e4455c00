"""A batch of passages cut at once gives every passage the tokens Tokenizer.passage_tokens gives it, in order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rectbot.retrieval.batch_cut import passage_batch
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.tokenizer import Tokenizer

# Han (common, rare, compatibility), latin letters and digits in both widths, other scripts, spaces, punctuation,
# emoji and a traditional character with its pinyin note: everything passage_tokens treats differently.
PIECES = st.sampled_from([
    "村", "书记", "软弱涣散", "㐀", "䶿", "豈", "a", "Z", "ｃ", "7", "１", "2024年", "x1", "é", "ß", "Ω", "ا",
    " ", "\n", "，", "、", "-", "😀", "網(wǎng)", "\u3000", "中卫市沙坡头区", "\t",
])
TEXTS = st.lists(st.lists(PIECES, max_size=12).map("".join), max_size=8)


async def test_the_seed_passages_are_cut_as_one_by_one(corpus: Corpus, tokenizer: Tokenizer) -> None:
    texts = [text for _, _, text in await corpus.store.searchable_passages()]
    assert len(texts) > 100
    assert passage_batch(tokenizer, texts).lists() == [tuple(tokenizer.passage_tokens(text)) for text in texts]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXTS)
def test_any_texts_are_cut_as_one_by_one(tokenizer: Tokenizer, texts: list[str]) -> None:
    batch = passage_batch(tokenizer, texts)
    assert (len(batch), batch.fields) == (len(texts), 2)
    assert batch.lists() == [tuple(tokenizer.passage_tokens(text)) for text in texts]
