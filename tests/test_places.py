"""Places: the provinces and cities above a place, from the bundled administrative codes."""

from __future__ import annotations

from retrieval.places import Gazetteer, bundled_gazetteer
from retrieval.search import Confidence, Searcher


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
