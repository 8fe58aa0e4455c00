"""Places: the provinces and cities above a place, from the bundled administrative codes; an article's region."""

from __future__ import annotations

import pytest

from rectbot.retrieval.places import PROVINCES, Gazetteer, article_region, bundled_gazetteer
from rectbot.retrieval.search import Confidence, Searcher


def test_a_county_names_its_city_and_province() -> None:
    places = bundled_gazetteer()
    assert places.above("中卫市沙坡头区") == ["宁夏回族自治区", "宁夏"]
    assert places.above("鹿寨县") == ["广西壮族自治区", "广西", "柳州市", "柳州"]
    assert "甘孜" in places.above("康定市")  # an autonomous prefecture is called without its peoples


def test_ambiguous_and_everyday_names_add_nothing() -> None:
    gazetteer = Gazetteer([("110000000000", "北京市"), ("110101000000", "东区"), ("310000000000", "上海市"),
                           ("310101000000", "东区"), ("120101000000", "和平区")])
    assert gazetteer.above("东区") == []  # two counties are called 东区
    assert gazetteer.above("上海东区") == ["上海市"]  # the 东区 meant is the one under 上海
    assert [p.name for p in gazetteer.find("北京东区")] == ["北京市", "东区"]
    assert gazetteer.find("和平") == []  # a county's short form is an everyday word: full names only


async def test_a_question_naming_the_prefecture_reaches_its_countys_report(searcher: Searcher) -> None:
    result = await searcher.search("甘孜乡村振兴组织保障", k=3)  # the report names only 康定市, not 甘孜
    assert result.confidence is Confidence.CONFIDENT
    assert {hit.region for hit in result.hits} == {"四川省康定市"}


def test_the_provinces_by_their_written_names_are_the_gazetteers_provinces() -> None:
    written = {place.short for place in bundled_gazetteer().provinces()} - {None}  # 苏鲁交界 has no short name
    assert sorted(PROVINCES) == sorted(written)


@pytest.mark.parametrize(
    ("author", "region"),
    [
        ("广西区委组织部 张三", "广西"),
        ("宁夏区委组织部", "宁夏"),
        ("广西壮族自治区党委组织部", "广西壮族自治区"),
        ("中共中卫市沙坡头区党群工作部", "中卫市沙坡头区"),
        ("四川省康定市委組織部 郑应红", "四川省康定市"),  # traditional script: the region as written
    ],
)
def test_region_from_the_authors_organisation(author: str, region: str) -> None:
    # 区委 after a province's name is short for 自治区党委: the region is the province, not "广西区".
    assert article_region(None, author, "", "") == region


@pytest.mark.parametrize(
    ("title", "region"),
    [
        ("四川康定：干部下沉一线解难题", "四川康定"),
        ("廣西南寧：黨員進村", "廣西南寧"),
        ("甘孜州：抓党建促乡村振兴", "甘孜州"),
        ("工作总结：抓党建促乡村振兴", None),  # neither a province nor an administrative unit before the colon
    ],
)
def test_region_from_a_news_title(title: str, region: str | None) -> None:
    assert article_region(title, None, "", "") == region


def test_region_from_a_place_of_the_authors_level_named_in_the_lead_and_again() -> None:
    lead = "近年来，鹿寨县坚持把整顿软弱涣散村党组织作为基层党建的重点。"
    text = lead + "\n鹿寨县还选派第一书记驻村。\n柳城县的做法也有借鉴。"
    assert article_region(None, "县基层办 秦敬洪", lead, text) == "鹿寨县"
    assert article_region(None, "市委组织部", lead, text) is None  # no city of the author's level is named
    anonymised = lead.replace("鹿寨县", "**县")
    assert article_region(None, "县基层办", anonymised, text.replace("鹿寨县", "**县")) is None
