"""The confidence model: read safely, consulted once excerpts may be shown, and what training on the questions gives."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import pytest

from rectbot.retrieval.calibration import FEATURES, ConfidenceModel, bundled_confidence_model
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Confidence, Evidence, SearchParams, Searcher

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "corpus" / "pages"


def coin_model(threshold: float) -> ConfidenceModel:
    """A model that gives every answer probability 0.5, with this threshold."""
    n = len(FEATURES)
    return ConfidenceModel((0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0, threshold)


def test_the_shipped_model_prefers_the_evidence_of_an_answer() -> None:
    model = bundled_confidence_model()
    answer = Evidence(coverage=1.0, known=1.0, domain=1.0, phrases=1.0, literal=1.0, words=3)
    apart = dataclasses.replace(answer, coverage=0.6, phrases=0.3, literal=0.3, known=0.6, unknown=0.4)
    assert model.confident(answer.features()) and not model.confident(apart.features())
    assert 0 < model.probability(apart.features()) < model.probability(answer.features()) < 1


@pytest.mark.parametrize(
    "content",
    ["{", '{"format": 2, "features": ["coverage"], "mean": [0]}', '{"format": 1}', "NAN_MODEL"],
)
def test_a_damaged_model_file_is_refused_with_its_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "confidence_model.json"
    if content == "NAN_MODEL":  # json reads NaN: a model holding one is refused all the same
        bundled_confidence_model().save(path)
        content = path.read_text(encoding="utf-8").replace('"bias": ', '"bias": NaN, "old_bias": ', 1)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="confidence_model.json"):
        ConfidenceModel.read(path)


@pytest.mark.parametrize("odd", [math.nan, math.inf, -math.inf])
def test_a_feature_that_is_not_a_number_never_makes_an_answer_confident(odd: float) -> None:
    model = bundled_confidence_model()
    features = Evidence(coverage=1.0, known=1.0, domain=1.0, words=3).features()
    features[0] = odd
    assert 0.0 <= model.probability(features) <= 1.0
    if math.isnan(odd):
        assert not model.confident(features)


def test_the_evidence_gives_the_features_the_model_was_trained_on() -> None:
    evidence = Evidence(coverage=0.8, known=0.5, domain=0.25, topical=0.9, phrases=0.4, literal=0.7, words=12,
                        unknown=0.2)
    assert dict(zip(FEATURES, evidence.features(), strict=True)) == {
        "coverage": 0.8, "known": 0.5, "domain": 0.25, "topical": 0.9, "phrases": 0.4, "literal": 0.7,
        "coverage_known": 0.4, "words": 1.0, "unknown": 0.2,
    }


def test_a_model_saved_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    bundled_confidence_model().save(path)
    assert ConfidenceModel.read(path) == bundled_confidence_model()


async def test_the_model_decides_between_an_answer_and_possibly_related(corpus: Corpus) -> None:
    question = "软弱涣散村党组织怎么整顿"
    sure = await Searcher.over(corpus, confidence_model=coin_model(0.4)).search(question, k=3)
    unsure = await Searcher.over(corpus, confidence_model=coin_model(0.6)).search(question, k=3)
    assert sure.confidence is Confidence.CONFIDENT and sure.hits
    assert unsure.confidence is Confidence.WEAK and unsure.related and unsure.hits == ()
    assert [h.passage_id for h in sure.hits] == [h.passage_id for h in unsure.related]  # the same page either way
    # Turned off, the thresholds decide as before.
    rules = Searcher.over(corpus, SearchParams(calibrated=False), confidence_model=coin_model(0.6))
    assert (await rules.search(question, k=3)).confidence is Confidence.CONFIDENT


async def test_the_model_never_shows_what_the_rules_keep_back(corpus: Corpus) -> None:
    # Everyday questions whose words the seeds hold (the 书记's dog): evidence is weighed, and the rules say no.
    for question in ("书记家的狗丢了怎么办", "冰箱哪个牌子省电"):
        result = await Searcher.over(corpus, confidence_model=coin_model(0.0)).search(question, k=3)
        assert result.evidence is not None
        assert result.confidence is Confidence.OFF_TOPIC and result.shown == ()


async def test_pasted_text_is_left_to_the_thresholds(corpus: Corpus) -> None:
    pasted = (
        "我们县今年按照上级部署开展集中整顿，县委组织部发了通知，要求各乡镇对软弱涣散村党组织逐村排查，"
        "有的村班子不团结，有的村书记年龄偏大、能力不强，还有的村集体经济是空壳。"
        "请问别的地方是怎么选派第一书记、怎么给软弱涣散村配强带头人的？具体有什么做法？"
    )
    by_rules = await Searcher.over(corpus, SearchParams(calibrated=False)).search(pasted, k=3)
    by_model = await Searcher.over(corpus, confidence_model=coin_model(0.0)).search(pasted, k=3)  # would say yes
    assert by_model.query.pasted and by_model.confidence is by_rules.confidence is Confidence.WEAK


@pytest.mark.skipif(not PAGES.is_dir(), reason=f"the shared pages are not at {PAGES}")
def test_the_shipped_model_is_what_the_questions_train() -> None:
    # Needs the development pages beside the checkout (skipped without them, as on CI).
    done = subprocess.run([sys.executable, "calibrate.py", "--check"], cwd=ROOT / "benchmarks",
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
