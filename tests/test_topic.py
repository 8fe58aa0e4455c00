"""The topic model: questions that only use the reports' everyday words are not answered; party-building ones are."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rectbot.retrieval.calibration import CONFIDENCE_FEATURES, SHOWN_FEATURES, CalibratedModel
from rectbot.retrieval.documents import read_document
from rectbot.retrieval.evaluation import load_questions
from rectbot.retrieval.search import Confidence, SearchParams, Searcher
from rectbot.retrieval.text import normalize, normalize_for_phrase_match
from rectbot.retrieval.tokenizer import Tokenizer
from rectbot.retrieval.thesaurus import data_lines
from rectbot.retrieval.topic import TOPIC_MODEL, TopicModel, bundled_topic_model
from tests.conftest import benchmark_script

ROOT = Path(__file__).resolve().parent.parent
TOPIC_DATA = ROOT / "tests" / "data" / "topic"
# The thresholds alone, without the topic model (nor the calibrated models, which read its probability).
WITHOUT_MODEL = SearchParams(topic_veto=0.0, topic_related=0.0, topic_sure=0.0, calibrated=False)
RULES = SearchParams(calibrated=False)  # the thresholds, with the topic model


def held_out(name: str) -> list[str]:
    """Questions of tests/data/topic/eval_<name>.txt: never trained on."""
    return data_lines(TOPIC_DATA / f"eval_{name}.txt")


async def silent(searcher: Searcher, questions: list[str]) -> set[str]:
    """The questions that are shown nothing at all."""
    return {q for q in questions if not (await searcher.search(q)).shown}


async def test_held_out_off_topic_questions_are_shown_nothing(corpus) -> None:
    questions = held_out("offtopic")
    with_model = await silent(Searcher.over(corpus), questions)
    without = await silent(Searcher.over(corpus, WITHOUT_MODEL), questions)
    # Over the seeds: 95 of 100 without the model (measured when it was added; 92 now), 98 with it, before and after
    # the short questions of session 13. Those moved 村里的媒婆给介绍对象，见面带点啥 from 0.85 to 0.98, where topic_sure
    # shows a partly known question possibly related excerpts: the one the model shows that the words alone silence.
    # Since session 17 "with it" is the default, the shown model reading its probability.
    assert len(with_model) >= 97, sorted(set(questions) - with_model)
    # Measured: 7 silenced by the model alone, 1 shown by it alone.
    assert len(with_model - without) >= 5 and len(without - with_model) <= 1, sorted(without - with_model)


async def test_a_later_writers_held_out_questions_are_told_apart(corpus) -> None:
    # 292 everyday and 289 party-building questions by a writer who saw nothing of the project (over the seeds:
    # before the model learnt 2,500 more questions, 44 everyday ones were shown excerpts; then 23; since the short
    # questions of session 13, 16).
    everyday = held_out("offtopic_2")
    assert len(await silent(Searcher.over(corpus), everyday)) >= len(everyday) - 25
    work = held_out("domain_2")
    assert len(await silent(Searcher.over(corpus), work)) <= 30  # measured 23


async def test_a_party_titles_private_life_is_shown_nothing(corpus) -> None:
    # 99 everyday questions naming a party title, member or room about a private matter (支书自行车被偷, 村主任家院墙倒了,
    # 党员活动室门口捡了只猫), held out from the same writer's 500; over the seeds 28 were shown excerpts before the
    # model learnt the other 399, 5 after. The writer's 56 held-out questions about the work with the same titles:
    # 50 shown before, 49 after.
    everyday = held_out("offtopic_5")
    assert len(everyday) - len(await silent(Searcher.over(corpus), everyday)) <= 7
    work = held_out("domain_5")
    assert len(work) - len(await silent(Searcher.over(corpus), work)) >= 47


async def test_held_out_party_building_questions_are_not_silenced_by_it(corpus) -> None:
    questions = held_out("domain")
    with_model = await silent(Searcher.over(corpus), questions)
    without = await silent(Searcher.over(corpus, WITHOUT_MODEL), questions)
    # Session 18: 3 (两优一先评选推荐比例是多少, 村部门口挂了十几块牌子…, 现在还招大学生村官吗), since the retrained shown
    # model's threshold rose from 0.51 to 0.66 (over the seeds it shows 11 held-out everyday lines, the thresholds 22).
    assert len(with_model - without) <= 3, sorted(with_model - without)


async def test_held_out_pasted_everyday_text_is_shown_nothing_and_pasted_work_text_is_answered(corpus) -> None:
    # Forwarded notices, spam and situations of 80-130 characters, never trained on. Over the seeds, before the
    # model was trained on pasted text: 6 of 50 everyday ones shown excerpts (2 confidently), now 2.
    everyday = held_out("pasted_offtopic")
    shown = set(everyday) - await silent(Searcher.over(corpus), everyday)
    assert len(shown) <= 3, sorted(shown)
    about_the_work = held_out("pasted_domain")
    assert len(await silent(Searcher.over(corpus), about_the_work)) <= 2


async def test_held_out_party_building_questions_the_model_is_sure_of_are_shown_something(corpus) -> None:
    questions = held_out("domain")
    with_rule = await silent(Searcher.over(corpus, RULES), questions)
    without = await silent(Searcher.over(corpus, SearchParams(topic_sure=0.0, calibrated=False)), questions)
    # Over the seeds: 13 of 100 shown nothing before the rule (spoken wording, few party-building words), 7 with it.
    assert len(with_rule) <= 8, sorted(with_rule)
    assert with_rule < without


async def test_a_question_with_few_party_building_words_is_possibly_related_when_the_model_is_sure(corpus) -> None:
    question = "一事一议筹资筹劳现在还搞吗"  # held out; a seed speaks of 一事一议, but few of its words are jargon
    middling = TopicModel(weights={}, bias=0.0)  # probability 0.5 for every question
    sure = TopicModel(weights={}, bias=20.0)
    unsure = await Searcher.over(corpus, RULES, topic_model=middling).search(question)
    assert unsure.confidence is Confidence.OFF_TOPIC and unsure.shown == ()
    result = await Searcher.over(corpus, RULES, topic_model=sure).search(question)
    assert result.confidence is Confidence.WEAK and result.related
    assert result.evidence is not None and result.evidence.domain < SearchParams().related_domain


async def test_pasted_text_about_the_work_in_everyday_words_is_possibly_related_when_the_model_is_sure(corpus) -> None:
    # Regression (session 18): pasted text was never made possibly related by the model's sureness, a guard from
    # before the model learnt pasted text; a staff member's situation in everyday words (few party-building words,
    # probability 1.00) was shown nothing. Written for this test, in no question set.
    situation = ("我们村这几年年轻人都走光了，剩下的都是上岁数的，开会喊半天也来不了几个，村里的事情没人出头，"
                 "镇上说我们这样的村要重点管一管。别的地方碰到这种情况一般咋弄的")
    result = await Searcher.over(corpus).search(situation)
    assert result.query.pasted and result.evidence is not None
    assert result.evidence.domain < SearchParams().related_domain
    assert result.evidence.topical >= SearchParams().topic_sure
    assert result.confidence is Confidence.WEAK and result.related


async def test_a_pasted_notice_the_model_calls_everyday_stays_silent(corpus) -> None:
    # A forwarded anti-fraud notice holds everyday words the reports hold too (群众, 社区); the model, which has
    # learnt pasted text, puts it near 0, so no sureness shows it (a model sure of everything would: the threshold
    # rules are the model's, not a blanket ban on pasted text).
    notice = ("紧急通知：近期电信诈骗案件高发，冒充公检法、冒充客服退款、刷单返利等手段层出不穷，请广大群众提高警惕，"
              "不轻信、不转账，发现可疑情况及时拨打110报警。这个是社区发的吗")
    result = await Searcher.over(corpus).search(notice)
    assert result.query.pasted and result.evidence is not None
    assert result.evidence.topical < SearchParams().topic_veto
    assert result.confidence is Confidence.OFF_TOPIC and result.shown == ()


async def test_asking_what_a_reports_named_measure_is_gets_an_answer(corpus) -> None:
    # Regression: 1,374 short questions (train_*_5, train_offtopic_4) taught the model that a short question about
    # something it has never seen is everyday talk, and 25 of these 318 were shown nothing (10 before them): an admin
    # who uploads a report and asks about its 雪橇夜校 got nothing. Invented measure names asked about
    # (train_domain_6, none of them a seed's) brought it to 6. (26 of the seeds' 106 names, 三会一课 among them, occur
    # inside some training question, as common terms do; the other 80 in none.)
    # Names in a report's text, not in page debris cleaning drops (从“关键少数”向全体党员拓展 is a related-reading
    # link: no passage holds 关键少数).
    seeds = ROOT / "seeds"
    texts = [normalize(article.text) for path in seeds.glob("*.txt") for article in read_document(path).articles]
    names = sorted({name for text in texts for name in re.findall(r"“([\u4e00-\u9fff]{3,8})”", text)})
    assert len(names) >= 100
    searcher = Searcher.over(corpus)
    shown = {}  # question -> the name it asks after and the excerpts shown
    for name in names:
        for frame in ("{}是什么", "{}是啥", "{}怎么搞的"):
            shown[frame.format(name)] = (name, (await searcher.search(frame.format(name))).shown)
    silenced = [question for question, (_, hits) in shown.items() if not hits]
    assert len(silenced) <= 8, silenced
    # What is shown is about the name asked after: it is in one of the excerpts (or their titles).
    about_it = [question for question, (name, hits) in shown.items()
                if any(name in normalize(f"{hit.title or ''}{hit.text}") for hit in hits)]
    assert len(about_it) >= 0.9 * (len(shown) - len(silenced))


@pytest.mark.parametrize("question", ["小学班干部选举，怎么让孩子选上", "秦始皇活了多少岁"])
async def test_questions_in_report_words_but_about_other_things_get_nothing(corpus, question: str) -> None:
    # Held out; the word statistics alone answered the first confidently and the second as possibly related.
    assert (await Searcher.over(corpus, WITHOUT_MODEL).search(question)).shown
    result = await Searcher.over(corpus).search(question)
    assert result.confidence is Confidence.OFF_TOPIC and result.shown == ()


async def test_a_model_sure_of_nothing_silences_and_one_sure_of_everything_changes_nothing(corpus) -> None:
    question = "第一书记怎么开展工作"
    plain = await Searcher.over(corpus, WITHOUT_MODEL).search(question)
    assert plain.confidence is Confidence.CONFIDENT
    never = await Searcher.over(corpus, topic_model=TopicModel(weights={}, bias=-20.0)).search(question)
    assert never.confidence is Confidence.OFF_TOPIC and never.shown == ()
    always = await Searcher.over(corpus, topic_model=TopicModel(weights={}, bias=20.0)).search(question)
    assert always.confidence is Confidence.CONFIDENT and always.hits == plain.hits


async def test_a_question_whose_every_word_the_corpus_holds_needs_less_of_the_model(corpus) -> None:
    # A new report's own term (雪橇夜校) is one the model has never seen: it says "probably everyday". When some
    # passage holds every word asked, only the lower veto applies; a word the corpus lacks brings the usual one.
    unsure = TopicModel(weights={}, bias=math.log(0.04 / 0.96))  # probability 0.04 for every question
    params = SearchParams(topic_veto=0.07, topic_veto_known=0.02, calibrated=False)
    held = await Searcher.over(corpus, params, topic_model=unsure).search("第一书记怎么开展工作")
    assert held.evidence is not None and held.evidence.known >= 0.99
    assert held.confidence is Confidence.CONFIDENT and held.hits
    partly = await Searcher.over(corpus, params, topic_model=unsure).search("第一书记怎么开展工作 冰箱除霜")
    assert partly.evidence is not None and partly.evidence.known < 0.99
    assert partly.confidence is Confidence.OFF_TOPIC and partly.shown == ()
    stricter = SearchParams(topic_veto=0.07, topic_veto_known=0.05, calibrated=False)
    assert (await Searcher.over(corpus, stricter, topic_model=unsure).search("第一书记怎么开展工作")).shown == ()


async def test_possibly_related_answers_need_the_lower_threshold(corpus) -> None:
    question = "合作社分红"  # weak: the seeds hold 合作社, not dividends
    middling = TopicModel(weights={}, bias=0.0)  # probability 0.5 for every question
    shown = await Searcher.over(corpus, SearchParams(topic_related=0.4, calibrated=False), topic_model=middling).search(
        question
    )
    hidden = await Searcher.over(corpus, SearchParams(topic_related=0.6, calibrated=False), topic_model=middling).search(
        question
    )
    assert shown.confidence is Confidence.WEAK and shown.related
    assert hidden.confidence is Confidence.OFF_TOPIC and hidden.shown == ()


def test_the_shipped_model_is_what_its_data_trains(tokenizer: Tokenizer) -> None:
    # Editing tests/data/topic/ or the tuning halves it learns from without running benchmarks/topic.py fails here.
    training = benchmark_script("topic")
    trained = training.train(tokenizer)
    shipped = bundled_topic_model()
    assert trained.weights.keys() >= shipped.weights.keys()
    # Compared by what they say of questions: another CPU's floating point may move a rare feature's weight a little.
    worst = training.largest_difference(trained, shipped, tokenizer)
    assert worst < 0.005


def test_a_model_file_of_another_format_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "topic_model.json"
    path.write_text(json.dumps({"format": 99, "bias": 0, "weights": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match="topic_model.json: topic model format 99"):
        TopicModel.read(path)
    assert TopicModel.read(TOPIC_MODEL).weights


class _CloseToEverything:
    """A re-ranker by meaning that finds every passage very close to every question."""

    def cosines(self, question: str, texts) -> np.ndarray:
        return np.full(len(texts), 0.95)


async def test_closeness_in_meaning_never_shows_excerpts_for_an_everyday_question(corpus) -> None:
    # Regression: a question none of whose words the corpus holds skipped the model, and closeness made it
    # possibly related.
    question = "excel怎么求和"
    result = await Searcher.over(corpus, semantic=_CloseToEverything()).search(question)
    assert result.confidence is Confidence.OFF_TOPIC and result.shown == ()
    assert result.evidence is None or result.evidence.topical < SearchParams().topic_related
    # A party-building question is still helped by it, even when the words alone (the shown model saying no)
    # would show nothing.
    n = len(SHOWN_FEATURES)
    never = CalibratedModel(SHOWN_FEATURES, (0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0, 0.6)  # probability 0.5 < 0.6
    m = len(CONFIDENCE_FEATURES)
    unsure = CalibratedModel(CONFIDENCE_FEATURES, (0.0,) * m, (1.0,) * m, (0.0,) * m, 0.0, 0.6)  # never an answer
    question = "村里没职务的党员让他们干点啥好呢"
    assert not (await Searcher.over(corpus, confidence_model=unsure, shown_model=never).search(question)).shown
    spoken = await Searcher.over(corpus, semantic=_CloseToEverything(), confidence_model=unsure,
                                 shown_model=never).search(question)
    assert spoken.confidence is Confidence.WEAK and spoken.related


@pytest.mark.parametrize("content", ["{", '{"format": 1, "bias": 0, "weights": {"c:党": NaN}}'])
def test_a_damaged_model_file_is_refused_with_its_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "topic_model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="topic_model.json|Expecting"):
        TopicModel.read(path)


def test_no_held_out_question_is_also_a_training_question() -> None:
    # A held-out line repeated in training (or in the tuning half, which trains the model too) would make the
    # held-out figures in the README say more than they measure.
    questions = ROOT / "tests" / "data" / "questions"
    training = benchmark_script("topic")
    trained = {normalize_for_phrase_match(text) for text in training.training_set()[0]}
    held = [line for path in TOPIC_DATA.glob("eval_*.txt") for line in data_lines(path)]
    held += [q.q for path in questions.glob("*.json") for q in load_questions(path)
             if q.half not in training.TOPIC_HALVES]
    assert len(held) >= 1800
    # Until session 28 one more was: fresh2.json's writer had typed a tuning-half question word for word (村霸分几类);
    # questions of the tuning halves nearly copying one the model must not know are no longer trained on. Three
    # greetings remain, in a training file and in a held-out half; small talk is answered before any model reads it.
    assert sorted(q for q in held if normalize_for_phrase_match(q) in trained) == ["你好", "哈哈哈", "在吗"]


def test_no_held_out_question_is_nearly_a_training_line() -> None:
    # Writers drawing on the same everyday subjects come close without copying: 家里WiFi信号覆盖不到卧室 was a training
    # line and, with 怎么办 or 咋弄 after it, a question of two held-out sets. 122 such training lines were dropped.
    questions = ROOT / "tests" / "data" / "questions"
    training = [
        normalize_for_phrase_match(line) for path in TOPIC_DATA.glob("train_*.txt") for line in data_lines(path)
    ]
    script = benchmark_script("topic")
    held = [line for path in TOPIC_DATA.glob("eval_*.txt") for line in data_lines(path)]
    held += [q.q for path in questions.glob("*.json") for q in load_questions(path) if q.half not in script.TOPIC_HALVES]
    assert len(held) >= 1800
    by_bigram: dict[str, set[int]] = {}
    for number, line in enumerate(training):
        for gram in script.character_pairs(line):
            by_bigram.setdefault(gram, set()).add(number)
    close = []
    for question in held:
        text = normalize_for_phrase_match(question)
        shared = Counter(number for gram in script.character_pairs(text) for number in by_bigram.get(gram, ()))
        close += [
            (question, training[n]) for n, count in shared.items() if count >= 3 and script.nearly(text, training[n])
        ]
    assert close == []
