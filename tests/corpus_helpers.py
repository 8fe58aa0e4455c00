"""What the corpus tests share: a new report to ingest, what a search shows, a method held mid-call."""

from __future__ import annotations

import threading

import pytest

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.index import PassageIndex
from rectbot.retrieval.search import Searcher

NEW_REPORT = (
    "某某县推行“红色夜校”整顿软弱涣散村党组织\n\n"
    "时间：2020-05-06 来源：测试日报\n\n"
    "某某县在软弱涣散村开办红色夜校，每周三晚上组织党员学习政策、讨论村务，半年来共办夜校四十二期。\n"
)

UNRELATED_SENTENCES = [
    "今天天气晴朗，最高气温二十八度，傍晚有雷阵雨，出门请带好雨具。",
    "红烧肉要先焯水，再用冰糖炒出糖色，小火慢炖一个小时才软烂入味。",
    "昨晚的足球比赛主队二比一逆转，下半场替补前锋打进了制胜球。",
    "这款手机的屏幕更亮，电池续航提升了两成，拍照夜景模式也更清晰。",
    "高铁票在开车前十五天开售，节假日建议提前设置候补购票。",
    "股市今天小幅高开，科技板块领涨，成交量比上周明显放大。",
    "孩子的数学作业要先检查计算，再看应用题的单位有没有写对。",
    "周末去公园散步，湖边的银杏叶黄了，拍照的人特别多。",
]


async def search_texts(corpus: Corpus, question: str) -> list[str]:
    """The texts of the confident hits, best first (at most five)."""
    return [hit.text for hit in (await Searcher.over(corpus).search(question, k=5)).hits]


def hold(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> tuple[threading.Event, threading.Event]:
    """Make target.name wait, once called, until released: (called, release)."""
    called, release = threading.Event(), threading.Event()
    original = getattr(target, name)

    def held(*args: object) -> object:
        called.set()
        release.wait(10)
        return original(*args)

    monkeypatch.setattr(target, name, held)
    return called, release


def forbid_full_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any whole-index build fail the test."""
    monkeypatch.setattr(PassageIndex, "build", lambda *args, **kwargs: pytest.fail("the whole index was rebuilt"))


QUESTIONS = ["红色夜校", "村官回归工程", "软弱涣散村党组织整顿", "第一书记", "沙坡头区", "党员学习政策", "集体经济"]


async def answers(corpus: Corpus) -> list[list[tuple[int, float]]]:
    """Every question's hits as (passage id, score)."""
    searcher = Searcher.over(corpus)
    results = [await searcher.search(question, k=10) for question in QUESTIONS]
    return [[(hit.passage_id, round(hit.score, 9)) for hit in result.hits] for result in results]
