"""Hostile files from issue 13: outcome, wall time and the parsing process's peak RSS for each.

    python benchmarks/hostile_files.py            # through the bounded parse worker (default limits)
    python benchmarks/hostile_files.py --direct   # parse_bytes in a bare child process, capped at --cap seconds
    python benchmarks/hostile_files.py --only markdown   # inputs whose name contains "markdown"

Peak RSS is the child's VmHWM, sampled from /proc every 20 ms (Linux only).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from docx import Document

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout, not an installed copy
from testkit.docfactory import make_pdf  # noqa: E402


def docx_with(document_xml: Callable[[zipfile.ZipFile, str], None]) -> bytes:
    """A real .docx whose word/document.xml is written by document_xml(archive, member name)."""
    buffer = io.BytesIO()
    Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                document_xml(archive, item.filename)
            else:
                archive.writestr(item, source.read(item))
    return out.getvalue()


def docx_bomb(gigabytes: float = 2.0) -> bytes:
    """A valid document.xml followed by gigabytes of spaces (whitespace after the root is well-formed)."""
    body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    body += b"<w:p><w:r><w:t>\xe5\x85\x9a\xe5\xbb\xba</w:t></w:r></w:p></w:body></w:document>"

    def write(archive: zipfile.ZipFile, name: str) -> None:
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(body)
            chunk = b" " * (1 << 24)
            for _ in range(int(gigabytes * (1 << 30)) // len(chunk)):
                member.write(chunk)

    return docx_with(write)


def docx_paragraphs(megabytes: int = 200) -> bytes:
    """A document.xml of megabytes of tiny paragraphs."""
    paragraph = b"<w:p><w:r><w:t>\xe5\x85\x9a\xe5\xbb\xba\xe5\xb7\xa5\xe4\xbd\x9c</w:t></w:r></w:p>"
    head = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'

    def write(archive: zipfile.ZipFile, name: str) -> None:
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(head)
            chunk = paragraph * ((1 << 20) // len(paragraph))
            for _ in range(megabytes):
                member.write(chunk)
            member.write(b"</w:body></w:document>")

    return docx_with(write)


def flat_html(megabytes: int) -> bytes:
    """Many sibling paragraphs, each a distinct short line."""
    parts = ["<html><head><title>某县党建工作</title></head><body>"]
    size, n = 0, 0
    while size < megabytes * (1 << 20):
        part = f"<p>第{n}项工作。</p>"
        parts.append(part)
        size += len(part.encode())
        n += 1
    return ("".join(parts) + "</body></html>").encode()


def deep_html(depth: int) -> bytes:
    """Divs nested depth deep around one sentence."""
    return ("<html><body>" + "<div>" * depth + "加强基层党组织建设。" + "</div>" * depth + "</body></html>").encode()


def many_page_pdf(pages: int) -> bytes:
    """A hand-written PDF: pages sharing one content stream that draws a line of text."""
    stream = b"BT /F1 12 Tf 72 720 Td (Party building report page) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    first_page = len(objects) + 1
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    objects += [page] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def one_line_text(megabytes: int) -> bytes:
    """A plain text file of one line of Chinese sentences."""
    sentence = "加强基层党组织建设，推动全面从严治党向基层延伸。".encode()
    return sentence * (megabytes * (1 << 20) // len(sentence))


INPUTS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "docx bomb (2 GB unpacked)": ("bomb.docx", docx_bomb),
    "docx 200 MB of paragraphs": ("paragraphs.docx", docx_paragraphs),
    "markdown '__a ' x 8000": ("emphasis.md", lambda: b"__a " * 8000),
    "markdown '__a ' x 80000": ("emphasis.md", lambda: b"__a " * 80000),
    "flat HTML 1 MB": ("flat.html", lambda: flat_html(1)),
    "flat HTML 2 MB": ("flat.html", lambda: flat_html(2)),
    "flat HTML 4 MB": ("flat.html", lambda: flat_html(4)),
    "HTML nested 100k deep": ("deep.html", lambda: deep_html(100_000)),
    "PDF of 50k pages": ("pages.pdf", lambda: many_page_pdf(50_000)),
    "one-line .txt, 49 MB": ("line.txt", lambda: one_line_text(49)),
    "PDF renamed .txt": ("report.txt", lambda: make_pdf([["关于整顿软弱涣散村党组织的情况报告", "镇党委逐村分析原因，制定整改措施。"]])),
}


class PeakSampler(threading.Thread):
    """Samples the peak RSS (VmHWM) of this process's descendants while running."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}
        self.running = True

    def run(self) -> None:
        while self.running:
            for pid in descendants():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]))
            time.sleep(0.02)

    def take(self) -> int:
        """The highest peak seen in MB, then forget it."""
        peak = max(self.peaks.values(), default=0)
        self.peaks.clear()
        return peak // 1024


def descendants() -> list[int]:
    """The processes started by this one, and by them (a fork server's children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _direct(data: bytes, name: str, results: multiprocessing.Queue) -> None:
    from rectbot.retrieval.documents import DocumentError, parse_bytes

    try:
        parsed = parse_bytes(data, name)
        results.put(("added", f"{len(parsed.articles)} article(s), {sum(len(a.text) for a in parsed.articles):,} chars"))
    except DocumentError as error:
        results.put(("rejected", str(error)))
    except BaseException as error:
        results.put(("failed", f"{type(error).__name__}: {str(error)[:60]}"))


def run_direct(data: bytes, name: str, cap: float) -> tuple[str, str]:
    """parse_bytes in a fresh child with no limits but a wall-clock cap for the benchmark's sake."""
    context = multiprocessing.get_context("forkserver")
    results = context.Queue()
    child = context.Process(target=_direct, args=(data, name, results))
    child.start()
    try:
        return results.get(timeout=cap)
    except Exception:
        return "still running", f"killed by the benchmark after {cap:g} s"
    finally:
        child.kill()
        child.join()


async def run_bounded(pool: object, data: bytes, name: str) -> tuple[str, str]:
    from rectbot.retrieval.documents import DocumentError

    try:
        parsed = await pool.parse(data, name)  # type: ignore[attr-defined]
        return "added", f"{len(parsed.articles)} article(s), {sum(len(a.text) for a in parsed.articles):,} chars"
    except DocumentError as error:
        return "rejected", str(error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--direct", action="store_true", help="parse without the bounded worker (before)")
    parser.add_argument("--cap", type=float, default=60.0, help="wall-clock cap per input with --direct")
    parser.add_argument("--only", default="", help="run only inputs whose name contains this")
    args = parser.parse_args()
    sampler = PeakSampler()
    sampler.start()
    pool = None
    if not args.direct:
        from rectbot.retrieval.parsing import ParsePool

        pool = ParsePool()
    print(f"{'input':<28}{'bytes':>12}{'outcome':>14}{'wall s':>9}{'peak MB':>9}  reason")
    loop = asyncio.new_event_loop()
    try:
        for label, (name, make) in INPUTS.items():
            if args.only not in label:
                continue
            data = make()
            sampler.take()
            started = time.perf_counter()
            if args.direct:
                outcome, reason = run_direct(data, name, args.cap)
            else:
                outcome, reason = loop.run_until_complete(run_bounded(pool, data, name))
            wall = time.perf_counter() - started
            time.sleep(0.05)
            print(f"{label:<28}{len(data):>12,}{outcome:>14}{wall:>9.2f}{sampler.take():>9}  {reason}", flush=True)
    finally:
        if pool is not None:
            pool.close()
        loop.close()
        sampler.running = False


if __name__ == "__main__":
    main()
