"""The calibrated models: read safely; the confidence model consulted where the rules show excerpts, the shown model
for the rest; and what training on the questions gives."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import pytest

from rectbot.retrieval.calibration import (
    CONFIDENCE_FEATURES, CONFIDENCE_MODEL, SHOWN_FEATURES, SHOWN_MODEL, CalibratedModel, bundled_confidence_model,
    bundled_shown_model,
)
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Confidence, Evidence, SearchParams, Searcher
from rectbot.retrieval.text import normalize_for_phrase_match
from rectbot.retrieval.thesaurus import data_lines

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "corpus" / "pages"
TOPIC_DATA = ROOT / "tests" / "data" / "topic"
# A typed question about the work that the thresholds keep back (too few of its words are party-building ones; a topic
# model line). Session 17's 党员家的狗咬了人不赔钱，支部能出面吗 no longer is, since the seeds' known questions
# (retrieval/known_questions.py) count as evidence.
# Held out (tests/data/topic/eval_domain_*.txt): about the work, but the rules keep it back (few of its words are
# party-building ones), and so does the shipped shown model.
ABOUT_THE_WORK = "党内统计年报是谁填，截止到哪天"


def coin_model(threshold: float, features: tuple[str, ...] = CONFIDENCE_FEATURES) -> CalibratedModel:
    """A model that gives everything probability 0.5, with this threshold."""
    n = len(features)
    return CalibratedModel(features, (0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0, threshold)


def test_the_shipped_model_prefers_the_evidence_of_an_answer() -> None:
    model = bundled_confidence_model()
    answer = Evidence(coverage=1.0, known=1.0, domain=1.0, phrases=1.0, literal=1.0, words=3)
    apart = dataclasses.replace(answer, coverage=0.6, phrases=0.3, literal=0.3, known=0.6, unknown=0.4)
    assert model.says_yes(answer.features()) and not model.says_yes(apart.features())
    assert 0 < model.probability(apart.features()) < model.probability(answer.features()) < 1


def test_the_shipped_shown_model_prefers_a_question_about_the_work() -> None:
    model = bundled_shown_model()
    work = Evidence(coverage=0.8, known=0.9, domain=0.5, topical=0.9, phrases=0.5, words=4)
    everyday = dataclasses.replace(work, topical=0.02, domain=0.0)  # the words match, but no party-building word
    assert model.says_yes(work.features()) and not model.says_yes(everyday.features())


@pytest.mark.parametrize(
    "content",
    ["{", '{"format": 2, "features": ["coverage"], "mean": [0]}', '{"format": 1}', "NAN_MODEL", "OTHER_FEATURES"],
)
@pytest.mark.parametrize("shipped, features", [(CONFIDENCE_MODEL, CONFIDENCE_FEATURES), (SHOWN_MODEL, SHOWN_FEATURES)])
def test_a_damaged_model_file_is_refused_with_its_name(
    tmp_path: Path, content: str, shipped: Path, features: tuple[str, ...]
) -> None:
    path = tmp_path / shipped.name
    if content == "NAN_MODEL":  # json reads NaN: a model holding one is refused all the same
        content = shipped.read_text(encoding="utf-8").replace('"bias": ', '"bias": NaN, "old_bias": ', 1)
    if content == "OTHER_FEATURES":  # the other model's file, read as this one
        content = (SHOWN_MODEL if shipped == CONFIDENCE_MODEL else CONFIDENCE_MODEL).read_text(encoding="utf-8")
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=shipped.name):
        CalibratedModel.read(path, features)


@pytest.mark.parametrize("odd", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("model", [bundled_confidence_model(), bundled_shown_model()], ids=["confidence", "shown"])
def test_a_feature_that_is_not_a_number_never_makes_a_model_say_yes(odd: float, model: CalibratedModel) -> None:
    features = Evidence(coverage=1.0, known=1.0, domain=1.0, words=3).features()
    features["coverage"] = odd
    assert 0.0 <= model.probability(features) <= 1.0
    if math.isnan(odd):
        assert not model.says_yes(features)


def test_a_topic_probability_that_is_not_a_number_never_shows_excerpts() -> None:
    features = Evidence(coverage=1.0, known=1.0, domain=1.0, topical=math.nan, words=3).features()
    assert math.isnan(features["topic_logit"]) and not bundled_shown_model().says_yes(features)


def test_the_evidence_gives_the_features_the_model_was_trained_on() -> None:
    evidence = Evidence(coverage=0.8, known=0.5, domain=0.25, topical=0.9, phrases=0.4, literal=0.7, words=12,
                        unknown=0.2)
    assert evidence.features() == pytest.approx({
        "coverage": 0.8, "known": 0.5, "domain": 0.25, "topical": 0.9, "topic_logit": math.log(9), "phrases": 0.4,
        "literal": 0.7, "coverage_known": 0.4, "words": 1.0, "unknown": 0.2,
    })
    assert set(CONFIDENCE_FEATURES) | set(SHOWN_FEATURES) <= set(evidence.features())
    # Certainty is read as bounded log-odds: a topic model's 0 or 1 weighs no more than 1e-4 or 1 - 1e-4.
    never = Evidence(coverage=1.0, known=1.0, topical=0.0).features()["topic_logit"]
    always = Evidence(coverage=1.0, known=1.0, topical=1.0).features()["topic_logit"]
    assert never == pytest.approx(math.log(1e-4 / (1 - 1e-4))) and always == pytest.approx(-never)


def test_a_model_saved_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    for model in (bundled_confidence_model(), bundled_shown_model()):
        model.save(path)
        assert CalibratedModel.read(path, model.features) == model


async def test_the_model_decides_between_an_answer_and_possibly_related(corpus: Corpus) -> None:
    question = "软弱涣散村党组织怎么整顿"
    always = coin_model(0.4, SHOWN_FEATURES)
    sure = await Searcher.over(corpus, confidence_model=coin_model(0.4), shown_model=always).search(question, k=3)
    unsure = await Searcher.over(corpus, confidence_model=coin_model(0.6), shown_model=always).search(question, k=3)
    assert sure.confidence is Confidence.CONFIDENT and sure.hits
    assert unsure.confidence is Confidence.WEAK and unsure.related and unsure.hits == ()
    assert [h.passage_id for h in sure.hits] == [h.passage_id for h in unsure.related]  # the same page either way
    # Turned off, the thresholds decide as before.
    rules = Searcher.over(corpus, SearchParams(calibrated=False), confidence_model=coin_model(0.6))
    assert (await rules.search(question, k=3)).confidence is Confidence.CONFIDENT


async def test_the_confidence_model_never_makes_an_answer_of_what_the_rules_keep_back(corpus: Corpus) -> None:
    # Everyday questions whose words the seeds hold (the 书记's dog): evidence is weighed, and the rules say no.
    always = coin_model(0.4, SHOWN_FEATURES)  # whatever is shown, it is not an answer
    for question in ("书记家的狗丢了怎么办", "冰箱哪个牌子省电"):
        result = await Searcher.over(corpus, confidence_model=coin_model(0.0), shown_model=always).search(question)
        assert result.evidence is not None
        assert result.confidence is not Confidence.CONFIDENT and result.hits == ()


async def test_what_the_top_passages_hardly_hold_is_never_shown(corpus: Corpus) -> None:
    # Over the seeds, which lack 党费: excerpts holding only its 标准 are not worth showing, whatever the models say.
    always = coin_model(0.4, SHOWN_FEATURES)
    result = await Searcher.over(corpus, shown_model=always).search("党费交纳标准是多少", k=3)
    assert result.evidence is not None and result.evidence.known < SearchParams().related_known
    assert result.confidence is Confidence.OFF_TOPIC and result.shown == ()


async def test_with_the_topic_model_off_the_rules_decide_what_is_shown(corpus: Corpus) -> None:
    # The shown model reads the topic model's probability, which would be 1 for every question.
    off = dict(topic_veto=0.0, topic_veto_known=0.0, topic_related=0.0, topic_sure=0.0)
    for question in ("冰箱哪个牌子省电", "村里没职务的党员让他们干点啥好呢", "合作社分红", "第一书记怎么开展工作"):
        by_rules = await Searcher.over(corpus, SearchParams(calibrated=False, **off)).search(question, k=3)
        by_models = await Searcher.over(corpus, SearchParams(**off)).search(question, k=3)
        assert bool(by_models.shown) == bool(by_rules.shown), question


async def test_the_shown_model_decides_what_else_is_shown(corpus: Corpus) -> None:
    rules = await Searcher.over(corpus, SearchParams(calibrated=False)).search(ABOUT_THE_WORK, k=3)
    assert rules.confidence is Confidence.OFF_TOPIC
    always = coin_model(0.4, SHOWN_FEATURES)
    shown = await Searcher.over(corpus, confidence_model=coin_model(0.0), shown_model=always).search(ABOUT_THE_WORK)
    # Shown, and never as an answer: the rules' least for one is not met.
    assert shown.confidence is Confidence.WEAK and shown.related and shown.hits == ()
    never = coin_model(0.6, SHOWN_FEATURES)
    question = "村里年轻人都不愿意入党咋办"  # an answer by the rules, which the confidence model doubts
    doubted = await Searcher.over(corpus, confidence_model=coin_model(0.6), shown_model=never).search(question)
    assert doubted.confidence is Confidence.OFF_TOPIC and doubted.shown == ()
    # An answer the confidence model is sure of is given whatever the shown model says.
    sure = await Searcher.over(corpus, confidence_model=coin_model(0.4), shown_model=never).search(question)
    assert sure.confidence is Confidence.CONFIDENT and sure.hits


async def test_with_the_shipped_models_an_everyday_question_the_rules_would_show_is_not(corpus: Corpus) -> None:
    # Held out: everyday questions in report words (模板, 选, 书记) that the thresholds would show excerpts for.
    # Before session 21 the shipped shown model also showed one the rules kept back (基层减负…表格…); since keys such
    # as 表格 count as party-building words, the rules show those themselves.
    rules, shipped = Searcher.over(corpus, SearchParams(calibrated=False)), Searcher.over(corpus)
    for question in ("公司周例会会议纪要有没有模板", "广场舞队长咋选", "书记员考试难吗"):
        assert (await rules.search(question, k=3)).shown, question
        result = await shipped.search(question, k=3)
        assert result.confidence is Confidence.OFF_TOPIC and result.shown == (), question


async def test_on_held_out_lines_the_models_show_far_fewer_everyday_questions_and_hardly_fewer_about_the_work(
    corpus: Corpus,
) -> None:
    # The odd lines of the topic model's held-out files (not those repeating an even line): neither model trained
    # on them.
    by_rules = Searcher.over(corpus, SearchParams(calibrated=False))
    by_models = Searcher.over(corpus)
    files = [path for path in sorted(TOPIC_DATA.glob("eval_*.txt")) if "pasted" not in path.name]
    trained = {normalize_for_phrase_match(line) for path in files for line in data_lines(path)[::2]}
    shown: dict[tuple[str, bool], int] = {}
    for path in files:
        about = "domain" in path.name
        for line in data_lines(path)[1::2]:
            if normalize_for_phrase_match(line) in trained:
                continue
            for name, searcher in (("rules", by_rules), ("models", by_models)):
                result = await searcher.search(line, k=3)
                shown[name, about] = shown.get((name, about), 0) + bool(result.shown)
    # Measured over the seeds: everyday 20 -> 11 of 371 shown excerpts, about the work 308 -> 304 of 349 (session 17);
    # since the seeds' known questions count as evidence and the models were retrained (session 18), everyday 21 -> 11,
    # about the work 327 -> 310: the shown model's threshold rose from 0.51 to 0.67, where its probability says a
    # question is twice as likely about the work as not (SILENCE_COST 2).
    assert shown["models", False] <= 2 / 3 * shown["rules", False], shown
    assert shown["models", True] >= 0.94 * shown["rules", True], shown


async def test_pasted_text_is_left_to_the_thresholds(corpus: Corpus) -> None:
    pasted = (
        "我们县今年按照上级部署开展集中整顿，县委组织部发了通知，要求各乡镇对软弱涣散村党组织逐村排查，"
        "有的村班子不团结，有的村书记年龄偏大、能力不强，还有的村集体经济是空壳。"
        "请问别的地方是怎么选派第一书记、怎么给软弱涣散村配强带头人的？具体有什么做法？"
    )
    by_rules = await Searcher.over(corpus, SearchParams(calibrated=False)).search(pasted, k=3)
    assert by_rules.confidence is Confidence.WEAK
    doubting = await Searcher.over(corpus, confidence_model=coin_model(0.6)).search(pasted, k=3)  # would say no
    sure = await Searcher.over(corpus, confidence_model=coin_model(0.4)).search(pasted, k=3)  # would say yes
    assert doubting.query.pasted and doubting.confidence is sure.confidence is by_rules.confidence
    silent = await Searcher.over(corpus, shown_model=coin_model(0.6, SHOWN_FEATURES)).search(pasted, k=3)  # no
    assert silent.confidence is by_rules.confidence


@pytest.mark.skipif(not PAGES.is_dir(), reason=f"the shared pages are not at {PAGES}")
def test_the_shipped_model_is_what_the_questions_train() -> None:
    # Needs the development pages beside the checkout (skipped without them, as on CI).
    done = subprocess.run([sys.executable, "calibrate.py", "--check"], cwd=ROOT / "benchmarks",
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
