"""What kind of answer a question asks for, and whether a text states one in a sentence about the question."""

from __future__ import annotations

import pytest

from rectbot.retrieval.asked import Asked, asked_for, states
from rectbot.retrieval.text import normalize


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("第一书记驻村多久", Asked.DURATION),
        ("预备党员预备期多长时间", Asked.DURATION),
        ("党费按工资多少比例交", Asked.SHARE),
        ("村干部工资多少", Asked.MONEY),
        ("80岁以上老人高龄补贴每月多少钱", Asked.MONEY),
        ("多大岁数才能申请入党", Asked.AGE),
        ("支委会一个季度开几次", Asked.FREQUENCY),
        ("每月几号交党费", Asked.DATE),
        ("党课一次讲多长时间", Asked.DURATION),
        ("村两委多久换一届", Asked.FREQUENCY),
        ("村务公开栏多久公开一次财务", Asked.FREQUENCY),
        ("村两委换届啥时候开始", Asked.DATE),
        ("支部委员会设几个委员", Asked.COUNT),
        ("罢免村主任要多少村民联名", Asked.COUNT),
        ("軟弱渙散村整頓要多長時間", Asked.DURATION),  # read after normalising, as every question is
    ],
)
def test_a_question_asking_for_a_quantity_or_a_time_says_which(question: str, kind: Asked) -> None:
    asked = asked_for(normalize(question))
    assert asked is not None and asked[0] is kind and asked[1] in normalize(question)


@pytest.mark.parametrize(
    "question",
    ["软弱涣散有哪几种情形", "软弱涣散村党组织怎么整顿", "村里好几年没发展党员了咋办", "这几年村两委换届怎么搞", "第一书记是干什么的", "三会一课是啥",
     # A review found these read as asking for a date, a sum, a share or a length of time.
     "书记给支部书记提了哪几点要求", "党员交纳党费有几种方式", "生活补助有哪几种", "村民委员会由多少成员组成", "发展了多少年轻党员",
     "村里十几年没发展党员怎么办", "整顿完没多久又打回原形咋整", "村集体账上没几个钱这种村叫啥", "述职报告写多长"],
)
def test_a_question_asking_how_or_what_asks_for_no_kind(question: str) -> None:
    assert asked_for(normalize(question)) is None


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        (Asked.DURATION, "第一书记驻村任期一般为两年"),
        (Asked.DURATION, "第一书记驻村满1年以上"),
        (Asked.SHARE, "第一书记所在村按照5%的比例"),
        (Asked.SHARE, "第一书记考核优秀的不超过百分之十五"),
        (Asked.MONEY, "第一书记每月生活补助800元"),
        (Asked.MONEY, "第一书记争取资金5.6亿余元"),
        (Asked.AGE, "第一书记一般不超过45周岁"),
        (Asked.FREQUENCY, "第一书记每季度向派出单位汇报"),
        (Asked.FREQUENCY, "第一书记每年述职两次"),
        (Asked.DATE, "第一书记于2021年3月到村"),
        (Asked.COUNT, "第一书记带领12名党员"),
    ],
)
def test_a_sentence_with_a_word_of_the_question_and_an_answer_of_the_kind_states_it(kind: Asked, answer: str) -> None:
    assert states(kind, f"村里的情况很复杂。{answer}。", near=["第一书记"])


def test_an_answer_in_another_sentence_than_the_question_s_words_is_not_stated() -> None:
    # Reports state figures everywhere: a sum for training does not answer what a village cadre earns.
    text = "各村都提高了村干部工资待遇。每年落实培训经费70万元。"
    assert not states(Asked.MONEY, text, near=["村干部", "工资"])
    assert states(Asked.MONEY, text)  # any sentence, when no word is given
    assert states(Asked.MONEY, "村干部工资每月2000元。", near=["村干部", "工资"])


def test_a_text_without_an_answer_of_the_kind_does_not_state_it() -> None:
    text = "第一书记要抓党建、促脱贫、强基础，长期扎根在村。"
    assert not states(Asked.DURATION, text, near=["第一书记"])
    assert not states(Asked.MONEY, text, near=["第一书记"])


@pytest.mark.parametrize(
    ("kind", "not_an_answer"),
    [(Asked.DURATION, "2021年第一书记到村"), (Asked.DURATION, "第一书记5日到村"), (Asked.MONEY, "第一书记挂一块牌子"),
     (Asked.MONEY, "第一书记千万不能缺位"), (Asked.FREQUENCY, "第一书记第一次到村"), (Asked.DATE, "第一书记学习中央一号文件")],
)
def test_a_year_a_day_or_a_word_with_a_numeral_in_it_is_not_an_answer(kind: Asked, not_an_answer: str) -> None:
    assert not states(kind, not_an_answer, near=["第一书记"])
