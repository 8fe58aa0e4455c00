"""What kind of answer a question asks for (a length of time, a sum of money, a share …) and whether a text states one.

A question asking 多久 or 多少钱 is answered by a passage that states a length of time or a sum, not by one that only
shares its words: 第一书记驻村多久 is not answered by a paragraph on what first secretaries do (the expected answer
type of question answering systems; Hovy et al., 2001). The interrogatives themselves are fillers to the ranking.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

# A number as reports write it: digits (normalised to half-width), or Chinese numerals (两, 半 and 数 too: 数十名).
_NUMBER = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十两百千万半〇零数]+)"


class Asked(enum.StrEnum):
    """The kind of answer a question asks for."""

    FREQUENCY = "frequency"  # 多久一次, 几次: 每季度, 两次
    SHARE = "share"  # 多少比例, 几成: 5%, 百分之十, 三成
    MONEY = "money"  # 多少钱, 工资多少: 2000元, 3万元
    AGE = "age"  # 几岁, 多大年纪: 60周岁
    DURATION = "duration"  # 多久, 几年: 三年, 6个月
    DATE = "date"  # 什么时候, 哪年, 几月: 2021年3月, 年底
    COUNT = "count"  # 多少人, 几个: 5名, 12个


# Each kind: what a question asking for it says, and what a text answering it states. The first kind whose question
# pattern matches is the one asked; a question matching none (怎么办, 哪几种 lists, 是什么) asks for no kind.
_KINDS: tuple[tuple[Asked, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        Asked.FREQUENCY,
        re.compile(r"(?<![没了过])几次|多少次|几回|多少回"
                   r"|(?:多久|多长时间|几年|几个月|几天|几周)[^,，。;；?？!！]{0,4}?(?:一次|一回|一换|一届)"
                   r"|(?:多久|多长时间|几年|几个月|几天|几周)(?:换|搞|开|办)一"),
        re.compile(rf"(?<!第){_NUMBER}\s*(?:次|回)(?!性)|每(?:个)?(?:年|季度|季|月|周|星期|半年|天|日|届)"
                   rf"|{_NUMBER}\s*(?:个)?(?:年|月|季度|周|天)(?:一次|一换|一届)"),
    ),
    (
        Asked.SHARE,
        re.compile(r"(?:比例|占比|百分比|比重)[^,，。;；?？!！]{0,6}?(?:多少|几|咋|怎么|如何|多大|多高)"
                   r"|(?:多少|几)(?:的)?(?:比例|个百分点)|(?<![没哪])几成(?![员本绩果])|百分之几|多大比例"),
        re.compile(rf"{_NUMBER}\s*(?:%|‰|成(?![员本绩果立])|个百分点)|百分之|千分之"),
    ),
    (
        Asked.MONEY,
        re.compile(r"多少钱|几块钱|多少元|几元|多少万|几万块|几千块"
                   r"|(?:工资|报酬|补贴|补助|津贴|经费|资金|费用|待遇|工钱|薪水|薪酬|奖金|奖励|慰问金|收入|礼金|随礼|"
                   r"伙食费|标准线)[^,，。;；?？!！]{0,8}?(?:多少(?![年种个项])|几(?:千|万|百|块|元))"),
        re.compile(rf"{_NUMBER}\s*(?:万|亿|千)?(?:余|多)?\s*(?:元(?!化)|块钱)|\d+(?:\.\d+)?\s*(?:万|亿)"),
    ),
    (
        Asked.AGE,
        re.compile(r"几岁|多少岁|多大岁数|多大年纪|多大年龄|年龄(?:多大|多少|上限|下限|限制)|岁数(?:多大|多少|上限)"),
        re.compile(rf"{_NUMBER}\s*(?:周)?岁"),
    ),
    (
        Asked.DURATION,
        re.compile(r"(?<![没不])多久|多长时间|(?<!写)多长|多少年(?!轻)|(?<![好这近前头后那十去续没过几])几(?:年|个月|天)"
                   r"|多少个月|多少天|几周|多少周|几个星期|多少学时|几个学时|几小时|多少分钟|几分钟"),
        # Not a year (2021年 is a date) nor a day of the month (5日).
        re.compile(rf"(?<!\d)(?!(?:19|20)\d\d\s*年){_NUMBER}\s*(?:余|多)?\s*(?:个)?"
                   rf"(?:年|月|天|周|星期|小时|分钟|工作日|学时|课时)|终身"),
    ),
    (
        Asked.DATE,
        re.compile(r"什么时候|啥时候|何时|哪年|哪一年|几月|哪个月|哪月|哪天|哪一天|几号(?!文)|什么时间|啥时间"),
        re.compile(rf"{_NUMBER}\s*(?:年|月|日|号(?!文))|年底|年初|年末|年中|月底|月初|上半年|下半年|季度"),
    ),
    (
        Asked.COUNT,
        re.compile(r"(?<![哪没])几(?:个|名|人|户|家|位|所|票)(?!方面|步|点|老|环节)"
                   r"|多少(?:个|名|人|户|家|村|位|所|票|党员|名额|村民|代表)(?!员)"),
        re.compile(rf"{_NUMBER}\s*(?:余|多)?\s*(?:个|名|人|户|家|位|所|票|分|村)|\d+"),
    ),
)


def asked_for(question: str) -> tuple[Asked, str] | None:
    """The kind of answer a normalised question asks for, if it asks for a quantity or a time, and the words that
    ask it (多少比例)."""
    for kind, asking, _ in _KINDS:
        if found := asking.search(question):
            return kind, found.group()
    return None


# A text answers only where it states the answer in a sentence that holds a word of the question: reports state
# figures everywhere, and one about another matter (培训经费70万元) does not answer 村干部工资多少.
_SENTENCE_END = re.compile(r"[。！？；!?;\n]")


def states(kind: Asked, text: str, near: Iterable[str] = ()) -> bool:
    """Whether a normalised text states an answer of that kind; with words given, in a sentence holding one."""
    answer = _ANSWERS[kind]
    words = [w for w in near if w]
    if not words:
        return answer.search(text) is not None
    return any(
        answer.search(sentence) and any(w in sentence for w in words) for sentence in _SENTENCE_END.split(text)
    )


_ANSWERS = {asked: answer for asked, _, answer in _KINDS}
