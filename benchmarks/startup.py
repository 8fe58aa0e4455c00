"""Cold start and serving under a burst of questions, before and after a change, side by side in one run.

    python benchmarks/startup.py --before REV [--runs 5] [--burst 50] [--serves 3] [--passages N]

`--before` names a git revision of this repository; it is exported (`git archive`) to a temporary folder and
measured with the same interpreter, database and questions as this checkout ("after"). Every process runs with
PYTHONPATH set to its own checkout, and the two checkouts take turns, so both see the same machine load.

  help       `rectbot --help`: a new process until it exits (median of --runs)
  import     `import rectbot.bot.cli` (or bot.cli in a checkout before 0.2.0), cumulative, as `python -X importtime` reports it (median of --runs)
  ask        `rectbot ask "第一书记怎么开展工作"` on an existing seed database: a new process until it exits
             after printing the answer (median of --runs; one unmeasured run first builds the index and caches)
  ready      `rectbot serve wecom`: a new process until /readyz answers 200 (/healthz before /readyz existed)
  first      then the first question, with a typo (书计), sealed by wechatpy as WeCom does, to its encrypted
             passive reply (median of --serves)
  burst      then --burst questions posted at once, each from its own user: round trip p50 / p99 over all
             bursts, and a /healthz request sent while the burst is being answered
  ask-large  with --ask-database DB: `rectbot ask` on that existing database (e.g. the million passages that
             `benchmarks/scale.py --keep` leaves), a new process until its first answer is printed (median of
             --runs); both checkouts read the same database and index, so they must share the index's format
             and the tokenizer's data (thesaurus, fillers): a checkout that reads the index as stale rebuilds
             and saves it, a minute at a million passages, and the other then rebuilds it back
With --passages N the serve rows use a seed-like corpus of about N passages (benchmarks/scale.py makes it)
instead of the five seeds, so that each search costs what it does on a large corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from wechatpy.enterprise.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "第一书记怎么开展工作"
TYPO_QUESTION = "第一书计怎么开展工作"
QUESTIONS = ROOT / "tests" / "data" / "dev_questions.json"
CORP_ID, TOKEN, KEY = "wx49f0ab532d5d035a", "bench-token", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
PATH = "/wecom/callback"


@dataclass
class Checkout:
    """One version of the code and its own copy of the database."""

    name: str
    library: Path
    database: Path
    help: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)
    ask: list[float] = field(default_factory=list)
    ask_large: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)
    late: int = 0  # burst questions answered after WeCom's deadline (empty passive reply)
    health: list[float] = field(default_factory=list)

    @property
    def namespaced(self) -> bool:
        """Whether this checkout installs as rectbot.bot (since 0.2.0) rather than as bare bot and retrieval."""
        return '"rectbot.bot" = "bot"' in (self.library / "pyproject.toml").read_text(encoding="utf-8")

    @property
    def module(self) -> str:
        """The CLI's module name in this checkout."""
        return "rectbot.bot.cli" if self.namespaced else "bot.cli"

    def code_path(self) -> Path:
        """What PYTHONPATH needs for this checkout's code: the checkout, or a folder in which rectbot/bot,
        rectbot/retrieval and rectbot/seeds link to it (what the package-dir mapping does when installed)."""
        if not self.namespaced:
            return self.library
        shim = self.library.parent / f".{self.library.name}-as-installed"
        for name in ("bot", "retrieval", "seeds"):
            link = shim / "rectbot" / name
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(self.library / name)
        return shim

    def environment(self, **extra: str) -> dict[str, str]:
        """The environment of a process of this checkout: its code, its database."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")}
        environment.update({"PYTHONPATH": str(self.code_path()), "RECTBOT_STORAGE_DATABASE": str(self.database),
                            **extra})
        return environment

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m <the CLI> ARGS` of this checkout to its end."""
        done = subprocess.run(
            [sys.executable, "-m", self.module, *args], capture_output=True, text=True, cwd=self.library,
            env=self.environment(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: rectbot {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done


def timed(checkout: Checkout, *args: str) -> tuple[float, str]:
    """Wall seconds of `rectbot ARGS` of a checkout, a new process until it exits; what it printed."""
    started = time.perf_counter()
    done = checkout.run(*args)
    return time.perf_counter() - started, done.stdout


def first_answer_seconds(checkout: Checkout, database: Path) -> float:
    """Wall seconds of `rectbot ask` on a database, a new process until the first byte of its answer is printed."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", checkout.module, "ask", QUESTION], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        cwd=checkout.library, env=checkout.environment(RECTBOT_STORAGE_DATABASE=str(database), PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    first = process.stdout.read(1)
    elapsed = time.perf_counter() - started
    rest = process.stdout.read()
    if process.wait() != 0 or "【1】" not in (first + rest).decode("utf-8", "replace"):
        raise RuntimeError(f"{checkout.name}: rectbot ask on {database} printed no answer")
    return elapsed


def import_seconds(checkout: Checkout) -> float:
    """Cumulative import time of the CLI's module as `python -X importtime` reports it."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {checkout.module}"], capture_output=True, text=True,
        cwd=checkout.library, env=checkout.environment(),
    )
    line = next(line for line in done.stderr.splitlines() if line.rstrip().endswith(f"| {checkout.module}"))
    return int(line.split("|")[1]) / 1e6


def export(revision: str, folder: Path) -> Path:
    """The files of a revision of this repository, in folder."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def post(http: httpx.AsyncClient, theirs: WeChatCrypto, question: str, user: str, msg_id: int) -> str:
    """Seal a text message as WeCom does, post it; the opened passive reply's text ('' when answered later)."""
    message = (f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>{user}</FromUserName><CreateTime>1</CreateTime>"
               f"<MsgType>text</MsgType><Content><![CDATA[{question}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    timestamp = str(int(time.time()))
    sealed = ET.fromstring(theirs.encrypt_message(message, "1", timestamp))
    params = {"msg_signature": sealed.findtext("MsgSignature"), "timestamp": timestamp, "nonce": "1"}
    response = await http.post(PATH, params=params, content=f"<xml><Encrypt>{sealed.findtext('Encrypt')}</Encrypt></xml>")
    response.raise_for_status()
    if not response.text:
        return ""
    reply = ET.fromstring(response.text)
    inner = theirs.decrypt_message(
        response.text, reply.findtext("MsgSignature"), reply.findtext("TimeStamp"), reply.findtext("Nonce")
    )
    return ET.fromstring(inner).findtext("Content") or ""


async def serve_once(checkout: Checkout, questions: list[str], burst: int, database: Path, serial: int) -> None:
    """Start `rectbot serve wecom`, time it to /healthz, the first question and one burst, then stop it."""
    port = free_port()
    environment = checkout.environment(
        RECTBOT_STORAGE_DATABASE=str(database), RECTBOT_WECOM_CORP_ID=CORP_ID, RECTBOT_WECOM_TOKEN=TOKEN,
        RECTBOT_WECOM_ENCODING_AES_KEY=KEY, RECTBOT_WECOM_PORT=str(port), RECTBOT_CHAT_RATE_LIMIT="1000",
    )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", checkout.module, "serve", "wecom", cwd=checkout.library, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    theirs = WeChatCrypto(TOKEN, KEY, CORP_ID)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"{checkout.name}: serve exited: {(await process.stderr.read()).decode()[-3000:]}")
                try:
                    ready = await http.get("/readyz")
                    if ready.status_code == 404:  # a version before /readyz: it listened only once ready
                        ready = await http.get("/healthz")
                    if ready.status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.01)
            checkout.ready.append(time.perf_counter() - started)
            ids = iter(range(serial * 10_000, (serial + 1) * 10_000))
            began = time.perf_counter()
            reply = await post(http, theirs, TYPO_QUESTION, "bench-first", next(ids))
            checkout.first.append(time.perf_counter() - began)
            assert "【1】" in reply, reply

            async def one(number: int) -> None:
                began = time.perf_counter()
                text = await post(http, theirs, questions[number % len(questions)], f"bench-{number}", next(ids))
                checkout.burst.append(time.perf_counter() - began)
                checkout.late += not text

            async def health() -> None:
                await asyncio.sleep(0.005)  # once the burst's requests are in
                began = time.perf_counter()
                (await http.get("/healthz")).raise_for_status()
                checkout.health.append(time.perf_counter() - began)

            await asyncio.gather(*(one(number) for number in range(burst)), health())
    finally:
        process.terminate()
        await process.wait()


def make_large_corpus(work: Path, passages: int) -> Path:
    """A folder of seed-like reports of about `passages` passages (see benchmarks/scale.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import scale

    folder = work / "large-corpus"
    scale.write_corpus(folder, passages, scale.seed_material(ROOT / "seeds"))
    return folder


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def seconds(values: list[float]) -> str:
    """The median in seconds, for the table."""
    return f"{statistics.median(values):.2f} s" if values else "-"


def milliseconds(values: list[float]) -> str:
    """The median in milliseconds, for the table."""
    return f"{statistics.median(values) * 1000:.0f} ms" if values else "-"


def main() -> int:
    """Measure both checkouts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare with (e.g. the commit before a change)")
    parser.add_argument("--runs", type=int, default=5, help="processes per cold-start row (default 5)")
    parser.add_argument("--serves", type=int, default=3, help="`rectbot serve` starts per checkout (default 3)")
    parser.add_argument("--burst", type=int, default=50, help="questions posted at once (default 50)")
    parser.add_argument("--passages", type=int, default=0, help="serve a seed-like corpus of ~N passages instead")
    parser.add_argument("--ask-database", type=Path, help="also time `rectbot ask` on this existing database")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rectbot.retrieval.evaluation import load_questions

    questions = [q.q for q in load_questions(QUESTIONS)]
    with tempfile.TemporaryDirectory(prefix="rectbot-startup-") as temporary:
        work = Path(temporary)
        before_library = export(args.before, work / "before")
        checkouts = [
            Checkout(f"before ({args.before})", before_library, work / "before-data" / "rectbot.sqlite3"),
            Checkout("after (this checkout)", ROOT, work / "after-data" / "rectbot.sqlite3"),
        ]
        for checkout in checkouts:  # ingest the seeds, build the index and every cache: "an existing database"
            checkout.run("ask", QUESTION)
        for _ in range(args.runs):
            for checkout in checkouts:
                checkout.help.append(timed(checkout, "--help")[0])
                checkout.imports.append(import_seconds(checkout))
                wall, printed = timed(checkout, "ask", QUESTION)
                assert "【1】" in printed, printed
                checkout.ask.append(wall)
                if args.ask_database:
                    checkout.ask_large.append(first_answer_seconds(checkout, args.ask_database))
        databases = {checkout.name: checkout.database for checkout in checkouts}
        corpus = "the five seeds"
        if args.passages:
            folder = make_large_corpus(work, args.passages)
            for checkout in checkouts:
                database = work / f"large-{checkout.library.name}" / "rectbot.sqlite3"
                subprocess.run(
                    [sys.executable, "-m", checkout.module, "ingest", str(folder)], capture_output=True, check=True,
                    cwd=checkout.library, env=checkout.environment(RECTBOT_STORAGE_DATABASE=str(database)),
                )
                databases[checkout.name] = database
            corpus = f"~{args.passages} seed-like passages"
        for serial in range(args.serves):
            for number, checkout in enumerate(checkouts):
                asyncio.run(serve_once(checkout, questions, args.burst, databases[checkout.name], serial * 2 + number))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; `rectbot ask \"{QUESTION}\"`; serving {corpus}")
    rows = [
        ("rectbot --help", lambda c: seconds(c.help)),
        ("import the CLI module", lambda c: seconds(c.imports)),
        ("rectbot ask (seed database)", lambda c: seconds(c.ask)),
        *([("rectbot ask (--ask-database): answer printed", lambda c: seconds(c.ask_large))] if args.ask_database
          else []),
        ("serve wecom: start -> ready", lambda c: seconds(c.ready)),
        ("serve: first question (typo)", lambda c: milliseconds(c.first)),
        (f"burst of {args.burst}: round trip p50", lambda c: f"{percentile(c.burst, 0.5) * 1000:.0f} ms"),
        (f"burst of {args.burst}: round trip p99", lambda c: f"{percentile(c.burst, 0.99) * 1000:.0f} ms"),
        ("burst: answered after deadline", lambda c: f"{c.late} of {len(c.burst)}"),
        ("/healthz during the burst", lambda c: milliseconds(c.health)),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'':<{width}}  " + "  ".join(f"{c.name:>24}" for c in checkouts))
    for label, cell in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{cell(c):>24}" for c in checkouts))
    print(f"(medians of {args.runs} processes; serve rows over {args.serves} starts, "
          f"{args.serves * args.burst} burst questions per checkout)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
