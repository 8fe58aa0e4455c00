"""Line cleaning: pinyin notes and invisible characters out of a line, and site chrome told from content.

Web-page dumps carry site chrome around the article: menus, breadcrumbs, share/print widgets, counters, spam,
"related reading" lists and running headers. Junk patterns only ever match short lines, so a paragraph that
mentions a junk word in its prose survives. Patterns are matched against the simplified-Chinese, lower-cased
form of a line, so one rule covers both scripts; the text kept is always in the original script.
"""

from __future__ import annotations

import re

from rectbot.retrieval.formats import NUMBERED_HEADING
from rectbot.retrieval.lines import Kind, Line, is_body
from rectbot.retrieval.text import HAN, TONE_VOWELS, safe_text, strip_pinyin_notes, to_simplified

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
_NO_WORDS = re.compile(rf"^[^A-Za-z{HAN}]*$")
# Reading notes that a wrong decoding mangled: the character before it (F(xiàn) for 現(xiàn)) or its tone mark
# (網(w?ng), 區(q媹)). A tone-marked syllable is a note after any character; a syllable with one garbled
# letter only after a Han character, so 第一书记(a) or 村(社区) are left alone.
_MANGLED_PINYIN = re.compile(
    rf"[(（][a-zü]{{0,5}}[{TONE_VOWELS}][a-zü]{{0,5}}[)）]"
    rf"|(?<=[{HAN}])[(（][a-z]{{1,5}}(?:\?|[^\x00-\x7f()（）\s，。、；：？！“”]){{1,2}}[a-z]{{0,4}}[)）]"
)

_RELATED_HEADING = re.compile(
    r"^[【\[]?(?:延伸阅读|相关阅读|相关文章|相关新闻|相关链接|相关报道|相关推荐|推荐阅读|热点推荐|热门推荐|热门文章"
    r"|猜你喜欢|往期回顾|更多阅读|阅读推荐)[】\]]?\s*[:：]?$"
)
_MENU_ITEM = re.compile(r"^[•·▪●◆■►▶]\s*[^\s，。,.；;：:！？]{1,10}$")
_BREADCRUMB = re.compile(
    r"^[•·▪●◆■►▶\s]*(?:(?:您|你)(?:当前|现在|目前)?(?:所在)?的?位置|(?:当前|现在|目前|所在)(?:所在)?的?位置)\s*[:：]?"
)
_BARE_CRUMB = re.compile(r"^[>»›＞]\s*[^\s，。,.；;：:！？!?]{1,12}$")  # "> 清风矩阵": a crumb whose root was lost
_PIPE_MENU = re.compile(r"^[^|｜，。,]{1,10}(?:\s*[|｜]\s*[^|｜，。,]{1,10}){2,}$")
_CRUMB_SPLIT = re.compile(r"\s*(?:>|»|›|＞)+\s*")
_HOME = frozenset({"主页", "首页", "网站首页", "返回首页", "home"})
_COPYRIGHT = re.compile(r"版权所有|版权说明|版权声明|免责声明|copyright|©|icp备|icp证|公网安备")
_WELCOME = re.compile(r"^(?:欢迎|热烈欢迎)(?:您|你)?(?:来到|访问|光临|登录)")
# A page-structure label standing in for a title: 论文部分内容阅读, 资源描述, 文档简介, 内容摘要.
_PAGE_LABEL = re.compile(r"^(?:论文|文章|文档|资源|资料|全文|正文|在线|内容|部分)+(?:阅读|描述|简介|介绍|预览|摘要|下载)$")
_HTML_DEBRIS = re.compile(
    r"<!--|-->|data:image/|</?(?:div|span|script|style|p|a|br|td|tr|table|li|ul|img|image)\b[^>]*>?", re.IGNORECASE
)
# Content-farm notes about the page itself: "下面是小编为大家整理的...", "不代表本站观点", "客服老师".
_SITE_NOTE = re.compile(r"小编.{0,12}?(?:整理|搜集|收集|精心|推荐|分享)|不代表本站|本站.{0,6}?(?:整理|上传|收集)|客服老师")
# The sentence holding such a note is cut from a line (of at most this many characters) that also holds the
# report's own text.
_SITE_NOTE_LINE = 200
_SENTENCE_ENDS = "。！？!?"
# A downloadable file's properties on a document-sharing page: "格式:doc", "大小:28.00 KB", "文档页数:3".
_FILE_PROPERTY = re.compile(r"^[-•·*\s]*(?:格式|大小|文件大小|文档页数|页数|下载次数|上传时间|上传者|文档格式)\s*[:：]\s*[^，。,；;]{1,20}$")
_WORD_COUNT = re.compile(r"[（(][^()（）]{0,12}全文共\s*\d+\s*字[^()（）]{0,20}[)）]")
_MENU_LABEL = re.compile(r"^(?:[A-Z][a-z]+ ){1,3}[A-Z][a-z]+$")  # "Regional Quick Navigation"
_URL_LINE = re.compile(r"^(?:(?:网址|地址|链接|本文链接|原文链接|url)\s*[:：]\s*)?(?:https?://|www\.)\S+$")
# A contact solicitation with an account id: "加微信 xxx123", "+V: abc_888", "QQ群：12345678".
_SOLICITATION = re.compile(r"(?:加|添加|\+)\s*(?:微信|威信|薇信|vx|wx|v信|v|qq|q群|qq群)\s*(?:号)?\s*[:：]?\s*[a-z0-9_-]{5,}")
_NAVIGATION = re.compile(r"^(?:上一篇|下一篇|上一条|下一条)\s*(?:[:：]|$)")
# An academic article's front matter: keywords, classification codes, DOI, fund and author notes, date received;
# the label in brackets or followed by a colon. A keyword line holds no sentence (关键词：强基固本。全县… is a
# year-in-review paragraph).
_KEYWORDS_LABEL = r"^[\[〔【(（]?\s*(?:关\s*键\s*[词字]|key\s*words?)\s*"
_KEYWORDS_LINE = re.compile(_KEYWORDS_LABEL + r"(?:[\]〕】)）]|[:：])")
_FRONT_MATTER = re.compile(
    r"^[\[〔【(（]?\s*(?:中图分类号|文献标识码|文章编号|doi|基金项目|作者简介|收稿日期)\s*(?:[\]〕】)）]|[:：])"
)
_KEYWORDS_ALONE = re.compile(_KEYWORDS_LABEL + r"[\]〕】)）]?\s*[:：]?$")
_TERM_SEPARATORS = re.compile(r"[;；,，、\s]+")
# Marks a database or a paywall leaves in a paragraph: CNKI's <正> (the body starts here), its "endprint" (its first
# letter sometimes mangled), "(剩余10911字)".
_EXPORT_MARKS = re.compile(
    r"[<‹〈＜]正[>›〉＞]|[e〆]?ndprint\s*$|[（(]\s*剩[余餘]\s*\d+\s*字\s*[)）]?\s*$", re.IGNORECASE
)
# A PDF's page footer run into the text when its lines were joined: "第1页共6页", "第 2 页 / 共 6 页".
_PAGE_FOOTER = re.compile(r"第\s*\d+\s*[页頁]\s*/?\s*共\s*\d+\s*[页頁]")
# A gambling site's name spliced into a sentence of a hacked page: "述职bat365中国官方网站大会" (not 依托Office365平台).
_SPLICED_SPAM = re.compile(
    r"(?<=[\u4e00-\u9fff])[a-z]{2,8}\d{2,4}(?:(?:中国|亚洲)(?:在线)?(?:官方网站|官网|平台|体育|娱乐)|(?:在线)?(?:官方网站|官网|体育|娱乐))",
    re.IGNORECASE,
)

# Spam headlines injected into hacked pages. One strong term, or two weak ones, in a short line.
_SPAM_STRONG = (
    "bet365", "中文字幕", "无码", "av在线", "在线av", "色情", "博彩", "赌场", "娱乐城", "百家乐", "六合彩",
    "老虎机", "真人娱乐", "威尼斯人", "葡京", "皇冠体育", "一本道", "亚洲欧美", "欧美日韩", "国产精品", "人成在线",
)  # fmt: skip
_SPAM_WEAK = ("亚洲", "欧美", "日韩", "国产", "精品", "无删减", "在线观看", "不卡", "乱码", "一区", "二区", "综合网")

# Share, print and navigation widgets: whole tokens of a short toolbar line.
_WIDGET_WORDS = frozenset(
    """打印 打印本页 纠错 我要纠错 收藏 加入收藏 回复 评论 发表评论 分享 投稿 我要投稿 投稿须知 微信扫一扫 扫一扫
    扫描二维码 二维码 收听本文 请选择 进入手机版 继续访问电脑版 关闭 关闭窗口 返回顶部 返回 顶部 返回列表 举报 点赞
    微信 微博 qq qq空间 朋友圈 新浪微博 腾讯微博 网站地图 设为首页 联系我们 关于我们 免责声明 推荐 字体 大字体 中字体
    小字体 大 中 小 ×""".split()
)
_WIDGET_PATTERN = re.compile(r"^(?:.{0,12}(?:手机站|手机版|电脑版|客户端)|(?:(?:app|pdf|caj|word|手机)?下载(?:app|本文|全文)?)+|本文已影响\d*人?次?|分享到.*|字[号体].*|\d{1,2}:\d{2}(?::\d{2})?)$")
_TOKEN = re.compile(r"[^\s|｜/]+")
# Brackets and punctuation around a token of a line or a word of a field value.
TOKEN_PUNCT = "【】[]()（）<>《》「」『』“”\":：,，·•"

_SITE_NAME = re.compile(
    rf"^(?P<site>[{HAN}a-z0-9]{{1,16}}?(?:网站联盟|网站|网|在线|资料库|文库|之窗|门户网|门户|频道))(?:来稿|供稿|讯|原创|独家)?$"
)


def clean_line(raw: str) -> str:
    """Drop pinyin notes, mangled ones too, invisible characters and marks of export or of the site; collapse spaces."""
    # safe_text again: PDF, Word and HTML text never passed through decode_text.
    text = _WORD_COUNT.sub("", _MANGLED_PINYIN.sub("", strip_pinyin_notes(_INVISIBLE.sub("", safe_text(raw)))))
    text = _SPLICED_SPAM.sub("", _PAGE_FOOTER.sub("", _EXPORT_MARKS.sub("", text)))
    text = _without_site_notes(text)
    return _SPACES.sub(" ", text).strip()


def _without_site_notes(text: str) -> str:
    """A short line without the sentences holding a content farm's note, found in simplified script (小編整理 too);
    a long line is left to the rules for long prose (本站收集群众意见 in a service station's report is not a note)."""
    if len(text) > _SITE_NOTE_LINE:
        return text
    simple = to_simplified(text)
    if len(simple) != len(text):  # a conversion that changed lengths: match the text as it is
        simple = text
    kept, at = [], 0
    for note in _SITE_NOTE.finditer(simple):
        if note.start() < at:
            continue
        start = max(simple.rfind(end, at, note.start()) for end in _SENTENCE_ENDS) + 1
        start = max(start, at)
        ends = [i for end in _SENTENCE_ENDS if (i := simple.find(end, note.end())) >= 0]
        stop = min(ends) + 1 if ends else len(simple)
        while stop < len(simple) and simple[stop] in _SENTENCE_ENDS:
            stop += 1
        kept.append(text[at:start])
        at = stop
    return "".join(kept) + text[at:]


def is_related_heading(simple: str) -> bool:
    """A "related reading" heading (延伸阅读, 猜你喜欢 ...): the lines under it are other articles' titles."""
    return _RELATED_HEADING.match(simple) is not None


def mark_chrome(line: Line) -> bool:
    """Mark a line of site chrome (junk, a toolbar, a breadcrumb or a line naming the site); False for any other."""
    s = line.simple
    if _is_junk(s) or _MENU_LABEL.match(line.text):
        line.kind = Kind.JUNK
    elif (toolbar := _toolbar(line)) is not None:
        line.kind = Kind.TOOLBAR
        line.site = toolbar or None
    elif _BREADCRUMB.match(s) or (len(s) <= 60 and len(_CRUMB_SPLIT.findall(s)) >= 2 and not is_body(s)):
        line.kind = Kind.JUNK
        line.site = _breadcrumb_root(line)
    elif (site := _site_line(line)) is not None:
        line.kind = Kind.SITE
        line.site = site
    else:
        return False
    return True


def is_widget(word: str) -> bool:
    """Whether a simplified, lower-cased word is a share, print or navigation widget (打印, 收藏, 本文已影响 ...)."""
    return word in _WIDGET_WORDS or _WIDGET_PATTERN.match(word) is not None


def _is_junk(s: str) -> bool:
    """Stray numbers, spam headlines, copyright footers and next/previous links."""
    if len(s) <= 30 and _NO_WORDS.match(s):
        return True  # stray counters and page numbers: "1 1 1", "- 3 -"
    if len(s) <= 80 and "。" not in s:
        if any(term in s for term in _SPAM_STRONG) or sum(term in s for term in _SPAM_WEAK) >= 2:
            return True
    if len(s) <= 300 and "。" not in s and sum(term in s for term in _SPAM_STRONG) >= 2:
        return True  # a long run of spam keywords: "国产精品_亚洲欧美_..."
    if len(s) <= 80 and "。" not in s and _SOLICITATION.search(s):
        return True
    if len(s) <= 60 and (_BARE_CRUMB.match(s) or _PIPE_MENU.match(s) or _PAGE_LABEL.match(s) or _WELCOME.match(s)):
        return True
    if len(s) <= _SITE_NOTE_LINE and (_HTML_DEBRIS.search(s) or _URL_LINE.match(s) or _SITE_NOTE.search(s)):
        return True
    if _FILE_PROPERTY.match(s) or _is_tag_cloud(s):
        return True
    if len(s) <= 200 and (_FRONT_MATTER.match(s) or _KEYWORDS_ALONE.match(s)):
        return True
    if len(s) <= 200 and _KEYWORDS_LINE.match(s) and "。" not in s:
        return True
    return len(s) <= 100 and bool((_COPYRIGHT.search(s) and "。" not in s) or _NAVIGATION.match(s))


def _is_tag_cloud(s: str) -> bool:
    """A line of keyword tags with repeats: "乡村越来越好 乡村越来越好 发展壮大集体经济 ..."."""
    tags = [tag for tag in s.split() if not _NO_WORDS.match(tag)]
    return len(tags) >= 4 and len(set(tags)) < len(tags) and not re.search(r"[，,。；;！？!?]", s)


def _tokens(line: Line) -> list[tuple[int, int]]:
    """Spans of the whitespace-separated tokens of a line, without surrounding brackets."""
    spans = []
    for m in _TOKEN.finditer(line.simple):
        token = m.group()
        stripped = token.strip(TOKEN_PUNCT)
        if stripped:
            start = m.start() + token.index(stripped)
            spans.append((start, start + len(stripped)))
    return spans


def _toolbar(line: Line) -> str | None:
    """For a share/print toolbar line, the site name it mentions or ""; None for any other line."""
    if len(line.simple) > 60:
        return None
    widgets = 0
    rest: list[tuple[int, int]] = []
    for start, end in _tokens(line):
        token = line.simple[start:end]
        if is_widget(token):
            widgets += 1
        elif not _NO_WORDS.match(token):
            rest.append((start, end))
    if not widgets or sum(end - start for start, end in rest) > 12:
        return None
    site = _site_token(line, *rest[0]) if len(rest) == 1 else None
    if rest and widgets < 2 and site is None:
        return None  # "回复 群众关切" is a heading, not a toolbar
    return site or ""


def _site_token(line: Line, start: int, end: int) -> str | None:
    """The site name that a token is, as in "共产党员网" or "共产党员网来稿"."""
    m = _SITE_NAME.match(line.simple[start:end])
    return line.original(start, start + m.end("site")) if m else None


def _site_line(line: Line) -> str | None:
    """The site name of a line such as "共产党员网 先锋文汇" (site, then an optional column name)."""
    if len(line.simple) > 24:
        return None
    tokens = _tokens(line)
    if not 1 <= len(tokens) <= 2 or (len(tokens) == 2 and tokens[1][1] - tokens[1][0] > 8):
        return None
    return _site_token(line, *tokens[0])


def _breadcrumb_root(line: Line) -> str | None:
    """The first crumb of a breadcrumb when it names the site rather than "首页"."""
    m = _BREADCRUMB.match(line.simple)
    start = m.end() if m else 0
    crumbs = _CRUMB_SPLIT.split(line.simple[start:])
    if not crumbs:
        return None
    first = crumbs[0].strip(" ?？:：" + TOKEN_PUNCT)
    if not 2 <= len(first) <= 20 or first in _HOME or _NO_WORDS.match(first):
        return None
    offset = line.simple.index(first, start)
    return line.original(offset, offset + len(first))


# ---------------------------------------------------------------- across lines


def mark_menus(lines: list[Line]) -> None:
    """Runs of three or more short bulleted lines are site menus."""
    run: list[Line] = []
    for line in [*lines, None]:
        if line is not None and line.kind in (Kind.CONTENT, Kind.SITE) and _MENU_ITEM.match(line.simple):
            run.append(line)
            continue
        if len(run) >= 3:
            for item in run:
                item.kind = Kind.JUNK
        run = []


def drop_keyword_lists(lines: list[Line]) -> None:
    """The list of terms on the line under a bare 关键词 label is front matter too (the label alone is junk already)."""
    for label, line in zip(lines, lines[1:]):
        if label.kind is Kind.JUNK and _KEYWORDS_ALONE.match(label.simple) and line.kind is Kind.CONTENT:
            terms = [term for term in _TERM_SEPARATORS.split(line.simple) if term]
            if (
                len(line.simple) <= 100 and "。" not in line.simple and not NUMBERED_HEADING.match(line.simple)
                and len(terms) >= 2 and all(2 <= len(term) <= 15 for term in terms)
            ):
                line.kind = Kind.JUNK


def drop_related_lists(lines: list[Line]) -> None:
    """A "related reading" heading and the list of other article titles under it are junk."""
    inside = False
    for line in lines:
        if line.kind is Kind.RELATED:
            line.kind = Kind.JUNK
            inside = True
        elif inside:
            if line.kind in (Kind.JUNK, Kind.TOOLBAR):
                continue
            if line.kind in (Kind.CONTENT, Kind.SITE) and len(line.text) <= 60 and not is_body(line.text):
                line.kind = Kind.JUNK
            else:
                inside = False


def drop_running_headers(lines: list[Line]) -> None:
    """A short line repeated between the paragraphs of the body, as a document's running header, is junk.

    A headline repeated in the header (title, breadcrumb, subtitle) is not: two repeats must stand after the
    first paragraph of running text. Where a layout glued the header to a paragraph, it is cut off.
    """
    first_body = next((i for i, line in enumerate(lines) if line.kind is Kind.CONTENT and is_body(line.text)), None)
    if first_body is None:
        return
    positions: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.kind in (Kind.CONTENT, Kind.SITE) and len(line.text) <= 40 and not is_body(line.text):
            if not NUMBERED_HEADING.match(line.text):
                positions.setdefault(line.text, []).append(i)
    # Paragraphs ending with each header, found by looking up their endings: one pass whatever the number of headers.
    lengths = sorted({len(header) for header in positions})
    glued_at: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.kind is Kind.CONTENT and is_body(line.text):
            for length in lengths:
                if length < len(line.text) and (end := line.text[-length:]) in positions:
                    glued_at.setdefault(end, []).append(i)
    for header, found in positions.items():
        glued = glued_at.get(header, [])
        if len(found) + len(glued) >= 3 and sum(i > first_body for i in [*found, *glued]) >= 2:
            for i in found:
                lines[i].kind = Kind.JUNK
            for i in glued:
                if lines[i].text.endswith(header):  # not already cut by a longer header ending the same way
                    lines[i].cut(len(lines[i].text) - len(header))
