"""The separate questions in one message."""

from __future__ import annotations

import pytest

from rectbot.retrieval.questions import separate_questions


def test_a_pasted_situation_with_two_questions_names_both() -> None:
    message = (
        "我们村两委班子一开会就吵，各干各的，账目好几年也没公开过，乡里说可能要把我们列进整顿名单。"
        "想问问别的地方整顿这种班子不团结的村是怎么弄的？另外，第一书记派下来一般驻村多长时间？"
    )
    assert separate_questions(message) == (
        "想问问别的地方整顿这种班子不团结的村是怎么弄的？",
        "另外，第一书记派下来一般驻村多长时间？",
    )


def test_numbered_questions_on_lines_of_their_own_are_found() -> None:
    message = "情况说明：村里党员老龄化严重，年轻人都出去打工了\n1. 发展年轻党员有什么办法？\n2. 流动党员怎么管理？\n谢谢"
    assert separate_questions(message) == ("1. 发展年轻党员有什么办法？", "2. 流动党员怎么管理？")


@pytest.mark.parametrize("message", [
    "软弱涣散村党组织怎么整顿",
    "支书岁数大了咋整？有啥办法？",  # the second follows up the first
    "村里党员开会老是叫不来，在外打工的也联系不上，别的地方也这样吗",
    "我们村账目不公开。群众意见很大。想问问这种情况怎么整顿？",  # statements, then one question
    # Session 26's review: a short question and its follow-up, and lines that ask without a mark.
    "第一书记是怎么选派的？有什么要求吗？",
    "村集体经济收入多少算薄弱村？5万以下算不算？",
    "我不知道怎么办\n我们村账目多少年没公开了，群众意见很大，乡里说要列入整顿名单，想问问这种情况怎么整顿？",
    "一、摸清底数，看看哪些村是软弱涣散的\n二、制定方案，明确怎么整顿\n三、多长时间完成\n请问这个方案哪里要改？",
    "群众常问“为什么要整顿我们村？这是不是处分？”，村里开会的时候，我这个当支书的该怎么回答比较好？",
])
def test_a_message_asking_one_thing_names_none(message: str) -> None:
    assert separate_questions(message) == ()


def test_a_statement_with_an_interrogative_in_it_is_not_a_question() -> None:
    message = "这几年村里一直没发展党员，不知道该怎么办。支部书记问我流动党员怎么管理？还有软弱涣散村怎么整顿？"
    assert separate_questions(message) == ("支部书记问我流动党员怎么管理？", "还有软弱涣散村怎么整顿？")


def test_traditional_script_asks_as_simplified_does() -> None:
    message = "我們村班子不團結，帳目也不公開。軟弱渙散村黨組織怎麼整頓？第一書記駐村一般要幹多長時間？"
    assert len(separate_questions(message)) == 2
