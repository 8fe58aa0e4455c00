"""Ingest, reindex, add one document and answer questions over a seed-like corpus of N passages, in one run.

A deterministic corpus of report-like .txt files is made from the five seed reports (their sentences
recombined under other places, numbers, dates and sources, ~170 passages a report, one report in a hundred
republished elsewhere), then each step runs in a fresh child process so that its peak RSS is its own:

  ingest    Corpus.ingest(folder) on an empty database (what `rectbot ingest FOLDER` runs), saves + one reindex
  reindex   Corpus.reindex() on that database; then one new file: Corpus.ingest([file]) until Searcher finds it
  serve     load the index; answer the questions through Searcher.search (segmentation included) and, side by
            side, through rank_bm25.BM25Okapi over the same word tokens (Tokenizer.tokens of every passage)
  cold      `python -m rectbot.bot.cli ask QUESTION` on the existing database, to exit after the answer (median of 3)
  burst     `python -m rectbot.bot.cli serve wecom` on the database; bursts of 50 questions posted at once, each from
            its own user, sealed beforehand as WeCom's servers do (so the client's crypto is not timed) and sent
            on raw sockets: round trip p50 / p99 over all bursts, the server's CPU time per message, and a
            /healthz request sent during each burst

Usage: python benchmarks/scale.py [--sizes 10000,100000] [--questions 200] [--quick]
       [--library PATH] [--stages ingest,reindex,serve,cold,burst] [--bursts 5] [--workdir DIR] [--keep]
--library measures another checkout of the library (e.g. an export of the commit before a change) on the same
corpus and questions; the corpus is always made by this checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240601
PASSAGES_PER_REPORT = 170
REPUBLISHED_EVERY = 100  # one report in this many is an earlier one republished by another source
RANK_BM25_SAMPLE_ABOVE = 300_000  # passages from which rank-bm25 answers only a sample of the questions
RANK_BM25_SAMPLE = 20
STAGES = ("ingest", "reindex", "serve", "cold", "burst")
BURST = 50  # questions posted at once
# WeCom callback credentials of the benchmark's server (test values, as in benchmarks/startup.py).
CORP_ID, WECOM_TOKEN, WECOM_KEY = "wx49f0ab532d5d035a", "bench-token", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"

# (province, city, county) of real places, so the gazetteer and the context field see real names.
PLACES = [
    ("四川省", "广元市", "利州区"), ("四川省", "广元市", "苍溪县"), ("四川省", "甘孜藏族自治州", "康定市"),
    ("四川省", "巴中市", "平昌县"), ("宁夏回族自治区", "中卫市", "沙坡头区"), ("宁夏回族自治区", "中卫市", "海原县"),
    ("宁夏回族自治区", "固原市", "西吉县"), ("广西壮族自治区", "柳州市", "鹿寨县"), ("广西壮族自治区", "柳州市", "融安县"),
    ("广西壮族自治区", "百色市", "田东县"), ("贵州省", "遵义市", "湄潭县"), ("贵州省", "毕节市", "大方县"),
    ("云南省", "曲靖市", "会泽县"), ("云南省", "昭通市", "镇雄县"), ("甘肃省", "定西市", "通渭县"),
    ("甘肃省", "天水市", "秦安县"), ("陕西省", "延安市", "延川县"), ("陕西省", "汉中市", "城固县"),
    ("河南省", "信阳市", "光山县"), ("河南省", "周口市", "郸城县"), ("河北省", "保定市", "阜平县"),
    ("山西省", "吕梁市", "临县"), ("湖南省", "湘西土家族苗族自治州", "花垣县"), ("湖北省", "恩施土家族苗族自治州", "利川市"),
    ("江西省", "赣州市", "于都县"), ("安徽省", "六安市", "金寨县"), ("山东省", "临沂市", "沂南县"),
    ("江苏省", "宿迁市", "泗洪县"), ("浙江省", "丽水市", "遂昌县"), ("福建省", "宁德市", "寿宁县"),
    ("黑龙江省", "绥化市", "兰西县"), ("吉林省", "白城市", "通榆县"), ("内蒙古自治区", "赤峰市", "敖汉旗"),
    ("青海省", "海东市", "互助土族自治县"), ("新疆维吾尔自治区", "喀什地区", "疏附县"), ("重庆市", "重庆市", "酉阳土家族苗族自治县"),
]  # fmt: skip
VILLAGES = ["毛坝村", "双河村", "新华村", "红旗村", "团结村", "石门村", "杨柳村", "桃园村", "青山村", "柏树村"]
TOWNS = ["平溪乡", "白龙镇", "三河镇", "龙泉乡", "太平镇", "永安乡", "清水镇", "新店乡"]
SOURCES = ["人民日报", "共产党员网", "全国党建网站联盟", "光明日报", "农民日报", "党建网", "组织人事报", "地方日报"]
# Place names in the seeds, by level, replaced by each report's own.
SEED_PROVINCES = ["四川", "宁夏", "广西"]
SEED_CITIES = ["广元市", "中卫市", "柳州市", "甘孜州"]
SEED_COUNTIES = ["沙坡头区", "鹿寨县", "康定市", "平昌县"]
SEED_TOWNS = ["平溪乡"]
SEED_VILLAGES = ["毛坝村"]
TITLES = [
    "{county}：“{n}个到位”整顿软弱涣散村党组织",
    "{city}{county}抓党建促乡村振兴工作报告",
    "{county}整顿软弱涣散基层党组织调研报告",
    "{county}：选派第一书记激活“末梢神经”",
    "{province}{county}推进基层党组织标准化建设",
    "{county}关于整顿软弱涣散村党组织的经验材料",
]
QUESTION_FORMS = ["{}", "{}怎么做", "{}有哪些做法", "{}的经验", "如何{}"]
NEW_REPORT = (
    "{county}开办“星火夜校”整顿软弱涣散村党组织\n\n时间：2023-05-06 来源：测试日报\n\n"
    "{county}在软弱涣散村开办星火夜校，每周三晚上组织党员学习政策、讨论村务，半年来共办夜校四十二期。\n"
)
NEW_QUESTION = "星火夜校"


# The corpus ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    """What reports are recombined from: the seeds' sentences and headings, in simplified script."""

    sentences: tuple[str, ...]
    headings: tuple[str, ...]


def seed_material(seeds: Path = ROOT / "seeds") -> Material:
    """Sentences and section headings of the seed reports, as the library reads them."""
    from rectbot.retrieval.documents import parse_bytes
    from rectbot.retrieval.passages import PassageParams, is_heading
    from rectbot.retrieval.text import to_simplified

    sentences: dict[str, None] = {}
    headings: dict[str, None] = {}
    for path in sorted(seeds.iterdir()):
        for article in parse_bytes(path.read_bytes(), path.name).articles:
            for paragraph in to_simplified(article.text).splitlines():
                paragraph = paragraph.strip()
                if not paragraph:
                    continue
                if is_heading(paragraph, PassageParams()):
                    headings.setdefault(paragraph, None)
                    continue
                for sentence in re.findall(r"[^。！？；!?;]+[。！？；!?;”]*", paragraph):
                    if len(sentence) >= 8:
                        sentences.setdefault(sentence, None)
    return Material(tuple(sentences), tuple(headings))


def _localise(text: str, place: tuple[str, str, str], rng: random.Random) -> str:
    """The seed's places replaced by the report's, and its figures by others of the same size."""
    province, city, county = place
    for names, new in (
        (SEED_COUNTIES, county), (SEED_CITIES, city), (SEED_PROVINCES, re.sub("(省|市|回族|壮族|维吾尔)?(自治区)?$", "", province)),
        (SEED_TOWNS, TOWNS[rng.randrange(len(TOWNS))]),
        (SEED_VILLAGES, VILLAGES[rng.randrange(len(VILLAGES))]),
    ):  # fmt: skip
        for name in names:
            text = text.replace(name, new)

    def figure(match: re.Match[str]) -> str:
        digits = match.group()
        if len(digits) == 4 and digits[:2] in ("19", "20"):
            return str(rng.randint(2012, 2023))
        low = 10 ** (len(digits) - 1) if len(digits) > 1 else 1
        return str(rng.randint(low, 10 ** len(digits) - 1))

    return re.sub(r"\d+", figure, text)


def make_report(material: Material, number: int, seed: int = SEED) -> str:
    """Report `number`: title, date and source, then ~PASSAGES_PER_REPORT paragraphs under headings."""
    rng = random.Random(seed * 1_000_003 + number)
    place = PLACES[rng.randrange(len(PLACES))]
    province, city, county = place
    title = rng.choice(TITLES).format(province=province, city=city, county=county, n=rng.choice("三四五六"))
    date = f"{rng.randint(2012, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    lines = [title, "", f"时间：{date} 来源：{rng.choice(SOURCES)}", ""]
    numerals = "一二三四五六七八九十"
    section = 0
    for paragraph_number in range(PASSAGES_PER_REPORT):
        if paragraph_number % rng.randint(8, 14) == 0 and section < len(numerals):
            heading = _localise(rng.choice(material.headings), place, rng).lstrip("一二三四五六七八九十、.．() （）")
            lines.append(f"{numerals[section]}、{heading}")
            section += 1
        paragraph = ""
        while len(paragraph) < 110:  # one passage a paragraph: passages aim at 150 characters, at most 240
            sentence = _localise(rng.choice(material.sentences), place, rng)
            if paragraph and len(paragraph) + len(sentence) > 220:
                break
            paragraph += sentence
        lines.append(paragraph)
    return "\n".join(lines) + "\n"


def write_corpus(
    folder: Path, passages: int, material: Material, seed: int = SEED, republished_every: int = REPUBLISHED_EVERY
) -> list[Path]:
    """Write the reports of a ~`passages`-passage corpus into folder; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    reports = max(1, math.ceil(passages / PASSAGES_PER_REPORT))
    width = len(str(reports))
    for number in range(reports):
        if number % republished_every == republished_every - 1:
            # The same report on another site: other source line, page chrome around the same text.
            original = make_report(material, number - republished_every // 2, seed)
            text = f"当前位置：首页 > 基层党建\n\n来源：{SOURCES[number % len(SOURCES)]}转载\n\n{original}\n打印 纠错\n"
        else:
            text = make_report(material, number, seed)
        path = folder / f"report_{number:0{width}d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def make_questions(material: Material, count: int, seed: int = SEED) -> list[str]:
    """Questions a staff member might type, from the corpus's words and places; the same for every size."""
    from rectbot.retrieval.text import normalize
    from rectbot.retrieval.tokenizer import Tokenizer

    tokenizer = Tokenizer()
    rng = random.Random(seed + 1)
    questions: list[str] = []
    while len(questions) < count:
        kind = rng.random()
        words = [w for w in tokenizer.cut(normalize(rng.choice(material.sentences))) if len(w) >= 2]
        words = [w for w in words if w not in tokenizer.stopwords and not w.isdigit()]
        if len(words) < 2:
            continue
        start = rng.randrange(len(words) - 1)
        picked = words[start : start + rng.randint(2, 3)]
        if kind < 0.45:
            question = rng.choice(QUESTION_FORMS).format("".join(picked))
        elif kind < 0.75:
            question = PLACES[rng.randrange(len(PLACES))][2] + "".join(picked)
        elif kind < 0.9:
            question = " ".join(picked)
        else:
            question = rng.choice(material.headings)[:20]
        questions.append(question)
    return questions


# Measuring in a child process ------------------------------------------------------------------------------------


@dataclass
class Timers:
    """Seconds spent in a few wrapped functions, to say what a step's time goes to."""

    seconds: dict[str, float] = field(default_factory=dict)

    def wrap(self, name: str, function: Callable) -> Callable:
        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        return timed

    def wrap_async(self, name: str, function: Callable) -> Callable:
        async def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        return timed

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 3) for name, value in sorted(self.seconds.items(), key=lambda kv: -kv[1])}


def peak_rss_mb() -> float:
    """The highest resident set size this process has had, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def current_rss_mb(kind: str = "VmRSS") -> float:
    """This process's resident set size now (or a part of it: RssFile, pages of mapped files), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(path: Path) -> float:
    """Size of the files under path (or of path), in MB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def set_attribute(target: object, name: str, value: object) -> None:
    object.__setattr__(target, name, value)  # also on dataclass instances


async def open_corpus(database: Path):  # -> Corpus
    from rectbot.retrieval.corpus import Corpus
    from rectbot.retrieval.tokenizer import Tokenizer

    tokenizer = await asyncio.to_thread(Tokenizer, cache_dir=database.parent / f"{database.stem}.jieba-cache")
    return await Corpus.open(database, tokenizer=tokenizer)


async def stage_ingest(database: Path, folder: Path) -> dict[str, object]:
    """Corpus.ingest of the whole folder into an empty database, with where its time went."""
    import rectbot.retrieval.corpus as corpus_module

    corpus = await open_corpus(database)
    try:
        timers = Timers()
        # Parsing happens in worker processes: what is timed is the wait for them, two files at once (the sum of
        # overlapping waits, as are the other timers of this stage).
        set_attribute(corpus.parser, "parse", timers.wrap_async("parse (workers)", corpus.parser.parse))
        corpus_module.build_passages = timers.wrap("passages", corpus_module.build_passages)
        set_attribute(corpus.store, "save_file", timers.wrap_async("save_file", corpus.store.save_file))
        set_attribute(corpus, "update", timers.wrap_async("index update", corpus.update))
        started = time.perf_counter()
        reports = await corpus.ingest([folder])
        seconds = time.perf_counter() - started
        statuses: dict[str, int] = {}
        for report in reports:
            statuses[report.status] = statuses.get(report.status, 0) + 1
        return {
            "seconds": seconds,
            "files": len(reports),
            "statuses": statuses,
            "documents": len(await corpus.store.documents()),
            "republished": sum(a.republished for r in reports for a in r.articles),
            "passages": len(corpus.index),
            "breakdown": timers.rounded(),
            "peak_rss_mb": peak_rss_mb(),
        }
    finally:
        await corpus.close()


async def stage_reindex(database: Path, new_file: Path) -> dict[str, object]:
    """Corpus.reindex of the ingested database; then one new file ingested until a search finds it."""
    import rectbot.retrieval.token_workers as token_workers
    from rectbot.retrieval.backend import SearchIndex
    from rectbot.retrieval.index import PassageIndex
    from rectbot.retrieval.search import Searcher

    started = time.perf_counter()
    corpus = await open_corpus(database)
    open_seconds = time.perf_counter() - started
    try:
        loaded_rss = current_rss_mb()
        corpus.index = None  # the loaded index is not kept while the new one is built
        gc.collect()
        timers = Timers()
        # Segmenting in this process (a build this size cuts in worker processes, which no timer here sees).
        token_workers.passage_batch = timers.wrap("segmenting", token_workers.passage_batch)
        set_attribute(corpus.store, "searchable_passages", timers.wrap_async("read passages", corpus.store.searchable_passages))
        original_build = PassageIndex.build.__func__
        PassageIndex.build = classmethod(timers.wrap("index build", original_build))
        SearchIndex.save = timers.wrap("save", SearchIndex.save)
        started = time.perf_counter()
        report = await corpus.reindex()
        reindex_seconds = time.perf_counter() - started
        build_peak = peak_rss_mb()
        breakdown = timers.rounded()
        timers.seconds.clear()

        new_file.write_text(NEW_REPORT.format(county="某某县"), encoding="utf-8")
        await corpus.remove([new_file.name], "benchmark")  # an earlier run on a kept database added it
        searcher = Searcher.over(corpus)
        assert not any("星火夜校" in hit.text for hit in (await searcher.search(NEW_QUESTION)).shown)
        set_attribute(corpus.store, "save_file", timers.wrap_async("save_file", corpus.store.save_file))
        started = time.perf_counter()
        [added] = await corpus.ingest([new_file])
        found = await searcher.search(NEW_QUESTION)
        new_seconds = time.perf_counter() - started
        return {
            "open_seconds": open_seconds,
            "loaded_rss_mb": loaded_rss,
            "seconds": reindex_seconds,
            "passages": report.passages,
            "breakdown": breakdown,
            "peak_rss_mb": build_peak,
            "new_seconds": new_seconds,
            "new_status": added.status,
            "new_found": any("星火夜校" in hit.text for hit in found.shown),
            "new_breakdown": timers.rounded(),
        }
    finally:
        await corpus.close()


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def stage_serve(database: Path, questions: list[str], rank_bm25_sample: int | None) -> dict[str, object]:
    """Answer every question through Searcher.search and, interleaved, through rank-bm25 over the same words."""
    import numpy as np
    import rank_bm25

    from rectbot.retrieval.search import Searcher

    corpus = await open_corpus(database)
    try:
        searcher = Searcher.over(corpus)
        searcher.warm_up()  # as `rectbot serve` does before its first question (compiles the loops from 100k)
        await searcher.search(questions[0])  # builds the query parser over the index's vocabulary; not timed
        for question in questions:
            await searcher.search(question)
        serving_rss = current_rss_mb()
        mapped_rss = current_rss_mb("RssFile")  # the index's files are mapped: their pages the kernel can drop

        # Question timing broken down (a separate pass, so that the wrappers are not in the figures below).
        timers = Timers()
        backend = corpus.index
        timed_searcher = Searcher.over(corpus)
        set_attribute(timed_searcher, "parse", timers.wrap("parse (jieba, typos, thesaurus)", timed_searcher.parse))
        set_attribute(backend, "search", timers.wrap("index search (3 fields)", backend.search))
        set_attribute(corpus.store, "passages_by_id", timers.wrap_async("read passages", corpus.store.passages_by_id))
        set_attribute(timed_searcher, "_evidence", timers.wrap("evidence", timed_searcher._evidence))
        await timed_searcher.search(questions[0])
        timers.seconds.clear()
        started = time.perf_counter()
        for question in questions:
            await timed_searcher.search(question)
        breakdown_total = time.perf_counter() - started
        breakdown = timers.rounded()
        for name in ("search", "parse", "_evidence"):
            for target in (backend, timed_searcher):
                target.__dict__.pop(name, None)
        corpus.store.__dict__.pop("passages_by_id", None)

        started = time.perf_counter()
        rows = await corpus.store.searchable_passages()
        ids = np.array([passage_id for passage_id, _, _ in rows])
        okapi = rank_bm25.BM25Okapi([corpus.tokenizer.tokens(text) for _, _, text in rows], k1=1.2, b=0.75)
        del rows
        rank_bm25_build = time.perf_counter() - started

        sample = set(range(len(questions)))
        if rank_bm25_sample is not None and rank_bm25_sample < len(questions):
            sample = set(random.Random(SEED + 2).sample(range(len(questions)), rank_bm25_sample))
        ours: list[float] = []
        pairs: list[tuple[float, float]] = []
        answered = same_top = 0
        for number, question in enumerate(questions):
            # Alternate which goes first, so that drift and caches hit both alike.
            order = ("ours", "theirs") if number % 2 == 0 else ("theirs", "ours")
            timing: dict[str, float] = {}
            top: dict[str, int | None] = {}
            for who in order:
                if who == "theirs" and number not in sample:
                    continue
                started = time.perf_counter()
                if who == "ours":
                    result = await searcher.search(question)
                    timing[who] = time.perf_counter() - started
                    top[who] = result.shown[0].passage_id if result.shown else None
                else:
                    scores = okapi.get_scores(corpus.tokenizer.tokens(question))
                    best = np.argpartition(-scores, 3)[:3] if len(scores) > 3 else np.arange(len(scores))
                    best = best[np.argsort(-scores[best], kind="stable")]
                    timing[who] = time.perf_counter() - started
                    top[who] = int(ids[best[0]]) if len(best) and scores[best[0]] > 0 else None
            ours.append(timing["ours"])
            answered += top["ours"] is not None
            if "theirs" in timing:
                pairs.append((timing["ours"], timing["theirs"]))
                same_top += top["ours"] is not None and top["ours"] == top["theirs"]
        try:
            from rectbot.retrieval import kernels

            compiled = kernels.compiled() is not None
        except ImportError:  # a checkout from before the compiled loops
            compiled = False
        return {
            "passages": len(corpus.index),
            "compiled": compiled,
            "serving_rss_mb": serving_rss,
            "mapped_rss_mb": mapped_rss,
            "questions": len(questions),
            "answered": answered,
            "p50_ms": 1000 * statistics.median(ours),
            "p99_ms": 1000 * percentile(ours, 0.99),
            "rank_bm25_questions": len(pairs),
            "rank_bm25_p50_ms": 1000 * statistics.median(t for _, t in pairs),
            "ours_on_sample_p50_ms": 1000 * statistics.median(o for o, _ in pairs),
            "ratio": statistics.median(t / o for o, t in pairs),
            "same_top": same_top,
            "rank_bm25_build_seconds": rank_bm25_build,
            "breakdown": breakdown,
            "breakdown_total": round(breakdown_total, 3),
        }
    finally:
        await corpus.close()


def code_path(library: Path) -> Path:
    """What sys.path needs for a checkout's own code: a folder beside it in which rectbot/bot, rectbot/retrieval and
    rectbot/seeds link to it, as the package-dir mapping installs them (an editable install of another checkout
    would otherwise answer for `rectbot.*`)."""
    shim = library.parent / f".{library.name}-as-installed"
    for name in ("bot", "retrieval", "seeds"):
        link = shim / "rectbot" / name
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(library / name)
    return shim


def run_stage(library: Path, stage: str, *arguments: str) -> dict[str, object]:
    """Run one step in a fresh interpreter (so its peak RSS is its own) and read the JSON it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--library", str(library), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, cwd=library)
    if done.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_starts(library: Path, database: Path, question: str, runs: int) -> tuple[list[float], bool, bool]:
    """Wall seconds of `python -m rectbot.bot.cli ask QUESTION` on the database, to exit; answered; index reused."""
    index = database.parent / f"{database.stem}.index"
    before = {p: p.stat().st_mtime_ns for p in index.rglob("*") if p.is_file()}
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")}
    environment["RECTBOT_STORAGE_DATABASE"] = str(database)
    environment["PYTHONPATH"] = str(code_path(library))
    seconds, answered = [], True
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rectbot.bot.cli", "ask", question], capture_output=True, text=True, cwd=library, env=environment
        )
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"rectbot ask failed:\n{done.stderr[-4000:]}")
        answered &= "【1】" in done.stdout
    after = {p: p.stat().st_mtime_ns for p in index.rglob("*") if p.is_file()}
    return seconds, answered, before == after


def sealed_request(crypto: object, question: str, user: str, message_id: int, timestamp: str) -> bytes:
    """An HTTP request posting a text message to the callback, encrypted and signed as WeCom's servers send it."""
    import xml.etree.ElementTree as ET

    message = (f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>{user}</FromUserName><CreateTime>1</CreateTime>"
               f"<MsgType>text</MsgType><Content><![CDATA[{question}]]></Content><MsgId>{message_id}</MsgId></xml>")
    sealed = ET.fromstring(crypto.encrypt_message(message, "1", timestamp))
    body = f"<xml><Encrypt>{sealed.findtext('Encrypt')}</Encrypt></xml>".encode()
    target = f"/wecom/callback?msg_signature={sealed.findtext('MsgSignature')}&timestamp={timestamp}&nonce=1"
    head = (f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


async def exchange(port: int, request: bytes) -> bytes:
    """Send one HTTP request on a new connection; the whole response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await reader.read()
    finally:
        writer.close()


def reply_text(crypto: object, response: bytes) -> str:
    """The text of a passive reply ('' when the server answered later or not at all)."""
    import xml.etree.ElementTree as ET

    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or not body:
        return ""
    text = body.decode()
    reply = ET.fromstring(text)
    inner = crypto.decrypt_message(text, reply.findtext("MsgSignature"), reply.findtext("TimeStamp"), reply.findtext("Nonce"))
    return ET.fromstring(inner).findtext("Content") or ""


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bursts_at(library: Path, database: Path, questions: list[str], bursts: int) -> dict[str, object]:
    """`rectbot serve wecom` on the database; `bursts` bursts of BURST questions at once; round trips and CPU."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    crypto = WeChatCrypto(WECOM_TOKEN, WECOM_KEY, CORP_ID)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")}
    environment.update(
        PYTHONPATH=str(code_path(library)), RECTBOT_STORAGE_DATABASE=str(database), RECTBOT_WECOM_CORP_ID=CORP_ID,
        RECTBOT_WECOM_TOKEN=WECOM_TOKEN, RECTBOT_WECOM_ENCODING_AES_KEY=WECOM_KEY, RECTBOT_HTTP_PORT=str(port),
        RECTBOT_CHAT_RATE_LIMIT="100000",
    )
    started = time.perf_counter()
    # Its log goes to a file: a pipe nobody reads would stall the server once 64 KB of log lines filled it.
    log = tempfile.TemporaryFile()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rectbot.bot.cli", "serve", "wecom", cwd=library, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=log,
    )
    health = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    # Ready, not merely alive: until it has warmed up the callback answers 503 (and the questions would be lost).
    readiness = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    try:
        while True:
            if server.returncode is not None:
                log.seek(0)
                raise RuntimeError(f"serve exited: {log.read().decode(errors='replace')[-3000:]}")
            try:
                if (await exchange(port, readiness)).startswith(b"HTTP/1.1 200"):
                    break
            except OSError:
                pass
            await asyncio.sleep(0.05)
        ready = time.perf_counter() - started
        message_ids = iter(range(time.time_ns() // 1000, time.time_ns() // 1000 + 10**7))
        timestamp = str(int(time.time()))
        for question in questions[:5]:  # as after any start: the first questions are not timed
            await exchange(port, sealed_request(crypto, question, "warm-up", next(message_ids), timestamp))
        round_trips: list[float] = []
        health_ms: list[float] = []
        empty = 0
        cpu = 0.0
        for number in range(bursts):
            chosen = [questions[(number * BURST + n) % len(questions)] for n in range(BURST)]
            requests = [sealed_request(crypto, q, f"user-{n}", next(message_ids), timestamp) for n, q in enumerate(chosen)]
            await asyncio.sleep(0.5)
            cpu_before = process_cpu_seconds(server.pid)

            async def one(request: bytes) -> tuple[float, bytes]:
                began = time.perf_counter()
                response = await exchange(port, request)
                return time.perf_counter() - began, response

            async def healthz() -> None:
                await asyncio.sleep(0.005)  # once the burst's requests are in
                began = time.perf_counter()
                await exchange(port, health)
                health_ms.append(1000 * (time.perf_counter() - began))

            *answered, _ = await asyncio.gather(*(one(request) for request in requests), healthz())
            cpu += process_cpu_seconds(server.pid) - cpu_before
            round_trips += [seconds for seconds, _ in answered]
            empty += sum(1 for _, response in answered if not reply_text(crypto, response))
        return {
            "ready_seconds": ready,
            "questions": len(round_trips),
            "p50_ms": 1000 * statistics.median(round_trips),
            "p99_ms": 1000 * percentile(round_trips, 0.99),
            "max_ms": 1000 * max(round_trips),
            "server_cpu_ms_per_message": 1000 * cpu / len(round_trips),
            "healthz_ms": statistics.median(health_ms),
            "empty_replies": empty,
        }
    finally:
        server.terminate()
        await server.wait()
        log.close()


# The run ---------------------------------------------------------------------------------------------------------


def describe_library(library: Path) -> str:
    done = subprocess.run(["git", "-C", str(library), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if done.returncode == 0 and Path(library, ".git").exists():
        dirty = subprocess.run(["git", "-C", str(library), "status", "--porcelain"], capture_output=True, text=True)
        return f"{library} at {done.stdout.strip()}{' (modified)' if dirty.stdout.strip() else ''}"
    return str(library)


def machine_info() -> str:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("rank-bm25", "rjieba", "jieba", "numpy"))
    import sqlite3

    return (
        f"Python {platform.python_version()} on {platform.machine()} {platform.system()}, {os.cpu_count()} cores; "
        f"SQLite {sqlite3.sqlite_version}; {versions}"
    )


def seconds_text(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def breakdown_text(parts: dict[str, float], total: float) -> str:
    shown = [f"{name} {100 * value / total:.0f}%" for name, value in parts.items() if value / total >= 0.02]
    return ", ".join(shown)


def measure(size: int, args: argparse.Namespace, material: Material, questions: list[str], work: Path) -> dict:
    """Every step at one corpus size; the figures by name."""
    folder, data = work / f"corpus-{size}", work / f"data-{size}"
    if "ingest" in args.stages:
        shutil.rmtree(data, ignore_errors=True)
    elif not (data / "rectbot.sqlite3").is_file():
        raise SystemExit(f"no database at {data}: the other stages need the one ingest makes (--workdir, --keep)")
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if not folder.is_dir():
        write_corpus(folder, size, material)
    generated = time.perf_counter() - started
    database = data / "rectbot.sqlite3"
    (data / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    library = args.library
    figures: dict[str, object] = {"size": size, "files": len(list(folder.iterdir())), "generate_seconds": generated}
    print(f"# {size:,} passages: {figures['files']} files in {folder} ({generated:.1f} s to write)", file=sys.stderr)
    if "ingest" in args.stages:
        figures["ingest"] = run_stage(library, "ingest", "--database", str(database), "--folder", str(folder))
        figures["database_mb"] = folder_mb(database) + folder_mb(database.with_name(database.name + "-wal")) if (
            database.with_name(database.name + "-wal").exists()) else folder_mb(database)
        figures["index_mb"] = folder_mb(data / "rectbot.index")
        print(f"  ingest {json.dumps(figures['ingest'], ensure_ascii=False)}", file=sys.stderr)
    if "reindex" in args.stages:
        figures["reindex"] = run_stage(library, "reindex", "--database", str(database), "--new-file", str(work / "new.txt"))
        print(f"  reindex {json.dumps(figures['reindex'], ensure_ascii=False)}", file=sys.stderr)
    if "serve" in args.stages:
        sample = RANK_BM25_SAMPLE if size >= RANK_BM25_SAMPLE_ABOVE else None
        arguments = ["--database", str(database), "--questions-file", str(data / "questions.json")]
        figures["serve"] = run_stage(library, "serve", *arguments, *(["--sample", str(sample)] if sample else []))
        print(f"  serve {json.dumps(figures['serve'], ensure_ascii=False)}", file=sys.stderr)
    if "cold" in args.stages:
        seconds, answered, reused = cold_starts(library, database, questions[1], args.cold_runs)
        figures["cold"] = {"seconds": seconds, "answered": answered, "index_reused": reused}
        print(f"  cold {figures['cold']}", file=sys.stderr)
    if "burst" in args.stages:
        figures["burst"] = asyncio.run(bursts_at(library, database, questions, args.bursts))
        print(f"  burst {figures['burst']}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def table(results: list[dict]) -> str:
    """The figures as a markdown table, one column per size."""
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, cell: Callable[[dict], str | None]) -> None:
        cells = []
        for figures in results:
            try:
                cells.append(cell(figures) or "–")
            except KeyError:
                cells.append("–")
        if any(c != "–" for c in cells):
            rows.append((label, cells))

    row("passages indexed (files)", lambda f: f"{f['ingest']['passages']:,} ({f['files']:,})")
    row("`rectbot ingest` of the folder (Corpus.ingest)", lambda f: seconds_text(f["ingest"]["seconds"]))
    row("… of which saving files (Store.save_file)", lambda f: seconds_text(f["ingest"]["breakdown"]["save_file"]))
    row("… of which the index update at its end", lambda f: seconds_text(f["ingest"]["breakdown"]["index update"]))
    row("ingest peak RSS", lambda f: f"{f['ingest']['peak_rss_mb']:,.0f} MB")
    row("reindex (Corpus.reindex)", lambda f: seconds_text(f["reindex"]["seconds"]))
    row("reindex peak RSS", lambda f: f"{f['reindex']['peak_rss_mb']:,.0f} MB")
    row("one new file ingested → searchable", lambda f: seconds_text(f["reindex"]["new_seconds"]))
    row("database on disk", lambda f: f"{f['database_mb']:,.0f} MB")
    row("index on disk", lambda f: f"{f['index_mb']:,.0f} MB")
    row("serving RSS (index loaded, questions answered)", lambda f: f"{f['serve']['serving_rss_mb']:,.0f} MB"
        + (f" (of which {f['serve']['mapped_rss_mb']:,.0f} MB mapped files)" if "mapped_rss_mb" in f["serve"] else ""))
    row("question p50 / p99 (Searcher.search)", lambda f: f"{f['serve']['p50_ms']:.1f} / {f['serve']['p99_ms']:.1f} ms")
    row(
        "rank-bm25 p50 (BM25Okapi, same words)",
        lambda f: f"{f['serve']['rank_bm25_p50_ms']:.1f} ms"
        + (f" ({f['serve']['rank_bm25_questions']} q.)" if f["serve"]["rank_bm25_questions"] < f["serve"]["questions"] else ""),
    )
    row("rank-bm25 / rectbot, per question", lambda f: f"{f['serve']['ratio']:.1f}x")
    row(f"burst of {BURST} questions on WeCom: round trip p50 / p99",
        lambda f: f"{f['burst']['p50_ms']:.0f} / {f['burst']['p99_ms']:.0f} ms")
    row("… server CPU per message", lambda f: f"{f['burst']['server_cpu_ms_per_message']:.1f} ms")
    row("cold start: `rectbot ask` to its answer (median)", lambda f: f"{seconds_text(statistics.median(f['cold']['seconds']))} ({len(f['cold']['seconds'])} runs)")
    header = "| | " + " | ".join(f"{f['size']:,} passages" for f in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    return "\n".join(lines)


def notes(results: list[dict]) -> list[str]:
    """Where each step's time goes, and checks that the figures mean what they say."""
    lines = []
    for f in results:
        size = f"{f['size']:,}"
        if "ingest" in f:
            ingest = f["ingest"]
            lines.append(f"{size} ingest: {breakdown_text(ingest['breakdown'], ingest['seconds'])}; "
                         f"statuses {ingest['statuses']}, {ingest['documents']} documents, {ingest['republished']} republished")
        if "reindex" in f:
            reindex = f["reindex"]
            lines.append(f"{size} reindex: {breakdown_text(reindex['breakdown'], reindex['seconds'])}; "
                         f"new file {reindex['new_status']}, found by search: {reindex['new_found']}; "
                         f"its time: {breakdown_text(reindex['new_breakdown'], reindex['new_seconds'])} (the rest: reindex)")
        if "serve" in f:
            serve = f["serve"]
            lines.append(f"{size} question: {breakdown_text(serve['breakdown'], serve['breakdown_total'])}; "
                         f"{serve['answered']}/{serve['questions']} answered, same top passage as rank-bm25 in "
                         f"{serve['same_top']}/{serve['rank_bm25_questions']}; rank-bm25 built in "
                         f"{serve['rank_bm25_build_seconds']:.1f} s (not in the table)")
        if "burst" in f:
            burst = f["burst"]
            lines.append(f"{size} burst: {burst['questions']} questions in bursts of {BURST}, {burst['empty_replies']} "
                         f"answered late or empty; slowest {burst['max_ms']:.0f} ms; /healthz during a burst "
                         f"{burst['healthz_ms']:.0f} ms (median); serve ready in {burst['ready_seconds']:.1f} s")
        if "cold" in f:
            cold = f["cold"]
            lines.append(f"{size} cold start runs: {', '.join(f'{s:.2f}' for s in cold['seconds'])} s; answered: "
                         f"{cold['answered']}; saved index loaded, not rebuilt: {cold['index_reused']}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated passage counts")
    parser.add_argument("--questions", type=int, default=200, help="questions per size")
    parser.add_argument("--quick", action="store_true", help="for CI: 10,000 passages, 30 questions, one cold start")
    parser.add_argument("--library", type=Path, default=ROOT, help="checkout of the library to measure")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {STAGES}")
    parser.add_argument("--bursts", type=int, default=5, help=f"bursts of {BURST} questions in the burst stage")
    parser.add_argument("--workdir", type=Path, help="where the corpus and databases go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and databases")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--new-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--questions-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.library = args.library.resolve()
    if args.stage:
        sys.path.insert(0, str(code_path(args.library)))
        if args.stage == "ingest":
            figures = asyncio.run(stage_ingest(args.database, args.folder))
        elif args.stage == "reindex":
            figures = asyncio.run(stage_reindex(args.database, args.new_file))
        else:
            questions = json.loads(args.questions_file.read_text(encoding="utf-8"))
            figures = asyncio.run(stage_serve(args.database, questions, args.sample))
        print(json.dumps(figures, ensure_ascii=False))
        return 0

    sys.path.insert(0, str(ROOT))
    sizes = [10_000] if args.quick else [int(size) for size in args.sizes.split(",")]
    question_count = 30 if args.quick else args.questions
    args.cold_runs = 1 if args.quick else 3
    args.stages = [stage.strip() for stage in args.stages.split(",")]
    if any(stage not in STAGES for stage in args.stages):
        parser.error(f"--stages must name some of {STAGES}")
    if "ingest" not in args.stages and not (args.workdir and args.keep):
        parser.error("without ingest, the stages need the database of an earlier run: give its --workdir and --keep")
    material = seed_material()
    questions = make_questions(material, question_count)
    print(machine_info())
    print(f"library: {describe_library(args.library)}; corpus seed {SEED}, ~{PASSAGES_PER_REPORT} passages a report, "
          f"1 in {REPUBLISHED_EVERY} republished; {len(questions)} questions")
    print(f"command: python benchmarks/scale.py {' '.join(sys.argv[1:])}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rectbot-scale-"))
    results = []
    try:
        for size in sizes:
            results.append(measure(size, args, material, questions, work))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results))
    print()
    for line in notes(results):
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
