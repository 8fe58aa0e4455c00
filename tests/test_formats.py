"""Word 97-2003 (.doc) and WPS (.wps) files: the hint without LibreOffice, renamed files, the conversion call."""

from __future__ import annotations

import json
import stat
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rectbot.retrieval import formats
from rectbot.retrieval.documents import SUPPORTED_SUFFIXES, DocumentError, parse_bytes
from testkit.docfactory import make_docx

TITLE = "关于整顿软弱涣散村党组织的情况报告"
BODY = [
    "今年以来，镇党委把整顿软弱涣散村党组织作为抓基层、打基础的重要任务，逐村分析原因，制定整改措施。",
    "选派第一书记驻村帮扶，帮助村两委理清发展思路，壮大村集体经济。",
]


def ole_file(lines: list[str]) -> bytes:
    """Bytes that start like a Word 97-2003 file; the fake converter reads the text after the header."""
    return formats.OLE2_MAGIC + "\n".join(lines).encode("utf-8")


def install(folder: Path, name: str, script: str) -> Path:
    """An executable named name in folder."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# A stand-in for LibreOffice: records its arguments, then writes <outdir>/<input stem>.docx made with python-docx,
# the first line of the input's text as a Title and the rest as paragraphs.
FAKE_SOFFICE = f"""#!{sys.executable}
import json, sys
from pathlib import Path
from docx import Document

args = sys.argv[1:]
Path(__file__).with_name("argv.json").write_text(json.dumps(args))
source = Path(args[-1])
outdir = Path(args[args.index("--outdir") + 1])
lines = source.read_bytes()[8:].decode("utf-8").split("\\n")
document = Document()
document.add_heading(lines[0], level=0)
for line in lines[1:]:
    document.add_paragraph(line)
document.save(outdir / (source.stem + ".docx"))
"""


@pytest.fixture
def path_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An otherwise empty PATH: no LibreOffice unless a test installs a fake one there."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder where conversions make their temporary directories."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def reason(data: bytes, name: str) -> str:
    with pytest.raises(DocumentError) as caught:
        parse_bytes(data, name)
    return str(caught.value)


def test_doc_and_wps_are_known_formats() -> None:
    assert {".doc", ".wps"} <= SUPPORTED_SUFFIXES


def test_the_formats_uploads_are_checked_against_are_those_a_reader_exists_for() -> None:
    # SUPPORTED_SUFFIXES lives apart from the readers (importing them costs 0.1 s that `rectbot ask` need not pay).
    assert SUPPORTED_SUFFIXES == frozenset(formats.READERS)


@pytest.mark.parametrize("name", ["报告.doc", "报告.wps", "REPORT.DOC"])
def test_without_libreoffice_the_user_is_told_to_save_as_docx(path_dir: Path, name: str) -> None:
    message = reason(ole_file([TITLE, *BODY]), name)
    assert message.startswith("无法读取 .doc/.wps 文件：服务器未安装 LibreOffice。")
    assert "“另存为” .docx" in message
    assert "LibreOffice is not installed" in message


@pytest.mark.parametrize("name", ["总结.doc", "总结.wps"])
def test_a_docx_renamed_to_doc_or_wps_is_read_as_docx(path_dir: Path, name: str) -> None:
    parsed = parse_bytes(make_docx(TITLE, BODY, table=[["村名", "整改措施"], ["东山村", "选好带头人"]]), name)
    (article,) = parsed.articles
    assert article.title == TITLE
    assert article.text.split("\n")[:2] == BODY
    assert "选好带头人" in article.text


@pytest.mark.parametrize(
    "data",
    [
        "这其实是一个文本文件，只是扩展名写成了 wps。".encode(),
        b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n",
        b"{\\rtf1\\ansi some rich text}",
        formats.OLE2_MAGIC[:7] + b"\x00" * 100,
    ],
)
def test_bytes_that_are_not_word_or_wps_are_refused(path_dir: Path, data: bytes) -> None:
    assert reason(data, "通知.wps") == "文件内容不是 Word/WPS 文档 (not a Word/WPS file: no OLE2 header)"


@pytest.mark.parametrize("converter", ["soffice", "libreoffice"])
@pytest.mark.parametrize("name", ["报告.doc", "报告.wps"])
def test_libreoffice_converts_the_file_and_the_docx_is_read(
    path_dir: Path, temp_root: Path, converter: str, name: str
) -> None:
    install(path_dir, converter, FAKE_SOFFICE)
    parsed = parse_bytes(ole_file([TITLE, *BODY]), name)

    (article,) = parsed.articles
    assert article.title == TITLE
    assert article.text.split("\n") == BODY
    args = json.loads((path_dir / "argv.json").read_text())
    profile, *options, outdir, source = args
    assert options == ["--headless", "--norestore", "--convert-to", "docx", "--outdir"]
    work = Path(source).parent  # one private temporary directory per conversion
    assert work.parent == temp_root
    assert profile == "-env:UserInstallation=" + (work / "profile").as_uri()
    assert Path(outdir).parent == work
    assert list(temp_root.iterdir()) == []  # the temporary directory is gone


def test_concurrent_conversions_use_separate_profiles(path_dir: Path, temp_root: Path) -> None:
    install(path_dir, "soffice", FAKE_SOFFICE)
    profiles = []
    for _ in range(2):
        parse_bytes(ole_file([TITLE, *BODY]), "报告.doc")
        profiles.append(json.loads((path_dir / "argv.json").read_text())[0])
    assert profiles[0] != profiles[1]


def gone(pid: int) -> bool:
    """Whether a process has ended (a zombie nobody reaps yet counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="checks processes through /proc")
def test_a_hanging_converter_is_killed_and_the_user_told(
    path_dir: Path, temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Like soffice, the launcher starts a worker process; both must be killed.
    pids = path_dir / "pids"
    install(path_dir, "soffice", f"#!/bin/sh\n/bin/sleep 60 &\necho $$ $! > {pids}\nwait\n")
    monkeypatch.setattr(formats, "CONVERSION_TIMEOUT_SECONDS", 1.0)

    started = time.monotonic()
    message = reason(ole_file([TITLE, *BODY]), "报告.doc")

    assert time.monotonic() - started < 10
    assert message.startswith("LibreOffice 转换 .doc/.wps 文件超时（1 秒）。请在 WPS 或 Word 中“另存为” .docx 后再上传。")
    assert message.endswith("(conversion timed out after 1 s)")
    launcher, worker = (int(pid) for pid in pids.read_text().split())
    deadline = time.monotonic() + 5
    while not (gone(launcher) and gone(worker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(launcher) and gone(worker)
    assert list(temp_root.iterdir()) == []


@pytest.mark.parametrize(
    ("script", "failure"),
    [
        ("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 1\n", "exit status 1"),
        ("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 0\n", "no output"),
    ],
)
def test_a_failing_converter_gives_a_clear_error(path_dir: Path, temp_root: Path, script: str, failure: str) -> None:
    install(path_dir, "soffice", script)
    message = reason(ole_file([TITLE, *BODY]), "报告.wps")
    assert message == (
        "LibreOffice 无法转换这个 .doc/.wps 文件（可能已损坏或有密码保护）。请在 WPS 或 Word 中“另存为” .docx 后再上传。"
        f" (conversion failed: {failure})"
    )
    assert list(temp_root.iterdir()) == []


def test_a_converter_that_writes_a_broken_docx_is_reported_corrupt(path_dir: Path, temp_root: Path) -> None:
    script = f"#!{sys.executable}\nimport sys, pathlib\npathlib.Path(sys.argv[-2], 'document.docx').write_text('x')\n"
    install(path_dir, "soffice", script)
    assert reason(ole_file([TITLE]), "报告.doc") == "corrupt .docx file (not a zip archive)"
