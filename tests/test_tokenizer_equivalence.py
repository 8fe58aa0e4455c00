"""Equivalence of the segmenters: rjieba (the default) cuts as jieba (the reference) does, on domain sentences and
the seeds; the one known difference pinned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rectbot.retrieval.text import HAN_RUN, normalize
from rectbot.retrieval.tokenizer import SEGMENTERS, PassageTokens, Tokenizer, bigrams
from tests.conftest import SEEDS

DOMAIN_SENTENCES = [
    "整顿软弱涣散村党组织，选派第一书记到村",
    "严格落实三会一课和四议两公开制度",
    "村两委班子不团结，村支书年纪大了咋办",
    "整頓軟弱渙散黨組織，發揮基層黨組織戰鬥堡壘作用",
    "县直部门结对帮扶，派驻驻村工作队，实行一村一策",
    "2019年全国共排查出软弱涣散村党组织5.8万个，占7.2%",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """jieba itself, with the same dictionary, thesaurus and stopwords."""
    return Tokenizer(cache_dir=tmp_path_factory.mktemp("jieba"), segmenter="jieba")


def test_rjieba_is_the_default_and_both_are_registered(tokenizer: Tokenizer) -> None:
    assert tokenizer.segmenter == "rjieba"
    assert set(SEGMENTERS) == {"rjieba", "jieba"}


def test_an_unknown_segmenter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown segmenter 'pkuseg'"):
        Tokenizer(segmenter="pkuseg")


def test_the_segmenter_is_part_of_the_version(tokenizer: Tokenizer, reference: Tokenizer) -> None:
    assert tokenizer.version.startswith("rjieba ") and reference.version.startswith("jieba ")
    assert tokenizer.version.split(";")[1:] == reference.version.split(";")[1:]  # same data, same settings


@pytest.mark.parametrize("sentence", DOMAIN_SENTENCES)
def test_rjieba_cuts_domain_sentences_as_jieba_does(tokenizer: Tokenizer, reference: Tokenizer, sentence: str) -> None:
    assert tokenizer.tokens(sentence) == reference.tokens(sentence)
    assert tokenizer.cut(normalize(sentence)) == reference.cut(normalize(sentence))


def test_domain_and_thesaurus_words_are_known_to_both(tokenizer: Tokenizer, reference: Tokenizer) -> None:
    for word in ("软弱涣散", "第一书记", "支书", "咋办", "组织", "不是一个词语吧"):
        assert tokenizer.known(word) == reference.known(word), word
    assert tokenizer.known("软弱涣散") and not tokenizer.known("不是一个词语吧")


def test_words_with_han_characters_agree_on_every_seed_paragraph(tokenizer: Tokenizer, reference: Tokenizer) -> None:
    paragraphs = [line for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text("utf-8").splitlines()]
    assert len(paragraphs) > 100
    for paragraph in paragraphs:
        ours, theirs = tokenizer.tokens(paragraph), reference.tokens(paragraph)
        assert [t for t in ours if HAN_RUN.search(t)] == [t for t in theirs if HAN_RUN.search(t)], paragraph


@pytest.mark.parametrize(
    ("text", "jieba_cut", "rjieba_cut"),
    [
        # With HMM on, jieba splits a run of latin letters and digits at '-' and after a second '.';
        # jieba-rs keeps the run whole and, in search mode, adds its parts. Han text is cut the same.
        ("培养2-3名后备力量", ["培养", "2", "3", "名", "后备", "力量", "后备力量"],
         ["培养", "2-3", "名", "后备", "力量", "后备力量"]),
        ("long-term", ["long", "term"], ["long", "term", "long-term"]),
    ],
)
def test_the_known_difference_is_in_latin_and_number_runs(
    tokenizer: Tokenizer, reference: Tokenizer, text: str, jieba_cut: list[str], rjieba_cut: list[str]
) -> None:
    assert reference.tokens(text) == jieba_cut
    assert tokenizer.tokens(text) == rjieba_cut


def test_passage_tokens_are_the_words_and_the_bigrams(tokenizer: Tokenizer) -> None:
    text = "整頓軟弱渙散黨組織(2019)，ABC 村"
    assert tokenizer.passage_tokens(text) == PassageTokens(tokenizer.tokens(text), bigrams(normalize(text)))
    assert bigrams(normalize(text)) == ["整顿", "顿软", "软弱", "弱涣", "涣散", "散党", "党组", "组织", "2019", "abc", "村"]


def test_stopwords_and_punctuation_are_dropped_the_same_way_twice(tokenizer: Tokenizer) -> None:
    # words are kept or dropped through a memo: asking twice must give the same answer
    for _ in range(2):
        assert tokenizer.tokens("？？？!!! 😀😀 …… 的 了") == []
        assert tokenizer.tokens("怎么加强整顿") == ["加强", "整顿"]


def test_a_tokenizer_does_not_build_rjiebas_unused_default_and_rjieba_still_imports(tmp_path: Path) -> None:
    # The rjieba package builds a default Jieba on import (0.1 s and 25 MB of every process); the tokenizer loads
    # the class alone. A later `import rjieba` must still work and cut the same way.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rectbot.retrieval.tokenizer import Tokenizer\n"
        f"tokenizer = Tokenizer(cache_dir=Path({str(tmp_path)!r}))\n"
        "assert tokenizer.cut('村支书年纪大了咋办') == ['村支书', '年纪大', '了', '咋办']\n"
        "print('PACKAGE', 'rjieba' in sys.modules)\n"
        "import rjieba\n"
        "print('SAME', rjieba.cut('第一书记怎么开展工作', False) == ['第一书记', '怎么', '开展', '工作'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "PACKAGE False" in done.stdout and "SAME True" in done.stdout
