"""Hostile files: bombs and limits reject one file with a reason naming the limit, and the rest of a batch goes on."""

from __future__ import annotations

import asyncio
import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rectbot.retrieval.documents import ParsedFile, parse_bytes
from rectbot.retrieval.formats import DocumentError, Limit, LimitExceeded, ReadLimits, read_markdown
from rectbot.retrieval.parsing import ParseLimits, ParsePool
from testkit.docfactory import make_docx, make_pdf

if TYPE_CHECKING:  # workers import this module for its parsers: keep that light
    from rectbot.retrieval.corpus import Corpus

REPORT = (
    "某某县推行“红色夜校”整顿软弱涣散村党组织\n\n"
    "某某县在软弱涣散村开办红色夜校，每周三晚上组织党员学习政策、讨论村务，半年来共办夜校四十二期。\n"
)


# Test-only parsers: the worker imports them by name from this module.


def hungry_parse(data: bytes, file_name: str, limits: ReadLimits) -> ParsedFile:
    """Asks for 2 GB for a file named hungry*, else parses."""
    if file_name.startswith("hungry"):
        return bytearray(2 << 30)  # type: ignore[return-value]
    return parse_bytes(data, file_name, limits)


def sleepy_parse(data: bytes, file_name: str, limits: ReadLimits) -> ParsedFile:
    """Never finishes a file named slow*, else parses."""
    if file_name.startswith("slow"):
        time.sleep(60)
    return parse_bytes(data, file_name, limits)


def dawdling_parse(data: bytes, file_name: str, limits: ReadLimits) -> ParsedFile:
    """Takes two seconds over a file named dawdle*, else parses."""
    if file_name.startswith("dawdle"):
        time.sleep(2)
    return parse_bytes(data, file_name, limits)


def spinning_parse(data: bytes, file_name: str, limits: ReadLimits) -> ParsedFile:
    """Spins the CPU on a file named spin*, else parses."""
    while file_name.startswith("spin"):
        pass
    return parse_bytes(data, file_name, limits)


def backtracking_parse(data: bytes, file_name: str, limits: ReadLimits) -> ParsedFile:
    """The quadratic emphasis pattern this project once had, on its worst input: one regex call holding the GIL."""
    re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", "__a " * 40_000)
    return parse_bytes(data, file_name, limits)


@pytest.fixture
def pool_for(empty_corpus: Corpus) -> Iterator[type[ParsePool]]:
    """Give the empty corpus a pool built by the test; the pool is closed afterwards."""
    pools: list[ParsePool] = []

    def make(*args: object, **kwargs: object) -> ParsePool:
        pool = ParsePool(*args, **kwargs)  # type: ignore[arg-type]
        pools.append(pool)
        empty_corpus.parser = pool
        return pool

    yield make  # type: ignore[misc]
    for pool in pools:
        pool.close()


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def zip_bomb(megabytes: int) -> bytes:
    """A real .docx whose document.xml is followed by megabytes of zeros in an extra member."""
    source = zipfile.ZipFile(io.BytesIO(make_docx("标题", ["正文。"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for item in source.infolist():
            archive.writestr(item.filename, source.read(item))
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as member:
            for _ in range(megabytes // 16):
                member.write(bytes(16 << 20))
    return out.getvalue()


def tiny_paragraphs(count: int) -> bytes:
    """A .docx whose body is count one-character paragraphs."""
    source = zipfile.ZipFile(io.BytesIO(make_docx("标题", ["正文。"])))
    body = "<w:p><w:r><w:t>党</w:t></w:r></w:p>" * count
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + body.encode(), 1)
            archive.writestr(item.filename, data)
    return out.getvalue()


# ---------------------------------------------------------------- bombs and limits inside the reader


async def test_a_zip_bomb_docx_is_rejected_from_its_declared_sizes(empty_corpus: Corpus) -> None:
    bomb = zip_bomb(320)
    assert len(bomb) < 2 << 20
    started = time.monotonic()
    report = await empty_corpus.ingest_bytes(bomb, "通知.docx")
    assert report.status == "rejected"
    assert re.search(r"\(compressed file expands to 32\d MB; at most 200 MB are read\)$", report.reason or "")
    assert time.monotonic() - started < 3  # python-docx never unpacked it


def test_a_docx_of_200k_tiny_paragraphs_is_refused_for_its_compression_ratio() -> None:
    data = tiny_paragraphs(200_000)
    with pytest.raises(LimitExceeded) as caught:
        parse_bytes(data, "报告.docx")
    assert caught.value.limit is Limit.UNPACKED_SIZE
    assert "(more than 100 times)" in str(caught.value)


def test_a_normal_docx_passes_the_archive_check() -> None:
    parsed = parse_bytes(make_docx("关于整顿软弱涣散村党组织的情况报告", ["镇党委逐村分析原因，制定整改措施。"]), "a.docx")
    assert parsed.articles[0].title == "关于整顿软弱涣散村党组织的情况报告"


def test_text_past_the_character_limit_is_refused_with_the_numbers() -> None:
    text = ("加强基层党组织建设，推动全面从严治党向基层延伸。" * 200).encode()  # 4,800 characters on one line
    with pytest.raises(LimitExceeded, match=r"text of 4,800 characters; at most 4,000 are read"):
        parse_bytes(text, "line.txt", ReadLimits(max_chars=4000))
    with pytest.raises(LimitExceeded, match=r"at most 1,000 are read"):
        parse_bytes(b"a" * 5000, "line.txt", ReadLimits(max_chars=1000))  # refused before decoding


def test_a_pdf_past_the_page_limit_is_refused() -> None:
    pdf = make_pdf([["第一页正文。"], ["第二页正文。"], ["第三页正文。"]])
    with pytest.raises(LimitExceeded, match=r"PDF of 3 pages; at most 2 are read"):
        parse_bytes(pdf, "a.pdf", ReadLimits(max_pdf_pages=2))


def test_html_nested_past_the_depth_limit_is_refused() -> None:
    page = ("<html><body>" + "<div>" * 600 + "加强基层党组织建设。" * 5 + "</div>" * 600 + "</body></html>").encode()
    with pytest.raises(LimitExceeded, match="HTML nested 602 elements deep; at most 512"):
        parse_bytes(page, "deep.html")
    shallow = page.replace(b"<div>" * 600, b"<div>" * 100).replace(b"</div>" * 600, b"</div>" * 100)
    assert "加强基层党组织建设" in parse_bytes(shallow, "deep.html").articles[0].text


# ---------------------------------------------------------------- files under another name


def test_a_pdf_renamed_txt_is_read_as_a_pdf() -> None:
    pdf = make_pdf([["关于整顿软弱涣散村党组织的情况报告", "镇党委逐村分析原因，制定整改措施，选派第一书记驻村帮扶。"]])
    (article,) = parse_bytes(pdf, "报告.txt").articles
    assert "选派第一书记驻村帮扶" in article.text
    assert "%PDF" not in article.text and "obj" not in article.text


def test_a_docx_renamed_md_is_read_as_word_and_another_zip_is_refused() -> None:
    docx = make_docx("关于整顿软弱涣散村党组织的情况报告", ["镇党委逐村分析原因，制定整改措施。"])
    assert parse_bytes(docx, "报告.md").articles[0].title == "关于整顿软弱涣散村党组织的情况报告"
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8")
    with pytest.raises(DocumentError, match=r"^a zip archive, not a \.txt file$"):
        parse_bytes(other.getvalue(), "材料.txt")


# ---------------------------------------------------------------- Markdown emphasis, rewritten to run in linear time


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("**加强**党建与__重点__工作", "加强党建与重点工作"),
        ("*强调*一下，_斜体_文字", "强调一下，斜体文字"),
        ("**粗体里有*斜体*也行**", "粗体里有斜体也行"),
        ("变量 a_b_c 与 _snake_case_ 词", "变量 a_b_c 与 snake_case 词"),
        ("见[通知](http://example.cn/a(1).html)与![图](p.png)", "见通知与图"),
        ("[参考][1]，<https://www.12371.cn>，<span>党</span>建", "参考，https://www.12371.cn，党建"),
        ("`代码`与~~删除~~", "代码与删除"),
        ("2*3*4 与 一 * 二 * 三", "234 与 一 * 二 * 三"),
        ("__a __a __a 未闭合", "__a __a __a 未闭合"),
    ],
)
def test_markdown_inline_markup_is_stripped(markdown: str, text: str) -> None:
    assert read_markdown(markdown.encode()).lines == (text,)


# ---------------------------------------------------------------- the bounded worker


async def test_a_file_over_the_memory_limit_is_rejected_and_the_batch_goes_on(
    empty_corpus: Corpus, pool_for: type[ParsePool], tmp_path: Path
) -> None:
    pool_for(ParseLimits(memory_mb=300), parse=hungry_parse)
    folder = write(tmp_path / "batch", {"hungry.txt": REPORT, "night-school.txt": REPORT})
    hungry, fine = await empty_corpus.ingest([folder])
    assert (hungry.status, fine.status) == ("rejected", "added")
    assert hungry.reason is not None and hungry.reason.endswith("(parsing needed more than 300 MB of memory)")


async def test_a_file_over_the_wall_clock_limit_is_killed_and_the_batch_goes_on(
    empty_corpus: Corpus, pool_for: type[ParsePool], tmp_path: Path
) -> None:
    pool_for(ParseLimits(wall_seconds=1), parse=sleepy_parse)
    folder = write(tmp_path / "batch", {"night-school.txt": REPORT, "slow.txt": REPORT.replace("四十二", "五十六")})
    started = time.monotonic()
    fine, slow = await empty_corpus.ingest([folder])
    assert time.monotonic() - started < 5
    assert (fine.status, slow.status) == ("added", "rejected"), fine.reason
    assert slow.reason is not None and slow.reason.endswith("(parsing took longer than 1 s)")


async def test_a_file_over_the_cpu_limit_is_rejected_and_the_next_one_parsed(pool_for: type[ParsePool]) -> None:
    pool = pool_for(ParseLimits(cpu_seconds=1, wall_seconds=10), parse=spinning_parse, workers=1)
    with pytest.raises(LimitExceeded, match=r"parsing took more than 1 s of CPU time") as caught:
        await pool.parse(REPORT.encode(), "spin.txt")
    assert caught.value.limit is Limit.CPU_TIME
    assert (await pool.parse(REPORT.encode(), "night-school.txt")).articles


async def test_a_worker_started_by_a_big_process_is_reused(pool_for: type[ParsePool]) -> None:
    """A bot serving a big index is a big process: its workers must not take its size for their own."""
    pool = pool_for(ParseLimits(memory_mb=400), workers=1)
    held = b"x" * (300 * 2**20)  # this process: 300 MB more, all of it written, past half the workers' limit
    await pool.parse(REPORT.encode(), "a.txt")
    (worker,) = pool._idle
    await pool.parse(REPORT.replace("四十二", "五十六").encode(), "b.txt")
    assert pool._idle == [worker]
    del held


async def test_a_worker_is_reused_for_the_next_file_and_errors_keep_it(pool_for: type[ParsePool]) -> None:
    pool = pool_for(workers=1)
    await pool.parse(REPORT.encode(), "a.txt")
    (worker,) = pool._idle
    with pytest.raises(DocumentError, match="empty file"):
        await pool.parse(b"   \n", "b.txt")
    await pool.parse(REPORT.replace("四十二", "五十六").encode(), "c.txt")
    assert pool._idle == [worker]


async def test_the_event_loop_keeps_answering_while_a_file_is_parsed(pool_for: type[ParsePool]) -> None:
    pool = pool_for(ParseLimits(wall_seconds=1.5), parse=backtracking_parse)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        with pytest.raises(LimitExceeded, match="longer than 1.5 s"):
            await pool.parse(REPORT.encode(), "a.txt")
    finally:
        ticker.cancel()
    gaps = [later - earlier for earlier, later in zip(ticks, ticks[1:])]
    assert len(ticks) > 50 and max(gaps) < 0.3


async def test_a_cancelled_parse_stops_its_worker(pool_for: type[ParsePool]) -> None:
    pool = pool_for(parse=sleepy_parse, workers=1)
    parse = asyncio.create_task(pool.parse(REPORT.encode(), "slow.txt"))
    await asyncio.sleep(1)
    parse.cancel()
    with pytest.raises(asyncio.CancelledError):
        await parse
    assert (await pool.parse(REPORT.encode(), "a.txt")).articles  # a fresh worker, at once


async def test_files_parsed_ahead_are_saved_in_the_folders_order(
    empty_corpus: Corpus, pool_for: type[ParsePool], tmp_path: Path
) -> None:
    pool_for(parse=dawdling_parse)  # the first file finishes parsing after the ones behind it
    texts = {name: REPORT.replace("四十二", number) for name, number in
             (("dawdle.txt", "十一"), ("e.txt", "十二"), ("f.txt", "十三"), ("g.txt", "十四"))}
    reports = await empty_corpus.ingest([write(tmp_path / "batch", texts)])
    assert [(r.path, r.status) for r in reports] == [(name, "added") for name in texts]
    assert [doc.path for doc in await empty_corpus.store.documents()] == list(texts)  # ids in the folder's order


async def test_a_stopped_ingest_saves_none_of_the_files_parsed_ahead(
    empty_corpus: Corpus, pool_for: type[ParsePool], tmp_path: Path
) -> None:
    pool_for(parse=sleepy_parse)
    folder = write(tmp_path / "batch", {"a.txt": REPORT, "slow.txt": REPORT.replace("四十二", "五十六"),
                                        "z.txt": REPORT.replace("四十二", "六十七")})
    ingest = asyncio.create_task(empty_corpus.ingest([folder]))
    deadline = time.monotonic() + 30
    while not await empty_corpus.store.documents() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # z.txt is parsed meanwhile, behind slow.txt
    ingest.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ingest
    assert [doc.path for doc in await empty_corpus.store.documents()] == ["a.txt"]
    [report] = await empty_corpus.ingest([folder / "z.txt"])  # the pool goes on
    assert report.status == "added"
